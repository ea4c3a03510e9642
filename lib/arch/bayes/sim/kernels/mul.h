// MUL kernels of the bayes MUL instruction (docs/isa.md): out = clamp(rshift_rne(a * b * multiplier, shift)),
// NumPy-broadcast inputs. The reference is the element loop in the simulator (apply_requant per element); these
// are its row form for 8/16-bit inputs, tested identical to it.
#pragma once

#include <cstdint>

#include "numerics/requant.h"

namespace bpu::kernels {

// One output row of `count` elements reading a[j * step_a] and b[j * step_b] (steps 0: one value for the row, or
// 1). With AVX2 four 64-bit lanes at a time: a * b fits 31 bits for 8/16-bit codes, so both products are signed
// 32 x 32 -> 64-bit ones and |a * b * multiplier| < 2^62, the range of the shift helper; the rest as scalars.
template <typename A, typename B, typename Out>
void mul_row(const A* a, int64_t step_a, const B* b, int64_t step_b, int64_t count, const RequantParams& p, int64_t lo,
             int64_t hi, Out* out);

// The scalar loop alone (the reference of mul_row's tests).
template <typename A, typename B, typename Out>
void mul_row_scalar(const A* a, int64_t step_a, const B* b, int64_t step_b, int64_t count, const RequantParams& p,
                    int64_t lo, int64_t hi, Out* out) {
  for (int64_t j = 0; j < count; ++j) {
    out[j] = static_cast<Out>(apply_requant(int64_t(a[j * step_a]) * int64_t(b[j * step_b]), p, lo, hi));
  }
}

}  // namespace bpu::kernels
