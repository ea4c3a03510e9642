// The operator registry: one entry per ONNX op, the only place an operator's meaning is written down.
// An entry holds the opset forms it accepts and how each becomes the canonical form (canonicalize), its traits,
// its float formula (for unary and binary element-wise ops: shared by the CPU kernel, the BPU lookup-table builder and
// fusion) and its CPU kernel, whose shapes-only mode is the op's shape rule. Entries live in one file per op or
// small family under lib/ops/ (activations.cpp, shape.cpp, reduce.cpp, ...); registry.cpp collects them.
// Targets (lib/arch/<march>/) add their constraints and lowering on top, keyed by the same op type.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ops/cpu_kernel.h"

namespace bpu::ops {

// Opsets of the ai.onnx domain whose forms the registry knows; the canonical IR uses the opset-13 forms.
constexpr int64_t kMinOpset = 10;
constexpr int64_t kMaxOpset = 17;
constexpr int64_t kCanonicalOpset = 13;

enum Trait : uint32_t {
  kElementwise = 1u << 0,         // output element k is computed from input element k (with broadcasting)
  kShapeOnly = 1u << 1,           // Reshape-like: same values in the same (row-major) order, new shape
  kDataMovement = 1u << 2,        // values are copied, not computed (Transpose, Slice, Concat, Pad, ...)
  kWeighted = 1u << 3,            // input 1 is a weight tensor (Conv, ConvTranspose, Gemm, MatMul)
  kLutable = 1u << 4,             // unary element-wise with a float formula: a lookup table of every input code
  kTieProne = 1u << 5,            // the float reference often lands on .5 ties (averages, bilinear, softmax)
  kFusableActivation = 1u << 6,   // a clamp a producer can absorb (Relu, Clip keeping 0)
  kFakeQuant = 1u << 7,           // fake-quantization op (QuantizeLinear, DequantizeLinear, Horizon's pair)
  kActivationB = 1u << 8,         // input 1 may be a second activation instead of a weight (MatMul)
};

// Rewrites of one node into the canonical form; helpers create constant tensors and nodes with their shapes.
struct CanonContext {
  ir::Graph& graph;
  int64_t opset;      // the model's ai.onnx opset
  int counter = 0;    // for unique names
  std::vector<ir::Node> inserted_before;  // nodes to insert before the node being rewritten
  std::vector<ir::Node> inserted_after;   // nodes to insert after it

  // New constant tensors (int64 / float), named after the node; returns the tensor name.
  std::string int_constant(const ir::Node& n, const std::string& what, const std::vector<int64_t>& values,
                           bool scalar = false);
  std::string float_constant(const ir::Node& n, const std::string& what, float value);
  // A new non-constant tensor with a known shape and the element type of `like`.
  std::string new_tensor(const ir::Node& n, const std::string& what, const Shape& shape, const std::string& like);
  // Constant integer values of input k (empty when the input is absent); throws naming the node otherwise.
  std::vector<int64_t> constant_ints(const ir::Node& n, size_t k) const;
  bool has_input(const ir::Node& n, size_t k) const { return k < n.inputs.size() && !n.inputs[k].empty(); }
  const Shape& shape(const std::string& tensor) const { return graph.tensor(tensor).shape; }
  [[noreturn]] void fail(const ir::Node& n, const std::string& what) const;
};

using Canonicalize = void (*)(CanonContext& c, ir::Node& n);
// The float32 formula of a unary element-wise op, reading the node's (canonical, explicit) attributes.
using Formula = float (*)(const ir::Node& n, float x);
// The float32 formula of a binary element-wise op (Add, Sub, Mul, Div, Pow): shared by its CPU kernel and the
// float-island lookup tables (lib/ops/float_island.h).
using BinaryFormula = float (*)(float a, float b);
// The same formulas in float64, for the exact run (`verify --exact`): each op writes its formula once as a
// template over the scalar type and registers both instantiations.
using Formula64 = double (*)(const ir::Node& n, double x);
using BinaryFormula64 = double (*)(double a, double b);
// Clamp bounds in real units of a fusable activation, or false when this instance is not a clamp keeping 0.
using ClampBounds = bool (*)(const ir::Graph& g, const ir::Node& n, std::pair<float, float>* bounds);

struct OpDef {
  std::string type;
  std::string domain;             // "" for ai.onnx, "horizon" for Horizon's fake-quant ops
  uint32_t traits = 0;
  std::string forms;              // the opset forms, for docs/supported_ops.md
  Canonicalize canonicalize = nullptr;  // null: every form of opsets 10-17 is already canonical
  Formula formula = nullptr;
  ClampBounds clamp = nullptr;
  cpu::CpuKernel kernel = nullptr;  // CPU executor kernel; its shapes_only mode is the shape rule
  BinaryFormula binary = nullptr;   // binary element-wise ops only
  // The CPU kernel over double (the same template as `kernel`), run by a float64 executor (CpuGraph::Precision);
  // null: the op has no float64 path and an exact run refuses the model naming it.
  cpu::CpuKernel kernel64 = nullptr;
  Formula64 formula64 = nullptr;       // unary formula in double (with `formula`)
  BinaryFormula64 binary64 = nullptr;  // binary formula in double (with `binary`)
  bool has(Trait t) const { return (traits & t) != 0; }
};

// Registration of one family file (lib/ops/<family>.cpp defines register_<family>).
using Registry = std::vector<OpDef>;

const std::vector<OpDef>& all_ops();
const OpDef* find_op(const std::string& type, const std::string& domain = "");
// True when the CPU executor runs the op (in float64 with `float64`: the op has a kernel64).
bool cpu_supports(const std::string& type, const std::string& domain, bool float64 = false);
bool has_trait(const ir::Node& n, Trait t);

// Applies the op's formula to x; throws for ops without one.
float apply_formula(const ir::Node& n, float x);

// Rewrites every node of an imported graph into its canonical form (attributes <-> inputs, explicit defaults,
// Softmax-family coerce-to-2-D as Reshape + op + Reshape) and sets graph.opset to the canonical opset. Refuses an
// ai.onnx opset outside [kMinOpset, kMaxOpset] naming it. After this no stage looks at the model's opset.
void canonicalize(ir::Graph& graph);
// Throws Error(Unsupported) naming the opset when graph.opset is outside [kMinOpset, kMaxOpset].
void check_opset(const ir::Graph& graph);

// Fills output shapes that ONNX shape inference left open by running each node's shape rule in topological
// order (constant inputs are available to it). Returns the number of tensors it gave a shape.
int infer_missing_shapes(ir::Graph& graph);

// Conv/pool attributes made explicit: strides, dilations, kernel_shape, and auto_pad resolved into pads.
void explicit_spatial_attrs(CanonContext& c, ir::Node& n, const std::vector<int64_t>& kernel);

// DepthToSpace / SpaceToDepth as the spec defines them: reshape to `six`, transpose by `perm`, reshape to `out`
// (shared by the CPU kernel and the BPU lowering). valid is false when the blocksize does not divide the input.
struct DepthSpacePlan {
  bool valid = false;
  Shape six, out;
  std::vector<int64_t> perm;
};
DepthSpacePlan depth_space_plan(const ir::Node& n, const Shape& x);

// The reduced axes of a canonical ReduceMean/Max/Min/Sum (sorted, non-negative; ReduceSum reads its input).
std::vector<int64_t> reduce_axes(const ir::Graph& g, const ir::Node& n);

// Axis in [0, rank) from a possibly negative one; throws naming the node when out of range.
int64_t normalize_axis(const ir::Graph& g, const ir::Node& n, int64_t axis, int64_t rank);

}  // namespace bpu::ops
