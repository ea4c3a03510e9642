// Passes stage: torch's quantized Linear on a tensor of rank > 2 (a transformer's MLP, [batch, tokens, features])
// exports as MatMul(x, Transpose(W_fq)) followed by Add(bias) and the output fake quant, the MatMul's own output
// float. That is one Gemm: y = x·Wᵀ + b with one rounding at the Add's scale, as the BPU's 1x1 convolution
// computes it. The rewrite is exact in real units (the same sum of the same products, the bias added before the
// one fake quant) and keeps the graph standard ONNX for the staged models and the CPU executor.
#pragma once

#include <set>
#include <string>

#include "ir/graph.h"

namespace bpu {

// MatMul(A, B) with A quantized per tensor, B a fake-quantized constant 2-D matrix or Transpose(perm [1,0]) of
// one read only by this MatMul, and either a quantized output or a float output read only by an Add of a
// constant bias (one value or one per output feature, on the last axis) whose output is quantized, becomes
// [Reshape A to 2-D ->] Gemm(A, W, bias; transB when the Transpose is absorbed) [-> Reshape back]. The Gemm
// keeps the MatMul's name; the Transpose and the Add are recorded as folded into it (the placement table lists
// them). A MatMul whose Transpose or Add is in `keep` (named by the user in run_on_cpu / run_on_bpu / node_info)
// is left as it is, so the request applies to the node as exported. Returns the number of MatMuls rewritten.
int matmul_to_gemm(ir::Graph& graph, const std::set<std::string>& keep = {});

}  // namespace bpu
