// Depthwise CONV2D, int8 input: for each (image, channel) plane, the zero-bordered input rows as int32, then
// w[ky][kx] times them summed over the taps into int32 outputs (padding contributes zero, as in the reference):
// 3x3 stride 1 and 2 with their own loops, any other geometry through stride phases, small planes channel-last.

#include "arch/bayes/sim/kernels/conv2d_depthwise.h"

#include <algorithm>
#include <vector>

#include "common/thread_pool.h"

namespace bpu::kernels {

bool depthwise_accepts(const ConvGeometry& g) {
  return g.groups > 1 && g.groups == g.in_channels && g.groups == g.out_channels && g.kernel_h * g.kernel_w <= 65536;
}

namespace {

// Any kernel, stride and dilation (MobileNetV3's and MnasNet's 5x5 among them): the plane as stride phases of the zero-bordered plane (phase (a, b) row i, column j = padded row i * sh + a,
// column j * sw + b), int32 rows of one width qw, so every tap is one unit-stride multiply-add over the output rows
// laid end to end `qw` apart (the qw - out_w columns between rows are computed and dropped).
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

// Channels [c0, c1) of one image channel-last, for small planes (late MobileNet stages: 4x4 or 2x2 with 100+
// channels), where the per-plane loops are too short to vectorize: a zero-bordered [ph][pw][Cq] int32 copy (Cq:
// the range rounded up to 8), each output pixel's taps summed for 8 channels at a time in registers with the
// tap-major weights `wt` ([taps][Cp], depthwise_tap_weights), then transposed back to [C][out_h * out_w]. Any
// geometry; c0 is a multiple of 8.
void depthwise_image_channels_last(const ConvGeometry& g, const int8_t* image, const int32_t* wt, int64_t Cp, int64_t c0,
                                   int64_t c1, int32_t* out, std::vector<int32_t>& padded, std::vector<int32_t>& pixels) {
  constexpr int64_t kVec = 8;
  const int64_t C = c1 - c0, Cq = (C + kVec - 1) / kVec * kVec, taps = g.kernel_h * g.kernel_w;
  const int64_t P = g.out_h * g.out_w;
  const int64_t ph = (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1;
  const int64_t pw = (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1;
  padded.assign(static_cast<size_t>(ph * pw * Cq), 0);
  const int64_t x0 = std::max<int64_t>(0, g.pad_left), x1 = std::min(pw, g.pad_left + g.in_w);
  for (int64_t y = std::max<int64_t>(0, g.pad_top); y < std::min(ph, g.pad_top + g.in_h); ++y) {
    for (int64_t c = 0; c < C; ++c) {
      const int8_t* src = image + (c0 + c) * g.in_h * g.in_w + (y - g.pad_top) * g.in_w - g.pad_left;
      int32_t* dst = padded.data() + y * pw * Cq + c;
      for (int64_t x = x0; x < x1; ++x) dst[x * Cq] = src[x];
    }
  }
  std::vector<int64_t> tap_offset(static_cast<size_t>(taps));
  for (int64_t t = 0; t < taps; ++t) {
    tap_offset[static_cast<size_t>(t)] = ((t / g.kernel_w) * g.dilation_h * pw + (t % g.kernel_w) * g.dilation_w) * Cq;
  }
  pixels.resize(static_cast<size_t>(P * Cq));
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const int32_t* base = padded.data() + (oy * g.stride_h * pw + ox * g.stride_w) * Cq;
      int32_t* dst = pixels.data() + (oy * g.out_w + ox) * Cq;
      for (int64_t cc = 0; cc < Cq; cc += kVec) {
        int32_t sum[kVec] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t t = 0; t < taps; ++t) {
          const int32_t* src = base + tap_offset[static_cast<size_t>(t)] + cc;
          const int32_t* wv = wt + t * Cp + c0 + cc;
          for (int64_t j = 0; j < kVec; ++j) sum[j] += wv[j] * src[j];
        }
        for (int64_t j = 0; j < kVec; ++j) dst[cc + j] = sum[j];
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t p = 0; p < P; ++p) out[(c0 + c) * P + p] = pixels[static_cast<size_t>(p * Cq + c)];
  }
}

}  // namespace

bool depthwise_channels_last(const ConvGeometry& g) { return g.out_h * g.out_w <= kChannelsLastPixels; }

std::vector<int32_t> depthwise_tap_weights(const ConvGeometry& g, const int8_t* weight) {
  const int64_t C = g.in_channels, Cp = (C + 7) / 8 * 8, taps = g.kernel_h * g.kernel_w;
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
    const int64_t C = g.in_channels, Cp = (C + 7) / 8 * 8, blocks = Cp / 8;
    for (int64_t n = 0; n < g.batch; ++n) {
      parallel_for(pool, blocks, [&](int64_t b0, int64_t b1) {
        thread_local std::vector<int32_t> padded, pixels;
        depthwise_image_channels_last(g, input + n * C * g.in_h * g.in_w, wt.data(), Cp, b0 * 8, std::min(C, b1 * 8),
                                      acc + n * g.out_channels * g.out_h * g.out_w, padded, pixels);
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
