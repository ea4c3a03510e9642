// Integer ADD kernel of the bayes ADD instruction: two equally shaped quantized tensors, each rescaled to the
// output scale through a common denominator, one round-half-to-even shift (lib/numerics).
#pragma once

#include <cstdint>

#include "numerics/requant.h"

namespace bpu::kernels {

template <typename A, typename B, typename Out>
void add_elementwise(const A* a, const B* b, int64_t count, const AddParams& p, int64_t lo, int64_t hi, Out* out) {
  if constexpr (sizeof(A) <= 2 && sizeof(B) <= 2) {
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Out>(apply_add_narrow(a[i], b[i], p, lo, hi));
  } else {
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Out>(apply_add(a[i], b[i], p, lo, hi));
  }
}

}  // namespace bpu::kernels
