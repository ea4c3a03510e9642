#!/usr/bin/python3
"""Writes a QDQ ONNX model of N compute nodes (a chain of 1x1 Conv + ReLU blocks with residual Adds) for the
compile-time scaling benchmark. Needs only python3-onnx and python3-numpy (no torch): the weights are random,
which is all a compile-time measurement needs. Usage: make_chain_model.py NODES OUT.onnx"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    nodes, path = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(0)
    c = 8
    inits, graph_nodes = [], []
    inits.append(numpy_helper.from_array(np.array([0], np.int8), "zp"))

    def fq(name, scale):
        s = f"{name}_s"
        inits.append(numpy_helper.from_array(np.array([scale], np.float32), s))
        graph_nodes.append(helper.make_node("QuantizeLinear", [name, s, "zp"], [name + "_q"], name=name + "/Q"))
        graph_nodes.append(helper.make_node("DequantizeLinear", [name + "_q", s, "zp"], [name + "_fq"], name=name + "/DQ"))
        return name + "_fq"

    x = fq("input", 0.02)
    count, k = 0, 0
    while count < nodes:
        w = rng.normal(0, 0.2, (c, c, 1, 1)).astype(np.float32)
        ws = (np.abs(w).reshape(c, -1).max(1) / 127).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(ws, f"w{k}_s"),
                  numpy_helper.from_array(np.zeros(c, np.int8), f"w{k}_zp")]
        graph_nodes.append(helper.make_node("QuantizeLinear", [f"w{k}", f"w{k}_s", f"w{k}_zp"], [f"w{k}_q"], name=f"w{k}/Q", axis=0))
        graph_nodes.append(helper.make_node("DequantizeLinear", [f"w{k}_q", f"w{k}_s", f"w{k}_zp"], [f"w{k}_fq"], name=f"w{k}/DQ", axis=0))
        graph_nodes.append(helper.make_node("Conv", [x, f"w{k}_fq"], [f"c{k}"], name=f"/conv{k}/Conv"))
        graph_nodes.append(helper.make_node("Relu", [f"c{k}"], [f"r{k}"], name=f"/relu{k}/Relu"))
        r = fq(f"r{k}", 0.02)
        graph_nodes.append(helper.make_node("Add", [x, r], [f"a{k}"], name=f"/add{k}/Add"))
        x = fq(f"a{k}", 0.03)
        count += 3
        k += 1
    graph = helper.make_graph(graph_nodes, "chain", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, 8, 8])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, c, 8, 8])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


if __name__ == "__main__":
    main()
