// CPU segment loading, validation and execution.

#include "runtime/cpu/cpu_graph.h"

#include <cmath>
#include <chrono>
#include <iterator>
#include <set>
#include <onnx/onnx_pb.h>

#include "ops/op_def.h"
#include "common/error.h"
#include "onnx_import/onnx_import.h"
#include "passes/simplify.h"

namespace bpu::cpu {

CpuGraph::CpuGraph(const std::vector<uint8_t>& bytes, const std::string& context) : context_(context) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) || !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw Error(ExitCode::Artifact, context + ": the embedded ONNX subgraph does not parse");
  }
  load(model, false);
}

CpuGraph::CpuGraph(onnx::ModelProto& model, const std::string& context, bool keep_constant_values, Precision precision)
    : context_(context), precision_(precision) {
  load(model, keep_constant_values);
}

void CpuGraph::load(onnx::ModelProto& model, bool keep_constant_values) {
  const std::string& context = context_;
  try {
    ImportOptions options;
    options.canonicalize = false;
    // Shape arithmetic on static shapes is evaluated once at load with the same kernels (values unchanged), so
    // the shape-only validation below sees every shape (Reshape/Resize/Expand sizes computed by the graph).
    options.simplify = [](ir::Graph& g) { simplify_graph(g); };
    graph_ = import_onnx_model(model, context, options);
  } catch (const Error& e) {
    throw Error(ExitCode::Artifact, context + ": invalid ONNX subgraph: " + e.what());
  }
  for (auto& [name, t] : graph_.tensors) {
    if (!t.is_constant) continue;
    CpuTensor c;
    c.shape = t.shape;
    c.elem_type = t.elem_type;
    c.integer = t.float_data.empty() && !t.int_data.empty();
    if (keep_constant_values) {
      c.f = t.float_data;
      c.i = t.int_data;
    } else {  // one copy of the weights: the executor's
      c.f = std::move(t.float_data);
      c.i = std::move(t.int_data);
      t.float_data.clear();
      t.int_data.clear();
    }
    if (!c.integer && c.f.empty() && c.count() > 0) c.integer = true;  // e.g. an int tensor of zeros
    // Every kernel may read a constant as data: integer constants (int8 weights, zero points) get a float
    // view of the same size, so no kernel can read past a constant's values.
    if (c.integer) c.f.assign(c.i.begin(), c.i.end());
    if (static_cast<int64_t>(c.f.size()) != c.count()) {
      throw Error(ExitCode::Artifact, context + ": constant '" + name + "' holds " + std::to_string(c.f.size()) +
                                          " values for shape " + shape_to_string(c.shape));
    }
    constants_[name] = std::move(c);  // float32 in the file: held as such, widened when a node reads it
  }
  // Shape-only dry run: every op must have a kernel and every inferred shape must match the declared one.
  std::map<std::string, CpuTensor> values;
  for (const auto& in : graph_.inputs) {
    CpuTensor t;
    t.shape = graph_.tensor(in).shape;
    t.has_data = false;
    values[in] = t;
  }
  for (const auto& n : graph_.nodes) {
    if (!ops::cpu_supports(n.op_type, n.domain)) {
      throw Error(ExitCode::Artifact, context + ": node '" + n.name + "' has op " + n.op_type + ", which the CPU executor does not run");
    }
    if (precision_ == Precision::Float64 && !ops::cpu_supports(n.op_type, n.domain, true)) {
      throw Error(ExitCode::Artifact, context + ": node '" + n.name + "' has op " + n.op_type +
                                          ", which has no float64 kernel (the exact run computes every op in double)");
    }
    std::vector<CpuTensor> outs = run_node(n, values, true);
    for (size_t k = 0; k < n.outputs.size() && k < outs.size(); ++k) {
      const ir::Tensor& declared = graph_.tensor(n.outputs[k]);
      if (outs[k].shape != declared.shape) {
        throw Error(ExitCode::Artifact, context + ": node '" + n.name + "' output '" + n.outputs[k] + "' has shape " +
                                            shape_to_string(outs[k].shape) + " but the subgraph declares " +
                                            shape_to_string(declared.shape));
      }
      values[n.outputs[k]] = std::move(outs[k]);
    }
  }
  for (const auto& o : graph_.outputs) {
    if (!values.count(o) && !constants_.count(o)) throw Error(ExitCode::Artifact, context + ": output '" + o + "' is never produced");
  }
  fold_constants();
  plan_run();
}

// A node reading only constants (a QAT weight's QuantizeLinear and DequantizeLinear, shape arithmetic) is run
// once here with the same kernel, and its outputs become constants; constants nothing reads any more are
// dropped. So a weight is held once, as its fake-quantized value, and not recomputed on every run. Nodes whose
// outputs would be larger than their inputs (Expand, Tile, ConstantOfShape) stay in the run.
void CpuGraph::fold_constants() {
  folded_.assign(graph_.nodes.size(), false);
  const std::map<std::string, CpuTensor> no_values;
  std::map<std::string, int64_t> readers;  // nodes (and graph outputs) still to read each tensor
  for (const auto& o : graph_.outputs) ++readers[o];
  for (const auto& n : graph_.nodes) for (const auto& name : n.inputs) if (!name.empty()) ++readers[name];
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& n = graph_.nodes[i];
    int64_t in_count = 0, out_count = 0;
    bool all_constant = !n.inputs.empty();
    for (const auto& name : n.inputs) {
      if (name.empty()) continue;
      auto c = constants_.find(name);
      if (c == constants_.end()) { all_constant = false; break; }
      in_count += c->second.count();
    }
    if (!all_constant) continue;
    for (const auto& o : n.outputs) if (!o.empty()) out_count += checked_element_count(graph_.tensor(o).shape, o, ExitCode::Artifact);
    if (out_count > in_count) continue;
    // Float64: a weight's DequantizeLinear stays in the run, so its weight is held as its int8 codes (exact)
    // and its double values exist only while the next node reads them, not as a double copy of every weight.
    if (precision_ == Precision::Float64 && n.op_type == "DequantizeLinear") continue;
    std::vector<CpuTensor> outs = fold_in_float32(n);
    if (outs.empty()) outs = run_node(n, no_values, false, nullptr, true);
    for (size_t k = 0; k < n.outputs.size() && k < outs.size(); ++k) {
      if (!n.outputs[k].empty()) constants_[n.outputs[k]] = compact(std::move(outs[k]));
    }
    folded_[i] = true;
    for (const auto& name : n.inputs) {  // released as soon as the last reader is folded: no third copy
      if (!name.empty() && --readers[name] == 0) constants_.erase(name);
    }
  }
  for (auto it = constants_.begin(); it != constants_.end();) it = readers[it->first] > 0 ? std::next(it) : constants_.erase(it);
}

int64_t CpuGraph::constant_elements() const {
  int64_t n = 0;
  for (const auto& [name, c] : constants_) n += static_cast<int64_t>(c.f.size() + c.d.size() + c.i.size() + c.q8.size());
  return n;
}

void CpuGraph::plan_run() {
  auto slot = [&](const std::string& name) {
    auto it = slot_of_.emplace(name, static_cast<int64_t>(slot_of_.size())).first;
    return it->second;
  };
  for (const auto& in : graph_.inputs) slot(in);
  plans_.assign(graph_.nodes.size(), {});
  std::map<int64_t, size_t> last_reader;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (folded_[i]) continue;
    const ir::Node& n = graph_.nodes[i];
    NodePlan& p = plans_[i];
    p.op = ops::find_op(n.op_type, n.domain);
    for (const auto& name : n.inputs) {
      auto c = name.empty() ? constants_.end() : constants_.find(name);
      p.constants.push_back(c == constants_.end() ? nullptr : &c->second);
      p.slots.push_back(name.empty() || c != constants_.end() ? -1 : slot(name));
      if (p.slots.back() >= 0) last_reader[p.slots.back()] = i;
    }
    for (const auto& o : n.outputs) {
      p.outputs.push_back(o.empty() ? -1 : slot(o));
      p.output_counts.push_back(!o.empty() && graph_.has_tensor(o) ? static_cast<size_t>(graph_.tensor(o).element_count()) : 0);
    }
  }
  std::set<int64_t> kept;
  for (const auto& o : graph_.outputs) {
    auto it = slot_of_.find(o);
    if (it != slot_of_.end()) kept.insert(it->second);
  }
  for (const auto& [s, i] : last_reader) if (!kept.count(s)) plans_[i].release.push_back(s);
}

// A Float64 constant whose values are all int8 codes (a weight's QuantizeLinear) is held as int8, one whose values
// are all float32 numbers (shape arithmetic, scales) in f only.
CpuTensor CpuGraph::compact(CpuTensor t) const {
  if (precision_ != Precision::Float64 || t.integer) return t;
  if (!t.d.empty()) {
    bool codes = true;
    constexpr size_t kBlock = 4096;  // branch-free tests per block, an early exit between blocks
    for (size_t b = 0; b < t.d.size(); b += kBlock) {
      int floats = 1, ints = 1;
      for (size_t k = b, end = std::min(t.d.size(), b + kBlock); k < end; ++k) {
        const double v = t.d[k];
        floats &= static_cast<double>(static_cast<float>(v)) == v;
        ints &= (v >= -128.0) & (v <= 127.0) & (std::trunc(v) == v);  // false for NaN
      }
      if (!floats) return t;
      codes = codes && ints;
    }
    if (codes) t.q8.assign(t.d.begin(), t.d.end());
    else t.f.assign(t.d.begin(), t.d.end());
    std::vector<double>().swap(t.d);
  } else if (!t.f.empty()) {  // a weight's QuantizeLinear folded in float32 (fold_in_float32)
    int ints = 1;
    for (float v : t.f) ints &= (v >= -128.0f) & (v <= 127.0f) & (std::trunc(v) == v);
    if (!ints) return t;
    t.q8.assign(t.f.begin(), t.f.end());
    std::vector<float>().swap(t.f);
  }
  return t;
}

// Float64: a weight's QuantizeLinear folds with the float32 kernel, which is torch's fake quantize (the rounding
// the folding float64 kernel reproduces too) on the float32 values as held, without their double copies. Empty
// when the node does not qualify (another op, or an input not held in float32).
std::vector<CpuTensor> CpuGraph::fold_in_float32(const ir::Node& n) const {
  if (precision_ != Precision::Float64 || n.op_type != "QuantizeLinear" || !n.domain.empty()) return {};
  std::vector<const CpuTensor*> in;
  for (const auto& name : n.inputs) {
    if (name.empty()) {
      in.push_back(nullptr);
      continue;
    }
    const CpuTensor& c = constants_.at(name);
    if (!c.d.empty() || !c.q8.empty()) return {};
    in.push_back(&c);
  }
  std::vector<CpuTensor> out(n.outputs.size());
  KernelContext ctx{n, graph_.opset, false, nullptr, true};
  ops::find_op(n.op_type, n.domain)->kernel(ctx, in, out);
  return out;
}

const CpuTensor* CpuGraph::read_input(const CpuTensor& k, bool shapes_only, std::vector<CpuTensor>& widened) const {
  if (precision_ != Precision::Float64 || !k.d.empty() || k.count() == 0) return &k;
  if (shapes_only && k.q8.empty()) return &k;
  CpuTensor w;
  w.shape = k.shape;
  w.i = k.i;
  w.integer = k.integer;
  w.elem_type = k.elem_type;
  if (k.integer) w.d.assign(k.i.begin(), k.i.end());
  else if (!k.q8.empty()) w.d.assign(k.q8.begin(), k.q8.end());
  else w.d.assign(k.f.begin(), k.f.end());
  widened.push_back(std::move(w));
  return &widened.back();
}

void CpuGraph::call_kernel(const ir::Node& n, const ops::OpDef* op, const std::vector<const CpuTensor*>& in,
                           std::vector<CpuTensor>& out, bool shapes_only, ThreadPool* pool, bool folding) const {
  KernelContext ctx{n, graph_.opset, shapes_only, pool, folding};
  if (precision_ == Precision::Float32) {
    op->kernel(ctx, in, out);
    return;
  }
  op->kernel64(ctx, in, out);
  for (auto& t : out) {  // integer results (shape arithmetic) get their double view, as constants have
    if (t.integer && t.d.empty() && !t.i.empty()) t.d.assign(t.i.begin(), t.i.end());
  }
}

// Load-time form (shape dry run, folding): inputs looked up by name.
std::vector<CpuTensor> CpuGraph::run_node(const ir::Node& n, const std::map<std::string, CpuTensor>& values,
                                          bool shapes_only, ThreadPool* pool, bool folding) const {
  std::vector<CpuTensor> widened;  // Float64: constants held in float32, as double for this node only
  widened.reserve(n.inputs.size());  // no reallocation: `in` points into it
  std::vector<const CpuTensor*> in;
  for (const auto& name : n.inputs) {
    if (name.empty()) {
      in.push_back(nullptr);
      continue;
    }
    auto it = values.find(name);
    if (it != values.end()) {
      in.push_back(&it->second);
      continue;
    }
    auto c = constants_.find(name);
    if (c == constants_.end()) throw Error(ExitCode::Artifact, context_ + ": node '" + n.name + "' reads unknown '" + name + "'");
    in.push_back(read_input(c->second, shapes_only, widened));
  }
  std::vector<CpuTensor> out(n.outputs.size());
  call_kernel(n, ops::find_op(n.op_type, n.domain), in, out, shapes_only, pool, folding);
  return out;
}

std::vector<float> CpuGraph::as_float(const CpuTensor& t) const {
  if (!t.q8.empty()) return std::vector<float>(t.q8.begin(), t.q8.end());
  if (precision_ == Precision::Float32 || t.d.empty()) return t.f;
  return std::vector<float>(t.d.begin(), t.d.end());
}

std::map<std::string, std::vector<float>> CpuGraph::run(const std::map<std::string, const std::vector<float>*>& inputs,
                                                        std::map<std::string, std::vector<float>>* trace,
                                                        const std::map<std::string, const std::vector<float>*>* overrides,
                                                        std::vector<double>* node_seconds,
                                                        const std::set<std::string>* trace_only, ThreadPool* pool,
                                                        const Observer* observe) const {
  auto wanted = [&](const std::string& name) { return !name.empty() && (!trace_only || trace_only->count(name)); };
  std::vector<CpuTensor> values(slot_of_.size());
  std::vector<std::vector<float>> spare;
  for (const auto& name : graph_.inputs) {
    CpuTensor& t = values[static_cast<size_t>(slot_of_.at(name))];
    t.shape = graph_.tensor(name).shape;
    auto it = inputs.find(name);
    if (it == inputs.end() || !it->second || static_cast<int64_t>(it->second->size()) != t.count()) {
      throw Error(ExitCode::Usage, context_ + ": input '" + name + "' has " +
                                       (it == inputs.end() || !it->second ? std::string("no values")
                                                                          : std::to_string(it->second->size()) + " values") +
                                       " but its shape " + shape_to_string(t.shape) + " needs " + std::to_string(t.count()));
    }
    if (precision_ == Precision::Float32) t.f = *it->second;
    else t.d.assign(it->second->begin(), it->second->end());
  }
  std::vector<const CpuTensor*> in;
  std::vector<CpuTensor> widened;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& n = graph_.nodes[i];
    if (folded_[i]) {  // computed at load: traced from the constant, when one is still held
      if (node_seconds) node_seconds->push_back(0.0);
      for (const auto& o : n.outputs) {
        auto c = wanted(o) ? constants_.find(o) : constants_.end();
        if (c == constants_.end()) continue;
        const bool held_as_f = c->second.d.empty() && c->second.q8.empty();
        const std::vector<float> rounded = held_as_f ? std::vector<float>() : as_float(c->second);
        const std::vector<float>& v = held_as_f ? c->second.f : rounded;
        if (trace) (*trace)[o] = v;
        if (observe) (*observe)(o, v);
      }
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const NodePlan& plan = plans_[i];
    in.clear();
    widened.clear();
    widened.reserve(plan.slots.size());  // no reallocation: `in` points into it
    for (size_t k = 0; k < plan.slots.size(); ++k) {
      if (plan.constants[k]) in.push_back(read_input(*plan.constants[k], false, widened));
      else in.push_back(plan.slots[k] >= 0 ? &values[static_cast<size_t>(plan.slots[k])] : nullptr);
    }
    std::vector<CpuTensor> outs(n.outputs.size());
    for (size_t k = 0; precision_ == Precision::Float32 && k < outs.size(); ++k) {  // the smallest spare that fits
      auto best = spare.end();
      for (auto it = spare.begin(); it != spare.end(); ++it) {
        if (it->capacity() >= plan.output_counts[k] && (best == spare.end() || it->capacity() < best->capacity())) best = it;
      }
      if (plan.output_counts[k] == 0 || best == spare.end()) continue;
      outs[k].f = std::move(*best);
      outs[k].f.clear();
      spare.erase(best);
    }
    call_kernel(n, plan.op, in, outs, false, pool, false);
    if (node_seconds) node_seconds->push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if ((trace || observe) && wanted(n.outputs[k])) {
        const bool narrow = precision_ == Precision::Float64;  // a Float32 value is handed out as it is
        std::vector<float> rounded = narrow ? as_float(outs[k]) : std::vector<float>();
        const std::vector<float>& v = narrow ? rounded : outs[k].f;
        if (observe) (*observe)(n.outputs[k], v);
        if (trace) (*trace)[n.outputs[k]] = v;
      }
      if (overrides) {
        auto o = overrides->find(n.outputs[k]);
        if (o != overrides->end() && static_cast<int64_t>(o->second->size()) == outs[k].count()) {
          if (precision_ == Precision::Float32) outs[k].f = *o->second;
          else outs[k].d.assign(o->second->begin(), o->second->end());
        }
      }
      if (plan.outputs[k] >= 0) values[static_cast<size_t>(plan.outputs[k])] = std::move(outs[k]);
    }
    for (int64_t s : plan.release) {
      CpuTensor& v = values[static_cast<size_t>(s)];
      if (precision_ == Precision::Float32 && spare.size() < max_spare_) spare.push_back(std::move(v.f));
      v = CpuTensor{};
    }
  }
  std::map<std::string, std::vector<float>> out;
  for (const auto& o : graph_.outputs) {
    auto it = slot_of_.find(o);
    out[o] = as_float(it != slot_of_.end() ? values[static_cast<size_t>(it->second)] : constants_.at(o));
  }
  return out;
}

}  // namespace bpu::cpu
