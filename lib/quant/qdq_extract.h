// Quant stage: turns fake quantization into tensor quantization parameters.
// Every QuantizeLinear->DequantizeLinear pair (and horizon::HzQuantize->HzDequantize, attribute bits 8/16,
// optional axis) becomes QuantParams on the tensor it quantized; weights become int8 constants with their
// per-channel scales; the Q/DQ nodes leave the graph.
#pragma once

#include "ir/graph.h"

namespace bpu {

struct QuantSummary {
  int activation_pairs = 0;  // Q/DQ pairs on activations turned into tensor parameters
  int weight_pairs = 0;      // Q/DQ pairs on constant weights folded into int8 constants
  int mixed_use_splits = 0;  // tensors read both through a fake-quant pair and in float: split by an Identity
  std::vector<std::string> removed_nodes;  // names of the Q/DQ nodes taken out of the graph
  std::vector<std::string> synthesized;    // weights whose scales the compiler invented
};

// Throws Error(Model) for malformed Q/DQ (non-constant or insane scales, mismatched pairs) and
// Error(Unsupported) for valid but unsupported quantization (non-zero zero points, lone Q, uint8, int16 weights).
QuantSummary extract_quantization(ir::Graph& graph);

// hb_mapper's behaviour for a Conv/Gemm whose weights had no fake quantization but whose input is quantized:
// quantize the weights anyway with per-output-channel scales max|w|/127 (QuantParams::synthesized = true).
// Returns the names of the weight tensors it quantized.
std::vector<std::string> synthesize_weight_scales(ir::Graph& graph);

// Whether a node is a fake-quant node this stage handles.
bool is_quantize_node(const ir::Node& n);
bool is_dequantize_node(const ir::Node& n);

}  // namespace bpu
