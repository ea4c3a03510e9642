#!/usr/bin/python3
"""Builds the real QAT ONNX fixtures under test/data/ with Debian's python3-torch 1.13.

Run with /usr/bin/python3 (Debian's interpreter; a pyenv python3 cannot see dist-packages):
    /usr/bin/python3 scripts/gen_fixtures.py [--out test/data] [--only nonhybrid]
Each fixture folder gets model.onnx, input_<i>.npy, qat_output_<i>.npy (the fake-quant model in eval mode:
the numbers the compiled .bin must reproduce) and float_output_<i>.npy (same weights, fake quant disabled).
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
from torch.ao.quantization.backend_config import DTypeConfig, get_native_backend_config
from torch.ao.quantization.qconfig_mapping import QConfigMapping
from torch.ao.quantization.quantize_fx import prepare_qat_fx

# ---------------------------------------------------------------------------------------------------------------
# QAT recipe (../shared/reference/qat_onnx.md §2-3): symmetric int8 activations, per-channel symmetric int8 weights.

ACT_FQ = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
                                dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, reduce_range=False)
WEIGHT_FQ = FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
                                   dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)
QCONFIG = QConfig(activation=ACT_FQ, weight=WEIGHT_FQ)


def qint8_backend_config():
    """torch 1.13's native BackendConfig only declares quint8 activations; add the qint8 twin of each pattern."""
    backend = get_native_backend_config()
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


def run_qat(float_model, example, seed, high_precision_outputs=(), float_modules=(), float_types=()):
    """Real QAT: prepare, a few SGD steps of distillation to the float model, freeze, eval.

    float_modules / float_types get qconfig None (horizon's hybrid_dict): FX leaves them float and puts
    fake quantization only where a quantized neighbour needs it.
    """
    gen = torch.Generator().manual_seed(seed)
    teacher = copy.deepcopy(float_model).eval()
    qmap = QConfigMapping().set_global(QCONFIG)
    for name in float_modules:
        qmap.set_module_name(name, None)
    for cls in float_types:
        qmap.set_object_type(cls, None)
    model = prepare_qat_fx(float_model.train(), qmap, (example,), backend_config=qint8_backend_config())
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
        loss = nn.functional.mse_loss(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.apply(torch.ao.quantization.disable_observer)
    model.eval()
    fold_bn_after_qat(model)
    # High-precision outputs (hb_mapper's get_default_qat_out_qconfig): no output fake quant on these modules.
    for fq in hp_fakequants:
        fq.disable_fake_quant()
    return model


def save_fixture(out_dir, name, model, inputs, input_names, output_names, opset=13):
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    with torch.no_grad():
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
        np.save(os.path.join(folder, f"qat_output_{i}.npy"), qat_out.numpy().astype(np.float32))
        np.save(os.path.join(folder, f"float_output_{i}.npy"), float_out.numpy().astype(np.float32))
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


FIXTURES = {"nonhybrid": build_nonhybrid, "nonhybrid_int8_output": build_nonhybrid_int8_output, "hybrid": build_hybrid}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "test", "data"))
    parser.add_argument("--only", choices=sorted(FIXTURES), action="append")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.only or sorted(FIXTURES):
        FIXTURES[name](args.out)


if __name__ == "__main__":
    main()
