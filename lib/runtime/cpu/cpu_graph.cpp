// CPU segment loading, validation and execution.

#include "runtime/cpu/cpu_graph.h"

#include <chrono>
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
  for (const auto& [name, t] : graph_.tensors) {
    if (!t.is_constant) continue;
    CpuTensor c;
    c.shape = t.shape;
    c.elem_type = t.elem_type;
    c.integer = t.float_data.empty() && !t.int_data.empty();
    c.f = t.float_data;
    c.i = t.int_data;
    if (!c.integer && c.f.empty() && c.count() > 0) c.integer = true;  // e.g. an int tensor of zeros
    // Every kernel may read a constant as data: integer constants (int8 weights, zero points) get a float
    // view of the same size, so no kernel can read past a constant's values.
    if (c.integer) c.f.assign(c.i.begin(), c.i.end());
    if (static_cast<int64_t>(c.f.size()) != c.count()) {
      throw Error(ExitCode::Artifact, context + ": constant '" + name + "' holds " + std::to_string(c.f.size()) +
                                          " values for shape " + shape_to_string(c.shape));
    }
    constants_[name] = c;
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
}

std::vector<CpuTensor> CpuGraph::run_node(const ir::Node& n, const std::map<std::string, CpuTensor>& values,
                                          bool shapes_only) const {
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
    in.push_back(&c->second);
  }
  std::vector<CpuTensor> out(n.outputs.size());
  KernelContext ctx{n, graph_.opset, shapes_only};
  ops::find_op(n.op_type, n.domain)->kernel(ctx, in, out);
  return out;
}

std::map<std::string, std::vector<float>> CpuGraph::run(const std::map<std::string, const std::vector<float>*>& inputs,
                                                        std::map<std::string, std::vector<float>>* trace,
                                                        const std::map<std::string, const std::vector<float>*>* overrides,
                                                        std::vector<double>* node_seconds) const {
  std::map<std::string, CpuTensor> values;
  for (const auto& name : graph_.inputs) {
    CpuTensor t;
    t.shape = graph_.tensor(name).shape;
    auto it = inputs.find(name);
    if (it == inputs.end() || !it->second || static_cast<int64_t>(it->second->size()) != t.count()) {
      throw Error(ExitCode::Usage, context_ + ": input '" + name + "' has " +
                                       (it == inputs.end() || !it->second ? std::string("no values")
                                                                          : std::to_string(it->second->size()) + " values") +
                                       " but its shape " + shape_to_string(t.shape) + " needs " + std::to_string(t.count()));
    }
    t.f = *it->second;
    values[name] = std::move(t);
  }
  for (const auto& n : graph_.nodes) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<CpuTensor> outs = run_node(n, values, false);
    if (node_seconds) node_seconds->push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if (trace) (*trace)[n.outputs[k]] = outs[k].f;
      if (overrides) {
        auto o = overrides->find(n.outputs[k]);
        if (o != overrides->end() && o->second->size() == outs[k].f.size()) outs[k].f = *o->second;
      }
      values[n.outputs[k]] = std::move(outs[k]);
    }
  }
  std::map<std::string, std::vector<float>> out;
  for (const auto& o : graph_.outputs) {
    auto it = values.find(o);
    out[o] = it != values.end() ? it->second.f : constants_.at(o).f;
  }
  return out;
}

}  // namespace bpu::cpu
