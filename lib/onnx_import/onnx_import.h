// ONNX import: reads a ModelProto from disk and builds the IR graph with a static shape on every tensor.
// Constant nodes become constant tensors and Identity nodes are resolved, so later stages see QAT scales and
// zero points as plain constants (torch shares zero points through Identity chains).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "ir/graph.h"

namespace onnx {
class ModelProto;
}

namespace bpu {

struct ImportOptions {
  // input name -> shape (input_parameters.input_shape); the name "" stands for the model's only input. A shape
  // must equal the model's static dimensions and sets its dynamic ones (else Error(Config) naming both).
  std::map<std::string, Shape> input_shapes;
  // > 0: the batch dimension of the model's single input (input_parameters.input_batch); the model's batch
  // (or input_shape's) must be 1 or dynamic.
  int64_t input_batch = 0;
  // Rewrite every node into the op registry's canonical form (ops::canonicalize). The compiler always does; the
  // CPU executor and the QAT reference run a model in its own opset's form and switch it off.
  bool canonicalize = true;
  // Graph simplification (the compiler's passes/simplify), run once the registry's shape rules have filled what
  // ONNX inference left open and before the check that every tensor has a shape and before canonicalization, so
  // shapes computed by Shape -> ... -> Reshape chains are known and canonical forms see folded constants.
  std::function<void(ir::Graph&)> simplify;
};

// The ai.onnx opsets accepted are ops::kMinOpset..ops::kMaxOpset (lib/ops/op_def.h); others are refused naming
// the opset (Unsupported).

// Applies `options` to the graph inputs of `model` (every problem in one Error(Config)); after a change the
// stale value_info and output shapes are cleared for shape inference. Used by the importer and by everything
// that runs the original ONNX at the compiled shapes (QAT reference, staged models, verify).
void apply_input_shapes(onnx::ModelProto& model, const ImportOptions& options, const std::string& source);

// Throws Error(Io) when the file cannot be read, Error(Model) naming the file and the offending node or tensor
// for malformed content (bad bytes, external data, dynamic or absurd shapes, inconsistent initializers).
ir::Graph import_onnx(const std::string& path, const ImportOptions& options = {});
// The same for a serialized model held in memory (the calibrated model); `source` names it in messages.
ir::Graph import_onnx_bytes(const std::string& bytes, const std::string& source, const ImportOptions& options = {});

// Same, from an already parsed model (tests, the CPU executor). Consumes the initializers' data: the model's
// initializers keep their names and dims but no values afterwards.
ir::Graph import_onnx_model(onnx::ModelProto& model, const std::string& source, const ImportOptions& options = {});

// Reads and parses an ONNX file, returning the FNV-1a 64 fingerprint of its bytes (the .bin's model hash), with
// import_onnx's errors. import_onnx_model(model, ...) then builds the graph.
uint64_t read_onnx_file(const std::string& path, onnx::ModelProto* model);

// Parses an ONNX file straight from disk into `model` (no copy of its bytes): Error(Io) when the file is missing
// or too large, Error(Model) naming `path` when it is not a valid ONNX protobuf.
void parse_onnx_file(const std::string& path, onnx::ModelProto* model);

// Largest ONNX file accepted (protobuf's own limit).
constexpr uint64_t kMaxOnnxBytes = uint64_t(2) << 30;

}  // namespace bpu
