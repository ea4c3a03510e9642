// AVX-512 VNNI CONV2D for small output planes and small groups (conv2d_int8_dot.h, DotKind::Vnni512Lanes, chosen
// by lane_kernel_fits): the late stages of a network at low resolution (2x2, 4x4 planes with 512-2048 channels)
// leave most of the 16 position lanes of the panel kernel empty, and grouped convolutions with 8 channels per
// group (RegNet) pay the panel kernel's per-group im2col, so here the lanes are 16 output channels instead.
// Weights are packed per block of 16 channels as [k_quad][16 lanes][4 bytes]; each output position's k-quads are
// unsigned bytes (x + 128) broadcast to all lanes; a tile of 4 positions x 64 channels keeps 16 accumulators in
// registers (a last tile of 16-48 live channels uses 1-3 registers: no multiply-adds for padding channels).
// Kernels narrower than 8 columns (1x1, 3x3) read their quads straight from a channel-last copy of the input
// (4 input channels of one tap per quad, weights packed tap-major); wider kernels (a ViT patch embedding) from
// im2col columns built from row runs. Grouped convolutions go across the workers by whole groups, each worker
// copying only its own groups' channels. The sums are the same exact integers (corrected by 128 * sum(w) per
// channel) as every other kernel's.

#include <algorithm>
#include <cstring>
#include <vector>

#include "arch/bayes/sim/kernels/avx512_requant.h"
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
// P positions padded to `positions` (a multiple of kTilePositions), for kernels of kRunTaps or more columns with
// dilation_w 1: each kernel row is one run of input bytes (a 16x16 patch embedding: 16-byte runs). Smaller
// kernels read a channel-last copy instead (channels_last_input).
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

// The columns of one image and group for a kernel of kRunTaps or more columns (lane_channels_last() false), into
// `cols` resized to `positions` columns.
void lane_columns(const ConvGeometry& g, const int8_t* image, int64_t cin_g, int64_t k_quads, int64_t P,
                  int64_t positions, std::vector<uint8_t>& cols) {
  const int64_t stride = k_quads * 4;
  cols.assign(static_cast<size_t>(positions * stride), kZero);
  lane_columns_by_runs(g, image, cin_g, stride, P, cols.data());
}

// Smaller kernels (1x1, 3x3: the late stages) read their taps straight from one channel-last copy of the padded
// input: hwc[(y * wp + x) * cp + c] = padded input (y, x) of channel c as x + 128, 0x80 in the border and in the
// cp - C channels past the last (read only against zero weights: a group's k-quads of channels may reach
// round_up(cin_g, 4) - cin_g channels past the group). Weights are packed tap-major for it (pack_conv_weights):
// k-quad kq = (tap kq / cin_quads, channels 4 * (kq % cin_quads) ...), so a quad is 4 bytes at one address.
struct ChannelsLast {
  int64_t hp = 0, wp = 0, cp = 0, cin_quads = 0;
};

// For a copy of `channels` input channels.
ChannelsLast channels_last_shape(const ConvGeometry& g, int64_t channels) {
  const int64_t cin_g = g.in_channels / g.groups;
  ChannelsLast s;
  s.hp = padded_rows(g);
  s.wp = padded_cols(g);
  s.cin_quads = (cin_g + 3) / 4;
  s.cp = channels + 4 * s.cin_quads - cin_g;
  return s;
}

#if BPU_HAVE_LANES_CODE
// out[j] = byte j of every in[i] (a 16 x 16 byte transpose): channel rows in, position rows out.
inline void transpose16(const __m128i in[16], __m128i out[16]) {
  __m128i a[16], b[16], c[16];
  for (int k = 0; k < 8; ++k) {  // a[k], a[k + 8]: channels 2k, 2k + 1 of positions 0-7, 8-15
    a[k] = _mm_unpacklo_epi8(in[2 * k], in[2 * k + 1]);
    a[k + 8] = _mm_unpackhi_epi8(in[2 * k], in[2 * k + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // b[q * 4 + k]: channels 4k .. 4k + 3 of positions 4q .. 4q + 3
    for (int k = 0; k < 4; ++k) {
      b[h * 8 + k] = _mm_unpacklo_epi16(a[h * 8 + 2 * k], a[h * 8 + 2 * k + 1]);
      b[h * 8 + k + 4] = _mm_unpackhi_epi16(a[h * 8 + 2 * k], a[h * 8 + 2 * k + 1]);
    }
  }
  for (int q = 0; q < 4; ++q) {  // c[q * 4 + m * 2 + k]: channels 8k .. 8k + 7 of positions 4q + 2m, 4q + 2m + 1
    for (int k = 0; k < 2; ++k) {
      c[q * 4 + k] = _mm_unpacklo_epi32(b[q * 4 + 2 * k], b[q * 4 + 2 * k + 1]);
      c[q * 4 + k + 2] = _mm_unpackhi_epi32(b[q * 4 + 2 * k], b[q * 4 + 2 * k + 1]);
    }
  }
  for (int q = 0; q < 4; ++q) {
    for (int m = 0; m < 2; ++m) {
      out[4 * q + 2 * m] = _mm_unpacklo_epi64(c[q * 4 + m * 2], c[q * 4 + m * 2 + 1]);
      out[4 * q + 2 * m + 1] = _mm_unpackhi_epi64(c[q * 4 + m * 2], c[q * 4 + m * 2 + 1]);
    }
  }
}

// The channel-last copy of input channels [c_begin, c_end) of one image (copy channel c - c_begin), 16 channels x
// 16 input positions at a time (masked loads and stores at the edges: nothing outside the image or the copy is
// touched).
BPU_AVX512 void channels_last_input(const ConvGeometry& g, const ChannelsLast& s, const int8_t* image, int64_t c_begin,
                                    int64_t c_end, std::vector<uint8_t>& hwc) {
  hwc.assign(static_cast<size_t>(s.hp * s.wp * s.cp), kZero);
  const int64_t plane = g.in_h * g.in_w;
  std::vector<int64_t> at(static_cast<size_t>(plane));  // input position f's place in the copy, -1: never read
  for (int64_t f = 0; f < plane; ++f) {
    const int64_t y = f / g.in_w + g.pad_top, x = f % g.in_w + g.pad_left;
    at[static_cast<size_t>(f)] = y < s.hp && x < s.wp ? (y * s.wp + x) * s.cp : -1;
  }
  uint8_t* out = hwc.data();
  const __m128i flip = _mm_set1_epi8(static_cast<char>(kZero));
  for (int64_t c0 = c_begin; c0 < c_end; c0 += 16) {
    const int64_t nc = std::min<int64_t>(16, c_end - c0);
    const __mmask64 cmask = (__mmask64{1} << nc) - 1;
    for (int64_t f0 = 0; f0 < plane; f0 += 16) {
      const int64_t nf = std::min<int64_t>(16, plane - f0);
      const __mmask64 fmask = (__mmask64{1} << nf) - 1;
      __m128i rows[16], cols[16];
      for (int64_t i = 0; i < 16; ++i) {
        rows[i] = i < nc ? _mm512_castsi512_si128(_mm512_maskz_loadu_epi8(fmask, image + (c0 + i) * plane + f0))
                         : _mm_setzero_si128();
      }
      transpose16(rows, cols);
      for (int64_t j = 0; j < nf; ++j) {
        const int64_t to = at[static_cast<size_t>(f0 + j)];
        if (to >= 0) _mm512_mask_storeu_epi8(out + to + (c0 - c_begin), cmask, _mm512_castsi128_si512(_mm_xor_si128(cols[j], flip)));
      }
    }
  }
}
#endif

// kq_offset[kq]: the offset of k-quad kq from its position's first byte (tap row ky, column kx, channel quad cq).
std::vector<int64_t> channels_last_quads(const ConvGeometry& g, const ChannelsLast& s) {
  std::vector<int64_t> offset;
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
      for (int64_t cq = 0; cq < s.cin_quads; ++cq) {
        offset.push_back((ky * g.dilation_h * s.wp + kx * g.dilation_w) * s.cp + 4 * cq);
      }
    }
  }
  return offset;
}

#if BPU_HAVE_LANES_CODE
// Where a tile's k-quads are: position p's quad kq at at[p] + offset[kq] (the columns: at[p] = the position's
// column, offset[kq] = 4 * kq; channel-last: at[p] = the position's first tap, offset = channels_last_quads).
struct TileSource {
  const uint8_t* at[4];
  const int64_t* offset;
};

// One tile: positions [p0, p0 + 4) x channel blocks [b0, b0 + Blocks) of one group, over every k-quad.
// Where a tile's sums go: the int32 sums themselves (spread null, OutT int32_t), or requantized in registers with
// each lane's channel parameters (lane_requant_spread: entry grp * row_blocks * 16 + co) and clamped to [lo, hi].
// `out`: the image and group's first output row.
template <typename OutT>
struct LaneOut {
  OutT* out;
  const int64_t* spread;
  int64_t stride, lo, hi;
};

template <int Blocks, typename OutT>
BPU_AVX512 void lane_tile(const PackedConvWeights& w, int64_t grp, const TileSource& src, int64_t P, int64_t p0,
                          int64_t b0, const LaneOut<OutT>& o) {
  __m512i acc[kTilePositions][Blocks];
#pragma GCC unroll 4
  for (int p = 0; p < kTilePositions; ++p) {
#pragma GCC unroll 4
    for (int b = 0; b < Blocks; ++b) acc[p][b] = _mm512_setzero_si512();
  }
  const int64_t block_words = w.k_quads * kLaneChannels;
  const int32_t* words = w.words.data() + (grp * w.row_blocks + b0) * block_words;
  const uint8_t* at[kTilePositions] = {src.at[0], src.at[1], src.at[2], src.at[3]};
  for (int64_t kq = 0; kq < w.k_quads; ++kq) {
    const int64_t offset = src.offset[kq];
    __m512i wv[Blocks];
#pragma GCC unroll 4
    for (int b = 0; b < Blocks; ++b) wv[b] = _mm512_loadu_si512(words + b * block_words + kq * kLaneChannels);
#pragma GCC unroll 4
    for (int p = 0; p < kTilePositions; ++p) {
      int32_t quad;
      std::memcpy(&quad, at[p] + offset, 4);
      const __m512i x = _mm512_set1_epi32(quad);
#pragma GCC unroll 4
      for (int b = 0; b < Blocks; ++b) acc[p][b] = _mm512_dpbusd_epi32(acc[p][b], x, wv[b]);
    }
  }
  alignas(64) int32_t lanes[kLaneChannels];
  alignas(64) int64_t wide[8];
  const __m512i vlo = _mm512_set1_epi64(o.lo), vhi = _mm512_set1_epi64(o.hi);
  for (int b = 0; b < Blocks; ++b) {
    const int64_t co0 = (b0 + b) * kLaneChannels, n = std::min(kLaneChannels, w.cout_g - co0);
    if (n <= 0) break;
    const int64_t lane0 = grp * w.row_blocks * kLaneChannels + co0;  // the block's first packed channel
    const __m512i corr = _mm512_loadu_si512(w.correction.data() + lane0);
    const int64_t live = std::min<int64_t>(kTilePositions, P - p0);
    OutT* dst = o.out + co0 * P + p0;
    if (!o.spread) {
      for (int64_t p = 0; p < live; ++p) {
        _mm512_store_si512(lanes, _mm512_sub_epi32(acc[p][b], corr));
        for (int64_t l = 0; l < n; ++l) dst[l * P + p] = static_cast<OutT>(lanes[l]);
      }
      continue;
    }
    for (int64_t h = 0; h * 8 < n; ++h) {  // eight channels at a time as int64 lanes, their parameters loaded once
      const RequantLanes8 params = requant_params8(o.spread + lane0 + 8 * h, o.stride);
      const int64_t l1 = std::min<int64_t>(n, 8 * h + 8);
      for (int64_t p = 0; p < live; ++p) {
        const __m512i sums = _mm512_sub_epi32(acc[p][b], corr);
        const __m256i half = h == 0 ? _mm512_castsi512_si256(sums) : _mm512_extracti64x4_epi64(sums, 1);
        _mm512_store_si512(wide, requant_lanes8(_mm512_cvtepi32_epi64(half), params, vlo, vhi));
        for (int64_t l = 8 * h; l < l1; ++l) dst[l * P + p] = static_cast<OutT>(wide[l - 8 * h]);
      }
    }
  }
}

// Where one image and group's positions are: position p = (oy, ox) at base + oy * row + ox * column, its k-quads
// `offset` from there (columns: row = out_w * column, column = the column bytes, offset[kq] = 4 * kq).
struct GroupSource {
  const uint8_t* base;
  int64_t row, column;
  const int64_t* offset;
};

// Tiles [t0, t1) of one image and group (tile t: position tile t % position_tiles, channel tile t / it).
template <typename OutT>
void lane_group(const ConvGeometry& g, const PackedConvWeights& w, int64_t grp, const GroupSource& s, int64_t t0,
                int64_t t1, const LaneOut<OutT>& out) {
  const int64_t P = g.out_h * g.out_w, position_tiles = (P + kTilePositions - 1) / kTilePositions;
  const int64_t live_blocks = (w.cout_g + kLaneChannels - 1) / kLaneChannels;  // blocks past it are padding
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t p0 = (t % position_tiles) * kTilePositions, b0 = (t / position_tiles) * kTileBlocks;
    TileSource src;
    src.offset = s.offset;
    for (int64_t j = 0; j < kTilePositions; ++j) {
      const int64_t p = std::min(p0 + j, P - 1);  // positions past P read the last one; their sums are dropped
      src.at[j] = s.base + (p / g.out_w) * s.row + (p % g.out_w) * s.column;
    }
    switch (std::min<int64_t>(kTileBlocks, live_blocks - b0)) {  // no multiply-adds for the padding blocks
      case 1: lane_tile<1>(w, grp, src, P, p0, b0, out); break;
      case 2: lane_tile<2>(w, grp, src, P, p0, b0, out); break;
      case 3: lane_tile<3>(w, grp, src, P, p0, b0, out); break;
      default: lane_tile<4>(w, grp, src, P, p0, b0, out); break;
    }
  }
}
#endif

}  // namespace

bool lane_channels_last(const ConvGeometry& g) { return !(g.kernel_w >= kRunTaps && g.dilation_w == 1); }

#if BPU_HAVE_LANES_CODE
namespace {

// The whole lane kernel into `o` (its out: output element 0), image by image.
template <typename OutT>
void run_lanes(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w, const LaneOut<OutT>& o,
               std::vector<uint8_t>& cols, ThreadPool* pool) {
  const int64_t cin_g = g.in_channels / g.groups, P = g.out_h * g.out_w;
  const int64_t position_tiles = (P + kTilePositions - 1) / kTilePositions, channel_tiles = w.row_blocks / kTileBlocks;
  const int64_t positions = position_tiles * kTilePositions, tiles = position_tiles * channel_tiles;
  const bool last = lane_channels_last(g);
  std::vector<int64_t> column_quads;  // the columns' k-quad offsets from a position's column
  for (int64_t kq = 0; !last && kq < w.k_quads; ++kq) column_quads.push_back(4 * kq);
  // Where the positions of a channel-last copy (`shape`) or of one group's columns starting at `base` are.
  auto source = [&](const uint8_t* base, const ChannelsLast& shape, const std::vector<int64_t>& quads) {
    if (last) return GroupSource{base, g.stride_h * shape.wp * shape.cp, g.stride_w * shape.cp, quads.data()};
    return GroupSource{base, g.out_w * w.k_quads * 4, w.k_quads * 4, quads.data()};
  };
  for (int64_t n = 0; n < g.batch; ++n) {
    const int8_t* image = input + n * g.in_channels * g.in_h * g.in_w;
    auto at = [&](int64_t grp) {  // the image and group's output rows
      LaneOut<OutT> r = o;
      r.out = o.out + (n * g.out_channels + grp * w.cout_g) * P;
      return r;
    };
    if (g.groups == 1) {
      // The copy or the columns are built once, before the split: built by each worker for its own positions
      // they cost more (late 2x2 stages have one position tile: both workers built all of it).
      const ChannelsLast shape = channels_last_shape(g, g.in_channels);
      const std::vector<int64_t> quads = last ? channels_last_quads(g, shape) : column_quads;
      if (last) channels_last_input(g, shape, image, 0, g.in_channels, cols);
      else lane_columns(g, image, cin_g, w.k_quads, P, positions, cols);
      const GroupSource s = source(cols.data(), shape, quads);
      const LaneOut<OutT> whole = at(0);
      parallel_for(pool, tiles, [&](int64_t t0, int64_t t1) { lane_group(g, w, 0, s, t0, t1, whole); });
      continue;
    }
    // Whole groups across the workers, each with its own copy of its groups' input channels (or each group's
    // columns), so a worker reads only what it wrote.
    parallel_for(pool, g.groups, [&](int64_t a, int64_t b) {
      thread_local std::vector<uint8_t> own;
      const ChannelsLast shape = channels_last_shape(g, (b - a) * cin_g);  // offsets depend on this copy's cp
      const std::vector<int64_t> quads = last ? channels_last_quads(g, shape) : column_quads;
      if (last) channels_last_input(g, shape, image, a * cin_g, b * cin_g, own);
      for (int64_t grp = a; grp < b; ++grp) {
        if (!last) lane_columns(g, image + grp * cin_g * g.in_h * g.in_w, cin_g, w.k_quads, P, positions, own);
        // The copy holds groups [a, b) side by side; the columns only this group.
        lane_group(g, w, grp, source(own.data() + (last ? (grp - a) * cin_g : 0), shape, quads), 0, tiles, at(grp));
      }
    });
  }
}

}  // namespace
#endif

void conv_accumulate_int8_lanes(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w, int32_t* acc,
                                std::vector<uint8_t>& cols, ThreadPool* pool) {
#if BPU_HAVE_LANES_CODE
  run_lanes(g, input, w, LaneOut<int32_t>{acc, nullptr, 0, 0, 0}, cols, pool);
#else
  (void)g, (void)input, (void)w, (void)acc, (void)cols, (void)pool;
#endif
}

template <typename OutT>
void conv_int8_lanes_requant(const ConvGeometry& g, const int8_t* input, const PackedConvWeights& w,
                             const std::vector<int64_t>& spread, int64_t lo, int64_t hi, OutT* out,
                             std::vector<uint8_t>& cols, ThreadPool* pool) {
#if BPU_HAVE_LANES_CODE
  run_lanes(g, input, w, LaneOut<OutT>{out, spread.data(), static_cast<int64_t>(spread.size() / 5), lo, hi}, cols, pool);
#else
  (void)g, (void)input, (void)w, (void)spread, (void)lo, (void)hi, (void)out, (void)cols, (void)pool;
#endif
}

#define BPU_LANES_REQUANT(OutT)                                                                                       \
  template void conv_int8_lanes_requant<OutT>(const ConvGeometry&, const int8_t*, const PackedConvWeights&,          \
                                              const std::vector<int64_t>&, int64_t, int64_t, OutT*,                  \
                                              std::vector<uint8_t>&, ThreadPool*);
BPU_LANES_REQUANT(int8_t)
BPU_LANES_REQUANT(int16_t)
BPU_LANES_REQUANT(int32_t)
#undef BPU_LANES_REQUANT


}  // namespace bpu::kernels
