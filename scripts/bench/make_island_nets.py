#!/usr/bin/python3
"""Regenerates torchvision mobilenet_v3_small and efficientnet_b0 (random init, 64x64) through the project's torch
1.13 FX QAT recipe, for measuring float islands (issue 12: Hardswish as x*HardSigmoid(x), SiLU as x*Sigmoid(x)).

Run:  /usr/bin/python3 scripts/bench/make_island_nets.py OUT_DIR [--only mobilenet_v3_small]
Writes OUT_DIR/<name>/model.onnx with inputs and QAT outputs like scripts/gen_fixtures.py (not committed: the
files are regenerated here, never downloaded). Squeeze-excitation gates (Hardsigmoid, Sigmoid) become leaf
modules with their own qint8 output scale (../shared/reference/zoo_recipes.md), StochasticDepth the identity.
"""
import argparse
import os
import sys

import torch
from torch import nn
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import gen_fixtures  # noqa: E402
from gen_fixtures import SigmoidModule, randomize_bn, run_qat, save_fixture, standard_inputs  # noqa: E402


class HardsigmoidModule(nn.Module):
    def forward(self, x):
        return nn.functional.hardsigmoid(x)


gen_fixtures.LEAF_ACTIVATIONS.append(HardsigmoidModule)


def replace_modules(module):
    for name, child in module.named_children():
        if isinstance(child, nn.Hardsigmoid):
            setattr(module, name, HardsigmoidModule())
        elif isinstance(child, nn.Sigmoid):
            setattr(module, name, SigmoidModule())
        elif type(child).__name__ == "StochasticDepth":
            setattr(module, name, nn.Identity())
        else:
            replace_modules(child)
    return module


NETS = {"mobilenet_v3_small": lambda: torchvision.models.mobilenet_v3_small(num_classes=10),
        "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(num_classes=10)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--only", choices=sorted(NETS), action="append")
    args = parser.parse_args()
    torch.set_num_threads(1)
    shape = (1, 3, 64, 64)
    for k, name in enumerate(sorted(NETS)):
        if args.only and name not in args.only:
            continue
        torch.manual_seed(700 + k)
        gen = torch.Generator().manual_seed(701 + k)
        model = replace_modules(NETS[name]())
        randomize_bn(model, gen)
        qat = run_qat(model, torch.randn(shape, generator=gen), seed=702 + k)
        save_fixture(args.out, name, qat, standard_inputs(shape, seed=703 + k), ["input"], ["output"])


if __name__ == "__main__":
    main()
