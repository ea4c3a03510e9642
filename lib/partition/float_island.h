// Float-island detection for placement: a connected group of element-wise float nodes whose only run-time input
// is one quantized tensor (the source) and whose last node's output is quantized. An intermediate value may also be
// read by a float consumer that is not an island op (YOLO's SiLU output read by a float Resize and, through the
// quantizing Identity of a mixed-use split, by the next conv): that member and its producers stay where the normal
// rules put them, the table still computes the root from the source. torch exports Hardswish as x * HardSigmoid(x), SiLU as x * Sigmoid(x) and GELU as
// Div, Erf, Add, Mul, Mul inside one fake-quant bracket; the BPU runs each such group as one lookup table built
// from the registry's float formulas (ops::FloatIsland) at every input code.
#pragma once

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

// Every float island of the graph whose nodes the user did not place on the CPU (options.user_device). Islands
// are disjoint; an island of a single node is returned too (the caller keeps it only when the node cannot run on
// the BPU by itself).
std::vector<FloatIslandMatch> find_float_islands(const ir::Graph& g, const PartitionOptions& options);

// The placement table's sentence for the root and a member.
std::string island_root_sentence(const ir::Graph& g, const FloatIslandMatch& m);

}  // namespace bpu
