// A CPU fallback segment ready to run: the ONNX subgraph stored in the .bin, parsed with the importer,
// validated (every op has a kernel, every shape follows from the inputs) and executed node by node.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ops/cpu_kernel.h"

namespace onnx {
class ModelProto;
}
namespace bpu {
class ThreadPool;
}

namespace bpu::cpu {

class CpuGraph {
 public:
  using Observer = std::function<void(const std::string& tensor, const std::vector<float>& values)>;

  // Throws Error(Artifact) naming `context` when the bytes are not a valid, runnable subgraph.
  CpuGraph(const std::vector<uint8_t>& onnx, const std::string& context);
  // From a parsed model, whose initializer data it consumes (import_onnx_model). The constants' values move
  // into the executor; with `keep_constant_values` graph() keeps a copy of them too (calibration reads weights).
  CpuGraph(onnx::ModelProto& model, const std::string& context, bool keep_constant_values = false);

  // Runs the subgraph on float inputs keyed by graph input name; returns the graph outputs.
  // With `trace`, every node output is also copied into it (name -> values), as computed; a node folded at load
  // (constant inputs only) is traced from its constant, unless nothing read it and it was dropped (a weight's
  // QuantizeLinear output). With `overrides`, a
  // node output named there is replaced by the given values (same element count) before later nodes read it:
  // `verify --isolated` feeds each node the values another run produced. With `node_seconds`, each node's host
  // time is appended in graph order (`run --profile-path`). With `trace_only`, only the tensors named there are
  // traced (and observed). With `pool`, kernels split their work across its workers (the same results for any
  // count). `observe` sees each tensor a trace would hold, as computed, without keeping it.
  std::map<std::string, std::vector<float>> run(const std::map<std::string, const std::vector<float>*>& inputs,
                                                std::map<std::string, std::vector<float>>* trace = nullptr,
                                                const std::map<std::string, const std::vector<float>*>* overrides = nullptr,
                                                std::vector<double>* node_seconds = nullptr,
                                                const std::set<std::string>* trace_only = nullptr,
                                                ThreadPool* pool = nullptr, const Observer* observe = nullptr) const;

  const ir::Graph& graph() const { return graph_; }
  // Values the executor holds for its constants (after folding), for memory checks.
  int64_t constant_elements() const;

 private:
  // `spare`: storage of released values, handed to outputs that fit in it (no fresh pages per node).
  std::vector<CpuTensor> run_node(const ir::Node& node, const std::map<std::string, CpuTensor>& values,
                                  bool shapes_only, std::vector<std::vector<float>>* spare = nullptr,
                                  ThreadPool* pool = nullptr) const;

  void load(onnx::ModelProto& model, bool keep_constant_values);
  void fold_constants();
  void plan_releases();

  ir::Graph graph_;
  std::string context_;
  std::map<std::string, CpuTensor> constants_;
  std::vector<bool> folded_;                           // per node: computed once at load
  std::vector<std::vector<std::string>> release_after_;  // per node: values no later node reads
};

}  // namespace bpu::cpu
