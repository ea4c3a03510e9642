// Reference kernel of the bayes MATMUL instruction (docs/isa.md): NumPy matmul of two integer code tensors with
// broadcast batch axes, exact int64 sums, one requantization per element.
#pragma once

#include <cstdint>
#include <vector>

#include "common/dtype.h"
#include "numerics/requant.h"

namespace bpu::kernels {

// out[b.., m, n] = clamp(requant(sum_k a[b.., m, k] * b[b.., k, n], p)) with a [..., M, K], b [..., K, N] and
// out [..., M, N] of rank >= 2; each batch axis of a and b is 1 or the output's (right-aligned).
std::vector<int64_t> matmul_nd(const std::vector<int64_t>& a, const Shape& a_shape, const std::vector<int64_t>& b,
                               const Shape& b_shape, const Shape& out_shape, const RequantParams& p, int64_t lo,
                               int64_t hi);

}  // namespace bpu::kernels
