// Float-island detection for placement: a connected group of element-wise float nodes whose only run-time input
// is one quantized tensor (the source) and whose last node (the root) writes a quantized output, or whose root is
// a data movement (Split, Slice, Transpose, Reshape, nearest Resize, ...) writing quantized outputs. torch exports
// Hardswish as x * HardSigmoid(x), SiLU as x * Sigmoid(x) and GELU as Div, Erf, Add, Mul, Mul inside one
// fake-quant bracket, and YOLO's C2f splits a SiLU output before quantizing it; the BPU runs each such group as
// one lookup table built from the registry's float formulas (ops::FloatIsland) at every input code, applied after
// the move for a data-movement root. Islands may share members (a SiLU read by several quantized consumers). A
// member also read in float by a node outside every island (a float Resize, a graph output) is kept: it and its
// producers stay where the normal rules put them, the tables still compute from the source.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "partition/partition.h"

namespace bpu {

struct FloatIslandMatch {
  int root = -1;            // the node producing the quantized output
  std::vector<int> nodes;   // members in topological order, the root last
  std::string source;       // the one quantized run-time input
  // Members whose float value is also needed outside the island (read by a float consumer, or feeding such a
  // member): they keep their own placement (the CPU) and the table still computes through them.
  std::vector<int> kept;
};

// Every float island of the graph whose nodes the user did not place on the CPU (options.user_device) and that
// `accept` (when given) takes, with `kept` settled over the accepted islands. Islands may share members; an
// island of a single node is returned too (the caller refuses it through `accept` when the node can run on the
// BPU by itself).
std::vector<FloatIslandMatch> find_float_islands(const ir::Graph& g, const PartitionOptions& options,
                                                const std::function<bool(const FloatIslandMatch&)>& accept = {});

// The placement table's sentence for the root and a member.
std::string island_root_sentence(const ir::Graph& g, const FloatIslandMatch& m);

}  // namespace bpu
