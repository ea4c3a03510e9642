// Lower stage: turns the partitioned, quantized IR into a CompiledModel: per BPU segment integer constants
// (int8 weights, per-channel requant records from lib/numerics), an instruction stream and a linear arena plan;
// per CPU segment a standalone ONNX subgraph (cpu_subgraph.h); and the host schedule with explicit
// quantize/dequantize steps at every BPU/CPU boundary.
#pragma once

#include "ir/graph.h"
#include "lower/compiled_model.h"
#include "partition/partition.h"

namespace bpu {

// Throws Error(Unsupported) naming the node when a BPU placement cannot be lowered.
CompiledModel lower_model(const ir::Graph& graph, const PartitionResult& partition);

}  // namespace bpu
