// Depthwise CONV2D, int8 input: for each (image, channel) plane and output row, add w[ky][kx] * input row
// segment into an int32 row, tap by tap, over the output columns whose input column is inside the image
// (padding contributes zero, as in the reference).

#include "runtime/kernels/conv2d_depthwise.h"

#include <algorithm>

#include "runtime/thread_pool.h"

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

}  // namespace

void depthwise_accumulate_int8(const ConvGeometry& g, const int8_t* input, const int8_t* weight, int32_t* acc,
                               ThreadPool* pool) {
  const int64_t planes = g.batch * g.in_channels;
  const int64_t taps = g.kernel_h * g.kernel_w;
  auto body = [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % g.in_channels;
      depthwise_plane(g, input + p * g.in_h * g.in_w, weight + c * taps, acc + p * g.out_h * g.out_w);
    }
  };
  if (pool) pool->parallel_for(planes, body);
  else body(0, planes);
}

}  // namespace bpu::kernels
