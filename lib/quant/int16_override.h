// Quant stage: hb_mapper's node_info InputType / OutputType int16. The named tensors keep the real range the
// QAT model gave them (max = 127 * s8) on a 16-bit grid: s16 = s8 * 127 / 32767. The result is finer than the
// QAT model's int8 grid, so it departs from the QAT reference by less than the int8 step.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace bpu {

struct Int16Request {
  bool output = false;       // OutputType: int16 (every output of the node)
  bool all_inputs = false;   // InputType: int16
  std::set<int> inputs;      // InputType<N>: int16
};

// Returns the tensors widened. Throws Error(Unsupported) naming the node when a requested tensor carries no
// quantization (int16 applies to quantized activations only).
std::vector<std::string> apply_int16_requests(ir::Graph& graph, const std::map<std::string, Int16Request>& requests);

}  // namespace bpu
