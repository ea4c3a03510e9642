// MatMul (+ Transpose of the weight, + bias Add) -> Gemm, see linear_gemm.h.

#include "passes/linear_gemm.h"

#include <map>
#include <string>

namespace bpu {

namespace {

bool per_tensor_activation(const ir::Tensor& t) {
  return !t.is_constant && t.quant && !t.quant->per_channel() && t.has_shape && t.shape.size() >= 2;
}

bool quantized_matrix(const ir::Tensor& t) {
  return t.is_constant && t.quant && !t.quantized.empty() && t.shape.size() == 2;
}

// The one reader of `tensor`, or -1 (several readers, none, or a graph output).
int sole_reader(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, const std::string& tensor) {
  auto it = consumers.find(tensor);
  if (it == consumers.end() || it->second.size() != 1 || g.is_graph_output(tensor)) return -1;
  return it->second[0];
}

struct LinearMatch {
  std::string weight;         // the quantized constant [K, M] (or [M, K] with trans_b)
  bool trans_b = false;
  int transpose = -1;         // the absorbed Transpose of the weight
  int bias_add = -1;          // the absorbed Add
  std::vector<float> bias;    // 1 or M values
  std::string output;         // the quantized tensor the Gemm (or the Reshape back) writes
};

// The bias of `add` when its other input is a constant with 1 or M values along the last axis only.
bool bias_of(const ir::Graph& g, const ir::Node& add, const std::string& matmul_out, int64_t m, std::vector<float>* bias) {
  if (add.inputs.size() != 2) return false;
  const std::string& c = add.inputs[0] == matmul_out ? add.inputs[1] : add.inputs[0];
  if (c == matmul_out || !g.has_tensor(c)) return false;
  const ir::Tensor& t = g.tensor(c);
  if (!t.is_constant || t.quant || t.elem_type != ir::ElemType::Float) return false;
  const int64_t n = static_cast<int64_t>(t.float_data.size());
  if (n != 1 && n != m) return false;
  for (size_t k = 0; k + 1 < t.shape.size(); ++k) {
    if (t.shape[k] != 1) return false;
  }
  *bias = t.float_data;
  return true;
}

bool match_linear(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, int index,
                  LinearMatch* m) {
  const ir::Node& mm = g.nodes[index];
  if (mm.op_type != "MatMul" || !mm.domain.empty() || mm.inputs.size() != 2) return false;
  const ir::Tensor& a = g.tensor(mm.inputs[0]);
  if (!per_tensor_activation(a)) return false;
  const ir::Tensor& b = g.tensor(mm.inputs[1]);
  if (quantized_matrix(b)) {
    m->weight = b.name;
  } else {
    const int p = g.producer(b.name);
    if (p < 0 || g.nodes[p].op_type != "Transpose" || sole_reader(g, consumers, b.name) != index) return false;
    const ir::Node& tr = g.nodes[p];
    if (tr.inputs.empty() || !quantized_matrix(g.tensor(tr.inputs[0]))) return false;
    const std::vector<int64_t> perm = tr.attr_ints("perm", {1, 0});
    if (perm != std::vector<int64_t>{1, 0}) return false;
    m->weight = tr.inputs[0];
    m->trans_b = true;
    m->transpose = p;
  }
  const ir::Tensor& w = g.tensor(m->weight);
  const int64_t K = m->trans_b ? w.shape[1] : w.shape[0], M = m->trans_b ? w.shape[0] : w.shape[1];
  if (a.shape.back() != K) return false;
  if (w.quant->per_channel() && w.quant->axis != (m->trans_b ? 0 : 1)) return false;  // scales along the outputs only
  const ir::Tensor& y = g.tensor(mm.outputs[0]);
  if (y.quant) {
    if (y.quant->per_channel()) return false;
    m->output = y.name;
  } else {
    const int add = sole_reader(g, consumers, y.name);
    if (add < 0 || g.nodes[add].op_type != "Add" || !g.nodes[add].domain.empty()) return false;
    if (!bias_of(g, g.nodes[add], y.name, M, &m->bias)) return false;
    const ir::Tensor& z = g.tensor(g.nodes[add].outputs[0]);
    if (!z.quant || z.quant->per_channel() || z.shape != y.shape) return false;
    m->bias_add = add;
    m->output = z.name;
  }
  // Only worth a rewrite when the MatMul cannot be lowered as it is.
  return m->trans_b || m->bias_add >= 0 || a.shape.size() > 2;
}

ir::Tensor activation(const std::string& name, const Shape& shape, const ir::QuantParams& q) {
  ir::Tensor t;
  t.name = name;
  t.shape = shape;
  t.has_shape = true;
  t.quant = q;
  return t;
}

ir::Tensor int64_constant(const std::string& name, const std::vector<int64_t>& values) {
  ir::Tensor t;
  t.name = name;
  t.elem_type = ir::ElemType::Int64;
  t.shape = {static_cast<int64_t>(values.size())};
  t.has_shape = t.is_constant = true;
  t.int_data = values;
  return t;
}

ir::Node reshape(const std::string& name, const std::string& in, const std::string& shape, const std::string& out) {
  ir::Node n;
  n.name = name;
  n.op_type = "Reshape";
  n.inputs = {in, shape};
  n.outputs = {out};
  n.attributes["allowzero"] = ir::Attribute::of_int(0);
  return n;
}

ir::Node folded(const ir::Node& n, const std::string& as) {
  ir::Node f = n;
  f.attributes["_bpu_folded_as"] = ir::Attribute::of_string(as);
  return f;
}

// Rewrites node `index` by `m`: the Gemm replaces the MatMul in place, Reshapes go to `added`.
void rewrite(ir::Graph& g, int index, const LinearMatch& m, std::vector<bool>* remove, std::vector<ir::Node>* added) {
  ir::Node& mm = g.nodes[index];
  const ir::Tensor& a = g.tensor(mm.inputs[0]);
  const ir::Tensor& out = g.tensor(m.output);
  const ir::Tensor& w = g.tensor(m.weight);
  const int64_t K = a.shape.back(), M = m.trans_b ? w.shape[0] : w.shape[1];
  int64_t rows = 1;
  for (size_t k = 0; k + 1 < a.shape.size(); ++k) rows *= a.shape[k];
  const std::string base = mm.name + "/gemm";
  std::string gemm_in = a.name, gemm_out = out.name;
  if (a.shape.size() > 2) {
    gemm_in = base + "_input";
    gemm_out = base + "_output";
    g.tensors[gemm_in] = activation(gemm_in, {rows, K}, *a.quant);
    g.tensors[gemm_out] = activation(gemm_out, {rows, M}, *out.quant);
    g.tensors[base + "_input_shape"] = int64_constant(base + "_input_shape", {rows, K});
    g.tensors[base + "_output_shape"] = int64_constant(base + "_output_shape", out.shape);
    added->push_back(reshape(base + "_reshape_in", a.name, base + "_input_shape", gemm_in));
    added->push_back(reshape(base + "_reshape_out", gemm_out, base + "_output_shape", out.name));
  }
  ir::Node gemm;
  gemm.name = mm.name;
  gemm.op_type = "Gemm";
  gemm.inputs = {gemm_in, m.weight};
  gemm.outputs = {gemm_out};
  gemm.attributes["transA"] = ir::Attribute::of_int(0);
  gemm.attributes["transB"] = ir::Attribute::of_int(m.trans_b ? 1 : 0);
  for (const char* k : {"alpha", "beta"}) gemm.attributes[k] = ir::Attribute::of_float(1.0f);
  if (m.bias_add >= 0) {
    ir::Tensor c;
    c.name = base + "_bias";
    c.shape = {static_cast<int64_t>(m.bias.size())};
    c.has_shape = c.is_constant = true;
    c.float_data = m.bias;
    g.tensors[c.name] = c;
    gemm.inputs.push_back(c.name);
    gemm.folded_nodes.push_back(folded(g.nodes[m.bias_add], "as the Gemm's bias"));
    (*remove)[m.bias_add] = true;
  }
  if (m.transpose >= 0) {
    gemm.folded_nodes.push_back(folded(g.nodes[m.transpose], "as the Gemm's transB"));
    (*remove)[m.transpose] = true;
  }
  mm = gemm;
}

}  // namespace

int matmul_to_gemm(ir::Graph& g, const std::set<std::string>& keep) {
  const std::map<std::string, std::vector<int>> consumers = g.consumer_index();
  std::vector<bool> remove(g.nodes.size(), false);
  std::vector<ir::Node> added;
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    LinearMatch m;
    if (remove[i] || !match_linear(g, consumers, static_cast<int>(i), &m)) continue;
    if (g.has_tensor(g.nodes[i].name + "/gemm_input")) continue;  // the names the rewrite adds are taken
    if ((m.transpose >= 0 && keep.count(g.nodes[m.transpose].name)) || (m.bias_add >= 0 && keep.count(g.nodes[m.bias_add].name))) continue;
    rewrite(g, static_cast<int>(i), m, &remove, &added);
    ++count;
  }
  if (!count) return 0;
  for (auto& n : added) g.nodes.push_back(std::move(n));
  remove.resize(g.nodes.size(), false);  // before the removal, which drops tensors no node reads
  g.remove_nodes(remove);
  g.topological_sort();
  return count;
}

}  // namespace bpu
