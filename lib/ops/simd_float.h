// Eight float32 lanes (AVX2) for the element-wise formulas of lib/ops/activations.cpp. A formula is a template
// over its value type: `double` gives the exact run's formula, `F8` the CPU kernel, which evaluates eight values
// at a time with the arithmetic of float and glibc's vector math library (libmvec: exp, expm1, tanh, erf, log1p;
// at most 4 ulp from the correctly rounded value). The float32 formula is the F8 one on a broadcast value: libmvec
// computes every lane on its own (lanes it cannot take are recomputed one by one with the scalar function), so
// the formula on one value and the kernel on a row give identical bits.
// The build already targets x86-64-v3 (AVX2, FMA), so the 8-lane variants (_ZGVdN8v_*) are always usable.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

extern "C" {
__m256 _ZGVdN8v_expf(__m256);
__m256 _ZGVdN8v_expm1f(__m256);
__m256 _ZGVdN8v_tanhf(__m256);
__m256 _ZGVdN8v_erff(__m256);
__m256 _ZGVdN8v_log1pf(__m256);
}

namespace bpu::ops {

struct F8 {
  __m256 v;
  F8() : v(_mm256_setzero_ps()) {}
  F8(float x) : v(_mm256_set1_ps(x)) {}  // NOLINT: a scalar is a broadcast, as in `x + 3`
  explicit F8(__m256 x) : v(x) {}
  float lane0() const { return _mm256_cvtss_f32(v); }
};

// The result of a comparison: all-ones lanes where it holds.
struct M8 {
  __m256 v;
};

inline F8 operator+(F8 a, F8 b) { return F8(_mm256_add_ps(a.v, b.v)); }
inline F8 operator-(F8 a, F8 b) { return F8(_mm256_sub_ps(a.v, b.v)); }
inline F8 operator*(F8 a, F8 b) { return F8(_mm256_mul_ps(a.v, b.v)); }
inline F8 operator/(F8 a, F8 b) { return F8(_mm256_div_ps(a.v, b.v)); }
inline F8 operator-(F8 a) { return F8(_mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f))); }
inline M8 operator>(F8 a, F8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
inline M8 operator>=(F8 a, F8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)}; }
inline M8 operator<(F8 a, F8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }

// select(c, a, b) = c ? a : b, for scalars and lanes alike.
template <typename T>
T select(bool c, T a, T b) {
  return c ? a : b;
}
inline F8 select(M8 c, F8 a, F8 b) { return F8(_mm256_blendv_ps(b.v, a.v, c.v)); }

// std::min / std::max semantics (the first argument unless the second is strictly smaller / larger).
template <typename T>
T min_of(T a, T b) {
  return std::min(a, b);
}
template <typename T>
T max_of(T a, T b) {
  return std::max(a, b);
}
inline F8 min_of(F8 a, F8 b) { return select(b < a, b, a); }
inline F8 max_of(F8 a, F8 b) { return select(a < b, b, a); }

// The math functions under one name for double (the C library) and F8 (libmvec).
inline double exp_of(double x) { return std::exp(x); }
inline double expm1_of(double x) { return std::expm1(x); }
inline double tanh_of(double x) { return std::tanh(x); }
inline double erf_of(double x) { return std::erf(x); }
inline double log1p_of(double x) { return std::log1p(x); }
inline double sqrt_of(double x) { return std::sqrt(x); }
inline double abs_of(double x) { return std::fabs(x); }
inline F8 exp_of(F8 x) { return F8(_ZGVdN8v_expf(x.v)); }
inline F8 expm1_of(F8 x) { return F8(_ZGVdN8v_expm1f(x.v)); }
inline F8 tanh_of(F8 x) { return F8(_ZGVdN8v_tanhf(x.v)); }
inline F8 erf_of(F8 x) { return F8(_ZGVdN8v_erff(x.v)); }
inline F8 log1p_of(F8 x) { return F8(_ZGVdN8v_log1pf(x.v)); }
inline F8 sqrt_of(F8 x) { return F8(_mm256_sqrt_ps(x.v)); }
inline F8 abs_of(F8 x) { return F8(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x.v)); }

// Lanes [0, n) of p (n < 8: the rest read as 0 and are not written back).
inline F8 load_f8(const float* p, int64_t n) {
  if (n >= 8) return F8(_mm256_loadu_ps(p));
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return F8(_mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), idx)));
}
inline void store_f8(float* p, F8 x, int64_t n) {
  if (n >= 8) return _mm256_storeu_ps(p, x.v);
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), idx), x.v);
}

}  // namespace bpu::ops
