#!/usr/bin/python3
"""Builds the model-zoo QAT fixtures of issue 12: torchvision-class networks through torch 1.13 FX QAT.

Run with Debian's interpreter (python3-torch 1.13, python3-torchvision 0.14, python3-onnx):
    /usr/bin/python3 scripts/gen_zoo_fixtures.py [--out test/data] [--only NAME ...] [--set small|big|all]
Random init, fixed seeds, nothing downloaded. Each fixture folder <out>/zoo_<name>/ gets model.onnx (opset 13
QDQ), config.yaml (hb_mapper makertbin format, paths relative to the folder), input_0.npy, qat_output*_0.npy
(torch's fake-quant model in eval mode: the golden the .bin is compared with) and float_output*_0.npy (same
weights, fake quantization off). The "small" set is committed under test/data/; the "big" set (full-width
torchvision configurations) is regenerated into a build folder by scripts/bench/zoo.sh and never committed.
The QAT recipe is scripts/gen_fixtures.py's; the torch 1.13 traps and their fixes are those of
../shared/reference/zoo_recipes.md (leaf modules for fixed-qparams ops, Proxy.__iter__ on Python 3.11,
StochasticDepth, MHA fast path, quantized ConvTranspose, BN statistics, zero-init ViT, FPN OrderedDict).
"""
import argparse
import bisect
import contextlib
import dis
import inspect
import os
import subprocess
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import (WEIGHT_FQ, SigmoidModule, randomize_bn, run_qat, save_fixture,  # noqa: E402
                          standard_inputs)
import zoo_models  # noqa: E402  (the hand-written UNet, FPN wrapper and YOLO-style detector)

SIZE = 64
FPN_OUT = ("p3", "p4", "p5", "pool")


# ---------------------------------------------------------------------------------------------------------------
# torch 1.13 traps (zoo_recipes.md)

class HardsigmoidModule(nn.Module):
    """Hardsigmoid as a leaf with its own fake quantization: torch 1.13 treats nn.Hardsigmoid as a fixed-qparams op
    and refuses a qint8 qconfig for it."""

    def forward(self, x):
        return nn.functional.hardsigmoid(x)


class NoStochasticDepth(nn.Module):
    """torchvision's StochasticDepth traces with training=True (a random eval model); traced through, this is no
    node at all: the eval-mode identity."""

    def forward(self, x):
        return x


class QuantConvTranspose2d(nn.Module):
    """torch 1.13 has no QAT ConvTranspose: a leaf module whose weight [Cin, Cout, kh, kw] is fake-quantized per
    output channel (axis 1), its input and output fake-quantized by the leaf's BackendPatternConfig."""

    def __init__(self, cin, cout, kernel=2, stride=2):
        super().__init__()
        conv = nn.ConvTranspose2d(cin, cout, kernel, stride=stride)
        self.weight, self.bias, self.stride = conv.weight, conv.bias, stride
        self.weight_fake_quant = WEIGHT_FQ(ch_axis=1)

    def forward(self, x):
        return nn.functional.conv_transpose2d(x, self.weight_fake_quant(self.weight), self.bias, stride=self.stride)


LEAVES = (HardsigmoidModule, QuantConvTranspose2d)


def _proxy_iter(self):
    """torch.fx.Proxy.__iter__ of later torch releases: on Python 3.11 f_lasti is a byte offset, not an index."""
    frame = inspect.currentframe().f_back
    insts = list(dis.get_instructions(frame.f_code))
    inst = insts[bisect.bisect_left([i.offset for i in insts], frame.f_lasti)]
    if inst.opname == "UNPACK_SEQUENCE":
        return (self[i] for i in range(inst.argval))
    return self.tracer.iter(self)


@contextlib.contextmanager
def patched_proxy_iter():
    saved = torch.fx.Proxy.__iter__
    torch.fx.Proxy.__iter__ = _proxy_iter
    try:
        yield
    finally:
        torch.fx.Proxy.__iter__ = saved


def replace_modules(model, cls, factory):
    for name, child in list(model.named_children()):
        if isinstance(child, cls):
            setattr(model, name, factory(child))
        else:
            replace_modules(child, cls, factory)
    return model


def reestimate_bn(model, shape, gen, batches=4):
    """Random BN affine parameters make deep nets explode or vanish; re-estimate the running statistics on a few
    random batches (cumulative average) so every layer sees unit-scale data."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn((4,) + tuple(shape[1:]), generator=gen))
    for m in bns:
        m.momentum = 0.1
    return model.eval()


def export_onnx(output_names, fold=True):
    """Opset 13 export with grad enabled (MultiheadAttention's fast path under no_grad exports
    aten::_native_multi_head_attention). fold=False keeps the Shape/Gather/... chains torch traced from x.size()
    (what exports without constant folding or with dynamic axes contain)."""
    def export(model, example, path):
        with torch.enable_grad():
            torch.onnx.export(model, example, path, opset_version=13, input_names=["input"],
                              output_names=list(output_names), do_constant_folding=fold)
    return export


def write_config(folder, name, what):
    """config.yaml in hb_mapper makertbin format (scripts/make_config.sh's), paths relative to the folder."""
    make_config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_config.sh")
    yaml = subprocess.run(["bash", make_config, "model.onnx", "bayes", name, "model_output"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        f.write(f"# {name}: scripts/gen_zoo_fixtures.py ({what}). Paths relative to this file's folder, as in hb_mapper.\n")
        f.write(yaml)


def build(out_dir, name, model, seed, outputs=("logits",), what="", export=None, float_modules=(), bn_stats=True):
    """Randomize BN, re-estimate its statistics, QAT with the leaf classes, write the fixture and its config."""
    gen = torch.Generator().manual_seed(seed)
    shape = (1, 3, SIZE, SIZE)
    randomize_bn(model, gen)
    if bn_stats:
        reestimate_bn(model, shape, gen)
    with patched_proxy_iter():
        qat = run_qat(model, torch.randn(shape, generator=gen), seed=seed + 1, leaf_modules=LEAVES,
                      float_modules=float_modules)
    folder = "zoo_" + name
    save_fixture(out_dir, folder, qat, standard_inputs(shape, seed=seed + 2)[:1], ["input"], list(outputs),
                 export=export, exact=True)
    write_config(os.path.join(out_dir, folder), folder, what)


# ---------------------------------------------------------------------------------------------------------------
# torchvision networks

def se_leaves(model):
    """SqueezeExcitation gates: Sigmoid and Hardsigmoid as leaves (fixed-qparams trap); StochasticDepth removed."""
    from torchvision.ops.stochastic_depth import StochasticDepth
    for m in model.modules():
        if type(m).__name__ == "SqueezeExcitation":
            if isinstance(m.scale_activation, nn.Hardsigmoid):
                m.scale_activation = HardsigmoidModule()
            elif isinstance(m.scale_activation, nn.Sigmoid):
                m.scale_activation = SigmoidModule()
    return replace_modules(model, StochasticDepth, lambda _: NoStochasticDepth())


def mobilenet_v3(width_mult=1.0, reduced_tail=False):
    from torchvision.models.mobilenetv3 import MobileNetV3, _mobilenet_v3_conf
    setting, last = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=width_mult, reduced_tail=reduced_tail)
    return se_leaves(MobileNetV3(setting, last, num_classes=10))


def efficientnet_b0():
    from torchvision.models import efficientnet_b0 as make
    return se_leaves(make(num_classes=10))


def shufflenet(repeats, channels):
    from torchvision.models.shufflenetv2 import ShuffleNetV2
    return ShuffleNetV2(repeats, channels, num_classes=10)


def vision_transformer():
    """torchvision's VisionTransformer at 64x64, patch 16, 2 layers, hidden 32; class token and head given small
    random values (zero-initialised they collapse their fake-quant scales)."""
    from torchvision.models import VisionTransformer
    model = VisionTransformer(image_size=SIZE, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
                              num_classes=10)
    gen = torch.Generator().manual_seed(5)
    model.class_token.data = 0.1 * torch.randn(model.class_token.shape, generator=gen)
    model.heads.head.weight.data = 0.1 * torch.randn(model.heads.head.weight.shape, generator=gen)
    model.heads.head.bias.data = 0.1 * torch.randn(model.heads.head.bias.shape, generator=gen)
    return model


def resnet50():
    from torchvision.models import resnet50 as make
    return make(num_classes=10)


def torchvision_net(name, **kwargs):
    """A torchvision classifier by name, 10 classes, with the SE and StochasticDepth fixes."""
    import torchvision.models as models
    return se_leaves(getattr(models, name)(num_classes=10, **kwargs))


def zoo():
    """name -> (set, seed, constructor, build keyword arguments)."""
    yolo_out = {"outputs": ("detections",), "float_modules": ("decode",)}
    return {
        "mobilenet_v3_small": ("big", 200, lambda: mobilenet_v3(), {"what": "torchvision mobilenet_v3_small, 10 classes"}),
        "efficientnet_b0": ("big", 210, efficientnet_b0, {"what": "torchvision efficientnet_b0, 10 classes"}),
        "shufflenet_v2_x0_5": ("big", 220, lambda: shufflenet([4, 8, 4], [24, 48, 96, 192, 1024]),
                               {"what": "torchvision shufflenet_v2_x0_5, 10 classes"}),
        "resnet50": ("big", 230, resnet50, {"what": "torchvision resnet50, 10 classes"}),
        "mnasnet0_5": ("big", 310, lambda: torchvision_net("mnasnet0_5"), {"what": "torchvision mnasnet0_5"}),
        "densenet121": ("big", 320, lambda: torchvision_net("densenet121"), {"what": "torchvision densenet121"}),
        "regnet_y_400mf": ("big", 330, lambda: torchvision_net("regnet_y_400mf"),
                           {"what": "torchvision regnet_y_400mf"}),
        "squeezenet1_1": ("big", 340, lambda: torchvision_net("squeezenet1_1"), {"what": "torchvision squeezenet1_1"}),
        "googlenet": ("big", 350, lambda: torchvision_net("googlenet", aux_logits=False, init_weights=True),
                      {"what": "torchvision googlenet, no aux logits"}),
        "shufflenet_v2_x0_5_unfolded": ("big", 360, lambda: shufflenet([4, 8, 4], [24, 48, 96, 192, 1024]),
                                        {"what": "shufflenet_v2_x0_5 exported without constant folding",
                                         "export": export_onnx(["logits"], fold=False)}),
        "vit_unfolded": ("big", 260, vision_transformer, {"what": "the small ViT exported without constant folding",
                                                          "export": export_onnx(["logits"], fold=False)}),
        "fpn_unfolded": ("big", 280, zoo_models.FpnNet,
                         {"what": "the FPN exported without constant folding", "outputs": FPN_OUT,
                          "export": export_onnx(FPN_OUT, fold=False)}),
        "mobilenet_v3_tiny": ("small", 240, lambda: mobilenet_v3(0.25, reduced_tail=True),
                              {"what": "torchvision MobileNetV3-small, width 0.25, reduced tail"}),
        "shufflenet_v2_tiny": ("small", 250, lambda: shufflenet([2, 2, 2], [8, 16, 32, 64, 128]),
                               {"what": "torchvision ShuffleNetV2, 2 units per stage, widths 8..128"}),
        "vit": ("small", 260, vision_transformer,
                {"what": "torchvision VisionTransformer 64x64, patch 16, 2 layers, hidden 32",
                 "export": export_onnx(["logits"])}),
        "unet": ("small", 270, lambda: zoo_models.UNet(QuantConvTranspose2d),
                 {"what": "small UNet, quantized ConvTranspose", "outputs": ("mask",)}),
        "fpn": ("small", 280, zoo_models.FpnNet,
                {"what": "torchvision.ops.FeaturePyramidNetwork on a 3-stage backbone",
                 "outputs": FPN_OUT}),
        "yolo": ("small", 290, lambda: zoo_models.YoloDetector(SIZE),
                 dict(yolo_out, what="YOLOv8-style detector: C2f, SPPF, PAN with nn.Upsample, DFL decode (float)")),
        "yolo_qup": ("small", 300, lambda: zoo_models.YoloDetector(SIZE, quantized_upsample=True),
                     dict(yolo_out, what="the YOLOv8-style detector with F.interpolate upsampling (quantized)")),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "test", "data"))
    parser.add_argument("--set", choices=["small", "big", "all"], default="small")
    parser.add_argument("--only", choices=sorted(zoo()), action="append")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, (which, seed, make, kwargs) in sorted(zoo().items()):
        if (args.only and name in args.only) or (not args.only and args.set in ("all", which)):
            torch.manual_seed(seed)
            build(args.out, name, make(), seed, **kwargs)


if __name__ == "__main__":
    main()
