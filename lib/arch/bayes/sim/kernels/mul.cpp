// MUL rows (mul.h): AVX2 when the CPU has it (checked at run time; intrinsics only inside BPU_AVX2 functions),
// else the scalar loop.

#include "arch/bayes/sim/kernels/mul.h"

#include "arch/bayes/sim/kernels/avx2_rne.h"

namespace bpu::kernels {

namespace {

#if BPU_HAVE_AVX2_CODE

template <typename T>
BPU_AVX2 __m256i load4(const T* p, int64_t step) {  // four codes, or one four times (step 0)
  return step == 0 ? _mm256_set1_epi64x(static_cast<int64_t>(*p)) : avx2_load4_codes(p);
}

template <typename A, typename B, typename Out>
BPU_AVX2 int64_t mul_avx2(const A* a, int64_t step_a, const B* b, int64_t step_b, int64_t count, const RequantParams& p,
                          int64_t lo, int64_t hi, Out* out) {
  const __m256i m = _mm256_set1_epi64x(p.multiplier);
  const Avx2Rne rne = avx2_rne(p.shift, lo, hi);
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const __m256i q = _mm256_mul_epi32(load4(a + j * step_a, step_a), load4(b + j * step_b, step_b));
    avx2_store4_codes(avx2_rne_clamp(rne, _mm256_mul_epi32(q, m)), out + j);
  }
  return j;
}

#endif

}  // namespace

template <typename A, typename B, typename Out>
void mul_row(const A* a, int64_t step_a, const B* b, int64_t step_b, int64_t count, const RequantParams& p, int64_t lo,
             int64_t hi, Out* out) {
  int64_t done = 0;
#if BPU_HAVE_AVX2_CODE
  // The lanes need a * b within int32 (8/16-bit codes), multiplier within int32, no bias and a shift the helper takes.
  if (avx2_available() && p.bias == 0 && p.shift >= 0 && p.shift <= 62) done = mul_avx2(a, step_a, b, step_b, count, p, lo, hi, out);
#endif
  mul_row_scalar(a + done * step_a, step_a, b + done * step_b, step_b, count - done, p, lo, hi, out + done);
}

#define BPU_MUL_ROW(A, B, Out) \
  template void mul_row<A, B, Out>(const A*, int64_t, const B*, int64_t, int64_t, const RequantParams&, int64_t, int64_t, Out*);
#define BPU_MUL_ROW_OUT(A, B) BPU_MUL_ROW(A, B, int8_t) BPU_MUL_ROW(A, B, int16_t) BPU_MUL_ROW(A, B, int32_t)
BPU_MUL_ROW_OUT(int8_t, int8_t)
BPU_MUL_ROW_OUT(int8_t, int16_t)
BPU_MUL_ROW_OUT(int16_t, int8_t)
BPU_MUL_ROW_OUT(int16_t, int16_t)
#undef BPU_MUL_ROW_OUT
#undef BPU_MUL_ROW

}  // namespace bpu::kernels
