// Integer ADD kernel of the bayes ADD instruction: two equally shaped quantized tensors, each rescaled to the
// output scale through a common denominator, one round-half-to-even shift (lib/numerics).
#pragma once

#include <cstdint>

#include "numerics/requant.h"

namespace bpu::kernels {

// The vector form of apply_add_narrow for int8/int16 inputs (AVX2, four 64-bit lanes; in add_vector.cpp):
// each multiplier split as mh * 2^24 + ml so that every product is a 32 x 32 -> 64-bit one, the sum shifted with
// round-half-to-even, clamped. Handles the first count - count % 4 elements and returns how many it did: 0 when
// the CPU lacks AVX2 or a multiplier reaches 2^46 (then the sum could leave the range the shift trick needs).
// Tested identical to the scalar loop.
template <typename A, typename B, typename Out>
int64_t add_narrow_vector(const A* a, const B* b, int64_t count, const AddParams& p, int64_t lo, int64_t hi, Out* out);

template <typename A, typename B, typename Out>
void add_elementwise(const A* a, const B* b, int64_t count, const AddParams& p, int64_t lo, int64_t hi, Out* out) {
  if constexpr (sizeof(A) <= 2 && sizeof(B) <= 2) {
    for (int64_t i = add_narrow_vector(a, b, count, p, lo, hi, out); i < count; ++i) {
      out[i] = static_cast<Out>(apply_add_narrow(a[i], b[i], p, lo, hi));
    }
  } else {
    for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Out>(apply_add(a[i], b[i], p, lo, hi));
  }
}

// The scalar loop alone (the reference of add_narrow_vector's tests).
template <typename A, typename B, typename Out>
void add_elementwise_scalar(const A* a, const B* b, int64_t count, const AddParams& p, int64_t lo, int64_t hi, Out* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Out>(apply_add(a[i], b[i], p, lo, hi));
}

}  // namespace bpu::kernels
