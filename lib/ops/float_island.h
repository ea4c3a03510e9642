// Float islands: a connected group of element-wise nodes whose only non-constant input is one tensor (the
// source), evaluated as one scalar function of the source value. The function is composed from the registry's
// own per-op formulas in float64 (OpDef::formula64, OpDef::binary64), applied in the nodes' order exactly as the
// exact run's kernels apply them element by element, so a lookup table built from it is the exact value.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace bpu::ops {

// True when `n` can be a member of a float island: an element-wise op with a unary or a binary float formula
// and one output; the inputs besides the island values must be single-element constants (checked by
// FloatIsland::compile).
bool island_member_op(const ir::Node& n);

// True when `n` may end a float island as a copy of the island's values: a node that only moves values (the
// registry's kDataMovement ops except Pad and Concat, which insert or join values, and Gather/Expand; Resize in
// nearest mode) reading one run-time tensor, its other inputs constants. A scalar function applied before such a
// move equals the function applied after it, so the table runs on the moved codes.
bool island_movement_op(const ir::Node& n);

// The nodes whose formulas make an island's table, from the island's node indices in topological order with the
// root last: all of them, less a data-movement root (island_movement_op), which moves the source's codes before
// the table is applied to each of its outputs. Shared by placement and the BPU lowering.
std::vector<const ir::Node*> island_formula_nodes(const ir::Graph& g, const std::vector<int>& nodes);

// A data-movement root as the BPU runs it: the same move, reading the island's quantized source instead of the
// float value.
ir::Node island_moved_root(const ir::Node& root, const std::string& source);

// The island's scalar program: nodes in topological order, each reading the source, an earlier node's output or
// a scalar constant.
class FloatIsland {
 public:
  // Compiles `nodes` (topological order, the last one produces the island's output) over `source`. Returns false
  // with `why` set when a node is not an island op or reads a tensor that is neither the source, an earlier
  // member's output nor a single-element constant.
  bool compile(const ir::Graph& g, const std::vector<const ir::Node*>& nodes, const std::string& source, std::string* why);
  // The island's output for one source value, in float64 (the exact run's value, which the BPU's table holds).
  double evaluate64(double x) const;

 private:
  struct Operand {
    int slot = -1;      // value slot (0 is the source), or -1 for the constant
    float constant = 0;
  };
  struct Step {
    const ir::Node* node = nullptr;
    double (*unary64)(const ir::Node&, double) = nullptr;
    double (*binary64)(double, double) = nullptr;
    Operand a, b;
  };
  std::vector<Step> steps_;
};

}  // namespace bpu::ops
