#!/usr/bin/python3
"""Post-training calibration fixtures, with an independent numpy witness for every number they hold.

For the QAT fixtures nonhybrid, resize_concat, mobilenet_v2 and resnet18 this script strips the fake
quantization out of test/data/<F>/model.onnx (the float model a post-training calibration starts from), writes
hb_mapper-style raw calibration samples, and runs a small numpy ONNX interpreter (opset 13 semantics, written from
the operator pages of https://onnx.ai/onnx/operators/ and scripts/op_golden.py) over the float model to record the
max |x| of every activation over the calibration set and the float outputs on held-out inputs. It also writes one
KL-divergence threshold witness (a histogram and the threshold the procedure in kl_threshold() picks from it).

It uses no bpu-mapper code, no onnxruntime and no torch: only numpy, onnx (for loading, building and checking
the protobufs) and scripts/op_golden.py. The interpreter is validated against torch by running each QAT model
itself (QuantizeLinear / DequantizeLinear as the spec defines them) and comparing with test/data/<F>/qat_output_*.

Run with Debian's python:   /usr/bin/python3 scripts/gen_calib_fixtures.py [--data test/data] [--only F]
Every random number comes from a fixed seed, so a rerun rewrites the same bytes.

Outputs (README)
----------------
test/data/calib_<F>/ for F in nonhybrid, resize_concat, mobilenet_v2, resnet18:
  float_model.onnx             model.onnx with every DequantizeLinear(QuantizeLinear(x)) pair removed and its
                               consumers reading x (weights: the float initializer the weight's Q node read); the
                               graph outputs keep the QAT model's names; unused initializers and nodes dropped.
  calibration_data_f32/cal_000.bin .. cal_015.bin
                               16 raw float32 samples (1x3x64x64, C order, no header):
                               np.random.default_rng(1000 + i).standard_normal((1, 3, 64, 64)).astype(np.float32).
                               The same seeds for every fixture, so the files are byte-identical across fixtures.
  heldout_input_<K>.npy        K = 0, 1, 2: copies of test/data/<F>/input_<K>.npy.
  heldout_float_output_<K>.npy (one output) or heldout_float_output_<name>_<K>.npy (several): float_model.onnx on
                               heldout_input_<K>.npy, computed by the numpy interpreter below.
  witness_absmax.json          {tensor: max |x| over the 16 calibration samples} for the graph input and every
                               float node output of float_model.onnx (Constant outputs excluded), plus
                               "__scales__": {tensor: float32(absmax / 127)}.
test/data/calib_kl/:
  histogram.npy                int64[2048]: histogram of |x| over [0, max|x|] for 200000 samples of the mixture
                               0.9 N(0, 1) + 0.1 Laplace(0, 3) (seed KL_SEED); bin k counts |x| in [k w, (k+1) w),
                               w = max|x| / 2048, the maximum itself in bin 2047.
  meta.json                    {"absmax", "bins", "threshold", "best_i", "scale"} (+ "bin_width", "kl_min",
                               "num_quantized_bins", "eps") from kl_threshold(); threshold = (best_i + 0.5) w.

Numerics of the interpreter: tensors are float32 between ops. Add, Relu, Clip, Concat, Flatten, MaxPool and the
Q/DQ ops compute in float32 (exact or correctly rounded there); Conv and Gemm accumulate in float64 (every product
of two float32 values is exact in float64) and round once to float32; GlobalAveragePool, Sigmoid and Resize compute
in float64 and round once to float32.
"""
import argparse
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # importing op_golden must not leave a __pycache__ behind

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import op_golden as og  # noqa: E402  (numpy reference ops written from the ONNX spec; no bpu-mapper code)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = ["nonhybrid", "resize_concat", "mobilenet_v2", "resnet18"]
NUM_CAL = 16
CAL_SEED0 = 1000
CAL_SHAPE = (1, 3, 64, 64)
NUM_HELDOUT = 3

KL_SEED = 20240
KL_SAMPLES = 200000
KL_BINS = 2048
KL_QUANT_BINS = 128
KL_EPS = 1e-4

F32 = np.float32


# ---------------------------------------------------------------------------------------------------------------
# Stripping fake quantization

def strip_fake_quant(qat, source="the QAT model"):
    """Return the float model: every DequantizeLinear(QuantizeLinear(x)) removed, consumers reading x."""
    g = qat.graph
    producer = {o: n for n in g.node for o in n.output}
    graph_inputs = {i.name for i in g.input}

    def resolve(t):
        # DQ(Q(DQ(Q(x)))) chains occur (mobilenet_v2): follow them all the way to x.
        while t:
            dq = producer.get(t)
            if dq is None or dq.op_type != "DequantizeLinear":
                return t
            q = producer.get(dq.input[0])
            if q is None or q.op_type != "QuantizeLinear":
                raise ValueError(f"DequantizeLinear {dq.name!r} reads {dq.input[0]!r}, not a QuantizeLinear output")
            t = q.input[0]
        return t

    nodes = []
    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        m = onnx.NodeProto()
        m.CopyFrom(n)
        del m.input[:]
        m.input.extend(resolve(i) for i in n.input)
        nodes.append(m)

    # Graph outputs: the tensor the output's DQ chain hides gets the output's name back.
    kept_producer = {o: n for n in nodes for o in n.output}
    output_names = [o.name for o in g.output]
    rename, copies = {}, []
    for name in output_names:
        src = resolve(name)
        if src == name:
            continue
        if src in kept_producer and src not in rename and src not in output_names and src not in graph_inputs:
            rename[src] = name
        else:  # a graph input, or a tensor already feeding another output: keep it and copy it out
            copies.append((src, name))
    for n in nodes:
        for field in (n.input, n.output):
            for k, t in enumerate(field):
                if t in rename:
                    field[k] = rename[t]
    nodes += [helper.make_node("Identity", [rename.get(src, src)], [name], name=f"{name}_identity")
              for src, name in copies]

    # Dead code: the zero-point Identity nodes, unused Constants and initializers.
    needed = set(output_names)
    kept = []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            kept.append(n)
            needed.update(i for i in n.input if i)
    kept.reverse()
    for n in kept:
        assert n.op_type not in ("QuantizeLinear", "DequantizeLinear"), n.name
    inits = [i for i in g.initializer if i.name in needed]

    graph = helper.make_graph(kept, g.name, list(g.input), list(g.output), initializer=inits)
    model = helper.make_model(graph, opset_imports=list(qat.opset_import), ir_version=qat.ir_version,
                              producer_name="gen_calib_fixtures.py",
                              doc_string=f"{source} with its fake quantization stripped by "
                                         "scripts/gen_calib_fixtures.py")
    onnx.checker.check_model(model)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model


# ---------------------------------------------------------------------------------------------------------------
# numpy interpreter (ONNX opset 13 semantics)

def _per_axis(param, x, axis):
    """A Q/DQ scale or zero point as a broadcastable array: a scalar (or 1-element 1-D tensor) is per tensor,
    otherwise a 1-D tensor along `axis`."""
    p = np.asarray(param)
    if p.size == 1:
        return p.reshape(())
    axis = axis + x.ndim if axis < 0 else axis
    shape = [1] * x.ndim
    shape[axis] = p.size
    return p.reshape(shape)


def quantize_linear(x, scale, zero_point=None, axis=1):
    """QuantizeLinear-13: y = saturate(round(x / y_scale) + y_zero_point), round half to even, saturate to the
    zero point's type (uint8 when it is absent)."""
    zp = np.zeros((), np.uint8) if zero_point is None else np.asarray(zero_point)
    info = np.iinfo(zp.dtype)
    s = _per_axis(scale, x, axis).astype(F32)
    q = np.rint(x.astype(F32) / s) + _per_axis(zp, x, axis).astype(F32)
    return np.clip(q, info.min, info.max).astype(zp.dtype)


def dequantize_linear(x, scale, zero_point=None, axis=1):
    """DequantizeLinear-13: y = (x - x_zero_point) * x_scale."""
    zp = np.zeros((), x.dtype) if zero_point is None else np.asarray(zero_point)
    d = (x.astype(np.int32) - _per_axis(zp, x, axis).astype(np.int32)).astype(F32)
    return (d * _per_axis(scale, x, axis).astype(F32)).astype(F32)


def conv(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1):
    """Conv-11/13 on NCHW with strides, dilations, groups; pads [top, left, bottom, right]. float64 sums."""
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    if c != cg * group or m % group:
        raise ValueError(f"conv: {c} input channels, weight {w.shape}, group {group}")
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])])
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    xg = xp.reshape(n, group, cg, xp.shape[2], xp.shape[3])
    wg = w.astype(np.float64).reshape(group, m // group, cg, kh, kw)
    y = np.zeros((n, group, m // group, oh, ow))
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilations[0], j * dilations[1]
            rows = slice(r0, r0 + strides[0] * (oh - 1) + 1, strides[0])
            cols = slice(c0, c0 + strides[1] * (ow - 1) + 1, strides[1])
            patch = xg[:, :, :, rows, cols]
            y += np.einsum("ngchw,gmc->ngmhw", patch, wg[:, :, :, i, j])
    y = y.reshape(n, m, oh, ow)
    if b is not None:
        y = y + b.astype(np.float64).reshape(1, m, 1, 1)
    return y.astype(F32)


def _conv_naive(x, w, b, strides, pads, dilations, group):
    """Conv straight from the spec's definition, one output element at a time (self-check only)."""
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    y = np.zeros((n, m, oh, ow))
    for nn in range(n):
        for mm in range(m):
            gi = mm // (m // group)
            for oi in range(oh):
                for oj in range(ow):
                    acc = float(b[mm])
                    for cc in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                hi = oi * strides[0] - pads[0] + i * dilations[0]
                                wj = oj * strides[1] - pads[1] + j * dilations[1]
                                if 0 <= hi < h and 0 <= wj < wd:
                                    acc += float(x[nn, gi * cg + cc, hi, wj]) * float(w[mm, cc, i, j])
                    y[nn, mm, oi, oj] = acc
    return y


def self_check():
    """The vectorized conv against the definition, and against op_golden.conv2d for its stride-1 case."""
    rng = np.random.default_rng(7)
    cases = [(4, 6, 2, 3, (2, 1), (1, 0, 2, 1), (1, 2)), (6, 6, 6, 3, (2, 2), (1, 1, 1, 1), (1, 1)),
             (3, 4, 1, 2, (1, 1), (0, 1, 1, 0), (2, 1))]
    for (c, m, g, k, s, p, d) in cases:
        x = rng.standard_normal((1, c, 7, 8)).astype(F32)
        w = rng.standard_normal((m, c // g, k, k)).astype(F32)
        b = rng.standard_normal(m).astype(F32)
        diff = np.abs(conv(x, w, b, s, p, d, g).astype(np.float64) - _conv_naive(x, w, b, s, p, d, g)).max()
        assert diff < 1e-5, ("conv self-check", c, m, g, k, s, p, d, diff)
    x = rng.standard_normal((1, 3, 6, 5)).astype(F32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(F32)
    b = rng.standard_normal(4).astype(F32)
    diff = np.abs(conv(x, w, b, pads=(1, 2, 0, 1)) - og.conv2d(x, w, b, (1, 2, 0, 1))).max()
    assert diff < 1e-5, ("conv vs op_golden.conv2d", diff)
    q = quantize_linear(np.array([-1.0, -0.5, 0.5, 1.5, 2.5, 300.0, -300.0], F32), np.array([1.0], F32),
                        np.array([0], np.int8))
    assert q.tolist() == [-1, 0, 0, 2, 2, 127, -128], q


def _attrs(node):
    a = {}
    for at in node.attribute:
        v = helper.get_attribute_value(at)
        a[at.name] = v.decode() if isinstance(v, bytes) else v
    return a


def _no_auto_pad(a, op):
    if a.get("auto_pad", "NOTSET") != "NOTSET":
        raise NotImplementedError(f"{op}: auto_pad={a['auto_pad']}")


def op_conv(ins, a):
    _no_auto_pad(a, "Conv")
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    nk = w.ndim - 2
    if nk != 2 or ("kernel_shape" in a and list(a["kernel_shape"]) != list(w.shape[2:])):
        raise NotImplementedError(f"Conv: weight {w.shape}, attributes {a}")
    return [conv(x, w, b, a.get("strides", [1] * nk), a.get("pads", [0] * 2 * nk), a.get("dilations", [1] * nk),
                 a.get("group", 1))]


def op_maxpool(ins, a):
    _no_auto_pad(a, "MaxPool")
    k = a["kernel_shape"]
    if len(k) != 2 or any(d != 1 for d in a.get("dilations", [1, 1])) or a.get("storage_order", 0):
        raise NotImplementedError(f"MaxPool {a}")
    y = og.pool(ins[0], "max", k, a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0]), a.get("ceil_mode", 0))
    return [y.astype(F32)]  # a max of float32 values: exact


def op_resize(ins, a):
    x = ins[0]
    scales = ins[2] if len(ins) > 2 and ins[2] is not None and ins[2].size else None
    sizes = ins[3] if len(ins) > 3 and ins[3] is not None and ins[3].size else None
    mode = a.get("mode", "nearest")
    coord = a.get("coordinate_transformation_mode", "half_pixel")
    nearest = a.get("nearest_mode", "round_prefer_floor")
    if mode not in ("nearest", "linear") or coord not in ("half_pixel", "asymmetric", "align_corners") or \
            (mode == "nearest" and nearest not in ("floor", "round_prefer_floor")):
        raise NotImplementedError(f"Resize {a}")
    if (scales is None) == (sizes is None):
        raise ValueError("Resize-13 needs exactly one of scales and sizes")
    y = og.resize(x.astype(np.float64), mode, coord, scales=None if scales is None else [float(s) for s in scales],
                  sizes=None if sizes is None else [int(s) for s in sizes], nearest_mode=nearest)
    return [y.astype(F32)]


def op_clip(ins, a):
    x = ins[0]
    lo = ins[1] if len(ins) > 1 and ins[1] is not None else None
    hi = ins[2] if len(ins) > 2 and ins[2] is not None else None
    y = x
    if lo is not None:
        y = np.maximum(y, lo.astype(F32))
    if hi is not None:
        y = np.minimum(y, hi.astype(F32))
    return [y.astype(F32)]


def op_gemm(ins, a):
    c = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), F32)
    y = og.gemm(ins[0], ins[1], c, a.get("alpha", 1.0), a.get("beta", 1.0), a.get("transA", 0), a.get("transB", 0))
    return [y.astype(F32)]


def op_constant(ins, a):
    if set(a) != {"value"}:
        raise NotImplementedError(f"Constant {sorted(a)}")
    return [numpy_helper.to_array(a["value"])]


OPS = {
    "Identity": lambda ins, a: [ins[0]],
    "Constant": op_constant,
    "QuantizeLinear": lambda ins, a: [quantize_linear(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                                                      a.get("axis", 1))],
    "DequantizeLinear": lambda ins, a: [dequantize_linear(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                                                          a.get("axis", 1))],
    "Conv": op_conv,
    "Relu": lambda ins, a: [np.maximum(ins[0], F32(0)).astype(F32)],
    "Clip": op_clip,
    "Add": lambda ins, a: [np.add(ins[0], ins[1]).astype(F32)],
    "Resize": op_resize,
    "Concat": lambda ins, a: [np.concatenate(ins, axis=a["axis"])],
    "Sigmoid": lambda ins, a: [(1.0 / (1.0 + np.exp(-ins[0].astype(np.float64)))).astype(F32)],
    "GlobalAveragePool": lambda ins, a: [ins[0].astype(np.float64).mean(axis=tuple(range(2, ins[0].ndim)),
                                                                         keepdims=True).astype(F32)],
    "Flatten": lambda ins, a: [og.flatten(ins[0], a.get("axis", 1))],
    "Gemm": op_gemm,
    "MaxPool": op_maxpool,
}


def run(model, feeds):
    """Execute the (topologically sorted) graph; return {tensor name: value} for every tensor."""
    g = model.graph
    env = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    env.update(feeds)
    for node in g.node:
        if node.op_type not in OPS:
            raise NotImplementedError(f"op {node.op_type} ({node.name})")
        ins = [env[i] if i else None for i in node.input]
        while ins and ins[-1] is None:
            ins.pop()
        outs = OPS[node.op_type](ins, _attrs(node))
        if len(outs) != len(node.output):
            raise NotImplementedError(f"{node.op_type} with {len(node.output)} outputs")
        for name, v in zip(node.output, outs):
            env[name] = v
    return env


def activation_names(model):
    """Graph inputs and node outputs, Constant outputs excluded (the float-ness is checked at run time)."""
    g = model.graph
    names = [i.name for i in g.input]
    for n in g.node:
        if n.op_type != "Constant":
            names += [o for o in n.output if o]
    return names


# ---------------------------------------------------------------------------------------------------------------
# KL threshold

def kl_threshold(hist, bin_width, num_quantized_bins=KL_QUANT_BINS, eps=KL_EPS):
    """The KL calibration procedure (float64 throughout). Returns (threshold, best_i, best_kl)."""
    h = np.asarray(hist, dtype=np.float64)
    B, L = h.size, num_quantized_bins
    best_i, best_kl = None, None
    for i in range(L, B + 1):
        c = h[:i].copy()
        P = c.copy()
        P[i - 1] += h[i:].sum()  # the clipped outliers
        g = i // L
        starts = np.arange(L) * g  # group j covers [j g, (j + 1) g); the last one runs to i
        total = np.add.reduceat(c, starts)
        nz = np.add.reduceat((c > 0).astype(np.float64), starts)
        gid = np.minimum(np.arange(i) // g, L - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            Q = np.where(c > 0, total[gid] / nz[gid], 0.0)
        # Smoothing on the counts (as onnxruntime's calibrator does): eps onto every empty bin, taken evenly from
        # the others; every non-empty count is >= 1 there, so nothing turns negative. Then both are normalized.
        smoothed = []
        for d in (P, Q):
            zeros = d == 0
            n0 = int(zeros.sum())
            n1 = d.size - n0
            if n1 == 0:
                break
            d = d + eps * zeros - (eps * n0 / n1) * (~zeros)
            if np.any(d <= 0):
                break
            smoothed.append(d / d.sum())
        if len(smoothed) != 2:
            continue
        P, Q = smoothed
        kl = float(np.sum(P * np.log(P / Q)))
        if best_kl is None or kl < best_kl:
            best_i, best_kl = i, kl
    return (best_i + 0.5) * bin_width, best_i, best_kl


def make_kl_fixture(out_dir):
    rng = np.random.default_rng(KL_SEED)
    laplace = rng.random(KL_SAMPLES) < 0.1
    x = np.where(laplace, rng.laplace(0.0, 3.0, KL_SAMPLES), rng.standard_normal(KL_SAMPLES))
    ax = np.abs(x)
    absmax = float(ax.max())
    w = absmax / KL_BINS
    idx = np.minimum(np.floor(ax / w).astype(np.int64), KL_BINS - 1)
    hist = np.bincount(idx, minlength=KL_BINS).astype(np.int64)
    assert hist.sum() == KL_SAMPLES and hist.size == KL_BINS
    T, best_i, best_kl = kl_threshold(hist, w)
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "histogram.npy"), hist)
    np.save(os.path.join(out_dir, "histogram_f64.npy"), hist.astype(np.float64))  # for readers of float .npy only
    meta = {"absmax": absmax, "bins": KL_BINS, "threshold": T, "best_i": best_i, "scale": T / 127.0,
            "bin_width": w, "kl_min": best_kl, "num_quantized_bins": KL_QUANT_BINS, "eps": KL_EPS}
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return meta


# ---------------------------------------------------------------------------------------------------------------
# Per-fixture outputs

def _output_file(prefix, names, name, k):
    return f"{prefix}_{k}.npy" if len(names) == 1 else f"{prefix}_{name}_{k}.npy"


def calibration_sample(i):
    return np.random.default_rng(CAL_SEED0 + i).standard_normal(CAL_SHAPE).astype(F32)


def quantize_ties(model, env):
    """{QuantizeLinear output: number of elements where x / scale is exactly k + 0.5}. The spec rounds those
    half to even; torch's fake quantization (x * (1 / scale) in float32, after its own float32 kernels) may land
    on either side, so a one-step difference there is tie-breaking, not a wrong operator."""
    ties = {}
    for n in model.graph.node:
        if n.op_type != "QuantizeLinear":
            continue
        x = env[n.input[0]]
        s = _per_axis(env[n.input[1]], x, _attrs(n).get("axis", 1)).astype(F32)
        r = x.astype(F32) / s
        t = int(((r - np.floor(r)) == 0.5).sum())
        if t:
            ties[n.output[0]] = t
    return ties


def make_fixture(data, name):
    src = os.path.join(data, name)
    dst = os.path.join(data, "calib_" + name)
    cal_dir = os.path.join(dst, "calibration_data_f32")
    os.makedirs(cal_dir, exist_ok=True)
    report = {"fixture": name}

    qat = onnx.load(os.path.join(src, "model.onnx"))
    out_names = [o.name for o in qat.graph.output]
    in_name = qat.graph.input[0].name
    assert len(qat.graph.input) == 1, "one graph input expected"

    # Interpreter vs torch on the QAT model itself.
    qat_diffs = []
    for k in range(NUM_HELDOUT):
        x = np.load(os.path.join(src, f"input_{k}.npy"))
        env = run(qat, {in_name: x})
        for o in out_names:
            ref = np.load(os.path.join(src, _output_file("qat_output", out_names, o, k)))
            d = np.abs(env[o].astype(np.float64) - ref.astype(np.float64))
            qat_diffs.append((k, o, float(d.max()), int((d > 1e-4).sum()), d.size))
        if k == 0:
            report["ties"] = quantize_ties(qat, env)
    report["qat_vs_torch"] = qat_diffs

    # 1. float model.
    fm = strip_fake_quant(qat, f"test/data/{name}/model.onnx")
    assert [o.name for o in fm.graph.output] == out_names
    onnx.save(fm, os.path.join(dst, "float_model.onnx"))
    report["float_nodes"] = len(fm.graph.node)

    # 2. calibration samples + 4. absmax witness.
    names = activation_names(fm)
    absmax = {}
    for i in range(NUM_CAL):
        x = calibration_sample(i)
        x.tofile(os.path.join(cal_dir, f"cal_{i:03d}.bin"))
        env = run(fm, {in_name: x})
        for t in names:
            v = env[t]
            if v.dtype != F32:
                continue  # only float tensors
            m = float(np.abs(v).max())
            absmax[t] = max(absmax.get(t, 0.0), m)
    witness = dict(absmax)
    witness["__scales__"] = {t: float(np.float32(a / 127.0)) for t, a in absmax.items()}
    with open(os.path.join(dst, "witness_absmax.json"), "w") as f:
        json.dump(witness, f, indent=1)
        f.write("\n")
    report["absmax_tensors"] = len(absmax)

    # 3. held-out inputs and float outputs.
    torch_diffs = []
    for k in range(NUM_HELDOUT):
        shutil.copyfile(os.path.join(src, f"input_{k}.npy"), os.path.join(dst, f"heldout_input_{k}.npy"))
        x = np.load(os.path.join(dst, f"heldout_input_{k}.npy"))
        env = run(fm, {in_name: x})
        for o in out_names:
            y = env[o].astype(F32)
            np.save(os.path.join(dst, _output_file("heldout_float_output", out_names, o, k)), y)
            ref_path = os.path.join(src, _output_file("float_output", out_names, o, k))
            if os.path.exists(ref_path):
                ref = np.load(ref_path)
                torch_diffs.append((k, o, float(np.abs(y.astype(np.float64) - ref.astype(np.float64)).max()),
                                    float(np.abs(ref).max())))
    report["float_vs_torch"] = torch_diffs
    return report


def make_two_input_fixture(out_dir):
    """calib_two_inputs: a float model with inputs 'img' (1x3x8x8) and 'depth' (1x1x8x8, 10x larger values) and
    three raw float32 samples each in img_f32/ and depth_f32/; witness.json holds each input's absmax over its
    samples, so a compiler that pairs the folders with the wrong inputs is caught."""
    import torch

    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.b = torch.nn.Conv2d(1, 4, 3, padding=1)

        def forward(self, img, depth):
            return torch.relu(self.a(img)) + self.b(depth)

    torch.manual_seed(91)
    os.makedirs(out_dir, exist_ok=True)
    torch.onnx.export(TwoInputs().eval(), (torch.randn(1, 3, 8, 8), torch.randn(1, 1, 8, 8)),
                      os.path.join(out_dir, "float_model.onnx"), opset_version=13, input_names=["img", "depth"],
                      output_names=["out"])
    absmax = {"img": 0.0, "depth": 0.0}
    for name, shape, factor in (("img", (1, 3, 8, 8), 1.0), ("depth", (1, 1, 8, 8), 10.0)):
        folder = os.path.join(out_dir, name + "_f32")
        os.makedirs(folder, exist_ok=True)
        for i in range(3):
            x = (factor * np.random.default_rng(2000 + 10 * len(name) + i).standard_normal(shape)).astype(np.float32)
            x.tofile(os.path.join(folder, "%d.bin" % i))
            absmax[name] = max(absmax[name], float(np.abs(x).max()))
    with open(os.path.join(out_dir, "witness.json"), "w") as f:
        json.dump({"absmax": absmax}, f, indent=1)
    return absmax


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(REPO, "test", "data"))
    ap.add_argument("--only", choices=FIXTURES + ["kl", "two_inputs"])
    args = ap.parse_args()
    self_check()
    for name in FIXTURES:
        if args.only and args.only != name:
            continue
        r = make_fixture(args.data, name)
        print(f"== calib_{name}: float_model.onnx with {r['float_nodes']} nodes, "
              f"{r['absmax_tensors']} tensors in witness_absmax.json")
        for k, o, d, n, size in r["qat_vs_torch"]:
            print(f"   interpreter on model.onnx vs torch qat_output  input_{k} {o}: max|diff| {d:.3g} "
                  f"({n}/{size} elements > 1e-4)")
        ties = r["ties"]
        print(f"   exact round-half ties at QuantizeLinear nodes on input_0: {sum(ties.values())}"
              + "".join(f"\n      {t}: {c}" for t, c in sorted(ties.items(), key=lambda kv: -kv[1])[:4]))
        for k, o, d, ref in r["float_vs_torch"]:
            print(f"   (info) float model vs torch float_output       input_{k} {o}: max|diff| {d:.3g} "
                  f"(max|ref| {ref:.3g})")
    if not args.only or args.only == "two_inputs":
        print("== calib_two_inputs: absmax", make_two_input_fixture(os.path.join(args.data, "calib_two_inputs")))
    if not args.only or args.only == "kl":
        meta = make_kl_fixture(os.path.join(args.data, "calib_kl"))
        print(f"== calib_kl: absmax {meta['absmax']:.6g}, best_i {meta['best_i']}, threshold {meta['threshold']:.9g}, "
              f"scale {meta['scale']:.9g}, min KL {meta['kl_min']:.6g}")


if __name__ == "__main__":
    main()
