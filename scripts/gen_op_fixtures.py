#!/usr/bin/python3
"""Builds the opset-form fixtures of test/data/ops/ for test/unit/test_opset_forms.cpp (issue 11 point 4).

Run with Debian's interpreter:  /usr/bin/python3 scripts/gen_op_fixtures.py [--out test/data/ops] [--check-torch]
Every case is a tiny QDQ model at one opset (10..17): input -> QuantizeLinear/DequantizeLinear (int8, zero point 0)
-> the operator in that opset's form (attributes or inputs) -> QuantizeLinear/DequantizeLinear -> output.
Per case: model.onnx, input_<k>.npy and golden_<k>.npy (golden_<k>_<j>.npy for output j of several), computed
independently by scripts/op_golden.py from the ONNX spec of that opset. manifest.json lists the cases with their
op, opset, output scales, whether the op is tie-prone and the placements the test compiles.
Fixed seeds and sorted JSON make every run byte-identical. --check-torch compares some goldens with torch.
"""
import argparse
import json
import os
import shutil
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import op_golden as G

INPUTS_PER_CASE = 3
IN_SCALE = float(np.float32(2.5 / 127))
# Computed output scales are max|y| * HEADROOM / 127: a little range to spare, as an EMA observer learns, which also
# keeps s_in / s_out away from simple fractions (HardSigmoid's 1/127 against 2.5/127 made most outputs exact
# .5 ties, which only the float32 noise of the reference decides).
HEADROOM = 1.0173
ALL = ["default", "cpu", "bpu"]
HOST = ["default", "cpu"]


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def floats(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)


def op_node(case_op, inputs, outputs=("y_f",), **attrs):
    return helper.make_node(case_op, list(inputs), list(outputs), name=f"/op/{case_op}", **attrs)


def simple(op, opset, shape, golden, inputs=(), inits=(), **kw):
    """A case whose op reads x plus constant `inputs` (names of `inits`) and writes one output."""
    attrs = kw.pop("attrs", {})

    def build(x):
        return [op_node(op, [x, *inputs], **attrs)], list(inits), ["y_f"]
    return dict(op=op, opset=opset, shape=shape, build=build, golden=lambda x: [golden(x)], **kw)


def multi(op, opset, shape, golden, count, inputs=(), inits=(), attrs=None, **kw):
    outs = [f"y{j}_f" for j in range(count)]

    def build(x):
        return [op_node(op, [x, *inputs], outs, **(attrs or {}))], list(inits), outs
    return dict(op=op, opset=opset, shape=shape, build=build, golden=golden, **kw)


# --- the case list ------------------------------------------------------------------------------------------

def clip_cases():
    s = (1, 4, 6, 6)
    c = {
        "clip_attr_10": simple("Clip", 10, s, lambda x: G.clip(x, -0.5, 0.8), attrs=dict(min=-0.5, max=0.8)),
        "clip_min_attr_10": simple("Clip", 10, s, lambda x: G.clip(x, -0.3, None), attrs=dict(min=-0.3)),
        "clip_max_attr_10": simple("Clip", 10, s, lambda x: G.clip(x, None, 0.7), attrs=dict(max=0.7)),
    }
    for opset in (11, 13):
        c[f"clip_inputs_{opset}"] = simple("Clip", opset, s, lambda x: G.clip(x, -0.5, 0.8), inputs=["lo", "hi"],
                                           inits=[floats("lo", -0.5), floats("hi", 0.8)])
        c[f"clip_min_only_{opset}"] = simple("Clip", opset, s, lambda x: G.clip(x, -0.3, None), inputs=["lo"],
                                             inits=[floats("lo", -0.3)])
        c[f"clip_max_only_{opset}"] = simple("Clip", opset, s, lambda x: G.clip(x, None, 0.7), inputs=["", "hi"],
                                             inits=[floats("hi", 0.7)])
    return c


def softmax_cases():
    c = {}
    for opset in (11, 13):
        for label, axis in (("default", None), ("1", 1), ("last", -1)):
            attrs = {} if axis is None else dict(axis=axis)
            c[f"softmax_axis_{label}_{opset}"] = simple(
                "Softmax", opset, (1, 3, 4, 5), lambda x, a=axis, o=opset: G.softmax(x, a, o), attrs=attrs,
                tie_prone=True)
    return c


def softmax_family_cases():
    """LogSoftmax and Hardmax share Softmax's coerce-to-2-D meaning below opset 13; the bayes BPU runs neither."""
    c = {}
    for op in ("LogSoftmax", "Hardmax"):
        for opset in (11, 13):
            c[f"{op.lower()}_axis_default_{opset}"] = simple(
                op, opset, (1, 3, 4, 5), lambda x, o=opset, f=op: G.softmax(x, None, o, f), tie_prone=op != "Hardmax",
                placements=HOST)
        c[f"{op.lower()}_axis_1_11"] = simple(op, 11, (1, 3, 4, 5), lambda x, f=op: G.softmax(x, 1, 11, f),
                                              attrs=dict(axis=1), tie_prone=op != "Hardmax", placements=HOST)
    return c


def pad_cases():
    s, pads = (1, 3, 5, 7), [0, 0, 1, 2, 0, 0, 2, 1]
    c = {}
    for mode in ("constant", "reflect", "edge"):
        value = 0.25 if mode == "constant" else 0.0
        attrs = dict(mode=mode, pads=pads) if mode != "constant" else dict(mode=mode, pads=pads, value=value)
        where = ALL if mode == "constant" else HOST  # the bayes target pads with a constant only
        c[f"pad_{mode}_attr_10"] = simple("Pad", 10, s, lambda x, m=mode, v=value: G.pad(x, pads, m, v),
                                          attrs=attrs, same_scale=True, placements=where)
        c[f"pad_{mode}_input_11"] = simple(
            "Pad", 11, s, lambda x, m=mode, v=value: G.pad(x, pads, m, v), attrs=dict(mode=mode),
            inputs=["pads", "cv"] if mode == "constant" else ["pads"],
            inits=[ints("pads", pads), floats("cv", value)] if mode == "constant" else [ints("pads", pads)],
            same_scale=True, placements=where)
        c[f"pad_{mode}_input_13"] = simple("Pad", 13, s, lambda x, m=mode: G.pad(x, pads, m, 0.0),
                                           attrs=dict(mode=mode), inputs=["pads"], inits=[ints("pads", pads)],
                                           same_scale=True, placements=where)
    return c


def slice_case(opset, starts, ends, axes=None, steps=None):
    names, inits = ["starts", "ends"], [ints("starts", starts), ints("ends", ends)]
    for label, v in (("axes", axes), ("steps", steps)):
        if v is not None:
            names.append(label)
            inits.append(ints(label, v))
    if steps is not None and axes is None:
        raise ValueError("steps need axes here")
    return simple("Slice", opset, (1, 4, 6, 7), lambda x: G.slice_(x, starts, ends, axes, steps), inputs=names,
                  inits=inits, same_scale=True)


def slice_cases():
    big = 2 ** 62
    return {
        "slice_axes_1_3_10": slice_case(10, [1, 1], [3, 6], [1, 3]),
        "slice_steps_10": slice_case(10, [0, 6], [6, 0], [2, 3], [2, -2]),
        "slice_negative_11": slice_case(11, [-3, -1], [-1, -big], [1, -1], [1, -3]),
        "slice_three_axes_13": slice_case(13, [1, 1, -5], [4, 100, big], [-1, 1, 2], [2, 2, 1]),
        "slice_all_axes_13": slice_case(13, [0, 1, 1, 0], [1, 3, -1, big]),
    }


def squeeze_cases():
    s = (1, 3, 1, 5)
    return {
        "squeeze_attr_11": simple("Squeeze", 11, s, lambda x: G.squeeze(x, [2]), attrs=dict(axes=[2]),
                                  same_scale=True),
        "squeeze_attr_12": simple("Squeeze", 12, s, lambda x: G.squeeze(x, [0, -2]), attrs=dict(axes=[0, -2]),
                                  same_scale=True),
        "squeeze_input_13": simple("Squeeze", 13, s, lambda x: G.squeeze(x, [2]), inputs=["axes"],
                                   inits=[ints("axes", [2])], same_scale=True),
        "squeeze_all_13": simple("Squeeze", 13, s, lambda x: G.squeeze(x), same_scale=True),
        "unsqueeze_attr_11": simple("Unsqueeze", 11, (1, 3, 5), lambda x: G.unsqueeze(x, [2]),
                                    attrs=dict(axes=[2]), same_scale=True),
        "unsqueeze_attr_12": simple("Unsqueeze", 12, (3, 5), lambda x: G.unsqueeze(x, [0, -1]),
                                    attrs=dict(axes=[0, -1]), same_scale=True),
        "unsqueeze_input_13": simple("Unsqueeze", 13, (1, 3, 5), lambda x: G.unsqueeze(x, [-2]),
                                     inputs=["axes"], inits=[ints("axes", [-2])], same_scale=True),
    }


def split_cases():
    s = (1, 3, 4, 5)
    return {
        "split_attr_11": multi("Split", 11, s, lambda x: G.split(x, 1, [1, 2]), 2, attrs=dict(axis=1, split=[1, 2]),
                               same_scale=True),
        "split_input_13": multi("Split", 13, s, lambda x: G.split(x, -1, [2, 3]), 2, inputs=["split"],
                                inits=[ints("split", [2, 3])], attrs=dict(axis=-1), same_scale=True),
        "split_equal_11": multi("Split", 11, s, lambda x: G.split(x, 2, count=2), 2, attrs=dict(axis=2),
                                same_scale=True),
        "split_equal_13": multi("Split", 13, s, lambda x: G.split(x, 1, count=3), 3, attrs=dict(axis=1),
                                same_scale=True),
    }


def resize_case(opset, mode, coord, scales=None, sizes=None, nearest="round_prefer_floor"):
    attrs = dict(mode=mode)
    if opset >= 11:
        attrs["coordinate_transformation_mode"] = coord
    if opset == 10:
        names, inits = ["scales"], [floats("scales", scales)]
    elif opset == 11:  # roi is a required input; sizes need an empty scales tensor
        names, inits = ["roi", "scales"], [floats("roi", []), floats("scales", scales if scales else [])]
    else:
        names, inits = ["", "scales" if scales else ""], [floats("scales", scales)] if scales else []
    if sizes is not None:
        names.append("sizes")
        inits.append(ints("sizes", sizes))
    bpu = mode == "linear" or all(v in (1, 2, 4) for v in (scales or []))
    return simple("Resize", opset, (1, 3, 4, 5),
                  lambda x: G.resize(x, mode, coord, scales, sizes, nearest), inputs=names, inits=inits,
                  attrs=attrs, same_scale=mode == "nearest", tie_prone=mode == "linear",
                  placements=ALL if bpu else HOST)


def resize_cases():
    x2 = [1.0, 1.0, 2.0, 2.0]
    return {
        "resize_nearest_scales_10": resize_case(10, "nearest", "asymmetric", x2, nearest="floor"),
        "resize_linear_scales_10": resize_case(10, "linear", "asymmetric", x2),
        "resize_nearest_asymmetric_scales_11": resize_case(11, "nearest", "asymmetric", x2),
        "resize_linear_half_pixel_scales_11": resize_case(11, "linear", "half_pixel", x2),
        "resize_linear_align_corners_sizes_11": resize_case(11, "linear", "align_corners", sizes=[1, 3, 7, 9]),
        "resize_nearest_half_pixel_scales_13": resize_case(13, "nearest", "half_pixel", x2),
        "resize_nearest_asymmetric_sizes_13": resize_case(13, "nearest", "asymmetric", sizes=[1, 3, 8, 10]),
        "resize_linear_asymmetric_scales_13": resize_case(13, "linear", "asymmetric", x2),
        "resize_linear_half_pixel_sizes_13": resize_case(13, "linear", "half_pixel", sizes=[1, 3, 6, 8]),
        "resize_linear_align_corners_scales_13": resize_case(13, "linear", "align_corners", x2),
    }


def reduce_case(op, opset, axes, keepdims=1, as_input=False):
    kind = op[len("Reduce"):].lower()
    attrs = dict(keepdims=keepdims)
    if not as_input:
        attrs["axes"] = axes
    one_axis = len(axes) == 1 and keepdims == 1
    return simple(op, opset, (1, 4, 6, 6), lambda x: G.reduce(x, kind, axes, keepdims), attrs=attrs,
                  inputs=["axes"] if as_input else [], inits=[ints("axes", axes)] if as_input else [],
                  same_scale=kind == "max", tie_prone=kind == "mean", placements=ALL if one_axis else HOST)


def reduce_cases():
    return {
        "reducemean_hw_11": reduce_case("ReduceMean", 11, [2, 3]),
        "reducemean_c_13": reduce_case("ReduceMean", 13, [1]),
        "reducemean_w_keepdims0_13": reduce_case("ReduceMean", 13, [-1], keepdims=0),
        "reducemax_hw_13": reduce_case("ReduceMax", 13, [2, 3]),
        "reducemax_c_11": reduce_case("ReduceMax", 11, [1]),
        "reducesum_c_attr_11": reduce_case("ReduceSum", 11, [1]),
        "reducesum_hw_input_13": reduce_case("ReduceSum", 13, [2, 3], as_input=True),
        "reducesum_c_input_13": reduce_case("ReduceSum", 13, [1], as_input=True),
    }


def pool_case(op, opset, kernel, strides, pads, ceil_mode=0, include=None):
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, ceil_mode=ceil_mode)
    if include is not None:
        attrs["count_include_pad"] = include
    kind = "max" if op == "MaxPool" else "avg"
    return simple(op, opset, (1, 4, 6, 6),
                  lambda x: G.pool(x, kind, kernel, strides, pads, ceil_mode, include or 0), attrs=attrs,
                  same_scale=kind == "max", tie_prone=kind == "avg")


def pool_cases():
    return {
        "maxpool_ceil_10": pool_case("MaxPool", 10, [3, 3], [2, 2], [0, 0, 0, 0], ceil_mode=1),
        "maxpool_ceil_pads_12": pool_case("MaxPool", 12, [3, 3], [2, 2], [1, 1, 1, 1], ceil_mode=1),
        "avgpool_pads_include_11": pool_case("AveragePool", 11, [3, 3], [1, 1], [1, 1, 1, 1], include=1),
        "avgpool_pads_exclude_11": pool_case("AveragePool", 11, [3, 3], [1, 1], [1, 1, 1, 1], include=0),
        "avgpool_ceil_10": pool_case("AveragePool", 10, [3, 3], [2, 2], [0, 0, 0, 0], ceil_mode=1),
        "avgpool_ceil_pads_include_13": dict(
            pool_case("AveragePool", 13, [2, 2], [2, 2], [1, 1, 0, 0], ceil_mode=1, include=1),
            note="the last window passes the input end, which has no pad: it counts up to the padded end (torch, "
                 "onnxruntime), here 1 element"),
    }


def activation_cases():
    s = (1, 4, 6, 6)
    return {
        "leakyrelu_default_10": simple("LeakyRelu", 10, s, G.leaky_relu),
        "leakyrelu_default_16": simple("LeakyRelu", 16, s, G.leaky_relu),
        "hardsigmoid_default_10": simple("HardSigmoid", 10, s, G.hard_sigmoid),
        "hardsigmoid_default_17": simple("HardSigmoid", 17, s, G.hard_sigmoid),
        "hardswish_14": simple("HardSwish", 14, s, G.hard_swish),
        "elu_default_10": simple("Elu", 10, s, G.elu),
        "elu_default_13": simple("Elu", 13, s, G.elu),
        "erf_13": simple("Erf", 13, s, G.erf),
        "softplus_10": simple("Softplus", 10, s, G.softplus),
        "selu_default_10": simple("Selu", 10, s, G.selu),
    }


def layout_cases():
    return {
        "transpose_no_perm_13": simple("Transpose", 13, (1, 3, 4, 5), G.transpose, same_scale=True),
        "flatten_axis0_11": simple("Flatten", 11, (1, 3, 4, 5), lambda x: G.flatten(x, 0), attrs=dict(axis=0),
                                   same_scale=True),
        "flatten_axis1_13": simple("Flatten", 13, (1, 3, 4, 5), lambda x: G.flatten(x, 1), attrs=dict(axis=1),
                                   same_scale=True),
        "flatten_axis2_13": simple("Flatten", 13, (1, 3, 4, 5), lambda x: G.flatten(x, 2), attrs=dict(axis=2),
                                   same_scale=True),
        "depthtospace_10": simple("DepthToSpace", 10, (1, 8, 2, 3), lambda x: G.depth_to_space(x, 2, "DCR"),
                                  attrs=dict(blocksize=2), same_scale=True),
        "depthtospace_dcr_11": simple("DepthToSpace", 11, (1, 8, 2, 3), lambda x: G.depth_to_space(x, 2, "DCR"),
                                      attrs=dict(blocksize=2, mode="DCR"), same_scale=True),
        "depthtospace_crd_13": simple("DepthToSpace", 13, (1, 8, 2, 3), lambda x: G.depth_to_space(x, 2, "CRD"),
                                      attrs=dict(blocksize=2, mode="CRD"), same_scale=True),
        "spacetodepth_10": simple("SpaceToDepth", 10, (1, 2, 4, 6), lambda x: G.space_to_depth(x, 2),
                                  attrs=dict(blocksize=2), same_scale=True),
        "spacetodepth_13": simple("SpaceToDepth", 13, (1, 2, 4, 6), lambda x: G.space_to_depth(x, 2),
                                  attrs=dict(blocksize=2), same_scale=True),
    }


def conv_clip_case(opset, per_channel):
    """Input QDQ -> Conv (weights Q/DQ int8, exactly on the int8 grid) -> Clip -> QDQ: the Clip is fused into the
    conv. Opset 10's DequantizeLinear has no axis, so its weights are per tensor; opset 13 is per channel."""
    rng = np.random.default_rng(1013)
    wq = rng.integers(-127, 128, size=(4, 4, 3, 3)).astype(np.float32)
    ws = (np.linspace(0.004, 0.009, 4) if per_channel else np.array([0.006])).astype(np.float32)
    w = (wq * ws.reshape(-1, 1, 1, 1)).astype(np.float32)
    b = np.array([0.1, -0.2, 0.05, 0.0], dtype=np.float32)
    lo, hi = -0.2, 0.5

    def build(x):
        q_attrs = dict(axis=0) if per_channel else {}
        zp = np.zeros(len(ws), dtype=np.int8) if per_channel else np.int8(0)
        wsv = ws if per_channel else ws[0]
        inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(wsv, "w_s"),
                 numpy_helper.from_array(zp, "w_zp"), numpy_helper.from_array(b, "b")]
        nodes = [helper.make_node("QuantizeLinear", ["w", "w_s", "w_zp"], ["w_q"], name="w/Q", **q_attrs),
                 helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_zp"], ["w_fq"], name="w/DQ", **q_attrs),
                 helper.make_node("Conv", [x, "w_fq", "b"], ["c"], name="/conv/Conv", kernel_shape=[3, 3],
                                  pads=[1, 1, 1, 1])]
        if opset < 11:
            nodes.append(helper.make_node("Clip", ["c"], ["y_f"], name="/op/Clip", min=lo, max=hi))
        else:
            inits += [floats("lo", lo), floats("hi", hi)]
            nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y_f"], name="/op/Clip"))
        return nodes, inits, ["y_f"]

    def golden(x):
        wf = np.stack([G.fake_quant(w[c], ws[c if per_channel else 0]) for c in range(4)])
        return [G.clip(G.conv2d(x, wf, b, [1, 1, 1, 1]), lo, hi)]
    return dict(op="Clip", opset=opset, shape=(1, 4, 6, 6), build=build, golden=golden,
                note="Conv -> Clip: the clamp must survive fusion into the conv (issue 11 regression); no 'bpu' "
                     "placement: run_on_bpu on the Clip keeps it unfused with a float (unquantized) input",
                placements=HOST,
                scale_from=lambda x: G.conv2d(x, w, b, [1, 1, 1, 1]))


def gemm_case(opset, trans_b):
    """Gemm with default alpha, beta (1) and transA (0): x (1x6) times an int8-grid weight plus a float bias.
    transB 0 needs the per-column weight scales on axis 1, which only opset 13's DequantizeLinear has; opset 11
    uses one scale."""
    rng = np.random.default_rng(2011 + opset)
    wq = rng.integers(-127, 128, size=(5, 6) if trans_b else (6, 5)).astype(np.float32)
    per_channel = opset >= 13
    ws = (np.linspace(0.01, 0.02, 5) if per_channel else np.array([0.015])).astype(np.float32)
    axis = 0 if trans_b else 1
    shape = [-1, 1] if axis == 0 else [1, -1]
    w = (wq * (ws.reshape(shape) if per_channel else ws[0])).astype(np.float32)
    bias = np.linspace(-0.3, 0.3, 5).astype(np.float32)

    def build(x):
        attrs = dict(axis=axis) if per_channel else {}
        zp = np.zeros(5, dtype=np.int8) if per_channel else np.int8(0)
        inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(ws if per_channel else ws[0], "w_s"),
                 numpy_helper.from_array(zp, "w_zp"), numpy_helper.from_array(bias, "b")]
        gemm_attrs = dict(transB=1) if trans_b else {}
        nodes = [helper.make_node("QuantizeLinear", ["w", "w_s", "w_zp"], ["w_q"], name="w/Q", **attrs),
                 helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_zp"], ["w_fq"], name="w/DQ", **attrs),
                 helper.make_node("Gemm", [x, "w_fq", "b"], ["y_f"], name="/op/Gemm", **gemm_attrs)]
        return nodes, inits, ["y_f"]

    def golden(x):
        return [G.gemm(x, w, bias, trans_b=trans_b)]
    return dict(op="Gemm", opset=opset, shape=(1, 6), build=build, golden=golden)


def matmul_activation_cases():
    """MatMul of two quantized activations (attention's Q·K^T): x times its own transpose, fake-quantized again at
    x's scale (as a quantized Transpose keeps it), with 3-D and 4-D batches and a broadcast batch axis."""
    def case(opset, shape, perm, slice_axis=None):
        def operand_b(x):
            b = x if slice_axis is None else np.take(x, [0], axis=slice_axis)
            return G.fake_quant(np.transpose(b, perm), IN_SCALE).astype(np.float64)

        def build(x):
            nodes, inits, src = [], [], x
            if slice_axis is not None:
                inits += [ints("sl_start", [0]), ints("sl_end", [1]), ints("sl_axis", [slice_axis])]
                nodes.append(helper.make_node("Slice", [x, "sl_start", "sl_end", "sl_axis"], ["xs"], name="/op/Slice"))
                nodes += qdq_nodes("xs", "xs_fq", "x_s")
                src = "xs_fq"
            nodes.append(helper.make_node("Transpose", [src], ["xt"], name="/op/Transpose", perm=list(perm)))
            nodes += qdq_nodes("xt", "xt_fq", "x_s")
            nodes.append(op_node("MatMul", [x, "xt_fq"]))
            return nodes, inits, ["y_f"]
        return dict(op="MatMul", opset=opset, shape=shape, build=build, golden=lambda x: [np.matmul(x, operand_b(x))])
    return {"matmul_activations_3d_11": case(11, (3, 5, 4), (0, 2, 1)),
            "matmul_activations_4d_13": case(13, (1, 2, 6, 4), (0, 1, 3, 2)),
            "matmul_activations_broadcast_13": case(13, (1, 2, 6, 4), (0, 1, 3, 2), slice_axis=1)}


def gather_cases():
    """Gather with constant indices: evenly spaced ones run on the BPU as a SLICE; others stay on the CPU."""
    s = (1, 4, 5, 6)
    c = {}
    for opset in (11, 13):
        c[f"gather_scalar_axis1_{opset}"] = simple(
            "Gather", opset, s, lambda x: np.take(x, 2, axis=1), inputs=["idx"],
            inits=[numpy_helper.from_array(np.asarray(2, dtype=np.int64), "idx")], attrs=dict(axis=1), same_scale=True)
    c["gather_negative_axis0_13"] = simple(
        "Gather", 13, s, lambda x: np.take(x, [-1], axis=-1), inputs=["idx"], inits=[ints("idx", [-1])],
        attrs=dict(axis=-1), same_scale=True)
    c["gather_strided_13"] = simple("Gather", 13, s, lambda x: np.take(x, [0, 2, 4], axis=3), inputs=["idx"],
                                    inits=[ints("idx", [0, 2, 4])], attrs=dict(axis=3))
    c["gather_unordered_13"] = simple("Gather", 13, s, lambda x: np.take(x, [3, 1], axis=2), inputs=["idx"],
                                      inits=[ints("idx", [3, 1])], attrs=dict(axis=2), same_scale=True,
                                      placements=HOST, note="not evenly spaced: the BPU refuses, the CPU runs it")
    return c


def constant_operand_cases():
    """A fake-quantized constant operand (a ViT's class token, its position embedding): the BPU brings its int8
    codes in with CONST."""
    c = {}
    shape = (1, 3, 4, 5)
    rng = np.random.default_rng(7)
    emb = rng.normal(0.0, 0.5, size=shape).astype(np.float32)
    token = rng.normal(0.0, 0.5, size=(1, 3, 1, 5)).astype(np.float32)
    cs = float(np.float32(np.abs(emb).max() / 127))
    ts = float(np.float32(np.abs(token).max() / 127))

    def with_constant(op, const_name, value, scale, golden, attrs=None):
        def build(x):
            nodes = qdq_nodes(const_name, const_name + "_fq", const_name + "_s")
            ins = [const_name + "_fq", x] if op == "Concat" else [x, const_name + "_fq"]
            nodes.append(op_node(op, ins, **(attrs or {})))
            return nodes, [floats(const_name, value), floats(const_name + "_s", scale)], ["y_f"]
        return dict(op=op, opset=13, shape=shape, build=build, golden=lambda x: [golden(x)])
    c["add_quantized_constant_13"] = with_constant("Add", "emb", emb, cs, lambda x: x + G.fake_quant(emb, cs))
    c["concat_quantized_constant_13"] = with_constant(
        "Concat", "token", token, ts, lambda x: np.concatenate([G.fake_quant(token, ts), x], axis=2), dict(axis=2))
    return c


def all_cases():
    table = {}
    for group in (clip_cases, softmax_cases, softmax_family_cases, pad_cases, slice_cases, squeeze_cases, split_cases, resize_cases,
                  reduce_cases, pool_cases, activation_cases, layout_cases, gather_cases, constant_operand_cases,
                  matmul_activation_cases):
        table.update(group())
    table["conv_clip_attr_10"] = conv_clip_case(10, per_channel=False)
    table["conv_clip_inputs_13"] = conv_clip_case(13, per_channel=True)
    table["gemm_defaults_11"] = gemm_case(11, trans_b=False)
    table["gemm_defaults_transb_13"] = gemm_case(13, trans_b=True)
    table["gemm_defaults_13"] = gemm_case(13, trans_b=False)
    return table


# --- model assembly and files -------------------------------------------------------------------------------

def qdq_nodes(tensor, out, scale_name):
    return [helper.make_node("QuantizeLinear", [tensor, scale_name, "zp"], [tensor + "_q"], name=tensor + "/Q"),
            helper.make_node("DequantizeLinear", [tensor + "_q", scale_name, "zp"], [out], name=tensor + "/DQ")]


def make_model(name, spec, out_shapes, out_scales):
    nodes = qdq_nodes("x", "x_fq", "x_s")
    op_nodes, inits, outs = spec["build"]("x_fq")
    nodes += op_nodes
    names = ["y"] if len(outs) == 1 else [f"y{j}" for j in range(len(outs))]
    inits = [floats("x_s", IN_SCALE), numpy_helper.from_array(np.int8(0), "zp")] + inits
    for j, (o, n) in enumerate(zip(outs, names)):
        inits.append(floats(f"{n}_s", out_scales[j]))
        nodes += qdq_nodes(o, n, f"{n}_s")
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(spec["shape"]))],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in zip(names, out_shapes)],
        initializer=inits)
    opset = [helper.make_opsetid("", spec["opset"])]
    model = helper.make_model(graph, opset_imports=opset, producer_name="gen_op_fixtures",
                              ir_version=helper.find_min_ir_version_for(opset))
    onnx.checker.check_model(model, full_check=True)
    return model, names


def case_inputs(name, shape):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [rng.normal(0.0, 1.0, size=shape).astype(np.float32) for _ in range(INPUTS_PER_CASE)]


def output_scales(spec, xs_fq, floats_out):
    """Data-movement ops keep the input scale; others get max|y| * HEADROOM / 127 over all inputs (conv cases:
    the conv output before the Clip, so that the clamp is visible in the quantized output)."""
    if spec.get("same_scale"):
        return [IN_SCALE] * len(floats_out[0])
    if "scale_from" in spec:
        peak = max(np.abs(spec["scale_from"](x)).max() for x in xs_fq)
        return [float(np.float32(peak * HEADROOM / 127))]
    return [float(np.float32(max(np.abs(ys[j]).max() for ys in floats_out) * HEADROOM / 127))
            for j in range(len(floats_out[0]))]


def write_case(out_dir, name, spec):
    folder = os.path.join(out_dir, name)
    os.makedirs(folder)
    xs = case_inputs(name, spec["shape"])
    xs_fq = [G.fake_quant(x, IN_SCALE).astype(np.float64) for x in xs]
    ys = [spec["golden"](x) for x in xs_fq]
    scales = output_scales(spec, xs_fq, ys)
    model, names = make_model(name, spec, [y.shape for y in ys[0]], scales)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    for k, (x, outs) in enumerate(zip(xs, ys)):
        np.save(os.path.join(folder, f"input_{k}.npy"), x)
        for j, y in enumerate(outs):
            suffix = "" if len(outs) == 1 else f"_{j}"
            np.save(os.path.join(folder, f"golden_{k}{suffix}.npy"), np.ascontiguousarray(G.fake_quant(y, scales[j])))
    bpu = spec.get("placements", ALL)
    return {"name": name, "op": spec["op"], "opset": spec["opset"], "node": spec.get("node", f"/op/{spec['op']}"),
            "input": "x", "input_scale": IN_SCALE, "inputs": INPUTS_PER_CASE,
            "outputs": [{"name": n, "scale": s} for n, s in zip(names, scales)],
            "tie_prone": bool(spec.get("tie_prone", False)), "placements": bpu, "note": spec.get("note", "")}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "data", "ops"))
    ap.add_argument("--check-torch", action="store_true", help="compare some goldens with torch and exit")
    args = ap.parse_args()
    if args.check_torch:
        import check_op_golden
        sys.exit(check_op_golden.main())
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    cases = all_cases()
    manifest = [write_case(args.out, name, cases[name]) for name in sorted(cases)]
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({"cases": manifest}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(manifest)} cases in {args.out}")


if __name__ == "__main__":
    main()
