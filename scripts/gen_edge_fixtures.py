#!/usr/bin/python3
"""Writes test/data/edge_softmax: a torch QAT network ending Conv -> permute(0, 2, 3, 1) -> Softmax, the layout
of a segmentation or classification head exported for a host that wants NHWC probabilities; and
test/data/edge_input_nhwc: a network that takes NHWC and starts with permute(0, 3, 1, 2) (input_<i>.npy NHWC).

remove_node_type 'Transpose;Softmax' (hb_model_modifier's edge nodes) leaves the Conv's fake-quantized output as
the model output. The independent witness for that build is torch's own tensor at that point: pre_edge_<i>.npy is
the output of the fake quant after the head Conv (captured with a forward hook on the QAT model), NCHW;
qat_output_<i>.npy is the whole model's output. Run with Debian's torch: /usr/bin/python3 scripts/gen_edge_fixtures.py
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402


class EdgeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer0 = gf.ConvBNReLU(3, 8, 3)
        self.head = nn.Conv2d(8, 6, 1)

    def forward(self, x):
        return torch.softmax(self.head(self.layer0(x)).permute(0, 2, 3, 1), dim=-1)


class NhwcInputNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer0 = gf.ConvBNReLU(3, 8, 3)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.layer0(x.permute(0, 3, 1, 2)))


def build_input_nhwc(out_dir):
    torch.manual_seed(11)
    gen = torch.Generator().manual_seed(12)
    model = NhwcInputNet()
    gf.randomize_bn(model, gen)
    shape = (1, 16, 16, 3)
    qat = gf.run_qat(model, torch.randn(shape, generator=gen), seed=13)
    gf.save_fixture(out_dir, "edge_input_nhwc", qat, gf.standard_inputs(shape, seed=14), ["input"], ["output"])


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data")
    torch.set_num_threads(1)
    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(8)
    model = EdgeNet()
    gf.randomize_bn(model, gen)
    shape = (1, 3, 16, 16)
    qat = gf.run_qat(model, torch.randn(shape, generator=gen), seed=9)
    inputs = gf.standard_inputs(shape, seed=10)
    gf.save_fixture(out_dir, "edge_softmax", qat, inputs, ["input"], ["output"])
    captured = []
    hook = gf.output_fake_quant_of(qat, "head").register_forward_hook(lambda m, i, o: captured.append(o.detach().clone()))
    folder = os.path.join(out_dir, "edge_softmax")
    for i, x in enumerate(inputs):
        captured.clear()
        with torch.no_grad():
            qat(x)
        assert len(captured) >= 1 and tuple(captured[0].shape) == (1, 6, 16, 16), [tuple(c.shape) for c in captured]
        np.save(os.path.join(folder, f"pre_edge_{i}.npy"), captured[0].numpy().astype(np.float32))
    hook.remove()
    print("edge_softmax: pre_edge_<i>.npy written")
    build_input_nhwc(out_dir)


if __name__ == "__main__":
    main()
