// AVX-512 VNNI and AVX2 CONV2D and int32 requantization (docs/isa.md, "Reference and fast kernels"). Intrinsics
// appear only inside functions marked BPU_AVX512 or BPU_AVX2, which run only after int8_dot_kind() chose them;
// the rest of the build stays x86-64(-v3).

#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "arch/bayes/sim/kernels/avx2_rne.h"
#include "arch/bayes/sim/kernels/avx512_requant.h"
#include "common/thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*, which -Wmaybe-uninitialized reports
// at every call site (a known false positive of the headers, not of this file).
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define BPU_HAVE_AVX512_CODE 1
#define BPU_AVX512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#else
#define BPU_HAVE_AVX512_CODE 0
#endif

namespace bpu::kernels {

namespace {

constexpr int64_t kLanes = 16;                    // int32 lanes per 512-bit register
static_assert(kDotCols % kLanes == 0, "a panel is whole registers (3 of 16 output positions)");
constexpr int64_t kQuadBytes = kDotCols * 4;      // one k-quad of one panel: 48 positions x 4 bytes
constexpr uint8_t kZeroInput = 0x80;              // input 0 fed as unsigned 0 + 128

// dst[i] = src[i * stride] + 128 as unsigned bytes for i < n, reading only src[0 .. readable) (readable >
// (n - 1) * stride). Unit stride: whole vectors, the last one overlapping the one before (rows shorter than a vector
// as two overlapping halves); stride 2: 16 or 8 outputs per load pair while the loads stay readable.
inline __attribute__((always_inline)) void gather_flipped(const int8_t* src, int64_t stride, int64_t n, int64_t readable, uint8_t* dst) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128i flip = _mm_set1_epi8(static_cast<char>(kZeroInput));
  if (stride == 1) {
    if (n >= 16) {
      for (; i + 16 <= n; i += 16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                         _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)), flip));
      }
      if (i < n) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + n - 16),
                         _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + n - 16)), flip));
      }
      return;
    }
    if (n >= 8) {
      const __m128i a = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)), flip);
      const __m128i b = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + n - 8)), flip);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), a);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + n - 8), b);
      return;
    }
    if (n >= 4) {
      uint32_t a, b;
      std::memcpy(&a, src, 4);
      std::memcpy(&b, src + n - 4, 4);
      a ^= 0x80808080u;
      b ^= 0x80808080u;
      std::memcpy(dst, &a, 4);
      std::memcpy(dst + n - 4, &b, 4);
      return;
    }
  } else if (stride == 2) {
    const __m128i low = _mm_set1_epi16(0x00FF);
    for (; i + 16 <= n && 2 * i + 32 <= readable; i += 16) {
      const __m128i a = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)), low);
      const __m128i b = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i + 16)), low);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_xor_si128(_mm_packus_epi16(a, b), flip));
    }
    for (; i + 8 <= n && 2 * i + 16 <= readable; i += 8) {
      const __m128i a = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)), low);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), _mm_xor_si128(_mm_packus_epi16(a, a), flip));
    }
  }
#endif
  (void)readable;
  for (; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i * stride]) ^ kZeroInput;
}

#if BPU_HAVE_AVX512_CODE

// Interleaves four im2col rows into the panel layout: for 16 positions, the 4 bytes of k-quad kq side by side.
BPU_AVX512 void interleave_quad(const uint8_t* const rows[4], int64_t padded_cols, int64_t k_quads, int64_t kq,
                                uint8_t* panels) {
  for (int64_t p = 0; p < padded_cols; p += kLanes) {
    const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[0] + p));
    const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[1] + p));
    const __m128i r2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[2] + p));
    const __m128i r3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[3] + p));
    const __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);
    const __m128i c = _mm_unpacklo_epi8(r2, r3), d = _mm_unpackhi_epi8(r2, r3);
    const int64_t panel = p / kDotCols, vec = (p % kDotCols) / kLanes;
    uint8_t* dst = panels + (panel * k_quads + kq) * kQuadBytes + vec * kLanes * 4;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi16(a, c));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), _mm_unpackhi_epi16(a, c));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 32), _mm_unpacklo_epi16(b, d));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 48), _mm_unpackhi_epi16(b, d));
  }
}

// kDotRows output channels x (16 * NV) positions over all k-quads, corrected and stored to rows of `out`.
// Every accumulator index is a compile-time constant after unrolling, so all 8 * NV stay in registers.
template <int NV>
BPU_AVX512 void dot_block(const int32_t* words, const uint8_t* panel, int64_t k_quads, const int32_t* correction,
                          int64_t rows, int64_t cols, int32_t* out, int64_t out_stride) {
  __m512i acc[kDotRows][NV];
#pragma GCC unroll 8
  for (int r = 0; r < kDotRows; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_si512();
  }
  for (int64_t kq = 0; kq < k_quads; ++kq) {
    __m512i x[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) x[v] = _mm512_loadu_si512(panel + kq * kQuadBytes + v * 64);
    const int32_t* w = words + kq * kDotRows;
#pragma GCC unroll 8
    for (int r = 0; r < kDotRows; ++r) {
      const __m512i b = _mm512_set1_epi32(w[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x[v], b);
    }
  }
  __mmask16 keep[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const int64_t left = std::max<int64_t>(0, std::min<int64_t>(kLanes, cols - v * kLanes));
    keep[v] = static_cast<__mmask16>((1u << left) - 1);
  }
#pragma GCC unroll 8
  for (int r = 0; r < kDotRows; ++r) {
    if (r < rows) {
      const __m512i corr = _mm512_set1_epi32(correction[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        _mm512_mask_storeu_epi32(out + r * out_stride + v * kLanes, keep[v], _mm512_sub_epi32(acc[r][v], corr));
      }
    }
  }
}

// Tasks [begin, end) = (panel, row block) of one group: P positions in the panels, rows of `out` out_stride apart.
BPU_AVX512 void dot_tasks(const PackedConvWeights& w, int64_t grp, const uint8_t* panels, int64_t P, int32_t* out,
                          int64_t out_stride, int64_t begin, int64_t end) {
  for (int64_t t = begin; t < end; ++t) {
    const int64_t panel = t / w.row_blocks, block = t % w.row_blocks;
    const int64_t col0 = panel * kDotCols, cols = std::min(kDotCols, P - col0);
    const int64_t row0 = block * kDotRows, rows = std::min(kDotRows, w.cout_g - row0);
    const int32_t* words = w.words.data() + (grp * w.row_blocks + block) * w.k_quads * kDotRows;
    const int32_t* corr = w.correction.data() + grp * w.cout_g + row0;
    const uint8_t* pan = panels + panel * w.k_quads * kQuadBytes;
    int32_t* dst = out + row0 * out_stride + col0;
    if (cols > 2 * kLanes) dot_block<3>(words, pan, w.k_quads, corr, rows, cols, dst, out_stride);
    else if (cols > kLanes) dot_block<2>(words, pan, w.k_quads, corr, rows, cols, dst, out_stride);
    else dot_block<1>(words, pan, w.k_quads, corr, rows, cols, dst, out_stride);
  }
}

template <typename OutT>
BPU_AVX512 void store_narrow(OutT* dst, __m512i v);
template <>
BPU_AVX512 void store_narrow<int8_t>(int8_t* dst, __m512i v) {
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi64_epi8(v));
}
template <>
BPU_AVX512 void store_narrow<int16_t>(int16_t* dst, __m512i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi64_epi16(v));
}
template <>
BPU_AVX512 void store_narrow<int32_t>(int32_t* dst, __m512i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_cvtepi64_epi32(v));
}

template <typename OutT>
BPU_AVX512 void store_narrow16(OutT* dst, __m512i v);
template <>
BPU_AVX512 void store_narrow16<int8_t>(int8_t* dst, __m512i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(v));
}
template <>
BPU_AVX512 void store_narrow16<int16_t>(int16_t* dst, __m512i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_cvtepi32_epi16(v));
}
template <>
BPU_AVX512 void store_narrow16<int32_t>(int32_t* dst, __m512i v) {
  _mm512_storeu_si512(dst, v);
}

// Round half to even of v / 2^shift (shift > 0) without compares: floor((v + half - 1 + parity) / 2^shift), where
// parity is bit `shift` of v (the parity of floor(v / 2^shift)): below half no carry, above half a carry, at
// exactly half a carry only when the floor is odd. v + half stays inside int64 (|v| < 2^62, half <= 2^62).
BPU_AVX512 inline __m512i rne_shift(__m512i v, __m128i shift, __m512i half_minus_one, __m512i one) {
  const __m512i parity = _mm512_and_si512(_mm512_srl_epi64(v, shift), one);
  return _mm512_sra_epi64(_mm512_add_epi64(_mm512_add_epi64(v, half_minus_one), parity), shift);
}

// apply_requant's 64-bit path: (acc * m + bias), round-half-even shift, clamp; sixteen accumulators at a time
// (even and odd lanes multiplied separately, so no widening shuffles), then eight, then the scalar function.
// `rows` rows of `count`, acc_stride and out_stride apart, share one channel's constants.
template <typename OutT>
BPU_AVX512 void requant_row_vector(const int32_t* acc, int64_t count, const RequantParams& p, int64_t lo, int64_t hi,
                                   OutT* out, int64_t rows = 1, int64_t acc_stride = 0, int64_t out_stride = 0) {
  const __m512i mult = _mm512_set1_epi64(p.multiplier), bias = _mm512_set1_epi64(p.bias);
  const __m128i shift = _mm_cvtsi64_si128(p.shift);
  const int64_t half_bits = p.shift > 0 ? static_cast<int64_t>(uint64_t(1) << (p.shift - 1)) : 0;
  const __m512i half_minus_one = _mm512_set1_epi64(half_bits - 1), one = _mm512_set1_epi64(1);
  const __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
  for (int64_t r = 0; r < rows; ++r, acc += acc_stride, out += out_stride) {
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
      const __m512i a = _mm512_loadu_si512(acc + i);
      __m512i even = _mm512_add_epi64(_mm512_mul_epi32(a, mult), bias);
      __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), mult), bias);
      if (p.shift > 0) {
        even = rne_shift(even, shift, half_minus_one, one);
        odd = rne_shift(odd, shift, half_minus_one, one);
      }
      even = _mm512_min_epi64(_mm512_max_epi64(even, vlo), vhi);  // clamped values fit int32: keep the low halves
      odd = _mm512_min_epi64(_mm512_max_epi64(odd, vlo), vhi);
      store_narrow16(out + i, _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)));
    }
    for (; i + 8 <= count; i += 8) {
      const __m512i a = _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + i)));
      __m512i v = _mm512_add_epi64(_mm512_mul_epi32(a, mult), bias);
      if (p.shift > 0) v = rne_shift(v, shift, half_minus_one, one);
      store_narrow(out + i, _mm512_min_epi64(_mm512_max_epi64(v, vlo), vhi));
    }
    for (; i < count; ++i) out[i] = static_cast<OutT>(apply_requant(acc[i], p, lo, hi));
  }
}

// The per-element parameters of requant_short_rows_vector for rows [0, rows) (row r: channel r % channels): five
// arrays of `padded` entries (count rounded up to 8) one after another: mult, bias, shift, mask, half.
void spread_requant_params(int64_t rows, int64_t plane, int64_t channels, const RequantParams* params,
                           std::vector<int64_t>& spread) {
  const int64_t count = rows * plane, padded = (count + 7) / 8 * 8;
  spread.assign(static_cast<size_t>(5 * padded), 0);
  int64_t* mult = spread.data();
  int64_t *bias = mult + padded, *shift = bias + padded, *mask = shift + padded, *half = mask + padded;
  for (int64_t r = 0, i = 0; r < rows; ++r) {
    const RequantParams& p = params[r % channels];
    const int64_t m = p.shift > 0 ? static_cast<int64_t>((uint64_t(1) << p.shift) - 1) : 0;
    const int64_t h = p.shift > 0 ? static_cast<int64_t>(uint64_t(1) << (p.shift - 1)) : 1;  // 1: no tie at shift 0
    for (int64_t k = 0; k < plane; ++k, ++i) {
      mult[i] = p.multiplier;
      bias[i] = p.bias;
      shift[i] = p.shift;
      mask[i] = m;
      half[i] = h;
    }
  }
}

// requant_row_vector for rows shorter than a register (late stages: 2x2 planes): eight elements of any rows at
// a time, each lane with its own row's multiplier, bias and shift (per-lane shifts, VPSRAVQ) from the spread
// arrays (spread_requant_params; `stride` entries apart, already offset to acc's first element).
template <typename OutT>
BPU_AVX512 void requant_short_rows_vector(const int32_t* acc, int64_t count, const int64_t* spread, int64_t stride,
                                          int64_t lo, int64_t hi, OutT* out) {
  const __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
  for (int64_t i = 0; i < count; i += 8) {
    const int64_t n = std::min<int64_t>(8, count - i);
    alignas(32) int32_t part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(part, acc + i, static_cast<size_t>(n) * sizeof(int32_t));
    const __m512i a = _mm512_cvtepi32_epi64(_mm256_load_si256(reinterpret_cast<const __m256i*>(part)));
    alignas(64) int64_t lanes[8];
    _mm512_store_si512(lanes, requant_lanes8(a, requant_params8(spread + i, stride), vlo, vhi));
    for (int64_t k = 0; k < n; ++k) out[i + k] = static_cast<OutT>(lanes[k]);
  }
}

constexpr int64_t kPairBytes = kPairCols * 4;  // one k-pair of one AVX2 panel: 24 positions x 2 int16

// Two im2col rows (unsigned x + 128) into the AVX2 panel layout: per position the signed pair (x_k, x_k+1) as
// int16, 8 positions (one register) at a time.
BPU_AVX2 void interleave_pair(const uint8_t* r0, const uint8_t* r1, int64_t padded_cols, int64_t k_pairs, int64_t kp,
                              uint8_t* panels) {
  const __m128i flip = _mm_set1_epi8(static_cast<char>(kZeroInput));
  for (int64_t p = 0; p < padded_cols; p += 8) {
    const __m128i a = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(r0 + p)), flip);
    const __m128i b = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(r1 + p)), flip);
    const __m256i pairs = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(a, b));
    uint8_t* dst = panels + ((p / kPairCols) * k_pairs + kp) * kPairBytes + (p % kPairCols) * 4;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), pairs);
  }
}

// kPairRows output channels x (8 * NV) positions over all k-pairs; 4 * NV accumulators stay in registers.
template <int NV>
BPU_AVX2 void pair_block(const int32_t* words, const uint8_t* panel, int64_t k_pairs, int64_t rows, int64_t cols,
                         int32_t* out, int64_t out_stride) {
  __m256i acc[kPairRows][NV];
#pragma GCC unroll 4
  for (int r = 0; r < kPairRows; ++r) {
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_si256();
  }
  for (int64_t kp = 0; kp < k_pairs; ++kp) {
    __m256i x[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) x[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + kp * kPairBytes + v * 32));
    const int32_t* w = words + kp * kPairRows;
#pragma GCC unroll 4
    for (int r = 0; r < kPairRows; ++r) {
      const __m256i b = _mm256_set1_epi32(w[r]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(x[v], b));
    }
  }
  for (int r = 0; r < rows; ++r) {
    for (int v = 0; v < NV; ++v) {
      const int64_t left = std::min<int64_t>(8, cols - v * 8);
      if (left <= 0) break;
      int32_t* dst = out + r * out_stride + v * 8;
      if (left == 8) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), acc[r][v]);
      } else {
        alignas(32) int32_t tmp[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc[r][v]);
        std::memcpy(dst, tmp, static_cast<size_t>(left) * sizeof(int32_t));
      }
    }
  }
}

BPU_AVX2 void pair_tasks(const PackedConvWeights& w, int64_t grp, const uint8_t* panels, int64_t P, int32_t* out,
                         int64_t out_stride, int64_t begin, int64_t end) {
  for (int64_t t = begin; t < end; ++t) {
    const int64_t panel = t / w.row_blocks, block = t % w.row_blocks;
    const int64_t col0 = panel * kPairCols, cols = std::min(kPairCols, P - col0);
    const int64_t row0 = block * kPairRows, rows = std::min(kPairRows, w.cout_g - row0);
    const int32_t* words = w.words.data() + (grp * w.row_blocks + block) * w.k_quads * kPairRows;
    const uint8_t* pan = panels + panel * w.k_quads * kPairBytes;
    int32_t* dst = out + row0 * out_stride + col0;
    if (cols > 16) pair_block<3>(words, pan, w.k_quads, rows, cols, dst, out_stride);
    else if (cols > 8) pair_block<2>(words, pan, w.k_quads, rows, cols, dst, out_stride);
    else pair_block<1>(words, pan, w.k_quads, rows, cols, dst, out_stride);
  }
}

// clamp(rshift_rne(v, shift), lo, hi) on four 64-bit lanes with |v| < 2^62, compare-free: on u = v + 2^62
// (non-negative, a multiple of 2^shift apart from v) floor((u + 2^(s-1) - 1 + bit_s(u)) / 2^s) - 2^(62-s), the
// same identity as rne_shift (AVX2 has no 64-bit arithmetic shift or min/max).
struct Avx2Requant {
  __m256i mult, bias_offset, half_minus_one, offset_q, one, lo, hi;
  __m128i count;
};
BPU_AVX2 inline __m256i avx2_requant4(const Avx2Requant& r, __m256i products) {
  const __m256i u = _mm256_add_epi64(products, r.bias_offset);  // acc * m + bias + 2^62
  const __m256i parity = _mm256_and_si256(_mm256_srl_epi64(u, r.count), r.one);
  __m256i v = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(_mm256_add_epi64(u, r.half_minus_one), parity), r.count),
                               r.offset_q);
  v = _mm256_blendv_epi8(v, r.lo, _mm256_cmpgt_epi64(r.lo, v));
  return _mm256_blendv_epi8(v, r.hi, _mm256_cmpgt_epi64(v, r.hi));
}

// Eight int32 codes (already clamped to OutT's range) stored in order.
template <typename OutT>
BPU_AVX2 inline void avx2_store8(OutT* out, __m256i v) {
  if constexpr (sizeof(OutT) == 4) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
  } else {
    const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08);  // 8 int16 in the low half
    if constexpr (sizeof(OutT) == 2) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(words));
    } else {
      const __m128i w = _mm256_castsi256_si128(words);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packs_epi16(w, w));
    }
  }
}

// apply_requant's 64-bit path with AVX2: eight accumulators per step (even and odd lanes multiplied separately),
// then four, then the scalar function; `rows` rows of `count` as in requant_row_vector.
template <typename OutT>
BPU_AVX2 void requant_row_avx2(const int32_t* acc, int64_t count, const RequantParams& p, int64_t lo, int64_t hi, OutT* out,
                               int64_t rows = 1, int64_t acc_stride = 0, int64_t out_stride = 0) {
  const int64_t offset = int64_t(1) << 62;
  Avx2Requant r;
  r.mult = _mm256_set1_epi64x(p.multiplier);
  r.bias_offset = _mm256_set1_epi64x(p.bias + offset);
  r.half_minus_one = _mm256_set1_epi64x(p.shift > 0 ? static_cast<int64_t>(uint64_t(1) << (p.shift - 1)) - 1 : 0);
  r.offset_q = _mm256_set1_epi64x(offset >> p.shift);
  r.one = _mm256_set1_epi64x(p.shift > 0 ? 1 : 0);  // shift 0: no rounding, parity term off
  r.lo = _mm256_set1_epi64x(lo);
  r.hi = _mm256_set1_epi64x(hi);
  r.count = _mm_cvtsi64_si128(p.shift);
  for (int64_t row = 0; row < rows; ++row, acc += acc_stride, out += out_stride) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + i));
      const __m256i even = avx2_requant4(r, _mm256_mul_epi32(a, r.mult));
      const __m256i odd = avx2_requant4(r, _mm256_mul_epi32(_mm256_srli_epi64(a, 32), r.mult));
      avx2_store8(out + i, _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA));
    }
    for (; i + 4 <= count; i += 4) {
      const __m256i a = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(acc + i)));
      avx2_store4_codes(avx2_requant4(r, _mm256_mul_epi32(a, r.mult)), out + i);
    }
    for (; i < count; ++i) out[i] = static_cast<OutT>(apply_requant(acc[i], p, lo, hi));
  }
}

#endif  // BPU_HAVE_AVX512_CODE

// Positions [p0, p1) (y * out_w + x) of im2col row k = (ci, ky, kx) for one image and group into row[0, p1 - p0),
// as unsigned bytes x + 128; rows past K are zero codes (their packed weights are zero too).
[[maybe_unused]] void im2col_range(const ConvGeometry& g, const PackedConvWeights& w, const int8_t* image, int64_t k,
                                   int64_t p0, int64_t p1, uint8_t* row) {
  if (k >= w.K) {
    std::memset(row, kZeroInput, static_cast<size_t>(p1 - p0));
    return;
  }
  const int64_t ci = k / (g.kernel_h * g.kernel_w), ky = (k / g.kernel_w) % g.kernel_h, kx = k % g.kernel_w;
  const int8_t* plane = image + ci * g.in_h * g.in_w;
  const int64_t off = kx * g.dilation_w - g.pad_left, sw = g.stride_w;
  const int64_t x_lo = std::min(off >= 0 ? 0 : (-off + sw - 1) / sw, g.out_w);  // the output columns that read inside
  const int64_t x_hi = std::max(x_lo, (g.in_w - 1 - off) < 0 ? 0 : std::min(g.out_w, (g.in_w - 1 - off) / sw + 1));
  for (int64_t y = p0 / g.out_w; y * g.out_w < p1; ++y) {
    const int64_t a = std::max<int64_t>(p0 - y * g.out_w, 0), b = std::min(p1 - y * g.out_w, g.out_w);
    uint8_t* dst = row + (y * g.out_w + a - p0);
    const int64_t iy = y * g.stride_h - g.pad_top + ky * g.dilation_h;
    if (iy < 0 || iy >= g.in_h) {
      std::memset(dst, kZeroInput, static_cast<size_t>(b - a));
      continue;
    }
    const int64_t v0 = std::clamp(x_lo, a, b), v1 = std::clamp(x_hi, v0, b);
    for (int64_t x = a; x < v0; ++x) dst[x - a] = kZeroInput;  // padding columns: a few, no memset call
    if (v1 > v0) {
      const int64_t first = v0 * sw + off;
      gather_flipped(plane + iy * g.in_w + first, sw, v1 - v0, g.in_w - first, dst + (v0 - a));
    }
    for (int64_t x = v1; x < b; ++x) dst[x - a] = kZeroInput;
  }
}

// The whole of im2col row k (every output position).
[[maybe_unused]] void im2col_row(const ConvGeometry& g, const PackedConvWeights& w, const int8_t* image, int64_t k, uint8_t* row) {
  im2col_range(g, w, image, k, 0, g.out_h * g.out_w, row);
}

// True when |acc| <= acc_bound keeps |acc * m| + |bias| below 2^62, the vector forms' 64-bit condition.
[[maybe_unused]] bool fits_64bit_lanes(int64_t acc_bound, const RequantParams& p) {
  return int128(acc_bound) * (p.multiplier < 0 ? -int128(p.multiplier) : int128(p.multiplier)) +
             (p.bias < 0 ? -int128(p.bias) : int128(p.bias)) < (int128(1) << 62);
}

// Rows of requantize_int32_rows (`rows` of `count`, src_stride and dst_stride apart, one channel): the vector form
// of this CPU when the worst case fits 64 bits, else the scalar function.
template <typename OutT>
void requant_row(const int32_t* src, int64_t count, const RequantParams& p, int64_t acc_bound, int64_t lo, int64_t hi,
                 OutT* dst, int64_t rows = 1, int64_t src_stride = 0, int64_t dst_stride = 0) {
#if BPU_HAVE_AVX512_CODE
  if (fits_64bit_lanes(acc_bound, p)) {
    if (int8_dot_kind() == DotKind::Vnni512) return requant_row_vector(src, count, p, lo, hi, dst, rows, src_stride, dst_stride);
    if (int8_dot_kind() == DotKind::Avx2) return requant_row_avx2(src, count, p, lo, hi, dst, rows, src_stride, dst_stride);
  }
#else
  (void)acc_bound;
#endif
  for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
    for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<OutT>(apply_requant(src[i], p, lo, hi));
  }
}

}  // namespace

bool int8_dot_supported(DotKind kind) {
#if BPU_HAVE_AVX512_CODE
  __builtin_cpu_init();
  if (kind == DotKind::Vnni512 || kind == DotKind::Vnni512Lanes) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
  }
  return kind == DotKind::Avx2 && __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

DotKind int8_dot_kind() {
  static const DotKind kind = [] {
    auto off = [](const char* name) {
      const char* v = std::getenv(name);
      return v && *v && std::string(v) != "0";
    };
    if (!off("BPU_NO_AVX512") && int8_dot_supported(DotKind::Vnni512)) return DotKind::Vnni512;
    if (!off("BPU_NO_AVX2") && int8_dot_supported(DotKind::Avx2)) return DotKind::Avx2;
    return DotKind::None;
  }();
  return kind;
}

bool int8_dot_available() { return int8_dot_kind() != DotKind::None; }

bool int8_dot_accepts(const ConvGeometry& g) {
  return g.groups > 0 && (g.in_channels / g.groups) * g.kernel_h * g.kernel_w <= 65536;
}

// The AVX2 layout: words of two int16 weights (k even in the low half), kPairRows channels per block.
PackedConvWeights pack_pair_weights(const ConvGeometry& g, const int8_t* weight) {
  PackedConvWeights w;
  w.kind = DotKind::Avx2;
  w.groups = g.groups;
  w.cout_g = g.out_channels / g.groups;
  w.K = (g.in_channels / g.groups) * g.kernel_h * g.kernel_w;
  w.k_quads = (w.K + 1) / 2;
  w.row_blocks = (w.cout_g + kPairRows - 1) / kPairRows;
  w.words.assign(static_cast<size_t>(w.groups * w.row_blocks * w.k_quads * kPairRows), 0);
  for (int64_t grp = 0; grp < w.groups; ++grp) {
    for (int64_t co = 0; co < w.cout_g; ++co) {
      const int8_t* src = weight + (grp * w.cout_g + co) * w.K;
      int32_t* block = w.words.data() + (grp * w.row_blocks + co / kPairRows) * w.k_quads * kPairRows;
      for (int64_t k = 0; k < w.K; ++k) {
        int16_t* halves = reinterpret_cast<int16_t*>(block + (k / 2) * kPairRows + co % kPairRows);
        halves[k % 2] = src[k];
      }
    }
  }
  return w;
}

// Four int8 weights per word, `rows` output channels per block laid out [k_quad][rows], the blocks of a group
// rounded up to a multiple of `round` (zero channels past cout_g); correction[grp * stride + co] = 128 * sum(w),
// stride = cout_g, or the group's padded channels when `round` > 1 (the lane kernel loads whole registers).
// `tap_major`: weight k = (ci, tap) goes to k' = tap * 4 * ceil(cin_g / 4) + ci (lane_channels_last).
PackedConvWeights pack_quad_weights(const ConvGeometry& g, const int8_t* weight, DotKind kind, int64_t rows, int64_t round,
                                    bool tap_major) {
  PackedConvWeights w;
  w.kind = kind;
  w.groups = g.groups;
  w.cout_g = g.out_channels / g.groups;
  const int64_t cin_g = g.in_channels / g.groups, taps = g.kernel_h * g.kernel_w, cin_padded = (cin_g + 3) / 4 * 4;
  w.K = cin_g * taps;
  w.k_quads = tap_major ? taps * cin_padded / 4 : (w.K + 3) / 4;
  w.row_blocks = ((w.cout_g + rows - 1) / rows + round - 1) / round * round;
  const int64_t stride = round > 1 ? w.row_blocks * rows : w.cout_g;
  w.words.assign(static_cast<size_t>(w.groups * w.row_blocks * w.k_quads * rows), 0);
  w.correction.assign(static_cast<size_t>(w.groups * stride), 0);
  for (int64_t grp = 0; grp < w.groups; ++grp) {
    for (int64_t co = 0; co < w.cout_g; ++co) {
      const int8_t* src = weight + (grp * w.cout_g + co) * w.K;
      int32_t* block = w.words.data() + (grp * w.row_blocks + co / rows) * w.k_quads * rows;
      int32_t sum = 0;
      for (int64_t k = 0; k < w.K; ++k) {
        sum += src[k];
        const int64_t at = tap_major ? (k % taps) * cin_padded + k / taps : k;
        uint8_t* bytes = reinterpret_cast<uint8_t*>(block + (at / 4) * rows + co % rows);
        bytes[at % 4] = static_cast<uint8_t>(src[k]);
      }
      w.correction[static_cast<size_t>(grp * stride + co)] = 128 * sum;
    }
  }
  return w;
}

bool lane_kernel_fits(const ConvGeometry& g) {
  const int64_t P = g.out_h * g.out_w;
  if (P > kLanePositions && !(g.groups > 1 && g.out_channels / g.groups <= kLaneChannels)) return false;
  // The channel-last copy spans the padded extent the output reads: with wide dilation or stride (an ASPP branch)
  // it outgrows the taps themselves, and the panel kernel's per-group phase rows stay smaller.
  return !lane_channels_last(g) || padded_rows(g) * padded_cols(g) <= 4 * P * g.kernel_h * g.kernel_w;
}

std::vector<int64_t> lane_requant_spread(const PackedConvWeights& w, const RequantParams* params, int64_t acc_bound) {
  const int64_t channels = w.groups * w.row_blocks * kLaneChannels;
  std::vector<RequantParams> lanes(static_cast<size_t>(channels), RequantParams{1, 0, 0});  // padding: neutral
  for (int64_t grp = 0; grp < w.groups; ++grp) {
    for (int64_t co = 0; co < w.cout_g; ++co) {
      const RequantParams& p = params[grp * w.cout_g + co];
      if (!fits_64bit_lanes(acc_bound, p) || p.shift < 0 || p.shift > 62) return {};
      lanes[static_cast<size_t>(grp * w.row_blocks * kLaneChannels + co)] = p;
    }
  }
  std::vector<int64_t> spread;
  spread_requant_params(channels, 1, channels, lanes.data(), spread);
  return spread;
}

PackedConvWeights pack_conv_weights(const ConvGeometry& g, const int8_t* weight, DotKind kind) {
  if (kind == DotKind::Avx2) return pack_pair_weights(g, weight);
  if (kind == DotKind::Vnni512Lanes || (kind == DotKind::Vnni512 && lane_kernel_fits(g))) {
    return pack_quad_weights(g, weight, DotKind::Vnni512Lanes, kLaneChannels, kLaneTileBlocks, lane_channels_last(g));
  }
  return pack_quad_weights(g, weight, kind, kDotRows, 1, false);
}

void conv_accumulate_int8_dot(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w, int32_t* acc,
                              std::vector<uint8_t>& panels, ThreadPool* pool) {
  if (w.kind == DotKind::Vnni512Lanes) return conv_accumulate_int8_lanes(g, input, w, acc, panels, pool);
#if BPU_HAVE_AVX512_CODE
  const bool pairs = w.kind == DotKind::Avx2;
  const int64_t group = pairs ? 2 : 4, cols = pairs ? kPairCols : kDotCols, group_bytes = pairs ? kPairBytes : kQuadBytes;
  const int64_t cin_g = g.in_channels / g.groups;
  const int64_t P = g.out_h * g.out_w;
  const int64_t n_panels = (P + cols - 1) / cols;
  const int64_t padded_cols = n_panels * cols;
  panels.resize(static_cast<size_t>(n_panels * w.k_quads * group_bytes));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const int8_t* image = input + (n * g.in_channels + grp * cin_g) * g.in_h * g.in_w;
      parallel_for(pool, w.k_quads, [&](int64_t q0, int64_t q1) {
        std::vector<uint8_t> rows_storage(static_cast<size_t>(4 * padded_cols), kZeroInput);
        const uint8_t* rows[4];
        for (int j = 0; j < 4; ++j) rows[j] = rows_storage.data() + j * padded_cols;
        for (int64_t kq = q0; kq < q1; ++kq) {
          for (int64_t j = 0; j < group; ++j) im2col_row(g, w, image, kq * group + j, rows_storage.data() + j * padded_cols);
          if (pairs) interleave_pair(rows[0], rows[1], padded_cols, w.k_quads, kq, panels.data());
          else interleave_quad(rows, padded_cols, w.k_quads, kq, panels.data());
        }
      });
      int32_t* out = acc + (n * g.out_channels + grp * w.cout_g) * P;
      parallel_for(pool, n_panels * w.row_blocks, [&](int64_t t0, int64_t t1) {
        if (pairs) pair_tasks(w, grp, panels.data(), P, out, P, t0, t1);
        else dot_tasks(w, grp, panels.data(), P, out, P, t0, t1);
      });
    }
  }
#else
  (void)g, (void)input, (void)w, (void)acc, (void)panels, (void)pool;
#endif
}

namespace {

// Scratch of one worker for conv_int8_dot_requant's blocks, kept between calls.
struct BlockScratch {
  std::vector<uint8_t> rows, panels;
  std::vector<int32_t> acc;
};

// Where a block's im2col rows come from. Strides up to kMaxPhaseStride ("direct"): the padded input planes split
// once into stride phases (phase (ry, rx) holds padded[y * sh + ry][x * sw + rx]) of unsigned codes, `grid`
// columns wide, so im2col row (ci, ky, kx) over the grid positions q = y * grid + x is one contiguous run of
// phase ((ky * dh) % sh, (kx * dw) % sw) from row (ky * dh) / sh, column (kx * dw) / sw; the grid columns
// x >= out_w are computed and dropped. Larger strides gather each row (im2col_range) and grid = out_w.
constexpr int64_t kMaxPhaseStride = 4;
struct RowSource {
  const int8_t* image = nullptr;  // the group's first input plane
  const uint8_t* phases = nullptr;
  int64_t grid = 0, plane = 0;  // positions per grid row; bytes per phase plane
};

// The geometry of one image and group's stride phases (RowSource): grid width and bytes per phase plane; the
// buffer holds every phase plane and a tail of zero codes that the last panels may read past the last plane.
struct PhaseShape {
  int64_t hp, wp, hf, wf;
  size_t bytes;
};
PhaseShape phase_shape(const ConvGeometry& g) {
  const int64_t cin_g = g.in_channels / g.groups, sh = g.stride_h, sw = g.stride_w;
  PhaseShape p;
  p.hp = padded_rows(g);
  p.wp = padded_cols(g);
  p.hf = (p.hp + sh - 1) / sh;
  p.wf = (p.wp + sw - 1) / sw;
  p.bytes = static_cast<size_t>(cin_g * sh * sw * p.hf * p.wf + p.wf + 2 * kDotCols);
  return p;
}

// Rows [h0, h1) of every phase plane of one image and group (RowSource; rows of the phase planes, the rest of
// `phases` left as it was), with the zero-code tail: the panels of grid positions [q0, q1) read only rows
// q0 / grid to (q1 + the largest tap offset) / grid, so each worker builds the rows its own panels read, on its own
// core. Only the padded extent the output reads is kept.
void phase_rows(const ConvGeometry& g, const int8_t* image, int64_t h0, int64_t h1, std::vector<uint8_t>& phases,
                RowSource& src) {
  const int64_t cin_g = g.in_channels / g.groups, sh = g.stride_h, sw = g.stride_w;
  const PhaseShape ps = phase_shape(g);
  const int64_t wf = ps.wf;
  src.grid = wf;
  src.plane = ps.hf * wf;
  h0 = std::max<int64_t>(0, h0);
  h1 = std::min(ps.hf, h1);
  if (phases.size() != ps.bytes) phases.resize(ps.bytes);
  src.phases = phases.data();
  const size_t tail = static_cast<size_t>(cin_g * sh * sw * src.plane);
  std::fill(phases.begin() + static_cast<std::ptrdiff_t>(tail), phases.end(), kZeroInput);
  if (h1 <= h0) return;
  if (sh == 1 && sw == 1 && g.pad_top == 0 && g.pad_left == 0 && wf == g.in_w && ps.hf <= g.in_h) {  // unpadded 1x1-like:
    for (int64_t ci = 0; ci < cin_g; ++ci) {                                                         // whole rows
      gather_flipped(image + ci * g.in_h * g.in_w + h0 * wf, 1, (h1 - h0) * wf, (g.in_h - h0) * g.in_w,
                     phases.data() + ci * src.plane + h0 * wf);
    }
    return;
  }
  // Phase column j of phase rx is padded column j * sw + rx: input columns for j in [j0, j1), zero codes around.
  const int64_t col_end = std::min(ps.wp, g.in_w + g.pad_left);  // padded columns past it are zero codes
  int64_t j0[kMaxPhaseStride], j1[kMaxPhaseStride];
  for (int64_t rx = 0; rx < sw; ++rx) {
    j0[rx] = std::min(wf, g.pad_left > rx ? (g.pad_left - rx + sw - 1) / sw : int64_t{0});
    j1[rx] = std::max(j0[rx], std::min(wf, col_end > rx ? (col_end - rx + sw - 1) / sw : int64_t{0}));
  }
  const int64_t row_end = std::min(ps.hp, g.in_h + g.pad_top);  // padded rows [pad_top, row_end) hold input rows
  for (int64_t ci = 0; ci < cin_g; ++ci) {
    for (int64_t ry = 0; ry < sh; ++ry) {
      for (int64_t y = h0; y < h1; ++y) {
        const int64_t r = y * sh + ry;  // padded row
        const bool data = r >= g.pad_top && r < row_end;
        const int8_t* row = data ? image + (ci * g.in_h + (r - g.pad_top)) * g.in_w : nullptr;
        for (int64_t rx = 0; rx < sw; ++rx) {
          uint8_t* dst = phases.data() + ((ci * sh + ry) * sw + rx) * src.plane + y * wf;
          if (!data) {
            std::memset(dst, kZeroInput, static_cast<size_t>(wf));
            continue;
          }
          for (int64_t j = 0; j < j0[rx]; ++j) dst[j] = kZeroInput;
          const int64_t ix0 = j0[rx] * sw + rx - g.pad_left;
          if (j1[rx] > j0[rx]) gather_flipped(row + ix0, sw, j1[rx] - j0[rx], g.in_w - ix0, dst + j0[rx]);
          for (int64_t j = j1[rx]; j < wf; ++j) dst[j] = kZeroInput;
        }
      }
    }
  }
}

// The phase rows that the panels [panel0, panel1) read (phase_rows): from their first grid row to the row past
// their last position plus the largest tap offset.
std::pair<int64_t, int64_t> panel_phase_rows(const ConvGeometry& g, int64_t grid, int64_t cols, int64_t panel0, int64_t panel1) {
  const int64_t reach = ((g.kernel_h - 1) * g.dilation_h / g.stride_h) * grid + (g.kernel_w - 1) * g.dilation_w / g.stride_w;
  return {panel0 * cols / grid, (panel1 * cols + reach + grid - 1) / grid + 1};
}

// Grid positions [q0, q1) of channel row `acc` requantized into the output plane `dst`, dropping grid columns
// past out_w.
template <typename OutT>
void requant_grid(const ConvGeometry& g, int64_t grid, const int32_t* acc, int64_t q0, int64_t q1,
                  const RequantParams& p, int64_t acc_bound, int64_t lo, int64_t hi, OutT* dst) {
  if (grid == g.out_w) return requant_row(acc, q1 - q0, p, acc_bound, lo, hi, dst + q0);
  auto part = [&](int64_t y, int64_t a, int64_t b) {  // grid positions [a, b) of grid row y, clipped to out_w
    b = std::min(b, y * grid + g.out_w);
    if (b > a) requant_row(acc + (a - q0), b - a, p, acc_bound, lo, hi, dst + y * g.out_w + (a - y * grid));
  };
  int64_t y = q0 / grid;
  if (q0 > y * grid) {
    part(y, q0, std::min(q1, (y + 1) * grid));
    ++y;
  }
  const int64_t full = q1 / grid - y;  // whole grid rows: one call with strides
  if (full > 0) {
    requant_row(acc + (y * grid - q0), g.out_w, p, acc_bound, lo, hi, dst + y * g.out_w, full, grid, g.out_w);
    y += full;
  }
  if (y * grid < q1) part(y, y * grid, q1);
}

// Panels [panel0, panel1) of one image and group: their im2col rows interleaved into block-local panels, the dot
// products into a block-local [cout_g][span] accumulator, requantized into out's rows (P apart, group-relative).
template <typename OutT>
void conv_block(const ConvGeometry& g, const RowSource& src, const PackedConvWeights& w, int64_t grp, int64_t panel0,
                int64_t panel1, const RequantParams* params, int64_t acc_bound, int64_t lo, int64_t hi, OutT* out,
                BlockScratch& s) {
#if BPU_HAVE_AVX512_CODE
  const bool pairs = w.kind == DotKind::Avx2;
  const int64_t group = pairs ? 2 : 4, cols = pairs ? kPairCols : kDotCols, group_bytes = pairs ? kPairBytes : kQuadBytes;
  const int64_t Q = g.out_h * src.grid, q0 = panel0 * cols, q1 = std::min(panel1 * cols, Q);
  const int64_t n = panel1 - panel0, span = n * cols, taps = g.kernel_h * g.kernel_w;
  s.rows.assign(static_cast<size_t>(4 * span), kZeroInput);  // gathered rows; positions past Q stay zero codes
  s.panels.resize(static_cast<size_t>(n * w.k_quads * group_bytes));
  const uint8_t* rows[4];
  for (int64_t kq = 0; kq < w.k_quads; ++kq) {
    for (int64_t j = 0; j < group; ++j) {
      const int64_t k = kq * group + j;
      uint8_t* own = s.rows.data() + j * span;
      rows[j] = own;
      if (src.phases && k < w.K) {
        const int64_t ci = k / taps, ty = (k / g.kernel_w) % g.kernel_h * g.dilation_h, tx = k % g.kernel_w * g.dilation_w;
        const int64_t phase = (ci * g.stride_h + ty % g.stride_h) * g.stride_w + tx % g.stride_w;
        rows[j] = src.phases + phase * src.plane + (ty / g.stride_h) * src.grid + tx / g.stride_w + q0;
      } else if (!src.phases) {
        im2col_range(g, w, src.image, k, q0, q1, own);
      }  // else a row past w.K of the direct form: its own zero codes
    }
    if (pairs) interleave_pair(rows[0], rows[1], span, w.k_quads, kq, s.panels.data());
    else interleave_quad(rows, span, w.k_quads, kq, s.panels.data());
  }
  s.acc.resize(static_cast<size_t>(w.cout_g * span));
  if (pairs) pair_tasks(w, grp, s.panels.data(), q1 - q0, s.acc.data(), span, 0, n * w.row_blocks);
  else dot_tasks(w, grp, s.panels.data(), q1 - q0, s.acc.data(), span, 0, n * w.row_blocks);
  const int64_t P = g.out_h * g.out_w;
  for (int64_t c = 0; c < w.cout_g; ++c) {
    requant_grid(g, src.grid, s.acc.data() + c * span, q0, q1, params[c], acc_bound, lo, hi, out + c * P);
  }
#else
  (void)g, (void)src, (void)w, (void)grp, (void)panel0, (void)panel1, (void)params, (void)acc_bound, (void)lo,
      (void)hi, (void)out, (void)s;
#endif
}

}  // namespace

template <typename OutT>
void conv_int8_dot_requant(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w,
                           const RequantParams* params, int64_t acc_bound, int64_t lo, int64_t hi, OutT* out,
                           ThreadPool* pool) {
  const bool pairs = w.kind == DotKind::Avx2;
  const int64_t cols = pairs ? kPairCols : kDotCols, group_bytes = pairs ? 4 * kPairCols : 4 * kDotCols;
  const int64_t cin_g = g.in_channels / g.groups, P = g.out_h * g.out_w;
  const bool direct = g.stride_h <= kMaxPhaseStride && g.stride_w <= kMaxPhaseStride;
  // Panels per block: the block's panels and accumulators within about kBlockBytes (a core's L2 share).
  const int64_t panel_bytes = w.k_quads * group_bytes + w.cout_g * cols * 4;
  const int64_t block = std::max<int64_t>(1, kBlockBytes / panel_bytes);
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      RowSource shared;
      shared.image = input + (n * g.in_channels + grp * cin_g) * g.in_h * g.in_w;
      shared.grid = direct ? phase_shape(g).wf : g.out_w;
      const int64_t n_panels = (g.out_h * shared.grid + cols - 1) / cols;
      OutT* dst = out + (n * g.out_channels + grp * w.cout_g) * P;
      parallel_for(pool, n_panels, [&](int64_t a, int64_t b) {
        thread_local BlockScratch scratch;
        thread_local std::vector<uint8_t> phases;  // this thread's phase rows
        RowSource src = shared;
        if (direct) {
          const auto [h0, h1] = panel_phase_rows(g, shared.grid, cols, a, b);
          phase_rows(g, src.image, h0, h1, phases, src);
        }
        for (int64_t c = a; c < b; c += block) {
          conv_block(g, src, w, grp, c, std::min(b, c + block), params + grp * w.cout_g, acc_bound, lo, hi, dst, scratch);
        }
      });
    }
  }
}

#define BPU_CONV_DOT_REQUANT(OutT)                                                                                    \
  template void conv_int8_dot_requant<OutT>(const ConvGeometry&, const int8_t*, const PackedConvWeights&,            \
                                            const RequantParams*, int64_t, int64_t, int64_t, OutT*, ThreadPool*);
BPU_CONV_DOT_REQUANT(int8_t)
BPU_CONV_DOT_REQUANT(int16_t)
BPU_CONV_DOT_REQUANT(int32_t)
#undef BPU_CONV_DOT_REQUANT

template <typename OutT>
void requantize_int32_rows(const int32_t* acc, int64_t batch, int64_t channels, int64_t plane,
                           const RequantParams* params, int64_t acc_bound, int64_t lo, int64_t hi, OutT* out,
                           ThreadPool* pool, std::vector<int64_t>* spread_cache) {
#if BPU_HAVE_AVX512_CODE
  if (plane < 8 && int8_dot_kind() == DotKind::Vnni512) {
    bool fits = true;  // the 64-bit lanes hold every row's worst case
    for (int64_t c = 0; c < channels && fits; ++c) fits = fits_64bit_lanes(acc_bound, params[c]);
    if (fits) {
      constexpr int64_t kRowsPerTask = 64;
      const int64_t rows = batch * channels, tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
      const int64_t stride = (rows * plane + 7) / 8 * 8;
      std::vector<int64_t> local;
      std::vector<int64_t>& spread = spread_cache ? *spread_cache : local;
      if (spread.size() != static_cast<size_t>(5 * stride)) spread_requant_params(rows, plane, channels, params, spread);
      parallel_for(pool, tasks, [&](int64_t t0, int64_t t1) {
        const int64_t r0 = t0 * kRowsPerTask, r1 = std::min(rows, t1 * kRowsPerTask);
        requant_short_rows_vector(acc + r0 * plane, (r1 - r0) * plane, spread.data() + r0 * plane, stride, lo, hi,
                                  out + r0 * plane);
      });
      return;
    }
  }
#endif
  parallel_for(pool, batch * channels, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      requant_row(acc + r * plane, plane, params[r % channels], acc_bound, lo, hi, out + r * plane);
    }
  });
}

template void requantize_int32_rows<int8_t>(const int32_t*, int64_t, int64_t, int64_t, const RequantParams*, int64_t,
                                            int64_t, int64_t, int8_t*, ThreadPool*,
                                            std::vector<int64_t>*);
template void requantize_int32_rows<int16_t>(const int32_t*, int64_t, int64_t, int64_t, const RequantParams*, int64_t,
                                             int64_t, int64_t, int16_t*, ThreadPool*,
                                             std::vector<int64_t>*);
template void requantize_int32_rows<int32_t>(const int32_t*, int64_t, int64_t, int64_t, const RequantParams*, int64_t,
                                             int64_t, int64_t, int32_t*, ThreadPool*,
                                             std::vector<int64_t>*);

}  // namespace bpu::kernels
