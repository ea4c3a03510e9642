// MUL rows (mul.h): on the dot-kernel CPUs int32 products requantized by the CONV2D's vector requantization, short
// rows with AVX2 when the CPU has it (checked at run time; intrinsics only inside BPU_AVX2 functions), else the
// scalar loop.

#include "arch/bayes/sim/kernels/mul.h"

#include "arch/bayes/sim/kernels/avx2_rne.h"
#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"

#include <algorithm>

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

// Rows of at least kProductRow elements on the AVX-512 VNNI or AVX2 dot-kernel CPUs: the products a * b as int32
// (exact: 8/16-bit codes), kProductBlock at a time, then requantize_int32_rows (conv2d_int8_dot.h), the same
// apply_requant per element as every other form, 8 or 16 lanes at a time.
constexpr int64_t kProductRow = 32;  // shorter rows: the call costs more than the lanes save (measured)
constexpr int64_t kProductBlock = 1024;

template <typename A, typename B, typename Out>
void mul_row(const A* a, int64_t step_a, const B* b, int64_t step_b, int64_t count, const RequantParams& p, int64_t lo,
             int64_t hi, Out* out) {
  const bool shift_ok = p.bias == 0 && p.shift >= 0 && p.shift <= 62;
  if (count >= kProductRow && shift_ok && int8_dot_available()) {
    const int64_t bound = int64_t{1} << (8 * (sizeof(A) + sizeof(B)) - 2);  // |a * b| <= 2^7 * 2^7 .. 2^15 * 2^15
    int32_t q[kProductBlock];
    for (int64_t j0 = 0; j0 < count; j0 += kProductBlock) {
      const int64_t n = std::min(kProductBlock, count - j0);
      const A* x = a + j0 * step_a;
      const B* y = b + j0 * step_b;
      if (step_a == 1 && step_b == 1) {  // the loops the compiler vectorizes: unit steps, or one side one value
        for (int64_t j = 0; j < n; ++j) q[j] = int32_t{x[j]} * int32_t{y[j]};
      } else if (step_a == 0 && step_b == 1) {
        const int32_t v = x[0];
        for (int64_t j = 0; j < n; ++j) q[j] = v * int32_t{y[j]};
      } else if (step_a == 1 && step_b == 0) {
        const int32_t v = y[0];
        for (int64_t j = 0; j < n; ++j) q[j] = int32_t{x[j]} * v;
      } else {
        for (int64_t j = 0; j < n; ++j) q[j] = int32_t{x[j * step_a]} * int32_t{y[j * step_b]};
      }
      requantize_int32_rows(q, 1, 1, n, &p, bound, lo, hi, out + j0, nullptr);
    }
    return;
  }
  int64_t done = 0;
#if BPU_HAVE_AVX2_CODE
  // The lanes need a * b within int32 (8/16-bit codes), multiplier within int32, no bias and a shift the helper takes.
  if (avx2_available() && shift_ok) done = mul_avx2(a, step_a, b, step_b, count, p, lo, hi, out);
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
