// Depthwise CONV2D, int8 input: for each (image, channel) plane and output row, add w[ky][kx] * input row
// segment into an int32 row, tap by tap, over the output columns whose input column is inside the image
// (padding contributes zero, as in the reference).

#include "arch/bayes/sim/kernels/conv2d_depthwise.h"

#include <algorithm>
#include <vector>

#include "common/thread_pool.h"

namespace bpu::kernels {

bool depthwise_accepts(const ConvGeometry& g) {
  return g.groups > 1 && g.groups == g.in_channels && g.groups == g.out_channels && g.kernel_h * g.kernel_w <= 65536;
}

namespace {

void depthwise_plane(const ConvGeometry& g, const int8_t* plane, const int8_t* w, int32_t* out) {
  for (int64_t y = 0; y < g.out_h; ++y) {
    int32_t* row = out + y * g.out_w;
    std::fill(row, row + g.out_w, 0);
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      const int64_t iy = y * g.stride_h - g.pad_top + ky * g.dilation_h;
      if (iy < 0 || iy >= g.in_h) continue;
      const int8_t* in_row = plane + iy * g.in_w;
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const int32_t tap = w[ky * g.kernel_w + kx];
        const int64_t off = kx * g.dilation_w - g.pad_left;
        const int64_t sw = g.stride_w;
        // Output columns x with 0 <= x * sw + off < in_w.
        const int64_t x_lo = std::min(g.out_w, off >= 0 ? int64_t(0) : (-off + sw - 1) / sw);
        const int64_t x_hi = std::max(x_lo, (g.in_w - 1 - off) < 0 ? int64_t(0) : std::min(g.out_w, (g.in_w - 1 - off) / sw + 1));
        if (sw == 1) {
          const int8_t* src = in_row + off;
          for (int64_t x = x_lo; x < x_hi; ++x) row[x] += tap * src[x];
        } else {
          for (int64_t x = x_lo; x < x_hi; ++x) row[x] += tap * in_row[x * sw + off];
        }
      }
    }
  }
}

// 3x3 without dilation (MobileNet's case): the plane copied once into a zero-bordered int32 buffer, then every
// output is the nine-tap sum in one pass over the row (no per-tap bounds, loops the compiler vectorizes).
template <int64_t Stride>
void depthwise_plane_3x3(const ConvGeometry& g, const int8_t* plane, const int8_t* w, int32_t* out,
                         std::vector<int32_t>& padded) {
  const int64_t ph = (g.out_h - 1) * Stride + 3, pw = (g.out_w - 1) * Stride + 3;
  padded.resize(static_cast<size_t>(ph * pw));
  // Columns x of the padded row that hold input column x - pad_left: [x_begin, x_end); the rest are zero.
  const int64_t x_begin = std::min(pw, g.pad_left), x_end = std::max(x_begin, std::min(pw, g.pad_left + g.in_w));
  for (int64_t y = 0; y < ph; ++y) {
    int32_t* dst = padded.data() + y * pw;
    const int64_t iy = y - g.pad_top;
    if (iy < 0 || iy >= g.in_h) {
      std::fill(dst, dst + pw, 0);
      continue;
    }
    const int8_t* src = plane + iy * g.in_w - g.pad_left;
    std::fill(dst, dst + x_begin, 0);
    for (int64_t x = x_begin; x < x_end; ++x) dst[x] = src[x];
    std::fill(dst + x_end, dst + pw, 0);
  }
  const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
  for (int64_t y = 0; y < g.out_h; ++y) {
    const int32_t* r0 = padded.data() + (y * Stride) * pw;
    const int32_t* r1 = r0 + pw;
    const int32_t* r2 = r1 + pw;
    int32_t* row = out + y * g.out_w;
    for (int64_t x = 0; x < g.out_w; ++x) {
      const int64_t c = x * Stride;
      row[x] = w0 * r0[c] + w1 * r0[c + 1] + w2 * r0[c + 2] + w3 * r1[c] + w4 * r1[c + 1] + w5 * r1[c + 2] +
               w6 * r2[c] + w7 * r2[c + 1] + w8 * r2[c + 2];
    }
  }
}

}  // namespace

void depthwise_accumulate_int8(const ConvGeometry& g, const int8_t* input, const int8_t* weight, int32_t* acc,
                               ThreadPool* pool) {
  const int64_t planes = g.batch * g.in_channels;
  const int64_t taps = g.kernel_h * g.kernel_w;
  const bool three = g.kernel_h == 3 && g.kernel_w == 3 && g.dilation_h == 1 && g.dilation_w == 1 &&
                     g.stride_h == g.stride_w && (g.stride_h == 1 || g.stride_h == 2);
  auto body = [&](int64_t p0, int64_t p1) {
    std::vector<int32_t> padded;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % g.in_channels;
      const int8_t* plane = input + p * g.in_h * g.in_w;
      int32_t* out = acc + p * g.out_h * g.out_w;
      if (three && g.stride_h == 1) depthwise_plane_3x3<1>(g, plane, weight + c * taps, out, padded);
      else if (three) depthwise_plane_3x3<2>(g, plane, weight + c * taps, out, padded);
      else depthwise_plane(g, plane, weight + c * taps, out);
    }
  };
  parallel_for(pool, planes, body);
}

}  // namespace bpu::kernels
