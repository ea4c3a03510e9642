// AVX-512 VNNI CONV2D for small output planes (conv2d_int8_dot.h, DotKind::Vnni512Lanes): the late stages of a
// network at low resolution (2x2, 4x4 planes with 512-2048 channels) leave most of the 16 position lanes of the
// panel kernel empty, so here the lanes are 16 output channels instead. Weights are packed per block of 16
// channels as [k_quad][16 lanes][4 bytes]; each output position's im2col column is a run of k-quads of unsigned
// bytes (x + 128) broadcast to all lanes; a tile of 4 positions x 64 channels keeps 16 accumulators in registers
// (a last tile of 16-48 live channels uses 1-3 registers: no multiply-adds for padding channels).
// The sums are the same exact integers (corrected by 128 * sum(w) per channel) as every other kernel's.

#include <algorithm>
#include <cstring>
#include <vector>

#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"
#include "common/thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define BPU_HAVE_LANES_CODE 1
#define BPU_AVX512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#else
#define BPU_HAVE_LANES_CODE 0
#endif

namespace bpu::kernels {

namespace {

constexpr int64_t kTileBlocks = kLaneTileBlocks;              // registers of channels per tile (64 channels)
constexpr int64_t kTilePositions = 4;                          // output positions per tile
constexpr uint8_t kZero = 0x80;                                // input 0 as unsigned 0 + 128

// cols[p * k_quads * 4 + k] = input tap k of output position p as x + 128 (0x80 in the padding and past K), for
// P positions padded to `positions` (a multiple of kTilePositions). Kernels of kRunTaps or more columns with
// dilation_w 1 copy each kernel row as one run of input bytes (a 16x16 patch embedding: 16-byte runs); smaller
// kernels (1x1, 3x3: the late stages) go tap by tap through a table of input offsets, one input channel at a time.
constexpr int64_t kRunTaps = 8;

void lane_columns_by_runs(const ConvGeometry& g, const int8_t* image, int64_t cin_g, int64_t stride, int64_t P,
                          uint8_t* cols) {
  const int64_t taps = g.kernel_h * g.kernel_w, plane = g.in_h * g.in_w;
  for (int64_t p = 0; p < P; ++p) {
    const int64_t oy = p / g.out_w, x0 = (p % g.out_w) * g.stride_w - g.pad_left;
    const int64_t kx_lo = std::max<int64_t>(0, -x0), kx_hi = std::min<int64_t>(g.kernel_w, g.in_w - x0);
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
      if (iy < 0 || iy >= g.in_h) continue;
      for (int64_t ci = 0; ci < cin_g; ++ci) {
        const int8_t* row = image + ci * plane + iy * g.in_w;  // x0 may be negative: indexed, never offset by it
        uint8_t* dst = cols + p * stride + ci * taps + ky * g.kernel_w;
        for (int64_t kx = kx_lo; kx < kx_hi; ++kx) dst[kx] = static_cast<uint8_t>(row[x0 + kx]) ^ kZero;
      }
    }
  }
}

void lane_columns(const ConvGeometry& g, const int8_t* image, int64_t cin_g, int64_t k_quads, int64_t P,
                  int64_t positions, std::vector<uint8_t>& cols) {
  const int64_t taps = g.kernel_h * g.kernel_w, stride = k_quads * 4;
  cols.assign(static_cast<size_t>(positions * stride), kZero);
  if (g.kernel_w >= kRunTaps && g.dilation_w == 1) return lane_columns_by_runs(g, image, cin_g, stride, P, cols.data());
  // A local table (a thread_local one measured 2x slower: the byte stores below may alias its fields).
  std::vector<int64_t> offset(static_cast<size_t>(P * taps), -1);  // input offset of (p, tap) in a plane, or -1
  for (int64_t p = 0; p < P; ++p) {
    const int64_t oy = p / g.out_w, ox = p % g.out_w;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t iy = oy * g.stride_h - g.pad_top + (t / g.kernel_w) * g.dilation_h;
      const int64_t ix = ox * g.stride_w - g.pad_left + (t % g.kernel_w) * g.dilation_w;
      if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w) offset[static_cast<size_t>(p * taps + t)] = iy * g.in_w + ix;
    }
  }
  for (int64_t ci = 0; ci < cin_g; ++ci) {
    const int8_t* plane = image + ci * g.in_h * g.in_w;
    for (int64_t p = 0; p < P; ++p) {
      uint8_t* dst = cols.data() + p * stride + ci * taps;
      const int64_t* off = offset.data() + p * taps;
      for (int64_t t = 0; t < taps; ++t) {
        if (off[t] >= 0) dst[t] = static_cast<uint8_t>(plane[off[t]]) ^ kZero;
      }
    }
  }
}

#if BPU_HAVE_LANES_CODE
// One tile: positions [p0, p0 + 4) x channel blocks [b0, b0 + Blocks) of one group, over every k-quad.
template <int Blocks>
BPU_AVX512 void lane_tile(const PackedConvWeights& w, int64_t grp, const uint8_t* cols, int64_t P, int64_t p0,
                          int64_t b0, int32_t* out) {
  __m512i acc[kTilePositions][Blocks];
#pragma GCC unroll 4
  for (int p = 0; p < kTilePositions; ++p) {
#pragma GCC unroll 4
    for (int b = 0; b < Blocks; ++b) acc[p][b] = _mm512_setzero_si512();
  }
  const int64_t block_words = w.k_quads * kLaneChannels;
  const int32_t* words = w.words.data() + (grp * w.row_blocks + b0) * block_words;
  const int64_t stride = w.k_quads * 4;
  for (int64_t kq = 0; kq < w.k_quads; ++kq) {
    __m512i wv[Blocks];
#pragma GCC unroll 4
    for (int b = 0; b < Blocks; ++b) wv[b] = _mm512_loadu_si512(words + b * block_words + kq * kLaneChannels);
#pragma GCC unroll 4
    for (int p = 0; p < kTilePositions; ++p) {
      int32_t quad;
      std::memcpy(&quad, cols + (p0 + p) * stride + kq * 4, 4);
      const __m512i x = _mm512_set1_epi32(quad);
#pragma GCC unroll 4
      for (int b = 0; b < Blocks; ++b) acc[p][b] = _mm512_dpbusd_epi32(acc[p][b], x, wv[b]);
    }
  }
  alignas(64) int32_t lanes[kLaneChannels];
  for (int b = 0; b < Blocks; ++b) {
    const int64_t co0 = (b0 + b) * kLaneChannels, n = std::min(kLaneChannels, w.cout_g - co0);
    if (n <= 0) break;
    const __m512i corr = _mm512_loadu_si512(w.correction.data() + grp * w.row_blocks * kLaneChannels + co0);
    for (int p = 0; p < kTilePositions && p0 + p < P; ++p) {
      _mm512_store_si512(lanes, _mm512_sub_epi32(acc[p][b], corr));
      for (int64_t l = 0; l < n; ++l) out[(co0 + l) * P + p0 + p] = lanes[l];
    }
  }
}
#endif

}  // namespace

void conv_accumulate_int8_lanes(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w, int32_t* acc,
                                std::vector<uint8_t>& cols, ThreadPool* pool) {
#if BPU_HAVE_LANES_CODE
  const int64_t cin_g = g.in_channels / g.groups, P = g.out_h * g.out_w;
  const int64_t position_tiles = (P + kTilePositions - 1) / kTilePositions, channel_tiles = w.row_blocks / kTileBlocks;
  const int64_t live_blocks = (w.cout_g + kLaneChannels - 1) / kLaneChannels;  // blocks past it are padding
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      // The columns are built once, before the split: built by each worker for its own positions they cost more
      // (measured: late 2x2 stages have one position tile, so both workers built all of them).
      lane_columns(g, input + (n * g.in_channels + grp * cin_g) * g.in_h * g.in_w, cin_g, w.k_quads, P,
                   position_tiles * kTilePositions, cols);
      const uint8_t* c = cols.data();
      int32_t* out = acc + (n * g.out_channels + grp * w.cout_g) * P;
      parallel_for(pool, position_tiles * channel_tiles, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t p0 = (t % position_tiles) * kTilePositions, b0 = (t / position_tiles) * kTileBlocks;
          switch (std::min<int64_t>(kTileBlocks, live_blocks - b0)) {  // no multiply-adds for the padding blocks
            case 1: lane_tile<1>(w, grp, c, P, p0, b0, out); break;
            case 2: lane_tile<2>(w, grp, c, P, p0, b0, out); break;
            case 3: lane_tile<3>(w, grp, c, P, p0, b0, out); break;
            default: lane_tile<4>(w, grp, c, P, p0, b0, out); break;
          }
        }
      });
    }
  }
#else
  (void)g, (void)input, (void)w, (void)acc, (void)cols, (void)pool;
#endif
}

}  // namespace bpu::kernels
