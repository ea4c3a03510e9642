// Passes stage: per-channel affine chains after a quantized Conv fold into it. torch 1.13 exports QAT ConvBn
// without folding (Conv -> Div(gamma/sigma) -> Add(bias) -> BatchNormalization); the chain's combined factor
// alpha_c scales the weight's dequantization scale (the int8 weights stay as trained) and its offset becomes
// the bias, so the BPU computes conv * alpha + beta with one rounding (docs/numerics.md).
#pragma once

#include "ir/graph.h"

namespace bpu {

// Returns the number of ops folded away.
int fold_affine_into_conv(ir::Graph& graph);

}  // namespace bpu
