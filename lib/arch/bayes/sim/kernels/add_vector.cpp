// AVX2 form of the ADD kernel's narrow path (add.h). Intrinsics only inside BPU_AVX2 functions, which run after a
// run-time check of the CPU.

#include "arch/bayes/sim/kernels/add.h"

#include "arch/bayes/sim/kernels/avx2_rne.h"

namespace bpu::kernels {

namespace {

#if BPU_HAVE_AVX2_CODE

// q * mult for |q| <= 2^15 and |mult| < 2^46: mult = mh * 2^24 + ml with 0 <= ml < 2^24.
BPU_AVX2 __m256i times(__m256i q, __m256i mh, __m256i ml) {
  return _mm256_add_epi64(_mm256_slli_epi64(_mm256_mul_epi32(q, mh), 24), _mm256_mul_epi32(q, ml));
}

template <typename A, typename B, typename Out>
BPU_AVX2 int64_t add_avx2(const A* a, const B* b, int64_t count, const AddParams& p, int64_t lo, int64_t hi, Out* out) {
  const __m256i mha = _mm256_set1_epi64x(p.mult_a >> 24), mla = _mm256_set1_epi64x(p.mult_a & 0xFFFFFF);
  const __m256i mhb = _mm256_set1_epi64x(p.mult_b >> 24), mlb = _mm256_set1_epi64x(p.mult_b & 0xFFFFFF);
  const Avx2Rne rne = avx2_rne(p.shift, lo, hi);
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const __m256i v = _mm256_add_epi64(times(avx2_load4_codes(a + i), mha, mla), times(avx2_load4_codes(b + i), mhb, mlb));
    avx2_store4_codes(avx2_rne_clamp(rne, v), out + i);
  }
  return i;
}

#endif

}  // namespace

template <typename A, typename B, typename Out>
int64_t add_narrow_vector(const A* a, const B* b, int64_t count, const AddParams& p, int64_t lo, int64_t hi, Out* out) {
#if BPU_HAVE_AVX2_CODE
  const int64_t limit = int64_t(1) << 46;
  if (!avx2_available() || p.shift < 0 || p.shift > 62 || p.mult_a <= -limit || p.mult_a >= limit ||
      p.mult_b <= -limit || p.mult_b >= limit) {
    return 0;
  }
  return add_avx2(a, b, count, p, lo, hi, out);
#else
  (void)a, (void)b, (void)count, (void)p, (void)lo, (void)hi, (void)out;
  return 0;
#endif
}

#define BPU_ADD_VECTOR(A, B, Out) \
  template int64_t add_narrow_vector<A, B, Out>(const A*, const B*, int64_t, const AddParams&, int64_t, int64_t, Out*);
#define BPU_ADD_VECTOR_OUT(A, B) BPU_ADD_VECTOR(A, B, int8_t) BPU_ADD_VECTOR(A, B, int16_t) BPU_ADD_VECTOR(A, B, int32_t)
BPU_ADD_VECTOR_OUT(int8_t, int8_t)
BPU_ADD_VECTOR_OUT(int8_t, int16_t)
BPU_ADD_VECTOR_OUT(int16_t, int8_t)
BPU_ADD_VECTOR_OUT(int16_t, int16_t)
#undef BPU_ADD_VECTOR_OUT
#undef BPU_ADD_VECTOR

}  // namespace bpu::kernels
