// Constant folding and dead-node removal (passes/simplify.h). Each node is evaluated with its registry CPU kernel,
// exactly as the CPU executor would run it, so folding never changes a value.

#include "passes/simplify.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "common/error.h"
#include "ops/op_def.h"

namespace bpu {

namespace {

// Largest constant the folder creates (elements); bigger results (e.g. a ConstantOfShape of an activation's size)
// stay nodes.
constexpr int64_t kMaxFoldElements = int64_t(1) << 22;

bool integer_type(ir::ElemType t) { return t != ir::ElemType::Float && t != ir::ElemType::Double; }

cpu::CpuTensor to_cpu(const ir::Tensor& t) {
  cpu::CpuTensor c;
  c.shape = t.shape;
  c.elem_type = t.elem_type;
  c.has_data = t.is_constant;
  c.integer = t.is_constant && t.float_data.empty() && (integer_type(t.elem_type) || !t.int_data.empty());
  c.i = t.int_data;
  c.f = c.integer ? std::vector<float>(t.int_data.begin(), t.int_data.end()) : t.float_data;
  return c;
}

int64_t to_int64(float v) {
  const double d = std::nearbyint(static_cast<double>(v));
  if (d >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (d <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

// The output tensor becomes a constant holding the kernel's result.
void make_constant(ir::Tensor& t, const cpu::CpuTensor& v) {
  if (v.integer && integer_type(v.elem_type)) t.elem_type = v.elem_type;
  t.shape = v.shape;
  t.has_shape = true;
  t.is_constant = true;
  t.float_data.clear();
  t.int_data.clear();
  if (integer_type(t.elem_type)) {
    if (v.integer) t.int_data = v.i;
    else for (float f : v.f) t.int_data.push_back(to_int64(f));
  } else {
    if (v.integer) t.float_data.assign(v.i.begin(), v.i.end());
    else t.float_data = v.f;
  }
}

bool foldable(const ir::Graph& g, const ir::Node& n, const ops::OpDef* op) {
  if (!op || !op->kernel || op->has(ops::kFakeQuant) || n.domain.rfind("horizon", 0) == 0) return false;
  if (n.outputs.empty() || n.inputs.empty()) return false;
  for (const auto& o : n.outputs) {
    if (o.empty() || g.is_graph_output(o)) return false;
  }
  if (n.op_type == "Shape" || n.op_type == "Size") return g.tensor(n.inputs[0]).has_shape;
  for (const auto& in : n.inputs) {
    if (!in.empty() && !g.tensor(in).is_constant) return false;
  }
  return true;
}

// Runs the kernel; false when an input has no shape yet.
bool run(const ir::Graph& g, const ir::Node& n, const ops::OpDef& op, bool shapes_only, std::vector<cpu::CpuTensor>* outs) {
  std::vector<cpu::CpuTensor> inputs(n.inputs.size());
  std::vector<const cpu::CpuTensor*> in;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    if (n.inputs[k].empty()) {
      in.push_back(nullptr);
      continue;
    }
    const ir::Tensor& t = g.tensor(n.inputs[k]);
    if (!t.has_shape) return false;
    inputs[k] = to_cpu(t);
    in.push_back(&inputs[k]);
  }
  outs->assign(n.outputs.size(), cpu::CpuTensor{});
  cpu::KernelContext ctx{n, g.opset, shapes_only, nullptr};
  op.kernel(ctx, in, *outs);
  return true;
}

// Folds node n when it can; otherwise fills its missing output shapes. Returns true when folded.
bool fold_node(ir::Graph& g, const ir::Node& n, SimplifyStats* stats) {
  const ops::OpDef* op = ops::find_op(n.op_type, n.domain);
  std::vector<cpu::CpuTensor> outs;
  if (!foldable(g, n, op)) {
    bool missing = false;
    for (const auto& o : n.outputs) missing |= !o.empty() && !g.tensor(o).has_shape;
    if (!missing || !op || !op->kernel) return false;
    try {
      if (!run(g, n, *op, true, &outs)) return false;
    } catch (const Error&) {
      return false;  // left open; the importer names the tensor it cannot shape
    }
    for (size_t k = 0; k < n.outputs.size() && k < outs.size(); ++k) {
      ir::Tensor& t = g.tensor(n.outputs[k]);
      if (n.outputs[k].empty() || t.has_shape) continue;
      t.shape = outs[k].shape;
      t.has_shape = true;
      ++stats->shapes_filled;
    }
    return false;
  }
  try {
    if (!run(g, n, *op, true, &outs)) return false;
    for (const auto& o : outs) {
      if (o.count() > kMaxFoldElements) return false;
    }
    run(g, n, *op, false, &outs);
  } catch (const Error& e) {
    throw Error(ExitCode::Model, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type +
                                     ") has only constant inputs but cannot be evaluated: " + e.what() +
                                     "; fix the node's constant inputs in the model");
  }
  for (size_t k = 0; k < n.outputs.size(); ++k) make_constant(g.tensor(n.outputs[k]), outs.at(k));
  ++stats->folded;
  ++stats->folded_by_op[n.op_type];
  return true;
}

// Nodes none of whose outputs reach a graph output (walking back from the outputs).
std::vector<bool> dead_nodes(const ir::Graph& g) {
  std::set<std::string> live(g.outputs.begin(), g.outputs.end());
  std::vector<bool> dead(g.nodes.size(), true);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const ir::Node& n = g.nodes[i];
    bool used = false;
    for (const auto& o : n.outputs) used |= !o.empty() && live.count(o);
    if (!used) continue;
    dead[i] = false;
    live.insert(n.inputs.begin(), n.inputs.end());
  }
  return dead;
}

bool all_equal(const std::vector<int64_t>& v, int64_t value) {
  return std::all_of(v.begin(), v.end(), [value](int64_t x) { return x == value; });
}

// The constant integer input `k` of n, or nullptr when it is absent or computed at run time.
const std::vector<int64_t>* constant_input(const ir::Graph& g, const ir::Node& n, size_t k) {
  if (k >= n.inputs.size() || n.inputs[k].empty() || !g.has_tensor(n.inputs[k])) return nullptr;
  const ir::Tensor& t = g.tensor(n.inputs[k]);
  return t.is_constant ? &t.int_data : nullptr;
}

// True when n returns its first input unchanged: Identity, Dropout (inference), a Reshape/Flatten/Squeeze/
// Unsqueeze/Expand to the input's own shape, a Transpose by the identity, a Pad of zero everywhere, a Slice with
// unit steps that keeps the whole shape, a Cast to the input's own type. Shapes must be static and equal; a node
// writing a graph output stays (its name is the model's interface).
bool is_noop(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() || n.outputs[0].empty()) return false;
  for (size_t k = 1; k < n.outputs.size(); ++k) {
    if (!n.outputs[k].empty() && !g.consumers(n.outputs[k]).empty()) return false;  // e.g. Dropout's mask is read
  }
  if (!g.has_tensor(n.inputs[0]) || !g.has_tensor(n.outputs[0]) || g.is_graph_output(n.outputs[0])) return false;
  const ir::Tensor& x = g.tensor(n.inputs[0]);
  const ir::Tensor& y = g.tensor(n.outputs[0]);
  if (!x.has_shape || !y.has_shape || x.shape != y.shape || x.elem_type != y.elem_type) return false;
  const std::string& op = n.op_type;
  if (op == "Identity" || op == "Dropout" || op == "Reshape" || op == "Flatten" || op == "Squeeze" ||
      op == "Unsqueeze" || op == "Expand" || op == "Cast")
    return true;
  if (op == "Transpose") {
    const std::vector<int64_t> perm = n.attr_ints("perm", {});
    for (size_t k = 0; k < perm.size(); ++k) {
      if (perm[k] != static_cast<int64_t>(k)) return false;
    }
    return !perm.empty() || x.shape.size() <= 1;
  }
  if (op == "Pad") {
    const std::vector<int64_t>* pads = constant_input(g, n, 1);
    return pads && all_equal(*pads, 0);
  }
  if (op == "Slice") {
    const std::vector<int64_t>* steps = constant_input(g, n, 4);
    if (n.inputs.size() > 4 && !n.inputs[4].empty() && !steps) return false;
    return !steps || all_equal(*steps, 1);
  }
  return false;
}

// Removes the no-op nodes (is_noop): their readers read the input instead. Counted per op in `stats`.
void remove_noops(ir::Graph& g, SimplifyStats* stats) {
  std::vector<bool> noop(g.nodes.size(), false);
  std::map<std::string, std::string> renames;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!is_noop(g, n)) continue;
    noop[i] = true;
    renames[n.outputs[0]] = n.inputs[0];
    ++stats->noops_removed;
    ++stats->noops_by_op[n.op_type];
  }
  if (renames.empty()) return;
  g.replace_uses_all(renames);
  g.remove_nodes(noop);
}

}  // namespace

std::string SimplifyStats::summary() const {
  std::string ops;
  for (const auto& [type, count] : folded_by_op) ops += (ops.empty() ? "" : ", ") + type + " " + std::to_string(count);
  std::string s = std::to_string(folded) + " nodes folded into constants";
  if (!ops.empty()) s += " (" + ops + ")";
  std::string noops;
  for (const auto& [type, count] : noops_by_op) noops += (noops.empty() ? "" : ", ") + type + " " + std::to_string(count);
  s += ", " + std::to_string(noops_removed) + " no-op nodes removed";
  if (!noops.empty()) s += " (" + noops + ")";
  s += ", " + std::to_string(dead_removed) + " dead nodes removed, " + std::to_string(shapes_filled) +
       " shapes inferred from folded constants";
  return s;
}

SimplifyStats simplify_graph(ir::Graph& g) {
  SimplifyStats stats;
  std::vector<bool> folded(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) folded[i] = fold_node(g, g.nodes[i], &stats);
  g.remove_nodes(folded);
  std::vector<bool> dead = dead_nodes(g);
  for (bool d : dead) stats.dead_removed += d;
  g.remove_nodes(dead);
  stats.shapes_filled += ops::infer_missing_shapes(g);
  remove_noops(g, &stats);
  return stats;
}

}  // namespace bpu
