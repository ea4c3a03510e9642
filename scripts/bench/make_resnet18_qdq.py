#!/usr/bin/python3
"""Writes a torchvision-resnet18-shaped QDQ ONNX model (7x7 s2 stem, max pool, 8 BasicBlocks 64..512 with
residual adds, GAP, fc 1000) with random per-channel int8 weights, as torch 1.13 exports QAT models (Q/DQ pairs,
int8 zero points, float biases). For speed benchmarks only: timing depends on shapes, not on trained values.
Needs python3-onnx and python3-numpy. Usage: make_resnet18_qdq.py OUT.onnx [SIZE=224]"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.nodes, self.inits, self.k = [], [numpy_helper.from_array(np.array([0], np.int8), "zp")], 0

    def fq(self, x, scale):
        s = f"s{self.k}"
        self.k += 1
        self.inits.append(numpy_helper.from_array(np.array([scale], np.float32), s))
        self.nodes += [helper.make_node("QuantizeLinear", [x, s, "zp"], [x + "_q"]),
                       helper.make_node("DequantizeLinear", [x + "_q", s, "zp"], [x + "_fq"])]
        return x + "_fq"

    def conv(self, x, cin, cout, k, stride, relu, name):
        w = self.rng.normal(0, (2.0 / (cin * k * k)) ** 0.5, (cout, cin, k, k)).astype(np.float32)
        ws = (np.abs(w).reshape(cout, -1).max(1) / 127).astype(np.float32)
        b = self.rng.normal(0, 0.05, cout).astype(np.float32)
        self.inits += [numpy_helper.from_array(w, name + ".w"), numpy_helper.from_array(ws, name + ".ws"),
                       numpy_helper.from_array(np.zeros(cout, np.int8), name + ".wz"), numpy_helper.from_array(b, name + ".b")]
        self.nodes += [helper.make_node("QuantizeLinear", [name + ".w", name + ".ws", name + ".wz"], [name + ".wq"], axis=0),
                       helper.make_node("DequantizeLinear", [name + ".wq", name + ".ws", name + ".wz"], [name + ".wdq"], axis=0),
                       helper.make_node("Conv", [x, name + ".wdq", name + ".b"], [name + "_out"], name=name + "/Conv",
                                        kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)]
        y = name + "_out"
        if relu:
            self.nodes.append(helper.make_node("Relu", [y], [name + "_relu"], name=name + "/Relu"))
            y = name + "_relu"
        return self.fq(y, 0.05)


def main():
    path, size = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 224
    b = Builder()
    x = b.fq("input", 0.02)
    x = b.conv(x, 3, 64, 7, 2, True, "conv1")
    b.nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="/maxpool/MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    x = b.fq("pool", 0.05)
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            name = f"layer{stage + 1}.{block}"
            y = b.conv(x, cin, cout, 3, stride, True, name + ".conv1")
            y = b.conv(y, cout, cout, 3, 1, False, name + ".conv2")
            identity = b.conv(x, cin, cout, 1, stride, False, name + ".downsample") if (stride != 1 or cin != cout) else x
            b.nodes.append(helper.make_node("Add", [y, identity], [name + "_add"], name=f"/{name}/Add"))
            b.nodes.append(helper.make_node("Relu", [name + "_add"], [name + "_out"], name=f"/{name}/Relu"))
            x = b.fq(name + "_out", 0.05)
            cin = cout
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="/avgpool/GlobalAveragePool"))
    x = b.fq("gap", 0.05)
    b.nodes.append(helper.make_node("Flatten", [x], ["flat"], name="/Flatten"))
    x = b.fq("flat", 0.05)
    w = b.rng.normal(0, 0.05, (1000, 512)).astype(np.float32)
    ws = (np.abs(w).max(1) / 127).astype(np.float32)
    b.inits += [numpy_helper.from_array(w, "fc.w"), numpy_helper.from_array(ws, "fc.ws"), numpy_helper.from_array(np.zeros(1000, np.int8), "fc.wz"),
                numpy_helper.from_array(np.zeros(1000, np.float32), "fc.b")]
    b.nodes += [helper.make_node("QuantizeLinear", ["fc.w", "fc.ws", "fc.wz"], ["fc.wq"], axis=0),
                helper.make_node("DequantizeLinear", ["fc.wq", "fc.ws", "fc.wz"], ["fc.wdq"], axis=0),
                helper.make_node("Gemm", [x, "fc.wdq", "fc.b"], ["fc_out"], name="/fc/Gemm", transB=1)]
    out = b.fq("fc_out", 0.1)
    b.nodes.append(helper.make_node("Identity", [out], ["logits"], name="/output"))
    graph = helper.make_graph(b.nodes, "resnet18_qdq", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])], b.inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


if __name__ == "__main__":
    main()
