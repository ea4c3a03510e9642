// Passes stage: quantization through shape-only ops. Reshape, Flatten, Squeeze and Unsqueeze do not change
// values, so when their input is quantized and their output carries no fake quantization of its own, the
// output takes the input's parameters. This is exact and lets the ops run on the BPU as data movement.
#pragma once

#include "ir/graph.h"

namespace bpu {

// Returns the number of tensors that received parameters.
int propagate_quant_through_shape_ops(ir::Graph& graph);

}  // namespace bpu
