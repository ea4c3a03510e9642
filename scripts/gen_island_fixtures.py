#!/usr/bin/python3
"""Builds tiny torch 1.13 QAT fixtures with float islands and mixed float/quantized use (issue 12, items 2 and 4).

Run with Debian's interpreter:  /usr/bin/python3 scripts/gen_island_fixtures.py [--out test/data] [--only NAME]
torch exports Hardswish as x * HardSigmoid(x), SiLU as x * Sigmoid(x) and GELU as Div, Erf, Add, Mul, Mul inside
one fake-quant bracket: a float island between two quantized convolutions, which the compiler runs on the BPU as
one lookup table. island_silu_int16 does the same with Horizon-style int16 fake quantization (a 65536-entry
table). mixed_use reads a SiLU output both through a fake quant (the next conv) and in float (nn.Upsample, which
torch leaves float). yolo_c2f_split and yolo_pan_upsample end islands in a data movement (YOLOv8's C2f
chunk and PAN upsample): the SiLU is computed in float, moved, then quantized. Same QAT recipe and file layout as scripts/gen_fixtures.py, whose helpers this reuses.
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import (ACT_FQ, WEIGHT_FQ, ConvBNReLU, act_fq16, horizon_export, randomize_bn,  # noqa: E402
                          run_qat, save_fixture, seeded_fixture_main, standard_inputs,
                          train_explicit_fake_quant)

SHAPE = (1, 3, 16, 16)


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, kernel=3):
        super().__init__(nn.Conv2d(cin, cout, kernel, padding=kernel // 2), nn.BatchNorm2d(cout))


class ConvActConv(nn.Module):
    """conv -> BN -> activation (a float island in the export) -> conv -> BN."""

    def __init__(self, act):
        super().__init__()
        self.stem = ConvBNReLU(3, 8, 3)
        self.mid = ConvBN(8, 8, 3)
        self.act = act
        self.head = ConvBN(8, 4, 1)

    def forward(self, x):
        return self.head(self.act(self.mid(self.stem(x))))


class MixedUse(nn.Module):
    """YOLO neck pattern: a SiLU output feeds a quantized conv and a float nearest upsample; two outputs."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(3, 8, 3)
        self.act = nn.SiLU()
        self.head = ConvBN(8, 4, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        y = self.act(self.stem(x))
        return self.head(y), self.up(y)


class SiluSplit(nn.Module):
    """YOLOv8 C2f pattern: a SiLU output split in two halves before any fake quant; each half is quantized after
    the split (the island ends in the Split), one half through a further conv + SiLU."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(3, 8, 3)
        self.act = nn.SiLU()
        self.mid = ConvBN(4, 4, 3)
        self.act2 = nn.SiLU()
        self.head = ConvBN(12, 4, 1)

    def forward(self, x):
        halves = self.act(self.stem(x)).chunk(2, 1)  # FX cannot unpack a traced tuple: index it
        a, b = halves[0], halves[1]
        return self.head(torch.cat([a, b, self.act2(self.mid(b))], 1))


class SiluUpsample(nn.Module):
    """YOLOv8 PAN pattern: a strided conv's SiLU output upsampled (nearest) in float, quantized after the Resize
    and concatenated with a skip path."""

    def __init__(self):
        super().__init__()
        self.stem = ConvBN(3, 8, 3)
        self.act = nn.SiLU()
        self.down = nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8))
        self.act2 = nn.SiLU()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.side = ConvBN(8, 8, 1)
        self.head = ConvBN(16, 4, 1)

    def forward(self, x):
        y = self.act(self.stem(x))
        return self.head(torch.cat([self.up(self.act2(self.down(y))), self.side(y)], 1))


class HorizonSiluInt16(nn.Module):
    """Explicit int16 fake quantization (Horizon plugin style) around a SiLU between two convs."""

    def __init__(self, c=8):
        super().__init__()
        self.fq_in, self.fq1, self.fq2 = act_fq16(), act_fq16(), act_fq16()
        self.conv1, self.conv2 = nn.Conv2d(3, c, 3, padding=1), nn.Conv2d(c, 4, 1)
        self.wq = nn.ModuleList([WEIGHT_FQ() for _ in range(2)])
        self.fq_out = ACT_FQ()

    def forward(self, x):
        x = self.fq_in(x)
        a = self.fq1(nn.functional.conv2d(x, self.wq[0](self.conv1.weight), self.conv1.bias, padding=1))
        s = self.fq2(nn.functional.silu(a))
        return self.fq_out(nn.functional.conv2d(s, self.wq[1](self.conv2.weight), self.conv2.bias))


def build_fx(out_dir, name, make, seed, output_names=("output",)):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = make()
    randomize_bn(model, gen)
    qat = run_qat(model, torch.randn(SHAPE, generator=gen), seed=seed + 2)
    save_fixture(out_dir, name, qat, standard_inputs(SHAPE, seed=seed + 3), ["input"], list(output_names))


def build_int16(out_dir, name, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = train_explicit_fake_quant(HorizonSiluInt16(), SHAPE, gen)
    save_fixture(out_dir, name, model, standard_inputs(SHAPE, seed=seed + 3), ["input"], ["output"],
                 export=horizon_export)


BUILDERS = {
    "island_hardswish": lambda out, seed: build_fx(out, "island_hardswish", lambda: ConvActConv(nn.Hardswish()), seed),
    "island_silu": lambda out, seed: build_fx(out, "island_silu", lambda: ConvActConv(nn.SiLU()), seed),
    "island_gelu": lambda out, seed: build_fx(out, "island_gelu", lambda: ConvActConv(nn.GELU()), seed),
    "island_silu_int16": lambda out, seed: build_int16(out, "island_silu_int16", seed),
    "yolo_c2f_split": lambda out, seed: build_fx(out, "yolo_c2f_split", SiluSplit, seed),
    "yolo_pan_upsample": lambda out, seed: build_fx(out, "yolo_pan_upsample", SiluUpsample, seed),
    "mixed_use": lambda out, seed: build_fx(out, "mixed_use", MixedUse, seed, ("output", "upsampled")),
}


def main():
    seeded_fixture_main(__doc__, BUILDERS, lambda out, name, seed: BUILDERS[name](out, seed), seed_base=300)


if __name__ == "__main__":
    main()
