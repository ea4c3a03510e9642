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
  // input name -> shape that replaces the model's (input_parameters.input_shape)
  std::map<std::string, Shape> input_shapes;
  // Rewrite every node into the op registry's canonical form (ops::canonicalize). The compiler always does; the
  // CPU executor and the QAT reference run a model in its own opset's form and switch it off.
  bool canonicalize = true;
  // Graph simplification (the compiler's passes/simplify), run once the registry's shape rules have filled what
  // ONNX inference left open and before the check that every tensor has a shape and before canonicalization, so
  // shapes computed by Shape -> ... -> Reshape chains are known and canonical forms see folded constants.
  std::function<void(ir::Graph&)> simplify;
};

// Throws Error(Io) when the file cannot be read, Error(Model) naming the file and the offending node or tensor
// for malformed content (bad bytes, external data, dynamic or absurd shapes, inconsistent initializers).
ir::Graph import_onnx(const std::string& path, const ImportOptions& options = {});

// Same, from an already parsed model (used by tests that build models in memory).
ir::Graph import_onnx_model(onnx::ModelProto& model, const std::string& source, const ImportOptions& options = {});

// Largest ONNX file accepted (protobuf's own limit).
constexpr uint64_t kMaxOnnxBytes = uint64_t(2) << 30;

}  // namespace bpu
