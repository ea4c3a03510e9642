// Staged ONNX models written next to the .bin, named as hb_mapper names them:
//   <prefix>_original_float_model.onnx   the QAT model with its fake quantization removed (the float model)
//   <prefix>_optimized_float_model.onnx  the float graph after bpu-mapper's passes (BN folded, Identity and
//                                        Constant resolved, fused activations shown as their own nodes)
//   <prefix>_quantized_model.onnx        the integer model in QDQ form: int8 weights as INT8 initializers with
//                                        DequantizeLinear, every 8-bit activation through Q/DQ at its scale
//                                        (16-bit tensors stay float: ONNX has no 16-bit Q/DQ before opset 21)
// Each passes onnx.checker (tested).
#pragma once

#include <string>

#include "ir/graph.h"

namespace bpu {

std::string optimized_float_model(const ir::Graph& graph);
std::string quantized_model(const ir::Graph& graph);
// The same serialized straight into `path` (write_file_atomic_with), without a second copy in memory.
void write_optimized_float_model(const ir::Graph& graph, const std::string& path);
void write_quantized_model(const ir::Graph& graph, const std::string& path);

}  // namespace bpu
