// Passes stage: per-channel affine chains after a quantized Conv fold into it. torch 1.13 exports QAT ConvBn
// without folding (Conv -> Div(gamma/sigma) -> Add(bias) -> BatchNormalization); the chain's combined factor
// alpha_c scales the weight's dequantization scale (the int8 weights stay as trained) and its offset becomes
// the bias, so the BPU computes conv * alpha + beta with one rounding (docs/numerics.md).
#pragma once

#include "ir/graph.h"

namespace bpu {

// Returns the number of ops folded away.
int fold_affine_into_conv(ir::Graph& graph);

// A BatchNormalization that no Conv absorbed (DenseNet's BN after Concat) and whose input is quantized per tensor
// becomes a depthwise 1x1 Conv: weight gamma/sqrt(var+eps) per channel as the int8 code +-127 at scale
// |weight|/127 (exact in real units; the scales are marked synthesized), bias beta - mean*weight in float, so the
// BPU runs it (and fuses a following Relu). Run after fold_affine_into_conv. Returns the number rewritten.
int standalone_bn_to_depthwise(ir::Graph& graph);

}  // namespace bpu
