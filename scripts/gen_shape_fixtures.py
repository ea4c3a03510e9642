#!/usr/bin/python3
"""Builds tiny torch 1.13 QAT fixtures whose ONNX export carries shape arithmetic (issue 12, graph simplification).

Run with Debian's interpreter:  /usr/bin/python3 scripts/gen_shape_fixtures.py [--out test/data] [--only NAME]
Each model computes sizes from x.size() / x.shape, which torch exports as Shape -> Gather -> Unsqueeze -> Concat
(-> Reshape / Resize sizes / Expand, with ConstantOfShape -> Equal -> Where for expand's -1). The compiler must
fold these chains. Same QAT recipe and file layout as scripts/gen_fixtures.py (whose helpers this reuses).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import (ConvBNReLU, randomize_bn, run_qat, save_fixture, seeded_fixture_main,  # noqa: E402
                          standard_inputs)

SHAPE = (1, 3, 16, 16)


class FlattenView(nn.Module):
    """x.view(x.shape[0], -1) before a Linear (torch 1.13 FX leaves the conv feeding x.size(0) unquantized; with
    x.shape[0] it quantizes the conv and exports the same Reshape of a computed shape)."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBNReLU(3, 8, 3, stride=2)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        y = self.stem(x)
        return self.fc(y.view(y.shape[0], -1))


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle with every size read from x.shape."""

    def __init__(self, groups=2):
        super().__init__()
        self.groups = groups
        self.stem = ConvBNReLU(3, 8, 3)
        self.out = ConvBNReLU(8, 8, 3)

    def forward(self, x):
        x = self.stem(x)
        b, c, h, w = x.shape[0], x.shape[1], x.shape[2], x.shape[3]  # .shape, see FlattenView
        x = x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)
        return self.out(x)


class FpnUpsample(nn.Module):
    """FPN top-down path: the coarse map resized to the lateral map's shape[-2:]."""

    def __init__(self):
        super().__init__()
        self.lateral = ConvBNReLU(3, 8, 3)
        self.down = ConvBNReLU(8, 8, 3, stride=2)
        self.fuse = ConvBNReLU(16, 8, 3)

    def forward(self, x):
        c1 = self.lateral(x)
        c2 = self.down(c1)
        up = nn.functional.interpolate(c2, size=c1.shape[-2:], mode="nearest")
        return self.fuse(torch.cat([up, c1], dim=1))


class ExpandPooled(nn.Module):
    """A pooled context vector expanded back over the map (expand(-1, -1, h, w): ConstantOfShape/Equal/Where)."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBNReLU(3, 8, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fuse = ConvBNReLU(16, 8, 1)

    def forward(self, x):
        f = self.stem(x)
        g = self.pool(f).expand(-1, -1, f.size(2), f.size(3))
        return self.fuse(torch.cat([f, g], dim=1))


FIXTURES = {"shape_flatten": FlattenView, "shape_shuffle": ChannelShuffle, "shape_fpn": FpnUpsample,
            "shape_expand": ExpandPooled}


def export_unfolded(model, example, path):
    """torch's exporter folds shape chains of static inputs itself when constant folding is on; off, the ONNX holds
    the Shape/Gather/... chains as torch traced them (what dynamic-shape exports and many user models contain)."""
    torch.onnx.export(model, example, path, opset_version=13, input_names=["input"], output_names=["output"],
                      do_constant_folding=False)


def build(out_dir, name, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = FIXTURES[name]()
    randomize_bn(model, gen)
    qat = run_qat(model, torch.randn(SHAPE, generator=gen), seed=seed + 2)
    save_fixture(out_dir, name, qat, standard_inputs(SHAPE, seed=seed + 3), ["input"], ["output"],
                 export=export_unfolded)


def main():
    seeded_fixture_main(__doc__, FIXTURES, build, seed_base=100)


if __name__ == "__main__":
    main()
