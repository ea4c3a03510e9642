// Choosing the tensors to calibrate (see select.h).

#include "calib/select.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ops/op_def.h"

namespace bpu::calib {

namespace {

bool float_activation(const ir::Graph& g, const std::string& name) {
  if (name.empty() || !g.has_tensor(name)) return false;
  const ir::Tensor& t = g.tensor(name);
  return !t.is_constant && (t.elem_type == ir::ElemType::Float || t.elem_type == ir::ElemType::Double);
}

bool carries_input_quant(const ir::Node& n) {
  if (n.op_type == "Identity" || n.op_type == "Dropout") return true;
  const ops::OpDef* op = ops::find_op(n.op_type, n.domain);
  return op && op->has(ops::kShapeOnly);
}

// The single reader of `tensor` when it has exactly one and the tensor is not a graph output.
const ir::Node* only_reader(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers,
                            const std::string& tensor) {
  auto it = consumers.find(tensor);
  if (it == consumers.end() || it->second.size() != 1 || g.is_graph_output(tensor)) return nullptr;
  return &g.nodes[it->second[0]];
}

bool absorbed_by_reader(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, const ir::Node& n) {
  const ir::Node* r = only_reader(g, consumers, n.outputs[0]);
  if (!r) return false;
  if (r->op_type == "BatchNormalization" && n.op_type == "Conv") return true;
  if (n.op_type != "Conv" && n.op_type != "Add") return false;
  const ops::OpDef* op = ops::find_op(r->op_type, r->domain);
  return op && op->has(ops::kFusableActivation);
}

WeightScale weight_scales(const ir::Tensor& w, int axis) {
  WeightScale s;
  s.initializer = w.name;
  s.axis = axis;
  const int64_t channels = w.shape.at(static_cast<size_t>(axis));
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < w.shape.size(); ++d) inner *= w.shape[d];
  std::vector<double> absmax(static_cast<size_t>(channels), 0.0);
  for (size_t i = 0; i < w.float_data.size(); ++i) {
    const size_t c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
    absmax[c] = std::max(absmax[c], std::fabs(static_cast<double>(w.float_data[i])));
  }
  for (double m : absmax) s.scales.push_back(m > 0 ? static_cast<float>(m / 127.0) : 1.0f);
  return s;
}

}  // namespace

bool has_fake_quant(const ir::Graph& g) {
  for (const auto& n : g.nodes) {
    const ops::OpDef* op = ops::find_op(n.op_type, n.domain);
    if (op && op->has(ops::kFakeQuant)) return true;
  }
  return false;
}

Selection select_tensors(const ir::Graph& g, bool quantize_outputs) {
  Selection s;
  const auto consumers = g.consumer_index();
  std::set<std::string> chosen;
  auto choose = [&](const std::string& t) {
    if (float_activation(g, t) && chosen.insert(t).second) s.activations.push_back(t);
  };
  for (const auto& in : g.inputs) choose(in);
  std::set<std::string> weights_done;
  for (const auto& n : g.nodes) {
    if (n.outputs.empty()) continue;
    const bool conv_output = n.op_type == "Conv" && g.is_graph_output(n.outputs[0]);
    if (!carries_input_quant(n) && !absorbed_by_reader(g, consumers, n) && (!conv_output || quantize_outputs)) {
      for (const auto& o : n.outputs) choose(o);
    }
    int axis = -1;
    if (n.op_type == "Conv") axis = 0;
    if (n.op_type == "ConvTranspose") axis = 1;
    if (n.op_type == "Gemm") axis = n.attr_int("transB", 0) ? 0 : 1;
    if (n.op_type == "MatMul") axis = 1;
    if (axis < 0 || n.inputs.size() < 2 || !g.has_tensor(n.inputs[1])) continue;
    const ir::Tensor& w = g.tensor(n.inputs[1]);
    if (!w.is_constant || w.float_data.empty() || w.elem_type != ir::ElemType::Float) continue;
    if (static_cast<size_t>(axis) >= w.shape.size() || (n.op_type == "MatMul" && w.shape.size() != 2)) continue;
    if (weights_done.insert(w.name).second) s.weights.push_back(weight_scales(w, axis));
  }
  return s;
}

}  // namespace bpu::calib
