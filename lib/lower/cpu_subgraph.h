// Lowering of a CPU segment: the segment's nodes become a standalone ONNX model that standard tools can open.
// Weights are float (fake-quantized weights dequantized exactly as the QAT model used them), fused
// activations are emitted again, and every quantized activation the segment reads or produces passes through
// a QuantizeLinear/DequantizeLinear pair, so the CPU computes what the QAT graph computed.
#pragma once

#include "ir/graph.h"
#include "lower/compiled_model.h"
#include "partition/partition.h"

namespace bpu {

// Inputs and outputs of the returned segment are named after the float tensors they carry.
CpuSegment build_cpu_segment(const ir::Graph& graph, const PartitionResult& partition, const Segment& segment);

}  // namespace bpu
