"""Sanity check of scripts/op_golden.py against torch's own operators, where torch has the same meaning.
Run:  /usr/bin/python3 scripts/gen_op_fixtures.py --check-torch   (exit 1 on any mismatch beyond 1e-6)."""
import numpy as np
import torch
import torch.nn.functional as F

import op_golden as G


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def checks(x):
    t = _t(x)
    yield "resize linear half_pixel x2", G.resize(x, "linear", "half_pixel", [1, 1, 2, 2]), \
        F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)
    yield "resize linear half_pixel sizes 6x8", G.resize(x, "linear", "half_pixel", sizes=[1, 3, 6, 8]), \
        F.interpolate(t, size=(6, 8), mode="bilinear", align_corners=False)
    yield "resize linear align_corners 7x9", G.resize(x, "linear", "align_corners", sizes=[1, 3, 7, 9]), \
        F.interpolate(t, size=(7, 9), mode="bilinear", align_corners=True)
    yield "resize nearest asymmetric x2", G.resize(x, "nearest", "asymmetric", [1, 1, 2, 2]), \
        F.interpolate(t, scale_factor=2, mode="nearest")
    yield "resize nearest (Resize-10 floor) x2", G.resize(x, "nearest", "asymmetric", [1, 1, 2, 2], None, "floor"), \
        F.interpolate(t, scale_factor=2, mode="nearest")
    pads = [0, 0, 1, 2, 0, 0, 2, 1]
    torch_pads = (2, 1, 1, 2)  # W begin, W end, H begin, H end
    yield "pad reflect", G.pad(x, pads, "reflect"), F.pad(t, torch_pads, mode="reflect")
    yield "pad edge", G.pad(x, pads, "edge"), F.pad(t, torch_pads, mode="replicate")
    yield "pad constant 0.25", G.pad(x, pads, "constant", 0.25), F.pad(t, torch_pads, value=0.25)
    yield "softmax opset 11 axis 1", G.softmax(x, 1, 11), torch.softmax(t.reshape(1, -1), 1).reshape(t.shape)
    yield "softmax opset 13 axis 1", G.softmax(x, 1, 13), torch.softmax(t, 1)
    yield "softmax opset 11 axis -1", G.softmax(x, -1, 11), torch.softmax(t, -1)
    yield "log_softmax opset 11 axis 1", G.softmax(x, 1, 11, "LogSoftmax"), \
        torch.log_softmax(t.reshape(1, -1), 1).reshape(t.shape)
    yield "log_softmax opset 13 default", G.softmax(x, None, 13, "LogSoftmax"), torch.log_softmax(t, -1)
    yield "hardmax opset 11 axis 1", G.softmax(x, 1, 11, "Hardmax"), \
        F.one_hot(t.reshape(1, -1).argmax(1), t.numel()).double().reshape(t.shape)
    yield "hardmax opset 13 default", G.softmax(x, None, 13, "Hardmax"), F.one_hot(t.argmax(-1), t.shape[-1]).double()
    yield "selu", G.selu(x), F.selu(t)
    a, w, c = x.reshape(x.shape[1], -1), x.reshape(-1, x.shape[1]), np.arange(float(x.shape[1]))
    yield "gemm (transB 0)", G.gemm(a, w, c), F.linear(_t(a), _t(w.T.copy()), _t(c))
    yield "gemm (transB 1)", G.gemm(a, w.T, c, trans_b=1), F.linear(_t(a), _t(w.T.copy()), _t(c))
    yield "avgpool pads include", G.pool(x, "avg", [3, 3], [1, 1], [1, 1, 1, 1], 0, 1), \
        F.avg_pool2d(t, 3, 1, 1, count_include_pad=True)
    yield "avgpool pads exclude", G.pool(x, "avg", [3, 3], [1, 1], [1, 1, 1, 1], 0, 0), \
        F.avg_pool2d(t, 3, 1, 1, count_include_pad=False)
    yield "avgpool ceil", G.pool(x, "avg", [3, 3], [2, 2], [0, 0, 0, 0], 1, 0), \
        F.avg_pool2d(t, 3, 2, 0, ceil_mode=True, count_include_pad=False)
    yield "avgpool ceil pads include", G.pool(x, "avg", [2, 2], [2, 2], [1, 1, 1, 1], 1, 1), \
        F.avg_pool2d(t, 2, 2, 1, ceil_mode=True, count_include_pad=True)
    yield "maxpool ceil pads", G.pool(x, "max", [3, 3], [2, 2], [1, 1, 1, 1], 1), F.max_pool2d(t, 3, 2, 1, ceil_mode=True)
    yield "maxpool ceil", G.pool(x, "max", [3, 3], [2, 2], [0, 0, 0, 0], 1), F.max_pool2d(t, 3, 2, 0, ceil_mode=True)
    yield "erf", G.erf(x), torch.erf(t)
    yield "hardswish", G.hard_swish(x), F.hardswish(t)
    yield "hardsigmoid (alpha 1/6)", G.hard_sigmoid(x, 1 / 6, 0.5), F.hardsigmoid(t)
    yield "elu", G.elu(x), F.elu(t)
    yield "leaky_relu", G.leaky_relu(x), F.leaky_relu(t, 0.01)
    yield "reduce mean hw", G.reduce(x, "mean", [2, 3]), t.mean(dim=(2, 3), keepdim=True)


def checks_channels(x):
    t = _t(x)
    yield "depth_to_space CRD = pixel_shuffle", G.depth_to_space(x, 2, "CRD"), F.pixel_shuffle(t, 2)
    yield "space_to_depth inverts DepthToSpace DCR", G.space_to_depth(G.depth_to_space(x, 2, "DCR"), 2), x
    u = F.pixel_unshuffle(_t(G.depth_to_space(x, 2, "DCR")), 2)  # channel order (C, b, b); ONNX's is (b, b, C)
    yield "space_to_depth = pixel_unshuffle, channels reordered", G.space_to_depth(G.depth_to_space(x, 2, "DCR"), 2), \
        u.reshape(1, 2, 4, 2, 3).permute(0, 2, 1, 3, 4).reshape(1, 8, 2, 3)
    w = np.random.default_rng(3).normal(size=(5, 8, 3, 3))
    b = np.arange(5, dtype=np.float64)
    yield "conv2d", G.conv2d(x, w, b, [1, 1, 1, 1]), F.conv2d(t, _t(w), _t(b), padding=1)


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 4, 5))
    x6 = rng.normal(size=(1, 4, 6, 6))
    x8 = rng.normal(size=(1, 8, 2, 3))
    bad = 0
    all_checks = list(checks(x)) + [(n + " (6x6)", a, b) for n, a, b in checks(x6) if "pool" in n] + \
        list(checks_channels(x8))
    for name, ours, ref in all_checks:
        ref = ref.numpy() if isinstance(ref, torch.Tensor) else ref
        ok = ours.shape == ref.shape and np.abs(ours - ref).max() <= 1e-6
        bad += not ok
        diff = np.abs(ours - ref).max() if ours.shape == ref.shape else float("nan")
        print(f"{'ok  ' if ok else 'FAIL'} {name}: shape {ours.shape} vs {tuple(ref.shape)}, max diff {diff:.2e}")
    print(f"{len(all_checks) - bad} of {len(all_checks)} agree with torch")
    return 1 if bad else 0
