#!/usr/bin/python3
"""Builds the real QAT ONNX fixtures under test/data/ with Debian's python3-torch 1.13.

Run with /usr/bin/python3 (Debian's interpreter; a pyenv python3 cannot see dist-packages):
    /usr/bin/python3 scripts/gen_fixtures.py [--out test/data] [--only nonhybrid]
Each fixture folder gets model.onnx, input_<i>.npy, qat_output_<i>.npy (the fake-quant model in eval mode, as
torch's float32 computes it), float_output_<i>.npy (same weights, fake quant disabled) and, for the fixtures
without float ops, exact_output_<i>.npy (the same model in float64: what the compiled .bin must reproduce).
Fixed seeds make every run byte-identical. Tests never import torch; they only read the files written here.
"""
import argparse
import copy
import os

import numpy as np
import torch
from torch import nn
import torch.nn.intrinsic.qat as nniqat
import torch.nn.qat as nnqat
from torch.ao.quantization import (FakeQuantize, MovingAverageMinMaxObserver,
                                   MovingAveragePerChannelMinMaxObserver, QConfig)
from torch.ao.quantization.backend_config import (BackendPatternConfig, DTypeConfig, ObservationType,
                                                  get_native_backend_config)
from torch.ao.quantization.fx.custom_config import PrepareCustomConfig
from torch.ao.quantization.qconfig_mapping import QConfigMapping
from torch.ao.quantization.quantize_fx import prepare_qat_fx

# ---------------------------------------------------------------------------------------------------------------
# QAT recipe (../shared/reference/qat_onnx.md §2-3): symmetric int8 activations, per-channel symmetric int8 weights.

ACT_FQ = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
                                dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, reduce_range=False)
WEIGHT_FQ = FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
                                   dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)
QCONFIG = QConfig(activation=ACT_FQ, weight=WEIGHT_FQ)


class SigmoidModule(nn.Module):
    """Sigmoid as a leaf module with its own learned symmetric int8 output scale (qat_onnx.md problem 3)."""

    def forward(self, x):
        return torch.sigmoid(x)


# Leaf activation modules with their own learned qint8 output scale (torch 1.13's fixed-qparams ops); other
# generators append theirs (e.g. a Hardsigmoid leaf for MobileNetV3's squeeze-excitation).
LEAF_ACTIVATIONS = [SigmoidModule]


def qint8_backend_config(leaf_modules=()):
    """torch 1.13's native BackendConfig only declares quint8 activations; add the qint8 twin of each pattern.
    Every class in LEAF_ACTIVATIONS and leaf_modules gets its own input and output fake quantization."""
    backend = get_native_backend_config()
    for leaf in tuple(LEAF_ACTIVATIONS) + tuple(leaf_modules):
        backend.set_backend_pattern_config(
            BackendPatternConfig(leaf)
            .set_observation_type(ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT)
            .add_dtype_config(DTypeConfig(input_dtype=torch.qint8, output_dtype=torch.qint8)))
    for pattern_config in backend.configs.values():
        extra = []
        for dc in pattern_config.dtype_configs:
            if dc.input_dtype == torch.quint8 and dc.output_dtype == torch.quint8 and not dc.is_dynamic:
                if dc.weight_dtype == torch.qint8:
                    extra.append(DTypeConfig(input_dtype=torch.qint8, output_dtype=torch.qint8,
                                             weight_dtype=torch.qint8, bias_dtype=torch.float))
                else:
                    extra.append(DTypeConfig(input_dtype=torch.qint8, output_dtype=torch.qint8))
        for dc in extra:
            pattern_config.add_dtype_config(dc)
    return backend


def randomize_bn(module, gen):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=gen)
            m.bias.data = 0.2 * torch.randn(c, generator=gen)
            m.running_mean = 0.1 * torch.randn(c, generator=gen)
            m.running_var = 0.5 + torch.rand(c, generator=gen)


def fold_bn_after_qat(gm):
    """Replace QAT ConvBn(ReLU) modules by plain QAT Conv(ReLU) with BN folded, keeping the weight fake-quant.

    torch 1.13 does not fold BN at export (qat_onnx.md problem 4). In eval mode ConvBn computes
    conv(x, fq(W*g/sigma)) + (b - mu)*g/sigma + beta, which is exactly the folded conv below.
    """
    for name, mod in list(gm.named_modules()):
        if isinstance(mod, (nniqat.ConvBnReLU2d, nniqat.ConvBn2d)):
            bn = mod.bn
            sigma = torch.sqrt(bn.running_var + bn.eps)
            factor = bn.weight / sigma
            bias = mod.bias if mod.bias is not None else torch.zeros_like(bn.running_mean)
            cls = nniqat.ConvReLU2d if isinstance(mod, nniqat.ConvBnReLU2d) else nnqat.Conv2d
            new = cls(mod.in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride, padding=mod.padding,
                      dilation=mod.dilation, groups=mod.groups, bias=True, qconfig=mod.qconfig)
            new.weight.data = (mod.weight * factor.reshape(-1, 1, 1, 1)).detach()
            new.bias.data = ((bias - bn.running_mean) * factor + bn.bias).detach()
            new.weight_fake_quant = mod.weight_fake_quant
            parent_name, _, leaf = name.rpartition(".")
            parent = gm.get_submodule(parent_name) if parent_name else gm
            setattr(parent, leaf, new)
    return gm


def output_fake_quant_of(gm, module_name):
    """The activation fake-quant FX placed right after call_module `module_name`."""
    for node in gm.graph.nodes:
        if node.op == "call_module" and node.target == module_name:
            for user in node.users:
                if user.op == "call_module" and "activation_post_process" in str(user.target):
                    return gm.get_submodule(user.target)
    raise RuntimeError(f"no output fake-quant after {module_name}")


def run_qat(float_model, example, seed, high_precision_outputs=(), float_modules=(), float_types=(), fold_bn=True,
            leaf_modules=()):
    """Real QAT: prepare, a few SGD steps of distillation to the float model, freeze, eval.

    float_modules / float_types get qconfig None (horizon's hybrid_dict): FX leaves them float and puts
    fake quantization only where a quantized neighbour needs it. leaf_modules: extra module classes FX does not
    trace into, each with its own input and output fake quantization (as SigmoidModule).
    """
    gen = torch.Generator().manual_seed(seed)
    teacher = copy.deepcopy(float_model).eval()
    multi_output = isinstance(teacher(example), tuple)
    qmap = QConfigMapping().set_global(QCONFIG)
    for name in float_modules:
        qmap.set_module_name(name, None)
    for cls in float_types:
        qmap.set_object_type(cls, None)
    custom = PrepareCustomConfig().set_non_traceable_module_classes(list(LEAF_ACTIVATIONS) + list(leaf_modules))
    model = prepare_qat_fx(float_model.train(), qmap, (example,), prepare_custom_config=custom,
                           backend_config=qint8_backend_config(leaf_modules))
    hp_fakequants = [output_fake_quant_of(model, name) for name in high_precision_outputs]
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    steps = 8
    for step in range(steps):
        if step == steps - 2:
            model.apply(nniqat.freeze_bn_stats)
        if step == steps - 1:
            model.apply(torch.ao.quantization.disable_observer)
        x = torch.randn((2,) + tuple(example.shape[1:]), generator=gen)
        with torch.no_grad():
            target = teacher(x)
        out = model(x)
        if multi_output:
            loss = sum(nn.functional.mse_loss(o, t) for o, t in zip(out, target))
        else:
            loss = nn.functional.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.apply(torch.ao.quantization.disable_observer)
    model.eval()
    if fold_bn:
        fold_bn_after_qat(model)
    # High-precision outputs (hb_mapper's get_default_qat_out_qconfig): no output fake quant on these modules.
    for fq in hp_fakequants:
        fq.disable_fake_quant()
    return model


def exact_model(model):
    """The QAT model evaluated in float64 (docs/numerics.md §10): a copy whose weights are fake-quantized once in
    float32, as training computed them (idempotent when the double run quantizes them again), then every module in
    double. torch's fake quantize in double computes rint(x * float32(1/s)) in float64: the model's own rounding
    without float32's noise, the `verify --exact` definition, independent of bpu-mapper's code."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for mod in m.modules():
            if hasattr(mod, "weight_fake_quant") and isinstance(getattr(mod, "weight", None), torch.Tensor) and \
                    not isinstance(mod, (nniqat.ConvBnReLU2d, nniqat.ConvBn2d)):
                mod.weight.data = mod.weight_fake_quant(mod.weight).detach()
    m = m.double()
    for mod in m.modules():  # quantization parameters stay float32 (their values are unchanged either way)
        if isinstance(mod, FakeQuantize):
            mod.scale.data = mod.scale.data.float()
    return m


def save_fixture(out_dir, name, model, inputs, input_names, output_names, opset=13, export=None, exact=False):
    """exact: also write exact_output*_<i>.npy, the float64 run of exact_model (fixtures without float ops)."""
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    with torch.no_grad():
        if export:
            export(model, inputs[0], path)
        else:
            torch.onnx.export(model, inputs[0], path, opset_version=opset, input_names=input_names,
                              output_names=output_names, do_constant_folding=True)
    for i, x in enumerate(inputs):
        np.save(os.path.join(folder, f"input_{i}.npy"), x.numpy().astype(np.float32))
        with torch.no_grad():
            model.apply(torch.ao.quantization.enable_fake_quant)
            for fq in getattr(model, "_hp_fakequants", []):
                fq.disable_fake_quant()
            qat_out = model(x)
            model.apply(torch.ao.quantization.disable_fake_quant)
            float_out = model(x)
            model.apply(torch.ao.quantization.enable_fake_quant)
            for fq in getattr(model, "_hp_fakequants", []):
                fq.disable_fake_quant()
            exact_out = exact_model(model)(x.double()) if exact else None
        qat_outs = qat_out if isinstance(qat_out, tuple) else (qat_out,)
        float_outs = float_out if isinstance(float_out, tuple) else (float_out,)
        exact_outs = exact_out if isinstance(exact_out, tuple) else (exact_out,)
        for k, out_name in enumerate(output_names):
            suffix = "" if len(output_names) == 1 else f"_{out_name}"
            np.save(os.path.join(folder, f"qat_output{suffix}_{i}.npy"), qat_outs[k].numpy().astype(np.float32))
            np.save(os.path.join(folder, f"float_output{suffix}_{i}.npy"), float_outs[k].numpy().astype(np.float32))
            if exact:
                np.save(os.path.join(folder, f"exact_output{suffix}_{i}.npy"), exact_outs[k].numpy().astype(np.float32))
    print(f"{name}: {path} ({os.path.getsize(path)} bytes), {len(inputs)} inputs")


def standard_inputs(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen),
            0.5 * torch.randn(shape, generator=gen) + 0.25,
            torch.rand(shape, generator=gen)]


# ---------------------------------------------------------------------------------------------------------------
# The seed's non-hybrid model (../shared/seed, section 2.1), widened to 16 channels.

class ConvBNReLU(nn.Sequential):
    def __init__(self, cin, cout, kernel=3, stride=1):
        super().__init__(nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2),
                         nn.BatchNorm2d(cout), nn.ReLU())


class ConvAddReLU(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.conv(x))


class ConvBNAddReLU(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.bn(self.conv(x)))


class NonHybridModel(nn.Module):
    def __init__(self, channels=16, out_channels=8):
        super().__init__()
        self.layer0 = ConvBNReLU(3, channels, 3, stride=2)
        self.layer1 = ConvAddReLU(channels)
        self.layer2 = ConvBNAddReLU(channels)
        self.conv1 = nn.Conv2d(channels, out_channels, 1)

    def forward(self, x):
        return self.conv1(self.layer2(self.layer1(self.layer0(x))))


def build_nonhybrid(out_dir, name="nonhybrid", high_precision=True):
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(2)
    model = NonHybridModel()
    randomize_bn(model, gen)
    shape = (1, 3, 64, 64)
    hp = ["conv1"] if high_precision else []
    qat = run_qat(model, torch.randn(shape, generator=gen), seed=3, high_precision_outputs=hp)
    qat._hp_fakequants = [output_fake_quant_of(qat, m) for m in hp]
    save_fixture(out_dir, name, qat, standard_inputs(shape, seed=4), ["input"], ["output"])


def build_nonhybrid_int8_output(out_dir):
    """The same network with conv1's output fake-quantized: the .bin's output is int8, checked in LSBs."""
    build_nonhybrid(out_dir, name="nonhybrid_int8_output", high_precision=False)


# ---------------------------------------------------------------------------------------------------------------
# The seed's hybrid model (../shared/seed, section 2.2): SELU kept float (hybrid_dict module_type), a ConvBNReLU
# whose input is float (layer1, kept float), a conv left float between quantized neighbours (conv0, the seed's
# Conv_32 case), and the last conv with high-precision output followed by a float SELU.

class HybridModel(nn.Module):
    def __init__(self, channels=16):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, stride=2, padding=1)
        self.layer0 = ConvBNReLU(channels, channels)
        self.selu = nn.SELU()
        self.layer1 = ConvBNReLU(channels, channels)
        self.layer2 = ConvBNReLU(channels, channels, 1)
        self.conv0 = nn.Conv2d(channels, channels, 1)
        self.conv1 = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        x = self.selu(self.stem(x))
        x = self.layer0(x)
        x = self.selu(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.conv0(x)
        x = self.conv1(x)
        return self.selu(x)


def build_hybrid(out_dir):
    torch.manual_seed(11)
    gen = torch.Generator().manual_seed(12)
    model = HybridModel()
    randomize_bn(model, gen)
    shape = (1, 3, 64, 64)
    qat = run_qat(model, torch.randn(shape, generator=gen), seed=13, high_precision_outputs=["conv1"],
                  float_modules=["stem", "layer1", "conv0"], float_types=[nn.SELU])
    qat._hp_fakequants = [output_fake_quant_of(qat, "conv1")]
    save_fixture(out_dir, "hybrid", qat, standard_inputs(shape, seed=14), ["input"], ["output"])


# ---------------------------------------------------------------------------------------------------------------
# Operator coverage (issue 4): torchvision networks, resize/concat/sigmoid heads, unfolded BN, Horizon int16.

def build_nonhybrid_unfolded_bn(out_dir):
    """The non-hybrid model exported as torch 1.13 leaves it: Conv -> Div(gamma/sigma) -> BatchNormalization."""
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(2)
    model = NonHybridModel()
    randomize_bn(model, gen)
    shape = (1, 3, 64, 64)
    qat = run_qat(model, torch.randn(shape, generator=gen), seed=3, high_precision_outputs=["conv1"], fold_bn=False)
    qat._hp_fakequants = [output_fake_quant_of(qat, "conv1")]
    save_fixture(out_dir, "nonhybrid_unfolded_bn", qat, standard_inputs(shape, seed=4), ["input"], ["output"])


def small_resnet18(base=8, num_classes=10):
    """torchvision's resnet18 (BasicBlock, [2, 2, 2, 2], 7x7 stem, max pool, GAP, fc) at 1/8 of the width, so
    the fixture stays small enough to commit."""
    from torchvision.models.resnet import BasicBlock, ResNet
    model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
    model.inplanes = base
    model.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = nn.BatchNorm2d(base)
    model.layer1 = model._make_layer(BasicBlock, base, 2)
    model.layer2 = model._make_layer(BasicBlock, base * 2, 2, stride=2)
    model.layer3 = model._make_layer(BasicBlock, base * 4, 2, stride=2)
    model.layer4 = model._make_layer(BasicBlock, base * 8, 2, stride=2)
    model.fc = nn.Linear(base * 8, num_classes)
    return model


def build_resnet18(out_dir):
    torch.manual_seed(21)
    gen = torch.Generator().manual_seed(22)
    model = small_resnet18()
    randomize_bn(model, gen)
    shape = (1, 3, 64, 64)
    qat = run_qat(model, torch.randn(shape, generator=gen), seed=23)
    save_fixture(out_dir, "resnet18", qat, standard_inputs(shape, seed=24), ["input"], ["logits"], exact=True)


def build_mobilenet_v2(out_dir):
    from torchvision.models import mobilenet_v2
    torch.manual_seed(31)
    gen = torch.Generator().manual_seed(32)
    model = mobilenet_v2(width_mult=0.35, num_classes=10)
    randomize_bn(model, gen)
    shape = (1, 3, 64, 64)
    qat = run_qat(model, torch.randn(shape, generator=gen), seed=33)
    save_fixture(out_dir, "mobilenet_v2", qat, standard_inputs(shape, seed=34), ["input"], ["logits"], exact=True)


class TwoBranchHead(nn.Module):
    """FPN-style: a strided branch upsampled by nearest x2, concatenated with the lateral branch, upsampled
    bilinear x2 into a 1-channel sigmoid map; a second output pools the features."""

    def __init__(self, c=8):
        super().__init__()
        self.stem = ConvBNReLU(3, c, 3, stride=2)
        self.down = ConvBNReLU(c, c, 3, stride=2)
        self.lateral = ConvBNReLU(c, c, 1)
        self.fuse = ConvBNReLU(2 * c, 2 * c, 3)
        self.head = nn.Conv2d(2 * c, 1, 1)
        self.sigmoid = SigmoidModule()
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.stem(x)
        top = nn.functional.interpolate(self.down(x), scale_factor=2, mode="nearest")
        cat = torch.cat([top, self.lateral(x)], dim=1)
        feat = self.fuse(cat)
        seg = self.sigmoid(self.head(nn.functional.interpolate(feat, scale_factor=2, mode="bilinear",
                                                               align_corners=False)))
        return seg, torch.flatten(self.pool(feat), 1)


def build_resize_concat(out_dir):
    torch.manual_seed(41)
    gen = torch.Generator().manual_seed(42)
    model = TwoBranchHead()
    randomize_bn(model, gen)
    shape = (1, 3, 64, 64)
    qat = run_qat(model, torch.randn(shape, generator=gen), seed=43)
    save_fixture(out_dir, "resize_concat", qat, standard_inputs(shape, seed=44), ["input"], ["seg", "feat"], exact=True)



class DenseBlock(nn.Module):
    """DenseNet's pattern: BatchNorm after a Concat, where no Conv can absorb it (with and without a ReLU)."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(8)
        self.relu0 = nn.ReLU()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 8, 1)
        self.bn2 = nn.BatchNorm2d(24)
        self.conv3 = nn.Conv2d(24, 4, 1)

    def forward(self, x):
        a = self.relu0(self.bn0(self.conv0(x)))
        c = torch.cat([a, self.conv1(a)], 1)
        e = torch.cat([c, self.conv2(self.relu1(self.bn1(c)))], 1)
        return self.conv3(self.bn2(e))


def build_standalone_bn(out_dir):
    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(6)
    model = DenseBlock()
    randomize_bn(model, gen)
    shape = (1, 3, 32, 32)
    qat = run_qat(model, torch.randn(shape, generator=gen), seed=7, high_precision_outputs=["conv3"])
    qat._hp_fakequants = [output_fake_quant_of(qat, "conv3")]
    save_fixture(out_dir, "standalone_bn", qat, standard_inputs(shape, seed=8), ["input"], ["output"])

# The Horizon dialect: fake quantization exported as horizon::HzQuantize / HzDequantize with a `bits`
# attribute (opset 11). Activations are int16 (quant range +-32767), weights int8 per channel.

def horizon_export(model, example, path):
    from torch.onnx import register_custom_op_symbolic, symbolic_helper

    def bits_of(quant_max):
        return 16 if symbolic_helper._maybe_get_const(quant_max, "i") > 127 else 8

    def per_tensor(g, x, scale, zero_point, quant_min, quant_max):
        bits = bits_of(quant_max)
        q = g.op("horizon::HzQuantize", x, scale, zero_point, bits_i=bits)
        return g.op("horizon::HzDequantize", q, scale, zero_point, bits_i=bits)

    def per_channel(g, x, scale, zero_point, axis, quant_min, quant_max):
        bits = bits_of(quant_max)
        axis_v = symbolic_helper._maybe_get_const(axis, "i")
        q = g.op("horizon::HzQuantize", x, scale, zero_point, bits_i=bits, axis_i=axis_v)
        return g.op("horizon::HzDequantize", q, scale, zero_point, bits_i=bits, axis_i=axis_v)

    register_custom_op_symbolic("::fake_quantize_per_tensor_affine", per_tensor, 11)
    register_custom_op_symbolic("::fake_quantize_per_channel_affine", per_channel, 11)
    torch.onnx.export(model, example, path, opset_version=11, input_names=["input"], output_names=["output"],
                      do_constant_folding=True, custom_opsets={"horizon": 1})


def act_fq16():
    return FakeQuantize(observer=MovingAverageMinMaxObserver, quant_min=-32768, quant_max=32767, dtype=torch.qint32,
                        qscheme=torch.per_tensor_symmetric, reduce_range=False)


class HorizonInt16Net(nn.Module):
    """Explicit fake quantization (Horizon plugin style): int16 activations, int8 per-channel weights, a
    residual add of two differently scaled int16 tensors, an int8 output. (With an int16 output the torch
    reference's own float32 noise, about 1e-2 of an int16 LSB, decides ~1% of the output roundings; see
    docs/numerics.md.)"""

    def __init__(self, c=8):
        super().__init__()
        self.fq_in = act_fq16()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(3, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, 4, 1)
        self.wq = nn.ModuleList([WEIGHT_FQ() for _ in range(3)])
        self.fq1, self.fq2, self.fq3, self.fq_out = act_fq16(), act_fq16(), act_fq16(), ACT_FQ()

    def conv(self, k, conv, x):
        return nn.functional.conv2d(x, self.wq[k](conv.weight), conv.bias, padding=conv.padding)

    def forward(self, x):
        x = self.fq_in(x)
        a = self.fq1(torch.relu(self.conv(0, self.conv1, x)))
        b = self.fq2(self.conv(1, self.conv2, a))
        s = self.fq3(torch.relu(a + b))
        return self.fq_out(self.conv(2, self.conv3, s))


def train_explicit_fake_quant(model, shape, gen):
    """QAT of a model that places its own fake quants (Horizon plugin style): 8 SGD steps of distillation to its
    float self, observers off for the last step, then eval."""
    teacher = copy.deepcopy(model).apply(torch.ao.quantization.disable_fake_quant).eval()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    model.train()
    for step in range(8):
        if step == 7:
            model.apply(torch.ao.quantization.disable_observer)
        x = torch.randn((2,) + shape[1:], generator=gen)
        with torch.no_grad():
            target = teacher(x)
        loss = nn.functional.mse_loss(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.apply(torch.ao.quantization.disable_observer)
    model.eval()
    return model


def build_horizon_int16(out_dir):
    torch.manual_seed(51)
    gen = torch.Generator().manual_seed(52)
    shape = (1, 3, 32, 32)
    model = train_explicit_fake_quant(HorizonInt16Net(), shape, gen)
    save_fixture(out_dir, "horizon_int16", model, standard_inputs(shape, seed=53), ["input"], ["output"],
                 export=horizon_export)


def seeded_fixture_main(doc, names, build, seed_base):
    """Command line of the per-topic generators: `--out DIR`, `--only NAME` (repeatable); fixture k of the sorted
    names is built by build(out_dir, name, seed=seed_base + 10 * k)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "test", "data"))
    parser.add_argument("--only", choices=sorted(names), action="append")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for k, name in enumerate(sorted(names)):
        if not args.only or name in args.only:
            build(args.out, name, seed=seed_base + 10 * k)


FIXTURES = {"nonhybrid": build_nonhybrid, "nonhybrid_int8_output": build_nonhybrid_int8_output, "hybrid": build_hybrid,
            "nonhybrid_unfolded_bn": build_nonhybrid_unfolded_bn, "resnet18": build_resnet18,
            "mobilenet_v2": build_mobilenet_v2, "resize_concat": build_resize_concat,
            "horizon_int16": build_horizon_int16, "standalone_bn": build_standalone_bn}


def main():
    seeded_fixture_main(__doc__, FIXTURES, lambda out, name, seed: FIXTURES[name](out), seed_base=0)


if __name__ == "__main__":
    main()
