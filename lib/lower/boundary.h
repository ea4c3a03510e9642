// Integer model I/O (hb_mapper's remove_node_type / remove_node_name and hb_model_modifier): the host Quantize step
// of a model input and the Dequantize step of a model output are the .bin's boundary nodes, named
// `<input>_HzQuantize` and `<output>_HzDequantize` as hb_mapper names them. Removing one makes the model input
// (output) the integer tensor itself, int8/int16 (int32 for an accumulator output) with its scales, under the same
// name; the .bin records the removed names (CompiledModel::removed_nodes), which `info` lists.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "lower/compiled_model.h"

namespace bpu {

// The removable boundary nodes of `m` with their types ("Quantize" / "Dequantize"), in model input/output order.
std::vector<std::pair<std::string, std::string>> boundary_nodes(const CompiledModel& m);

// Removes the boundary nodes whose type is in `types` ("Quantize", "Dequantize") or whose name is in `names`.
// Throws Error(code) naming `context`, the name and the removable ones for a name that is not a boundary node, or
// a type other than Quantize / Dequantize (a Transpose, Reshape, Cast or Softmax edge node is removed from the graph
// at compile time: passes/edge_nodes.h). Returns the names removed.
std::vector<std::string> remove_boundary_nodes(CompiledModel& m, const std::set<std::string>& types,
                                               const std::set<std::string>& names, const std::string& context,
                                               ExitCode code);

// calibration_parameters.optimization set_model_output_int8 / int16: the `<output>_HzDequantize` node of every
// model output, each checked to dequantize a `want` (Int8 / Int16) value. An output computed in float (a CPU node
// without fake quantization after it), or an int32 high-precision Conv output (no scale in the QAT model), or one
// of another width, is Error(Config) naming `context`, the output and the fix.
std::set<std::string> output_dequantize_nodes(const CompiledModel& m, DType want, const std::string& context);

}  // namespace bpu
