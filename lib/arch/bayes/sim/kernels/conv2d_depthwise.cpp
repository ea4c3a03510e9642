// Depthwise CONV2D, int8 input: for each (image, channel) plane, the zero-bordered input rows as int32, then
// w[ky][kx] times them summed over the taps into int32 outputs (padding contributes zero, as in the reference):
// 3x3 stride 1 and 2 with their own loops, any other geometry through stride phases, small planes channel-last
// (int16 tap pairs for kernels of 5+ columns on AVX-512 VNNI hosts, int32 elsewhere). Intrinsics only in the
// function marked BPU_DW_AVX512, called only after int8_dot_kind() found AVX-512 VNNI.

#include "arch/bayes/sim/kernels/conv2d_depthwise.h"

#include <algorithm>
#include <vector>

#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"
#include "common/thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BPU_DW_AVX512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define BPU_DW_PAIRS 1
#else
#define BPU_DW_PAIRS 0
#endif

namespace bpu::kernels {

namespace {
constexpr int64_t kPairChannels = 16;  // channels per block of the pair form (one 512-bit register of words)
}  // namespace

bool depthwise_accepts(const ConvGeometry& g) {
  return g.groups > 1 && g.groups == g.in_channels && g.groups == g.out_channels && g.kernel_h * g.kernel_w <= 65536;
}

namespace {

// Any kernel, stride and dilation (MobileNetV3's and MnasNet's 5x5 among them): the plane as stride phases of the
// zero-bordered plane (phase (a, b) row i, column j = padded row i * sh + a, column j * sw + b), int32 rows of one
// width qw, so every tap is one unit-stride multiply-add over the output rows laid end to end `qw` apart (the
// qw - out_w columns between rows are computed and dropped).
void depthwise_plane_phases(const ConvGeometry& g, const int8_t* plane, const int8_t* w, int32_t* out,
                            std::vector<int32_t>& buf) {
  const int64_t sh = g.stride_h, sw = g.stride_w;
  const int64_t pw = (g.out_w - 1) * sw + (g.kernel_w - 1) * g.dilation_w + 1;
  const int64_t qw = (pw + sw - 1) / sw;
  const int64_t rows = g.out_h + (g.kernel_h - 1) * g.dilation_h / sh, q = rows * qw;  // rows per phase
  const int64_t span = (g.out_h - 1) * qw + g.out_w;
  buf.resize(static_cast<size_t>(sh * sw * q + span));
  int32_t* acc = buf.data() + sh * sw * q;
  for (int64_t a = 0; a < sh; ++a) {
    for (int64_t b = 0; b < sw; ++b) {
      // columns j with 0 <= j * sw + b - pad_left < in_w
      const int64_t lo = g.pad_left - b, hi = g.in_w + g.pad_left - b;
      const int64_t j0 = std::min(qw, lo <= 0 ? int64_t(0) : (lo + sw - 1) / sw);
      const int64_t j1 = std::max(j0, std::min(qw, hi <= 0 ? int64_t(0) : (hi + sw - 1) / sw));
      for (int64_t i = 0; i < rows; ++i) {
        int32_t* dst = buf.data() + (a * sw + b) * q + i * qw;
        const int64_t iy = i * sh + a - g.pad_top;
        if (iy < 0 || iy >= g.in_h) {
          std::fill(dst, dst + qw, 0);
          continue;
        }
        const int8_t* src = plane + iy * g.in_w + b - g.pad_left;
        std::fill(dst, dst + j0, 0);
        for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * sw];
        std::fill(dst + j1, dst + qw, 0);
      }
    }
  }
  std::fill(acc, acc + span, 0);
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    const int64_t ry = ky * g.dilation_h;
    for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
      const int64_t rx = kx * g.dilation_w;
      const int32_t tap = w[ky * g.kernel_w + kx];
      const int32_t* src = buf.data() + ((ry % sh) * sw + rx % sw) * q + (ry / sh) * qw + rx / sw;
      for (int64_t f = 0; f < span; ++f) acc[f] += tap * src[f];
    }
  }
  for (int64_t y = 0; y < g.out_h; ++y) std::copy(acc + y * qw, acc + y * qw + g.out_w, out + y * g.out_w);
}

// Row y of the plane with its zero border: columns [0, pw) hold input column x - pad_left, zero outside.
void padded_row(const ConvGeometry& g, const int8_t* plane, int64_t y, int64_t pw, int32_t* dst) {
  const int64_t iy = y - g.pad_top;
  if (iy < 0 || iy >= g.in_h) {
    std::fill(dst, dst + pw, 0);
    return;
  }
  const int64_t x_begin = std::min(pw, g.pad_left), x_end = std::max(x_begin, std::min(pw, g.pad_left + g.in_w));
  const int8_t* src = plane + iy * g.in_w - g.pad_left;
  std::fill(dst, dst + x_begin, 0);
  for (int64_t x = x_begin; x < x_end; ++x) dst[x] = src[x];
  std::fill(dst + x_end, dst + pw, 0);
}

// 3x3 stride 1 without dilation (MobileNet's case): the plane copied once into a zero-bordered int32 buffer,
// then every output is the nine-tap sum in one pass over the row (no per-tap bounds; the compiler vectorizes).
void depthwise_plane_3x3_s1(const ConvGeometry& g, const int8_t* plane, const int8_t* w, int32_t* out,
                            std::vector<int32_t>& padded) {
  const int64_t ph = g.out_h + 2, pw = g.out_w + 2;
  padded.resize(static_cast<size_t>(ph * pw));
  for (int64_t y = 0; y < ph; ++y) padded_row(g, plane, y, pw, padded.data() + y * pw);
  const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
  for (int64_t y = 0; y < g.out_h; ++y) {
    const int32_t* r0 = padded.data() + y * pw;
    const int32_t* r1 = r0 + pw;
    const int32_t* r2 = r1 + pw;
    int32_t* row = out + y * g.out_w;
    for (int64_t x = 0; x < g.out_w; ++x) {
      row[x] = w0 * r0[x] + w1 * r0[x + 1] + w2 * r0[x + 2] + w3 * r1[x] + w4 * r1[x + 1] + w5 * r1[x + 2] +
               w6 * r2[x] + w7 * r2[x + 1] + w8 * r2[x + 2];
    }
  }
}

// 3x3 stride 2: the zero-bordered rows split into their even and odd columns, so output x reads even[x],
// odd[x] and even[x + 1] of three rows: unit-stride loops instead of stride-2 gathers.
void depthwise_plane_3x3_s2(const ConvGeometry& g, const int8_t* plane, const int8_t* w, int32_t* out,
                            std::vector<int32_t>& padded) {
  const int64_t ph = 2 * g.out_h + 1, pw = 2 * g.out_w + 1, half = g.out_w + 1;  // even: half, odd: out_w (+1 spare)
  padded.resize(static_cast<size_t>(ph * 2 * half + pw));
  int32_t* row = padded.data() + ph * 2 * half;
  for (int64_t y = 0; y < ph; ++y) {
    padded_row(g, plane, y, pw, row);
    int32_t* even = padded.data() + y * 2 * half;
    int32_t* odd = even + half;
    for (int64_t j = 0; j < half; ++j) even[j] = row[2 * j];
    for (int64_t j = 0; j < g.out_w; ++j) odd[j] = row[2 * j + 1];
  }
  const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
  for (int64_t y = 0; y < g.out_h; ++y) {
    const int32_t* e0 = padded.data() + (2 * y) * 2 * half;
    const int32_t* e1 = e0 + 2 * half;
    const int32_t* e2 = e1 + 2 * half;
    const int32_t *o0 = e0 + half, *o1 = e1 + half, *o2 = e2 + half;
    int32_t* dst = out + y * g.out_w;
    for (int64_t x = 0; x < g.out_w; ++x) {
      dst[x] = w0 * e0[x] + w1 * o0[x] + w2 * e0[x + 1] + w3 * e1[x] + w4 * o1[x] + w5 * e1[x + 1] + w6 * e2[x] +
               w7 * o2[x] + w8 * e2[x + 1];
    }
  }
}

// The zero-bordered frame of one channel-last image: ph x pw padded pixels, input rows [y0, y1) and columns
// [x0, x1) (the rest is padding).
struct Frame {
  int64_t ph, pw, y0, y1, x0, x1;
};
Frame channels_last_frame(const ConvGeometry& g) {
  Frame f;
  f.ph = padded_rows(g);
  f.pw = padded_cols(g);
  f.y0 = std::max<int64_t>(0, g.pad_top);
  f.y1 = std::min(f.ph, g.pad_top + g.in_h);
  f.x0 = std::max<int64_t>(0, g.pad_left);
  f.x1 = std::min(f.pw, g.pad_left + g.in_w);
  return f;
}

// Channel-last sums ([P][Cq]) of channels [c0, c1) back to out's [C][P] planes.
void channels_first(const std::vector<int32_t>& pixels, int64_t Cq, int64_t c0, int64_t c1, int64_t P, int32_t* out) {
  for (int64_t c = 0; c < c1 - c0; ++c) {
    for (int64_t p = 0; p < P; ++p) out[(c0 + c) * P + p] = pixels[static_cast<size_t>(p * Cq + c)];
  }
}

// Channels [c0, c1) of one image channel-last, for small planes (late MobileNet stages: 4x4 or 2x2 with 100+
// channels), where the per-plane loops are too short to vectorize: a zero-bordered [ph][pw][Cq] int32 copy (Cq:
// the range rounded up to 8), each output pixel's taps summed for 8 channels at a time in registers with the
// tap-major weights `wt` ([taps][Cp], depthwise_tap_weights), then transposed back to [C][out_h * out_w]. Any
// geometry; taps in the padding are skipped; c0 is a multiple of 8.
void depthwise_image_channels_last(const ConvGeometry& g, const int8_t* image, const int32_t* wt, int64_t Cp, int64_t c0,
                                   int64_t c1, int32_t* out, std::vector<int32_t>& padded, std::vector<int32_t>& pixels) {
  constexpr int64_t kVec = 8;
  const int64_t C = c1 - c0, Cq = (C + kVec - 1) / kVec * kVec, taps = g.kernel_h * g.kernel_w;
  const int64_t P = g.out_h * g.out_w;
  const auto [ph, pw, y0, y1, x0, x1] = channels_last_frame(g);
  padded.assign(static_cast<size_t>(ph * pw * Cq), 0);
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t c = 0; c < C; ++c) {
      const int8_t* src = image + (c0 + c) * g.in_h * g.in_w + (y - g.pad_top) * g.in_w - g.pad_left;
      int32_t* dst = padded.data() + y * pw * Cq + c;
      for (int64_t x = x0; x < x1; ++x) dst[x * Cq] = src[x];
    }
  }
  pixels.resize(static_cast<size_t>(P * Cq));
  std::vector<std::pair<int64_t, int64_t>> live;  // a pixel's taps off the padding: input and weight offsets
  live.reserve(static_cast<size_t>(taps));
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      live.clear();
      for (int64_t ky = 0, r = oy * g.stride_h; ky < g.kernel_h; ++ky, r += g.dilation_h) {
        if (r < y0 || r >= y1) continue;
        for (int64_t kx = 0, x = ox * g.stride_w; kx < g.kernel_w; ++kx, x += g.dilation_w) {
          if (x >= x0 && x < x1) live.emplace_back((r * pw + x) * Cq, (ky * g.kernel_w + kx) * Cp + c0);
        }
      }
      int32_t* dst = pixels.data() + (oy * g.out_w + ox) * Cq;
      for (int64_t cc = 0; cc < Cq; cc += kVec) {
        int32_t sum[kVec] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (const auto& [in_offset, w_offset] : live) {
          const int32_t* src = padded.data() + in_offset + cc;
          const int32_t* wv = wt + w_offset + cc;
          for (int64_t j = 0; j < kVec; ++j) sum[j] += wv[j] * src[j];
        }
        for (int64_t j = 0; j < kVec; ++j) dst[cc + j] = sum[j];
      }
    }
  }
  channels_first(pixels, Cq, c0, c1, P, out);
}

// The int16 pair (lo, hi) as one little-endian word: the element of the pair form's copy and weights.
int32_t pair_word(int32_t lo, int32_t hi) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) | static_cast<uint32_t>(hi) << 16);
}

// The pair form of the channel-last kernel (pair_form): the zero-bordered copy holds, per pixel (y, x) and
// channel, the int16 pair (p[y][x], p[y][x + dw]), so kernel taps kx = 2j and 2j + 1 of one row are one pair and
// one VPDPWSSD sums both for 16 channels against the pair weights ([kh][pairs][Cp] words,
// depthwise_tap_weights). |pair sum| <= 2 * 128 * 128, so the int32 sums are exact and equal the per-tap sums.
// Taps whose rows or both columns fall in the padding are skipped (2x2 planes under a 5x5 kernel: 84 % of the
// taps). c0 is a multiple of 16.
struct PairTap {
  int64_t input, weight;  // offsets into the pair copy (a pixel's base added) and the pair weights
};
#if BPU_DW_PAIRS
BPU_DW_AVX512 void pair_pixels_vnni(const std::vector<PairTap>& taps, const int32_t* base, const int32_t* wp, int64_t Cq,
                                    int32_t* dst) {
  for (int64_t cc = 0; cc < Cq; cc += 16) {
    __m512i acc = _mm512_setzero_si512();
    for (const PairTap& t : taps) {
      acc = _mm512_dpwssd_epi32(acc, _mm512_loadu_si512(base + t.input + cc), _mm512_loadu_si512(wp + t.weight + cc));
    }
    _mm512_storeu_si512(dst + cc, acc);
  }
}
#endif

void depthwise_image_channels_last_pairs(const ConvGeometry& g, const int8_t* image, const int32_t* wp, int64_t Cp,
                                         int64_t c0, int64_t c1, int32_t* out, std::vector<int32_t>& padded,
                                         std::vector<int32_t>& pixels) {
  const int64_t C = c1 - c0, Cq = (C + kPairChannels - 1) / kPairChannels * kPairChannels;
  const int64_t P = g.out_h * g.out_w, pairs = (g.kernel_w + 1) / 2, dw = g.dilation_w;
  const auto [ph, pw, y0, y1, x0, x1] = channels_last_frame(g);
  padded.assign(static_cast<size_t>(ph * pw * Cq), 0);
  const int64_t HW = g.in_h * g.in_w;
  for (int64_t y = y0; y < y1; ++y) {  // pixel by pixel: the stores run along the channels
    const int8_t* src = image + c0 * HW + (y - g.pad_top) * g.in_w - g.pad_left;
    int32_t* row = padded.data() + y * pw * Cq;
    for (int64_t x = std::max<int64_t>(0, x0 - dw); x < x1; ++x) {  // words with a half on an input column
      int32_t* dst = row + x * Cq;
      const bool lo = x >= x0, hi = x + dw >= x0 && x + dw < x1;  // x < x1 always
      if (lo && hi) {
        for (int64_t c = 0; c < C; ++c) dst[c] = pair_word(src[c * HW + x], src[c * HW + x + dw]);
      } else if (lo) {
        for (int64_t c = 0; c < C; ++c) dst[c] = pair_word(src[c * HW + x], 0);
      } else if (hi) {
        for (int64_t c = 0; c < C; ++c) dst[c] = pair_word(0, src[c * HW + x + dw]);
      }
    }
  }
  pixels.resize(static_cast<size_t>(P * Cq));
  std::vector<PairTap> taps;
  taps.reserve(static_cast<size_t>(g.kernel_h * pairs));
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      taps.clear();
      for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
        const int64_t r = oy * g.stride_h + ky * g.dilation_h;
        if (r < y0 || r >= y1) continue;
        for (int64_t j = 0; j < pairs; ++j) {
          const int64_t x = ox * g.stride_w + 2 * j * dw;  // the pair's columns x and x + dw
          const bool second = 2 * j + 1 < g.kernel_w;
          if (!((x >= x0 && x < x1) || (second && x + dw >= x0 && x + dw < x1))) continue;
          taps.push_back({(r * pw + x) * Cq, (ky * pairs + j) * Cp + c0});
        }
      }
      int32_t* dst = pixels.data() + (oy * g.out_w + ox) * Cq;
#if BPU_DW_PAIRS
      pair_pixels_vnni(taps, padded.data(), wp, Cq, dst);
#else
      (void)wp, (void)dst;  // pair_form() is false without the x86 vector code
#endif
    }
  }
  channels_first(pixels, Cq, c0, c1, P, out);
}

// The pair form runs where the dot kernels found AVX-512 VNNI (the same switch, BPU_NO_AVX512), for kernels of 5 or
// more columns. Measured (scripts/bench/depthwise_threads.cpp, one thread): 5x5 on 72x8x8 16.8 -> 13.4 us, 240x4x4
// 15.6 -> 8.6 us, 576x2x2 9.5 -> 5.3 us; 3x3 kernels lose (88x8x8 9.8 -> 11.6 us: the pair copy writes every input
// twice, and 9 taps are only 6 pairs), as does the AVX2 form (VPMADDWD + VPADDD) on 5x5 8x8 (16.8 -> 21.5 us).
bool pair_form(const ConvGeometry& g) { return BPU_DW_PAIRS && g.kernel_w >= 5 && int8_dot_kind() == DotKind::Vnni512; }

}  // namespace

bool depthwise_channels_last(const ConvGeometry& g) { return g.out_h * g.out_w <= kChannelsLastPixels; }

std::vector<int32_t> depthwise_tap_weights(const ConvGeometry& g, const int8_t* weight) {
  const int64_t C = g.in_channels, taps = g.kernel_h * g.kernel_w;
  if (pair_form(g)) {  // [kh][pairs][Cp] words of the int16 pair (w[ky][2j], w[ky][2j + 1] or 0)
    const int64_t Cp = (C + kPairChannels - 1) / kPairChannels * kPairChannels, pairs = (g.kernel_w + 1) / 2;
    std::vector<int32_t> wp(static_cast<size_t>(g.kernel_h * pairs * Cp), 0);
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
        for (int64_t j = 0; j < pairs; ++j) {
          const int8_t* w = weight + c * taps + ky * g.kernel_w + 2 * j;
          wp[static_cast<size_t>((ky * pairs + j) * Cp + c)] = pair_word(w[0], 2 * j + 1 < g.kernel_w ? w[1] : 0);
        }
      }
    }
    return wp;
  }
  const int64_t Cp = (C + 7) / 8 * 8;
  std::vector<int32_t> wt(static_cast<size_t>(taps * Cp), 0);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t t = 0; t < taps; ++t) wt[static_cast<size_t>(t * Cp + c)] = weight[c * taps + t];
  }
  return wt;
}

void depthwise_accumulate_int8(const ConvGeometry& g, const int8_t* input, const int8_t* weight, int32_t* acc,
                               ThreadPool* pool, const std::vector<int32_t>* tap_weights) {
  const int64_t planes = g.batch * g.in_channels;
  const int64_t taps = g.kernel_h * g.kernel_w;
  if (depthwise_channels_last(g)) {  // small planes: channel-last, blocks of 8 channels across the workers
    std::vector<int32_t> own;
    if (!tap_weights) own = depthwise_tap_weights(g, weight);
    const std::vector<int32_t>& wt = tap_weights ? *tap_weights : own;
    const bool pairs = pair_form(g);
    const int64_t C = g.in_channels, block = pairs ? kPairChannels : 8, Cp = (C + block - 1) / block * block;
    for (int64_t n = 0; n < g.batch; ++n) {
      parallel_for(pool, Cp / block, [&](int64_t b0, int64_t b1) {
        thread_local std::vector<int32_t> padded, pixels;
        const int8_t* image = input + n * C * g.in_h * g.in_w;
        int32_t* out = acc + n * g.out_channels * g.out_h * g.out_w;
        const int64_t c0 = b0 * block, c1 = std::min(C, b1 * block);
        if (pairs) depthwise_image_channels_last_pairs(g, image, wt.data(), Cp, c0, c1, out, padded, pixels);
        else depthwise_image_channels_last(g, image, wt.data(), Cp, c0, c1, out, padded, pixels);
      });
    }
    return;
  }
  const bool three = g.kernel_h == 3 && g.kernel_w == 3 && g.dilation_h == 1 && g.dilation_w == 1 &&
                     g.stride_h == g.stride_w && (g.stride_h == 1 || g.stride_h == 2);
  // Whole planes per worker. (Output rows of every plane per worker, to keep each core on the rows the dot CONV2D
  // before it wrote, measured slower: 96x16x16 3x3 1.1-1.5x the one-thread time against 0.52x by planes.)
  auto body = [&](int64_t p0, int64_t p1) {
    thread_local std::vector<int32_t> padded;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % g.in_channels;
      const int8_t* plane = input + p * g.in_h * g.in_w;
      int32_t* out = acc + p * g.out_h * g.out_w;
      if (three && g.stride_h == 1) depthwise_plane_3x3_s1(g, plane, weight + c * taps, out, padded);
      else if (three) depthwise_plane_3x3_s2(g, plane, weight + c * taps, out, padded);
      else depthwise_plane_phases(g, plane, weight + c * taps, out, padded);
    }
  };
  parallel_for(pool, planes, body);
}

}  // namespace bpu::kernels
