// LUT int8 -> int8 (kernels/lut.h): the spec loop, its AVX-512 VBMI form and its AVX2 form.

#include "arch/bayes/sim/kernels/lut.h"

#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BPU_HAVE_VBMI_CODE 1
#define BPU_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#define BPU_AVX2_LUT __attribute__((target("avx2")))
#else
#define BPU_HAVE_VBMI_CODE 0
#endif

namespace bpu::kernels {

void lut_int8_reference(const int8_t* table, const int8_t* x, size_t n, int8_t* y) {
  for (size_t k = 0; k < n; ++k) y[k] = table[static_cast<int>(x[k]) + 128];
}

namespace {

#if BPU_HAVE_VBMI_CODE
// Index x + 128 (x XOR 0x80): its low seven bits pick a byte of the lower or the upper 128-byte half, its top
// bit which half.
BPU_VBMI size_t lut_int8_vbmi(const int8_t* table, const int8_t* x, size_t n, int8_t* y) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  size_t k = 0;
  for (; k + 64 <= n; k += 64) {
    const __m512i idx = _mm512_xor_si512(_mm512_loadu_si512(x + k), flip);
    const __m512i low = _mm512_permutex2var_epi8(t0, idx, t1), high = _mm512_permutex2var_epi8(t2, idx, t3);
    _mm512_storeu_si512(y + k, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), low, high));
  }
  return k;
}

// The table as sixteen 16-byte chunks in both lanes; for index u = x + 128 chunk c answers through VPSHUFB where
// u's high nibble is c: (u XOR c << 4) +sat 0x70 keeps the low nibble with bit 7 clear there and sets bit 7
// (a zero result) everywhere else, so OR-ing the sixteen lookups gives table[u]. 32 values per step.
BPU_AVX2_LUT size_t lut_int8_avx2(const int8_t* table, const int8_t* x, size_t n, int8_t* y) {
  __m256i chunks[16];
  for (int c = 0; c < 16; ++c) {
    chunks[c] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * c)));
  }
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), keep = _mm256_set1_epi8(0x70);
  size_t k = 0;
  for (; k + 32 <= n; k += 32) {
    const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k)), flip);
    __m256i out = _mm256_setzero_si256();
    for (int c = 0; c < 16; ++c) {
      const __m256i idx = _mm256_adds_epu8(_mm256_xor_si256(u, _mm256_set1_epi8(static_cast<char>(c << 4))), keep);
      out = _mm256_or_si256(out, _mm256_shuffle_epi8(chunks[c], idx));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + k), out);
  }
  return k;
}
#endif

[[maybe_unused]] bool off(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

bool avx2_usable() {
#if BPU_HAVE_VBMI_CODE
  static const bool ok = [] {
    __builtin_cpu_init();
    return !off("BPU_NO_AVX2") && __builtin_cpu_supports("avx2");
  }();
  return ok;
#else
  return false;
#endif
}

bool vbmi_usable() {
#if BPU_HAVE_VBMI_CODE
  static const bool ok = [] {
    if (off("BPU_NO_AVX512")) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
  }();
  return ok;
#else
  return false;
#endif
}

}  // namespace

bool lut_int8_vector_available() { return vbmi_usable() || avx2_usable(); }

void lut_int8(const int8_t* table, const int8_t* x, size_t n, int8_t* y) {
  size_t done = 0;
#if BPU_HAVE_VBMI_CODE
  if (vbmi_usable()) done = lut_int8_vbmi(table, x, n, y);
  else if (avx2_usable()) done = lut_int8_avx2(table, x, n, y);
#endif
  lut_int8_reference(table, x + done, n - done, y + done);
}

}  // namespace bpu::kernels
