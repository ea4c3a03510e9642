// DECONV2D reference loops and the fast loop order (see deconv2d.h).

#include "arch/bayes/sim/kernels/deconv2d.h"

#include <algorithm>

#include "common/thread_pool.h"

namespace bpu::kernels {

void deconv_accumulate_reference(const DeconvGeometry& g, const int64_t* input, const int8_t* weight, int64_t* acc) {
  std::fill(acc, acc + g.batch * g.out_channels * g.out_h * g.out_w, int64_t(0));
  const int64_t cin_g = g.in_channels / g.groups, cout_g = g.out_channels / g.groups;
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t ci = 0; ci < g.in_channels; ++ci) {
      const int64_t grp = ci / cin_g;
      for (int64_t iy = 0; iy < g.in_h; ++iy)
        for (int64_t ix = 0; ix < g.in_w; ++ix) {
          const int64_t v = input[((n * g.in_channels + ci) * g.in_h + iy) * g.in_w + ix];
          for (int64_t col = 0; col < cout_g; ++col) {
            const int64_t co = grp * cout_g + col;
            for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
              const int64_t oy = iy * g.stride_h - g.pad_top + ky * g.dilation_h;
              if (oy < 0 || oy >= g.out_h) continue;
              for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
                const int64_t ox = ix * g.stride_w - g.pad_left + kx * g.dilation_w;
                if (ox < 0 || ox >= g.out_w) continue;
                acc[((n * g.out_channels + co) * g.out_h + oy) * g.out_w + ox] +=
                    v * weight[((ci * cout_g + col) * g.kernel_h + ky) * g.kernel_w + kx];
              }
            }
          }
        }
    }
}

namespace {

// First and one-past-last input index i with 0 <= i*stride + offset < out (offset = k*dilation - pad).
void valid_range(int64_t in, int64_t out, int64_t stride, int64_t offset, int64_t* lo, int64_t* hi) {
  *lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  *hi = out - 1 - offset < 0 ? 0 : std::min(in, (out - 1 - offset) / stride + 1);
  if (*hi < *lo) *hi = *lo;
}

}  // namespace

void deconv_accumulate_fast(const DeconvGeometry& g, const int64_t* input, const int8_t* weight, int64_t* acc) {
  std::fill(acc, acc + g.batch * g.out_channels * g.out_h * g.out_w, int64_t(0));
  const int64_t cin_g = g.in_channels / g.groups, cout_g = g.out_channels / g.groups;
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t ci = 0; ci < g.in_channels; ++ci) {
      const int64_t grp = ci / cin_g;
      const int64_t* plane = input + (n * g.in_channels + ci) * g.in_h * g.in_w;
      for (int64_t col = 0; col < cout_g; ++col) {
        int64_t* out = acc + (n * g.out_channels + grp * cout_g + col) * g.out_h * g.out_w;
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          const int64_t oy0 = ky * g.dilation_h - g.pad_top;
          int64_t iy_lo, iy_hi;
          valid_range(g.in_h, g.out_h, g.stride_h, oy0, &iy_lo, &iy_hi);
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            const int64_t w = weight[((ci * cout_g + col) * g.kernel_h + ky) * g.kernel_w + kx];
            if (w == 0) continue;
            const int64_t ox0 = kx * g.dilation_w - g.pad_left;
            int64_t ix_lo, ix_hi;
            valid_range(g.in_w, g.out_w, g.stride_w, ox0, &ix_lo, &ix_hi);
            for (int64_t iy = iy_lo; iy < iy_hi; ++iy) {
              const int64_t* x = plane + iy * g.in_w;
              int64_t* y = out + (iy * g.stride_h + oy0) * g.out_w + ox0;
              for (int64_t ix = ix_lo; ix < ix_hi; ++ix) y[ix * g.stride_w] += w * x[ix];
            }
          }
        }
      }
    }
}

ConvGeometry deconv_columns_geometry(const DeconvGeometry& g) {
  ConvGeometry c;
  c.batch = g.batch;
  c.in_channels = g.in_channels;
  c.in_h = g.in_h;
  c.in_w = g.in_w;
  c.out_h = g.in_h;
  c.out_w = g.in_w;
  c.groups = g.groups;
  c.out_channels = g.out_channels * g.kernel_h * g.kernel_w;  // per group: cout_g * kh * kw columns
  return c;
}

PackedConvWeights pack_deconv_weights(const DeconvGeometry& g, const int8_t* weight) {
  const int64_t cin_g = g.in_channels / g.groups, cout_g = g.out_channels / g.groups, taps = g.kernel_h * g.kernel_w;
  // [Cin, cout_g, kh, kw] -> the 1x1 convolution's [(grp, co_local, tap), ci_local]
  std::vector<int8_t> w1(static_cast<size_t>(g.in_channels * cout_g * taps));
  for (int64_t ci = 0; ci < g.in_channels; ++ci) {
    const int64_t grp = ci / cin_g, cl = ci % cin_g;
    for (int64_t col = 0; col < cout_g; ++col)
      for (int64_t t = 0; t < taps; ++t)
        w1[static_cast<size_t>(((grp * cout_g + col) * taps + t) * cin_g + cl)] = weight[(ci * cout_g + col) * taps + t];
  }
  return pack_conv_weights(deconv_columns_geometry(g), w1.data());
}

void deconv_accumulate_int8_dot(const DeconvGeometry& g, const int8_t* input, const PackedConvWeights& w,
                                std::vector<int32_t>& cols, std::vector<uint8_t>& panels, ThreadPool* pool, int64_t* acc) {
  const ConvGeometry c = deconv_columns_geometry(g);
  const int64_t plane = g.in_h * g.in_w, taps = g.kernel_h * g.kernel_w;
  cols.resize(static_cast<size_t>(c.batch * c.out_channels * plane));
  conv_accumulate_int8_dot(c, input, w, cols.data(), panels, pool);
  // col2im: output channel co gathers its own kh*kw column planes, so workers own disjoint outputs.
  const int64_t out_plane = g.out_h * g.out_w;
  auto scatter = [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {  // j = n * out_channels + co
      int64_t* out = acc + j * out_plane;
      std::fill(out, out + out_plane, int64_t(0));
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t ky = t / g.kernel_w, kx = t % g.kernel_w;
        const int64_t oy0 = ky * g.dilation_h - g.pad_top, ox0 = kx * g.dilation_w - g.pad_left;
        int64_t iy_lo, iy_hi, ix_lo, ix_hi;
        valid_range(g.in_h, g.out_h, g.stride_h, oy0, &iy_lo, &iy_hi);
        valid_range(g.in_w, g.out_w, g.stride_w, ox0, &ix_lo, &ix_hi);
        const int32_t* col = cols.data() + (j * taps + t) * plane;
        for (int64_t iy = iy_lo; iy < iy_hi; ++iy) {
          const int32_t* x = col + iy * g.in_w;
          int64_t* y = out + (iy * g.stride_h + oy0) * g.out_w + ox0;
          for (int64_t ix = ix_lo; ix < ix_hi; ++ix) y[ix * g.stride_w] += x[ix];
        }
      }
    }
  };
  const int64_t jobs = g.batch * g.out_channels;
  parallel_for(pool, jobs, scatter);
}

}  // namespace bpu::kernels
