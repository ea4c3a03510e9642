#!/usr/bin/python3
"""Builds test/data/dynamic_shape: a tiny QAT conv network exported with a dynamic batch, height and width
(N x 3 x H x W), with golden QAT outputs at two input shapes, for input_parameters.input_shape.

Run with Debian's interpreter (python3-torch 1.13):
    /usr/bin/python3 scripts/gen_dynamic_fixture.py [--out test/data]
Writes model.onnx and, per shape k, input_<k>.npy, qat_output_<k>.npy and float_output_<k>.npy (the shapes are
SHAPES below, in that order). Fixed seeds make every run byte-identical; tests never import torch.
"""
import argparse
import os

import numpy as np
import torch
from torch import nn

from gen_fixtures import ConvBNReLU, randomize_bn, run_qat

SHAPES = [(1, 3, 16, 16), (2, 3, 24, 20)]


class DynamicNet(nn.Module):
    """Conv-BN-ReLU (stride 2), a residual 3x3 conv, a 1x1 conv with an int8 output: shape-agnostic ops only."""

    def __init__(self, c=8):
        super().__init__()
        self.stem = ConvBNReLU(3, c, 3, stride=2)
        self.body = ConvBNReLU(c, c, 3)
        self.head = nn.Conv2d(c, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.body(x) + x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "test", "data"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(61)
    gen = torch.Generator().manual_seed(62)
    model = DynamicNet()
    randomize_bn(model, gen)
    qat = run_qat(model, torch.randn(SHAPES[0], generator=gen), seed=63)
    folder = os.path.join(args.out, "dynamic_shape")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    dyn = {0: "batch", 2: "height", 3: "width"}
    with torch.no_grad():
        torch.onnx.export(qat, torch.randn(SHAPES[0], generator=gen), path, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True,
                          dynamic_axes={"input": dyn, "output": dyn})
    data_gen = torch.Generator().manual_seed(64)
    for k, shape in enumerate(SHAPES):
        x = torch.randn(shape, generator=data_gen)
        np.save(os.path.join(folder, f"input_{k}.npy"), x.numpy().astype(np.float32))
        with torch.no_grad():
            qat.apply(torch.ao.quantization.enable_fake_quant)
            qat_out = qat(x)
            qat.apply(torch.ao.quantization.disable_fake_quant)
            float_out = qat(x)
            qat.apply(torch.ao.quantization.enable_fake_quant)
        np.save(os.path.join(folder, f"qat_output_{k}.npy"), qat_out.numpy().astype(np.float32))
        np.save(os.path.join(folder, f"float_output_{k}.npy"), float_out.numpy().astype(np.float32))
    print(f"dynamic_shape: {path} ({os.path.getsize(path)} bytes), shapes {SHAPES}")


if __name__ == "__main__":
    main()
