// The compiler's graph IR: named tensors (with shape, constant data and quantization parameters) and nodes
// (ONNX op type, attributes, tensor names). Every stage from import to lowering reads and rewrites this.
// Tensors are addressed by name, as in ONNX, so node names and tensor names in messages match the model.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dtype.h"

namespace bpu::ir {

// Quantization parameters of a tensor, symmetric (zero point 0).
struct QuantParams {
  std::vector<float> scales;  // 1 entry: per tensor; else one per channel along `axis`
  int axis = -1;              // channel axis for per-channel scales, -1 for per tensor
  int bits = 8;               // 8 or 16
  bool synthesized = false;   // true when the compiler invented the scale (not read from the model)
  DType dtype() const { return bits == 16 ? DType::Int16 : DType::Int8; }
  bool per_channel() const { return scales.size() > 1 || axis >= 0; }
};

struct Attribute {
  enum class Kind { Int, Float, String, Ints, Floats } kind = Kind::Int;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;

  static Attribute of_int(int64_t value) {
    Attribute a;
    a.kind = Kind::Int;
    a.i = value;
    return a;
  }
  static Attribute of_float(float value) {
    Attribute a;
    a.kind = Kind::Float;
    a.f = value;
    return a;
  }
  static Attribute of_string(std::string value) {
    Attribute a;
    a.kind = Kind::String;
    a.s = std::move(value);
    return a;
  }
};

// ONNX element types the IR keeps (TensorProto.DataType codes).
enum class ElemType : int32_t { Float = 1, Uint8 = 2, Int8 = 3, Int16 = 5, Int32 = 6, Int64 = 7, Bool = 9, Double = 11 };
const char* elem_type_name(ElemType t);

struct Tensor {
  std::string name;
  ElemType elem_type = ElemType::Float;
  Shape shape;             // empty with has_shape=false until inferred
  bool has_shape = false;
  bool is_constant = false;
  std::vector<float> float_data;    // constant data of float/double tensors
  std::vector<int64_t> int_data;    // constant data of integer/bool tensors
  std::vector<int8_t> quantized;    // constant weights after quant extraction (int8)
  std::optional<QuantParams> quant; // set by the quant stage
  int64_t element_count() const;
};

// A node's attributes by name; std::less<> lets attr() look a name up without building a std::string (the CPU
// executor's element formulas read theirs per element).
using Attributes = std::map<std::string, Attribute, std::less<>>;

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for the default ONNX domain
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  Attributes attributes;
  // Output clamp in real units (lo may be 0 for ReLU) of an activation the BPU lowering fuses into this node;
  // set only on the lowering's view of a node (bayes::fusable_activation decides it with placement).
  std::optional<std::pair<float, float>> fused_clamp;
  // Per-channel affine nodes (Div, Mul, Add, Sub, BatchNormalization) folded into this Conv's weight scales and
  // bias; listed in the report only, never emitted again.
  std::vector<Node> folded_nodes;

  const Attribute* attr(std::string_view key) const;
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
};

struct Graph {
  std::string source_path;  // the ONNX file this came from, for messages
  uint64_t source_hash = 0; // FNV-1a 64 of the ONNX file's bytes (0 for in-memory models)
  int64_t opset = 0;
  std::map<std::string, Tensor> tensors;
  std::vector<Node> nodes;              // topologically ordered after import
  std::vector<std::string> inputs;      // graph inputs (non-initializer), in model order
  std::vector<std::string> outputs;

  Tensor& tensor(const std::string& name);
  const Tensor& tensor(const std::string& name) const;
  bool has_tensor(const std::string& name) const { return tensors.count(name) != 0; }
  // Index of the node producing `tensor`, or -1 for graph inputs and constants.
  int producer(const std::string& tensor) const;
  // Indices of nodes reading `tensor`.
  std::vector<int> consumers(const std::string& tensor) const;
  bool is_graph_output(const std::string& tensor) const;
  // Replaces reads of tensors (node inputs and graph outputs) by a whole rename map in one pass
  // (chains a -> b -> c resolve to c).
  void replace_uses_all(const std::map<std::string, std::string>& renames);
  // One-pass indexes for loops that would otherwise scan the graph per query.
  std::map<std::string, std::vector<int>> consumer_index() const;
  std::map<std::string, int> producer_index() const;
  // Drops nodes whose index is marked, and tensors no node or graph IO refers to any more.
  void remove_nodes(const std::vector<bool>& remove);
  // Reorders nodes topologically; throws Error(Model) on a cycle.
  void topological_sort();
};

}  // namespace bpu::ir
