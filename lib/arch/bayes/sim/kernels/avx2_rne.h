// AVX2 helpers of the vector kernels (conv2d_int8_dot.cpp, add_vector.cpp, mul.cpp): rshift_rne and clamp on four signed
// 64-bit lanes. AVX2 has no 64-bit arithmetic shift, so the floor of v / 2^shift is taken on v + 2^62
// (non-negative for |v| < 2^62, the callers' condition, and a multiple of 2^shift apart from v, so the remainder
// is v's), then 2^(62 - shift) is subtracted. Include only from files that check the CPU at run time.
#pragma once

// BPU_HAVE_AVX2_CODE: this compiler can emit AVX2 functions (BPU_AVX2), called only after avx2_available().
#if defined(__x86_64__) && defined(__GNUC__)
#define BPU_HAVE_AVX2_CODE 1
#define BPU_AVX2 __attribute__((target("avx2")))
#include <immintrin.h>

#include <cstdint>

#define BPU_AVX2_HELPER __attribute__((target("avx2"))) inline

namespace bpu::kernels {

// The CPU runs AVX2 (asked once).
inline bool avx2_available() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
}

// Four 8- or 16-bit codes sign-extended to 64-bit lanes.
template <typename T>
BPU_AVX2_HELPER __m256i avx2_load4_codes(const T* p) {
  if constexpr (sizeof(T) == 1) {
    int32_t w;
    __builtin_memcpy(&w, p, 4);
    return _mm256_cvtepi8_epi64(_mm_cvtsi32_si128(w));
  } else {
    int64_t w;
    __builtin_memcpy(&w, p, 8);
    return _mm256_cvtepi16_epi64(_mm_cvtsi64_si128(w));
  }
}

// Four 64-bit lanes narrowed into out[0..3] (values already clamped to Out's range).
template <typename Out>
BPU_AVX2_HELPER void avx2_store4_codes(__m256i v, Out* out) {
  alignas(32) int64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  for (int k = 0; k < 4; ++k) out[k] = static_cast<Out>(lanes[k]);
}

struct Avx2Rne {
  __m256i offset, offset_q, mask, half, one, lo, hi;
  __m128i count;
  bool shifts;
};

// shift in [0, 62]; lo <= hi the clamp.
BPU_AVX2_HELPER Avx2Rne avx2_rne(int32_t shift, int64_t lo, int64_t hi) {
  const int64_t offset = int64_t(1) << 62;
  Avx2Rne r;
  r.shifts = shift > 0;
  r.count = _mm_cvtsi64_si128(shift);
  r.offset = _mm256_set1_epi64x(offset);
  r.offset_q = _mm256_set1_epi64x(offset >> shift);
  r.mask = _mm256_set1_epi64x(shift > 0 ? static_cast<int64_t>((uint64_t(1) << shift) - 1) : 0);
  r.half = _mm256_set1_epi64x(shift > 0 ? static_cast<int64_t>(uint64_t(1) << (shift - 1)) : 0);
  r.one = _mm256_set1_epi64x(1);
  r.lo = _mm256_set1_epi64x(lo);
  r.hi = _mm256_set1_epi64x(hi);
  return r;
}

// clamp(rshift_rne(v, shift), lo, hi) per lane.
BPU_AVX2_HELPER __m256i avx2_rne_clamp(const Avx2Rne& r, __m256i v) {
  if (r.shifts) {
    const __m256i shifted = _mm256_add_epi64(v, r.offset);
    const __m256i floor = _mm256_sub_epi64(_mm256_srl_epi64(shifted, r.count), r.offset_q);
    const __m256i rem = _mm256_and_si256(shifted, r.mask);
    const __m256i odd = _mm256_cmpeq_epi64(_mm256_and_si256(floor, r.one), r.one);
    const __m256i up = _mm256_or_si256(_mm256_cmpgt_epi64(rem, r.half), _mm256_and_si256(_mm256_cmpeq_epi64(rem, r.half), odd));
    v = _mm256_sub_epi64(floor, up);  // up is -1 where the result rounds up
  }
  v = _mm256_blendv_epi8(v, r.lo, _mm256_cmpgt_epi64(r.lo, v));
  return _mm256_blendv_epi8(v, r.hi, _mm256_cmpgt_epi64(v, r.hi));
}

}  // namespace bpu::kernels

#else
#define BPU_HAVE_AVX2_CODE 0
#endif
