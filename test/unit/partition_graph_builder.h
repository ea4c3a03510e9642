// Synthetic IR graphs for the partition tests (test_partition.cpp, test_float_islands.cpp): 1x4x8x8 activations,
// quantized or float, and nodes added by name.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace bpu::test {

// Builds IR graphs directly: quantized 1x4x8x8 activations, quantized Conv/Add (BPU-capable) and LogSoftmax
// (an op only the CPU runs).
class GraphBuilder {
 public:
  GraphBuilder() {
    g.source_path = "synthetic.onnx";
    activation("in");
    g.inputs = {"in"};
  }
  void activation(const std::string& name, bool quantized = true) {
    ir::Tensor t;
    t.name = name;
    t.shape = {1, 4, 8, 8};
    t.has_shape = true;
    if (quantized) t.quant = ir::QuantParams{{0.05f}, -1, 8, false};
    g.tensors[name] = t;
  }
  void conv(const std::string& name, const std::string& in, const std::string& out) {
    ir::Tensor w;
    w.name = name + ".w";
    w.shape = {4, 4, 1, 1};
    w.has_shape = w.is_constant = true;
    w.elem_type = ir::ElemType::Int8;
    w.float_data.assign(16, 0.01f);
    w.quantized.assign(16, 1);
    w.quant = ir::QuantParams{{0.01f, 0.01f, 0.01f, 0.01f}, 0, 8, false};
    g.tensors[w.name] = w;
    activation(out);
    node(name, "Conv", {in, w.name}, out);
  }
  void cpu_op(const std::string& name, const std::string& in, const std::string& out) {
    activation(out);
    node(name, "LogSoftmax", {in}, out);
  }
  void add(const std::string& name, const std::string& a, const std::string& b, const std::string& out) {
    activation(out);
    node(name, "Add", {a, b}, out);
  }
  void node(const std::string& name, const std::string& op, std::vector<std::string> in, const std::string& out) {
    ir::Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {out};
    g.nodes.push_back(n);
  }
  // A single-element float constant.
  void scalar(const std::string& name, float v) {
    ir::Tensor t;
    t.name = name;
    t.has_shape = t.is_constant = true;
    t.float_data = {v};
    g.tensors[name] = t;
  }
  int index_of(const std::string& node) const {
    for (size_t i = 0; i < g.nodes.size(); ++i) if (g.nodes[i].name == node) return static_cast<int>(i);
    return -1;
  }
  ir::Graph g;
};

}  // namespace bpu::test
