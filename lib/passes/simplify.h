// Graph simplification after import, before quantization: constant folding with the op registry's CPU kernels
// (a node whose inputs are all constants, or a Shape/Size of a tensor with a static shape, becomes a constant
// tensor, in topological order so Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains fold completely),
// shapes filled for the nodes that read the folded constants, no-op nodes (a zero Pad, an identity Transpose,
// a Reshape to the same shape, ...) bypassed, and dead nodes removed. Fake-quant nodes are never
// folded: the quantization stage reads them.
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"

namespace bpu {

struct SimplifyStats {
  std::map<std::string, int> folded_by_op;  // op type -> nodes folded into constants
  int folded = 0;
  std::map<std::string, int> noops_by_op;  // op type -> nodes that returned their input unchanged, removed
  int noops_removed = 0;
  int dead_removed = 0;    // nodes whose outputs reach no graph output
  int shapes_filled = 0;   // tensors that got their shape once their shape inputs were constants
  std::string summary() const;  // "12 nodes folded (Shape 3, Gather 3, ...), 2 dead nodes removed"
};

// Throws Error(Model) naming the node when a node with constant inputs cannot be evaluated (e.g. a Gather index
// out of range): the model would fail at run time on every input.
SimplifyStats simplify_graph(ir::Graph& graph);

}  // namespace bpu
