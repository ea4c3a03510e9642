// The op registry: collects the entries of every family file (families.def), looks ops up, and drives the two
// registry-wide passes over an imported graph: canonicalization and the shape-rule fallback of shape inference.

#include <map>
#include <set>

#include "common/error.h"
#include "ops/op_def.h"

namespace bpu::ops {

#define BPU_OP_FAMILY(name) void register_##name(Registry& r);
#include "ops/families.def"
#undef BPU_OP_FAMILY

const std::vector<OpDef>& all_ops() {
  static const std::vector<OpDef> ops = [] {
    Registry r;
#define BPU_OP_FAMILY(name) register_##name(r);
#include "ops/families.def"
#undef BPU_OP_FAMILY
    return r;
  }();
  return ops;
}

const OpDef* find_op(const std::string& type, const std::string& domain) {
  static const std::map<std::pair<std::string, std::string>, const OpDef*> index = [] {
    std::map<std::pair<std::string, std::string>, const OpDef*> m;
    for (const auto& op : all_ops()) m[{op.domain, op.type}] = &op;
    return m;
  }();
  const std::string d = domain == "ai.onnx" ? "" : domain;
  auto it = index.find({d, type});
  return it == index.end() ? nullptr : it->second;
}

bool cpu_supports(const std::string& type, const std::string& domain, bool float64) {
  const OpDef* op = find_op(type, domain);
  return op && (float64 ? op->kernel64 != nullptr : op->kernel != nullptr);
}

bool has_trait(const ir::Node& n, Trait t) {
  const OpDef* op = find_op(n.op_type, n.domain);
  return op && op->has(t);
}

float apply_formula(const ir::Node& n, float x) {
  const OpDef* op = find_op(n.op_type, n.domain);
  if (!op || !op->formula) throw Error(ExitCode::Internal, "op " + n.op_type + " has no float formula");
  return op->formula(n, x);
}

int64_t normalize_axis(const ir::Graph& g, const ir::Node& n, int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw Error(ExitCode::Model, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type + ") has axis " +
                                     std::to_string(axis) + ", out of range for rank " + std::to_string(rank));
  }
  return a;
}

// ---- CanonContext ------------------------------------------------------------------------------------------

std::string CanonContext::int_constant(const ir::Node& n, const std::string& what, const std::vector<int64_t>& values,
                                       bool scalar) {
  ir::Tensor t;
  t.name = n.name + "/canonical_" + what + "_" + std::to_string(counter++);
  t.elem_type = ir::ElemType::Int64;
  t.is_constant = true;
  t.has_shape = true;
  if (!scalar) t.shape = {static_cast<int64_t>(values.size())};
  t.int_data = values;
  graph.tensors[t.name] = t;
  return t.name;
}

std::string CanonContext::float_constant(const ir::Node& n, const std::string& what, float value) {
  ir::Tensor t;
  t.name = n.name + "/canonical_" + what + "_" + std::to_string(counter++);
  t.elem_type = ir::ElemType::Float;
  t.is_constant = true;
  t.has_shape = true;
  t.float_data = {value};
  graph.tensors[t.name] = t;
  return t.name;
}

std::string CanonContext::new_tensor(const ir::Node& n, const std::string& what, const Shape& shape,
                                     const std::string& like) {
  ir::Tensor t;
  t.name = n.name + "/canonical_" + what + "_" + std::to_string(counter++);
  t.elem_type = graph.tensor(like).elem_type;
  t.shape = shape;
  t.has_shape = true;
  graph.tensors[t.name] = t;
  return t.name;
}

std::vector<int64_t> CanonContext::constant_ints(const ir::Node& n, size_t k) const {
  if (!has_input(n, k)) return {};
  const ir::Tensor& t = graph.tensor(n.inputs[k]);
  if (!t.is_constant) fail(n, "input '" + n.inputs[k] + "' must be a constant (it is computed at run time)");
  if (!t.int_data.empty() || t.float_data.empty()) return t.int_data;
  std::vector<int64_t> out;
  for (float v : t.float_data) out.push_back(static_cast<int64_t>(v));
  return out;
}

void CanonContext::fail(const ir::Node& n, const std::string& what) const {
  throw Error(ExitCode::Unsupported, "model '" + graph.source_path + "': node '" + n.name + "' (" + n.op_type +
                                         ", opset " + std::to_string(opset) + "): " + what);
}

// ---- passes ------------------------------------------------------------------------------------------------

void check_opset(const ir::Graph& g) {
  if (g.opset < kMinOpset || g.opset > kMaxOpset) {
    throw Error(ExitCode::Unsupported,
                "model '" + g.source_path + "' imports ai.onnx opset " + std::to_string(g.opset) + "; bpu-mapper knows opsets " +
                    std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) +
                    " (re-export it with torch.onnx.export(..., opset_version=13))");
  }
}

void canonicalize(ir::Graph& g) {
  check_opset(g);
  CanonContext c{g, g.opset, 0, {}, {}};
  std::vector<ir::Node> out;
  out.reserve(g.nodes.size());
  for (ir::Node& n : g.nodes) {
    const OpDef* op = find_op(n.op_type, n.domain);
    if (op && op->canonicalize) {
      c.inserted_before.clear();
      c.inserted_after.clear();
      op->canonicalize(c, n);
      for (auto& b : c.inserted_before) out.push_back(std::move(b));
      out.push_back(std::move(n));
      for (auto& a : c.inserted_after) out.push_back(std::move(a));
    } else {
      out.push_back(std::move(n));
    }
  }
  g.nodes = std::move(out);
  // The canonical forms are those of opset 13; ops first defined later keep their (only) form.
  g.opset = std::max(g.opset, kCanonicalOpset);
}

int infer_missing_shapes(ir::Graph& g) {
  int filled = 0;
  for (const auto& n : g.nodes) {
    bool missing = false;
    for (const auto& o : n.outputs) missing |= !o.empty() && !g.tensor(o).has_shape;
    if (!missing) continue;
    const OpDef* op = find_op(n.op_type, n.domain);
    if (!op || !op->kernel) continue;
    std::vector<cpu::CpuTensor> inputs(n.inputs.size());
    std::vector<const cpu::CpuTensor*> in;
    bool known = true;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.inputs[k].empty()) {
        in.push_back(nullptr);
        continue;
      }
      const ir::Tensor& t = g.tensor(n.inputs[k]);
      if (!t.has_shape) known = false;
      cpu::CpuTensor& ct = inputs[k];
      ct.shape = t.shape;
      ct.elem_type = t.elem_type;
      ct.has_data = t.is_constant;
      ct.integer = t.is_constant && t.float_data.empty();
      ct.i = t.int_data;
      ct.f = ct.integer ? std::vector<float>(t.int_data.begin(), t.int_data.end()) : t.float_data;
      in.push_back(&ct);
    }
    if (!known) continue;
    std::vector<cpu::CpuTensor> outs(n.outputs.size());
    cpu::KernelContext ctx{n, g.opset, true, nullptr};
    try {
      op->kernel(ctx, in, outs);
    } catch (const Error&) {
      continue;  // left open; the importer reports the tensor it cannot shape
    }
    for (size_t k = 0; k < n.outputs.size() && k < outs.size(); ++k) {
      ir::Tensor& t = g.tensor(n.outputs[k]);
      if (n.outputs[k].empty() || t.has_shape) continue;
      t.shape = outs[k].shape;
      t.has_shape = true;
      ++filled;
    }
  }
  return filled;
}

}  // namespace bpu::ops
