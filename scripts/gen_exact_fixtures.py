#!/usr/bin/env python3
"""Writes test/data/exact_tie: a QDQ model whose fake quantization lands at .5 ties, with goldens computed
independently in NumPy (docs/numerics.md §10, `verify --exact`).

The model: input [1, 2, 4, 4] -> QuantizeLinear/DequantizeLinear at s = 0.02978515625 (61 * 2^-11: every (q + 0.5) * s
is a float32 number) -> AveragePool 2x2 stride 2 -> QuantizeLinear/DequantizeLinear at the same s -> output
[1, 2, 2, 2]. The input values are (q + 0.5) * s, ties of x / s in real numbers; each 2x2 window's exact codes sum
to 2 mod 4, so its mean is a tie of mean / s too. The QAT model's definition is rint(x * float32(1 / s)): in real
(float64) arithmetic that product is (q + 0.5) * (1 + e) with e = s * float32(1 / s) - 1 != 0, off the tie, so
it rounds away from it by the sign of e; torch's float32 evaluation rounds the product back onto q + 0.5 at some
values and then rounds to even, picking the other code there.

Goldens (int32 codes):
  exact_input_codes.npy, exact_output_codes.npy    the definition in float64: rint(x * float64(float32(1 / s)))
  float32_input_codes.npy, float32_output_codes.npy  torch's float32 arithmetic as the CPU executor runs it
                                                  (x * float32(1/s); DequantizeLinear q * s; the window summed in
                                                  order, divided by 4; all float32)
Run with /usr/bin/python3 (numpy, onnx); the output is deterministic.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

SCALE = np.float32(0.02978515625)  # 61 * 2^-11: s * float32(1 / s) != 1, so real ties move off .5
INV = np.float32(1) / SCALE
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "data", "exact_tie")


def input_codes():
    """The tied inputs (q + 0.5) * s, each 2x2 window's exact codes summing to 2 mod 4 (its mean a tie of
    mean / s); redrawn until float32 differs from exact on inputs and on outputs."""
    rng = np.random.default_rng(2026)
    while True:
        q = rng.integers(-60, 60, size=(1, 2, 4, 4))
        for c in range(2):
            for oy in range(2):
                for ox in range(2):
                    win = q[0, c, 2 * oy:2 * oy + 2, 2 * ox:2 * ox + 2]
                    while exact_quantize(tied(win)).sum() % 4 != 2:
                        win[0, 0] += 1
        x = tied(q)
        assert np.all(x.astype(np.float64) / np.float64(SCALE) == q + 0.5), "ties must be exact in float32"
        sums = exact_quantize(x).reshape(1, 2, 2, 2, 2, 2).sum(axis=(3, 5))
        assert np.all(sums % 4 == 2)
        if np.any(float32_quantize(x) != exact_quantize(x)) and np.any(pool_float32(float32_quantize(x)) != pool_exact(exact_quantize(x))):
            return x


def tied(q):
    return ((q.astype(np.float64) + 0.5) * np.float64(SCALE)).astype(np.float32)


def exact_quantize(x):
    return np.clip(np.rint(x.astype(np.float64) * np.float64(INV)), -128, 127).astype(np.int32)


def float32_quantize(x):
    return np.clip(np.rint(np.float32(x) * INV), -128, 127).astype(np.int32)


def pool_exact(codes):
    v = codes.astype(np.float64) * np.float64(SCALE)
    mean = v.reshape(1, 2, 2, 2, 2, 2).sum(axis=(3, 5)) / 4.0
    return exact_quantize(mean)


def pool_float32(codes):
    v = codes.astype(np.float32) * SCALE
    out = np.zeros((1, 2, 2, 2), np.float32)
    for c in range(2):
        for oy in range(2):
            for ox in range(2):
                acc = np.float32(0)
                for ky in range(2):
                    for kx in range(2):
                        acc = np.float32(acc + v[0, c, 2 * oy + ky, 2 * ox + kx])
                out[0, c, oy, ox] = np.float32(acc / np.float32(4))
    return float32_quantize(out)


def model():
    s = helper.make_tensor("s", TensorProto.FLOAT, [], [float(SCALE)])
    zp = helper.make_tensor("zp", TensorProto.INT8, [], [0])
    nodes = [
        helper.make_node("QuantizeLinear", ["input", "s", "zp"], ["input_q"], name="/input_quant/QuantizeLinear"),
        helper.make_node("DequantizeLinear", ["input_q", "s", "zp"], ["input_fq"], name="/input_quant/DequantizeLinear"),
        helper.make_node("AveragePool", ["input_fq"], ["pooled"], name="/pool/AveragePool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("QuantizeLinear", ["pooled", "s", "zp"], ["pooled_q"], name="/out_quant/QuantizeLinear"),
        helper.make_node("DequantizeLinear", ["pooled_q", "s", "zp"], ["output"], name="/out_quant/DequantizeLinear"),
    ]
    g = helper.make_graph(nodes, "exact_tie", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2, 4, 4])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2, 2, 2])], [s, zp])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_exact_fixtures.py")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    x = input_codes()
    e_in, f_in = exact_quantize(x), float32_quantize(x)
    e_out, f_out = pool_exact(e_in), pool_float32(f_in)
    np.save(os.path.join(OUT, "input_0.npy"), x)
    np.save(os.path.join(OUT, "exact_input_codes.npy"), e_in)
    np.save(os.path.join(OUT, "exact_output_codes.npy"), e_out)
    np.save(os.path.join(OUT, "float32_input_codes.npy"), f_in)
    np.save(os.path.join(OUT, "float32_output_codes.npy"), f_out)
    with open(os.path.join(OUT, "model.onnx"), "wb") as f:
        f.write(model().SerializeToString())
    print(f"exact_tie: input codes differing float32 vs exact {int((e_in != f_in).sum())} of {e_in.size}, "
          f"output {int((e_out != f_out).sum())} of {e_out.size}")


if __name__ == "__main__":
    main()
