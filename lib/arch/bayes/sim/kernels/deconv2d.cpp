// DECONV2D reference loops.

#include "arch/bayes/sim/kernels/deconv2d.h"

#include <algorithm>

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

}  // namespace bpu::kernels
