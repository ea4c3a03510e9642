#!/usr/bin/python3
"""Writes torchvision's resnet18 (or ARCH: resnet50, densenet121, ...; full width, 1000 classes, random init with randomized BN statistics) after real
QAT with Debian's torch 1.13 (the same prepare_qat_fx / distillation steps as scripts/gen_fixtures.py) and its
ONNX export, at SIZE x SIZE: OUT_DIR/ARCH_qat/{model.onnx, input_0.npy, qat_output_0.npy, ...}. For the
speed and compile benchmarks (scripts/bench/compare.sh, compile_memory.sh); the 47-102 MB files are never committed.
Needs python3-torch and python3-torchvision. Usage: make_torchvision_resnet18_qat.py OUT_DIR [SIZE=224] [ARCH=resnet18]"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import gen_fixtures  # noqa: E402  (the fixture generator's QAT recipe)


def main():
    out_dir = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
    torch.set_num_threads(2)
    arch = sys.argv[3] if len(sys.argv) > 3 else "resnet18"
    import torchvision.models
    torch.manual_seed(71)
    gen = torch.Generator().manual_seed(72)
    model = getattr(torchvision.models, arch)(num_classes=1000)
    gen_fixtures.randomize_bn(model, gen)
    shape = (1, 3, size, size)
    qat = gen_fixtures.run_qat(model, torch.randn(shape, generator=gen), seed=73)
    gen_fixtures.save_fixture(out_dir, arch + "_qat", qat, gen_fixtures.standard_inputs(shape, seed=74), ["input"], ["logits"])


if __name__ == "__main__":
    main()
