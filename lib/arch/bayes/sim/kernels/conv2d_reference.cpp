// Reference CONV2D: the spec as nested loops. Slow by design; the fast kernel is tested against it.

#include "arch/bayes/sim/kernels/conv2d.h"

namespace bpu::kernels {

template <typename T>
void conv_accumulate_reference(const ConvGeometry& g, const T* input, const int8_t* weight, int64_t* acc) {
  const int64_t cin_g = g.in_channels / g.groups;
  const int64_t cout_g = g.out_channels / g.groups;
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const int64_t group = co / cout_g;
      for (int64_t y = 0; y < g.out_h; ++y) {
        for (int64_t x = 0; x < g.out_w; ++x) {
          int64_t sum = 0;
          for (int64_t ci = 0; ci < cin_g; ++ci) {
            const int64_t c = group * cin_g + ci;
            for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
              const int64_t iy = y * g.stride_h - g.pad_top + ky * g.dilation_h;
              if (iy < 0 || iy >= g.in_h) continue;  // padding reads 0
              for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
                const int64_t ix = x * g.stride_w - g.pad_left + kx * g.dilation_w;
                if (ix < 0 || ix >= g.in_w) continue;
                const int64_t in_v = input[((n * g.in_channels + c) * g.in_h + iy) * g.in_w + ix];
                const int64_t w_v = weight[((co * cin_g + ci) * g.kernel_h + ky) * g.kernel_w + kx];
                sum += in_v * w_v;
              }
            }
          }
          acc[((n * g.out_channels + co) * g.out_h + y) * g.out_w + x] = sum;
        }
      }
    }
  }
}

template <typename OutT>
void requantize_per_channel(const int64_t* acc, int64_t batch, int64_t channels, int64_t plane,
                            const RequantParams* params, int64_t lo, int64_t hi, OutT* out) {
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const RequantParams p = params[c];
      const int64_t base = (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) out[base + i] = static_cast<OutT>(apply_requant(acc[base + i], p, lo, hi));
    }
  }
}

template void conv_accumulate_reference<int8_t>(const ConvGeometry&, const int8_t*, const int8_t*, int64_t*);
template void conv_accumulate_reference<int16_t>(const ConvGeometry&, const int16_t*, const int8_t*, int64_t*);
template void requantize_per_channel<int8_t>(const int64_t*, int64_t, int64_t, int64_t, const RequantParams*, int64_t, int64_t, int8_t*);
template void requantize_per_channel<int16_t>(const int64_t*, int64_t, int64_t, int64_t, const RequantParams*, int64_t, int64_t, int16_t*);
template void requantize_per_channel<int32_t>(const int64_t*, int64_t, int64_t, int64_t, const RequantParams*, int64_t, int64_t, int32_t*);

}  // namespace bpu::kernels
