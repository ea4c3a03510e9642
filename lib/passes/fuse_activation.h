// Passes stage: activation fusion. A Relu (or Clip with constant bounds) that is the only reader of a Conv or
// Add output without its own quantization folds into that node as a clamp, which the lowering applies inside
// requantization (exact: round is monotone and round(0) = 0, docs/numerics.md §4).
#pragma once

#include <set>
#include <string>

#include "ir/graph.h"

namespace bpu {

// Returns the number of activations fused. Activations named in `keep` (placed by the user) are not fused,
// so their placement applies to them alone.
int fuse_activations(ir::Graph& graph, const std::set<std::string>& keep = {});

}  // namespace bpu
