// AVX-512 helper of the int32 requantization with one channel per lane (conv2d_int8_dot.cpp's short rows,
// conv2d_int8_lanes.cpp's fused requantization): apply_requant's 64-bit path on eight lanes, each with its own
// multiplier, bias and shift from the spread arrays (lane_spread_params / spread_requant_params: mult, bias,
// shift, mask, half, `stride` entries apart). Include only from files that check the CPU at run time.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include <cstdint>

namespace bpu::kernels {

// Eight lanes' parameters, loaded once for every accumulator vector of the same channels.
struct RequantLanes8 {
  __m512i mult, bias, shift, mask, half;
};

__attribute__((target("avx512f"))) inline RequantLanes8 requant_params8(const int64_t* spread, int64_t stride) {
  return {_mm512_loadu_si512(spread), _mm512_loadu_si512(spread + stride), _mm512_loadu_si512(spread + 2 * stride),
          _mm512_loadu_si512(spread + 3 * stride), _mm512_loadu_si512(spread + 4 * stride)};
}

// clamp(round half to even of (acc * mult + bias) / 2^shift, lo, hi) on eight int64 lanes (acc sign-extended int32,
// |acc * mult| + |bias| < 2^62).
__attribute__((target("avx512f"))) inline __m512i requant_lanes8(__m512i acc, const RequantLanes8& p, __m512i vlo,
                                                                 __m512i vhi) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i v = _mm512_add_epi64(_mm512_mul_epi32(acc, p.mult), p.bias);
  const __m512i floor = _mm512_srav_epi64(v, p.shift);
  const __m512i rem = _mm512_and_si512(v, p.mask);
  const __mmask8 up = _mm512_cmpgt_epu64_mask(rem, p.half) | (_mm512_cmpeq_epu64_mask(rem, p.half) & _mm512_test_epi64_mask(floor, one));
  return _mm512_min_epi64(_mm512_max_epi64(_mm512_mask_add_epi64(floor, up, floor, one), vlo), vhi);
}

}  // namespace bpu::kernels
#endif
