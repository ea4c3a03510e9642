#!/usr/bin/python3
"""Writes a torchvision float network (random init with randomized BatchNorm statistics, eval mode) as ONNX
(opset 13) and N calibration samples in hb_mapper's raw format (np.tofile of float32 N(0,1), shape 1x3xSxS) into
OUT_DIR/<name>_float/{model.onnx, calibration_data_f32/cal_XXX.bin}: the input of the calibration benchmark
(scripts/bench/calibration.sh). Never committed. Needs python3-torch and python3-torchvision.
Usage: make_float_model.py OUT_DIR [NAME=resnet50] [SAMPLES=100] [SIZE=224]"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import gen_fixtures  # noqa: E402  (randomize_bn: non-trivial BatchNorm statistics)


def main():
    out_dir = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "resnet50"
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 224
    torch.set_num_threads(2)
    import torchvision.models as tvm
    torch.manual_seed(81)
    model = getattr(tvm, name)(num_classes=1000)
    gen_fixtures.randomize_bn(model, torch.Generator().manual_seed(82))
    model.eval()
    folder = os.path.join(out_dir, name + "_float")
    data = os.path.join(folder, "calibration_data_f32")
    os.makedirs(data, exist_ok=True)
    torch.onnx.export(model, torch.randn(1, 3, size, size), os.path.join(folder, "model.onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True)
    for i in range(samples):
        x = np.random.default_rng(1000 + i).standard_normal((1, 3, size, size)).astype(np.float32)
        x.tofile(os.path.join(data, "cal_%03d.bin" % i))
    print(folder)


if __name__ == "__main__":
    main()
