// The QAT model as its own reference: runs the QAT ONNX graph literally in float32 on the CPU executor, every
// QuantizeLinear/DequantizeLinear (and horizon::HzQuantize/HzDequantize, mapped to them) applied as PyTorch
// rounds. Used by `verify` and by makertbin's accuracy report; the .bin run never uses it. Built with
// cpu::Precision::Float64 it is the exact reference (`verify --exact`, docs/numerics.md §10): the same graph in
// double, weights quantized as torch does, activations fake-quantized exactly.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/npy.h"
#include "common/thread_pool.h"
#include "onnx_import/onnx_import.h"
#include "runtime/cpu/cpu_graph.h"

namespace bpu {

class QatReference {
 public:
  // Throws Error(Model) when the file cannot be read, Error(Unsupported) when an op has no CPU kernel.
  // `shapes`: the input shapes the model was compiled at (apply_input_shapes; needed for dynamic inputs).
  // `strip_fake_quant`: run the float model instead (every fake-quant pair removed). The file is parsed
  // straight from disk and its weights are held once, by the executor.
  // `precision` Float64: the exact reference; an op without a float64 kernel is refused (Error(Unsupported)
  // naming the node and the op).
  static QatReference from_file(const std::string& onnx_path, const ImportOptions& shapes = {}, bool strip_fake_quant = false,
                                cpu::Precision precision = cpu::Precision::Float32);
  // `keep_weights`: graph() keeps the constants' values too (calibration reads the weights from it).
  static QatReference from_bytes(const std::string& bytes, const std::string& context, bool strip_fake_quant = false,
                                 const ImportOptions& shapes = {}, bool keep_weights = false);

  // Runs the graph; every input must have the graph's shape (else Error(Usage) naming both). `trace` receives every tensor, keyed by ONNX name. `overrides` (ONNX name -> values)
  // replace node outputs before later nodes read them (CpuGraph::run); `trace_only` limits the trace to those names; `observe` sees them without keeping them.
  std::map<std::string, FloatArray> run(const std::map<std::string, FloatArray>& inputs,
                                        std::map<std::string, FloatArray>* trace = nullptr,
                                        const std::map<std::string, const std::vector<float>*>* overrides = nullptr,
                                        const std::set<std::string>* trace_only = nullptr,
                                        const cpu::CpuGraph::Observer* observe = nullptr) const;

  // For a tensor X that the QAT graph fake-quantizes, the name of its fake-quantized value (the DQ output);
  // X itself otherwise. The .bin holds the fake-quantized value under X's name.
  std::string fake_quantized_name(const std::string& tensor) const;

  // The graph as imported; its constants hold no values unless built with keep_weights.
  const ir::Graph& graph() const { return graph_->graph(); }
  // Runs the kernels that split their work (Conv) on `threads` workers from now on; run() must then not be
  // called from two threads at once. The results do not depend on the count.
  void use_threads(int threads);
  // Frees each value as soon as no later node reads it (CpuGraph::set_spare_buffers(0)).
  void use_low_memory() { graph_->set_spare_buffers(0); }

  // Constant values held (CpuGraph::constant_elements).
  int64_t constant_elements() const { return graph_->constant_elements(); }

 private:
  static QatReference from_model(onnx::ModelProto& m, const std::string& context, bool strip_fake_quant,
                                 const ImportOptions& shapes, bool keep_weights,
                                 cpu::Precision precision = cpu::Precision::Float32);

  std::shared_ptr<cpu::CpuGraph> graph_;
  std::shared_ptr<ThreadPool> pool_;
  std::map<std::string, std::string> fq_alias_;
};

// The QAT ONNX with its fake quantization removed (each DequantizeLinear output rewired to the Quantize
// input): the float model, as hb_mapper's *_original_float_model.onnx. Horizon ops are handled the same way.
// `shapes` are applied to its inputs (apply_input_shapes).
std::string strip_fake_quantization(const std::string& onnx_bytes, const std::string& context,
                                    const ImportOptions& shapes = {});
// The same from the file at `onnx_path`, written to `out_path` (atomically) without holding the bytes twice.
void write_float_model(const std::string& onnx_path, const std::string& out_path, const ImportOptions& shapes = {});

}  // namespace bpu
