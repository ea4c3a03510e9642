// Lower stage: turns the partitioned, quantized IR into a CompiledModel for the bayes BPU: integer
// constants (int8 weights, per-channel requant records from lib/numerics), an instruction stream per BPU
// segment, a linear arena plan, and the host schedule with explicit quantize/dequantize at the boundaries.
#pragma once

#include "ir/graph.h"
#include "lower/compiled_model.h"
#include "partition/partition.h"

namespace bpu {

// Throws Error(Unsupported) naming the node when a placement cannot be lowered (e.g. a CPU segment before
// CPU fallback exists).
CompiledModel lower_model(const ir::Graph& graph, const PartitionResult& partition);

}  // namespace bpu
