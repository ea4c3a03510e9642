// remove_node_type / remove_node_name for the graph's edge nodes (hb_model_modifier's Transpose, Reshape, Cast
// and Softmax at a model output, and a layout Transpose at a model input): an output edge node is dropped and the
// tensor it read becomes the model output under its own name, so a deployment gets e.g. NCHW logits instead of a
// transposed softmax; an input Transpose NHWC<->NCHW is dropped and the model input takes its output's layout,
// recorded as a featuremap layout change (InputFormat) so verify and the accuracy run still feed the QAT model
// the layout it was exported with. The Quantize / Dequantize
// boundary nodes are the lowering's (lower/boundary.h); this pass runs on the graph, after quantization and before
// placement, so the program simply no longer computes the node.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <map>

#include "common/image_format.h"
#include "ir/graph.h"

namespace bpu {

// The op types this pass removes at model outputs.
bool is_edge_node_type(const std::string& op_type);

// Removes every output edge node (and input layout Transpose, whose input's new format goes into *input_formats)
// whose type is in `types` or whose name is in `names`; returns the names removed in graph order. Names of `names` that are not nodes of the graph are left for the lowering's boundary nodes
// (and returned in *unmatched). A named node that is not at a model output, reads a model input, or whose input
// is read elsewhere or is itself a model output is Error(Config) naming `context`, the node and why.
std::vector<std::string> remove_edge_nodes(ir::Graph& g, const std::set<std::string>& types,
                                           const std::set<std::string>& names, const std::string& context,
                                           std::set<std::string>* unmatched,
                                           std::map<std::string, InputFormat>* input_formats);

}  // namespace bpu
