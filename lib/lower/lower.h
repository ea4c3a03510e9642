// Lower stage: turns the partitioned, quantized IR into a CompiledModel: per BPU segment integer constants
// (int8 weights, per-channel requant records from lib/numerics), an instruction stream and its memory plan;
// per CPU segment a standalone ONNX subgraph (cpu_subgraph.h); and the host schedule with explicit
// quantize/dequantize steps at every BPU/CPU boundary.
#pragma once

#include "ir/graph.h"
#include "lower/compiled_model.h"
#include "lower/memory_plan.h"
#include "partition/partition.h"

namespace bpu {

// Throws Error(Unsupported) naming the node when a BPU placement cannot be lowered.
// `memory` chooses each BPU segment's memory plan (lower/memory_plan.h); the default is O0's linear arena.
CompiledModel lower_model(const ir::Graph& graph, const PartitionResult& partition, const MemoryPlanOptions& memory = {});

}  // namespace bpu
