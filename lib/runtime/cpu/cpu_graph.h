// A CPU fallback segment ready to run: the ONNX subgraph stored in the .bin, parsed with the importer,
// validated (every op has a kernel, every shape follows from the inputs) and executed node by node.
// With Precision::Float64 the same graph runs on the registry's float64 kernels (OpDef::kernel64, the same
// templates): the exact reference of `verify --exact` (docs/numerics.md §10).
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
namespace bpu::ops {
struct OpDef;
}

namespace bpu::cpu {

// Float32: the executor's (and torch's) arithmetic. Float64: every value computed in double; a QAT weight's
// QuantizeLinear (folded at load) still rounds as torch does, activations' QuantizeLinear exactly (quantize_exact: rint(x * float32(1/s)) in double).
// Constants are held as float32 (the file's values, a weight's codes) and widened as a node reads them; a weight's
// DequantizeLinear runs with the graph, so no double copy of the weights is kept.
enum class Precision { Float32, Float64 };

class CpuGraph {
 public:
  using Observer = std::function<void(const std::string& tensor, const std::vector<float>& values)>;

  // Throws Error(Artifact) naming `context` when the bytes are not a valid, runnable subgraph.
  CpuGraph(const std::vector<uint8_t>& onnx, const std::string& context);
  // From a parsed model, whose initializer data it consumes (import_onnx_model). The constants' values move
  // into the executor; with `keep_constant_values` graph() keeps a copy of them too (calibration reads weights).
  // Float64: an op without a float64 kernel is refused at load (Error(Artifact) naming the node and op).
  CpuGraph(onnx::ModelProto& model, const std::string& context, bool keep_constant_values = false,
           Precision precision = Precision::Float32);

  // Runs the subgraph on float inputs keyed by graph input name; returns the graph outputs.
  // With `trace`, every node output is also copied into it (name -> values), as computed; a node folded at load
  // (constant inputs only) is traced from its constant, unless nothing read it and it was dropped (a weight's
  // QuantizeLinear output). With `overrides`, a
  // node output named there is replaced by the given values (same element count) before later nodes read it:
  // `verify --isolated` feeds each node the values another run produced. With `node_seconds`, each node's host
  // time is appended in graph order (`run --profile-path`). With `trace_only`, only the tensors named there are
  // traced (and observed). With `pool`, kernels split their work across its workers (the same results for any
  // count). `observe` sees each tensor a trace would hold, as computed, without keeping it.
  // A Float64 graph takes and returns the same float vectors: inputs and overrides are widened to double, and
  // outputs, traces and observed values are its double results rounded to float32 (a fake-quantized value is a
  // code times its scale, so its code is exactly round(v / s) either way).
  std::map<std::string, std::vector<float>> run(const std::map<std::string, const std::vector<float>*>& inputs,
                                                std::map<std::string, std::vector<float>>* trace = nullptr,
                                                const std::map<std::string, const std::vector<float>*>* overrides = nullptr,
                                                std::vector<double>* node_seconds = nullptr,
                                                const std::set<std::string>* trace_only = nullptr,
                                                ThreadPool* pool = nullptr, const Observer* observe = nullptr) const;

  const ir::Graph& graph() const { return graph_; }
  // Released value buffers a run keeps to back later outputs (default 4: no fresh pages per node); 0 frees each
  // at once (the accuracy run's references, where peak memory matters more than page faults).
  void set_spare_buffers(size_t n) { max_spare_ = n; }
  Precision precision() const { return precision_; }
  // Values the executor holds for its constants (after folding), for memory checks.
  int64_t constant_elements() const;

 private:
  // The load-time form (shape dry run, folding): inputs looked up by name. `folding`: the node reads only
  // constants and runs once at load (KernelContext::folding).
  std::vector<CpuTensor> run_node(const ir::Node& node, const std::map<std::string, CpuTensor>& values,
                                  bool shapes_only, ThreadPool* pool = nullptr, bool folding = false) const;
  // A value as the float32 vector run() hands out (Float64: its double values rounded).
  std::vector<float> as_float(const CpuTensor& t) const;
  // Float64: a constant whose values are all int8 codes is held as q8, one whose doubles are all float32 numbers in f.
  CpuTensor compact(CpuTensor t) const;
  std::vector<CpuTensor> fold_in_float32(const ir::Node& n) const;

  // A constant as a node reads it: itself, or (Float64, held in float32) its double copy added to `widened`.
  const CpuTensor* read_input(const CpuTensor& constant, bool shapes_only, std::vector<CpuTensor>& widened) const;
  // The node's kernel (float32 or float64) on prepared inputs and (possibly spare-backed) outputs.
  void call_kernel(const ir::Node& n, const ops::OpDef* op, const std::vector<const CpuTensor*>& in,
                   std::vector<CpuTensor>& out, bool shapes_only, ThreadPool* pool, bool folding) const;

  void load(onnx::ModelProto& model, bool keep_constant_values);
  void fold_constants();
  void plan_run();

  // The run's plan, made once at load so a run looks nothing up by name: per node its op, where each input comes
  // from (a constant, a run value's slot, or nothing), its outputs' slots and element counts, and the slots of
  // the values no later node reads (graph outputs are kept for the result).
  struct NodePlan {
    const ops::OpDef* op = nullptr;
    std::vector<const CpuTensor*> constants;  // per input: the constant it reads, else null
    std::vector<int64_t> slots;               // per input: the run value's slot, -1 when empty or a constant
    std::vector<int64_t> outputs;             // per output: its slot, -1 for an unnamed output
    std::vector<size_t> output_counts;        // per output: its declared element count
    std::vector<int64_t> release;
  };

  ir::Graph graph_;
  std::string context_;
  Precision precision_ = Precision::Float32;
  std::map<std::string, CpuTensor> constants_;
  std::vector<bool> folded_;         // per node: computed once at load
  std::vector<NodePlan> plans_;      // per node (empty for folded nodes)
  std::map<std::string, int64_t> slot_of_;  // run values (graph inputs, node outputs) by name
  size_t max_spare_ = 4;
};

}  // namespace bpu::cpu
