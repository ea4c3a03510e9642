// POOL reference loops.

#include "runtime/kernels/pool.h"

#include <algorithm>

namespace bpu::kernels {

void pool2d(const PoolGeometry& g, bool is_max, bool count_include_pad, const int64_t* in, const RequantParams* table,
            int64_t table_entries, int64_t lo, int64_t hi, int64_t* out) {
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const int64_t* plane = in + nc * g.in_h * g.in_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        int64_t value = 0, n = 0, n_padded = 0;
        bool first = true;
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            const int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
            if (iy < g.in_h + g.pad_bottom && ix < g.in_w + g.pad_right) ++n_padded;
            if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
            const int64_t v = plane[iy * g.in_w + ix];
            value = is_max ? (first ? v : std::max(value, v)) : value + v;
            first = false;
            ++n;
          }
        }
        const int64_t count = is_max ? 1 : (count_include_pad ? n_padded : n);
        const RequantParams& p = table[table_entries == 1 ? 0 : std::max<int64_t>(count, 1) - 1];
        out[(nc * g.out_h + oy) * g.out_w + ox] = apply_requant(value, p, lo, hi);
      }
    }
  }
}

void avg_pool2d_float_emulated(const PoolGeometry& g, bool count_include_pad, const int64_t* in, float in_scale,
                               float out_scale, int64_t lo, int64_t hi, int64_t* out) {
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const int64_t* plane = in + nc * g.in_h * g.in_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        float sum = 0.0f;
        int64_t n = 0, n_padded = 0;
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            const int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
            if (iy < g.in_h + g.pad_bottom && ix < g.in_w + g.pad_right) ++n_padded;
            if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
            sum += static_cast<float>(plane[iy * g.in_w + ix]) * in_scale;
            ++n;
          }
        }
        const float mean = sum / static_cast<float>(std::max<int64_t>(count_include_pad ? n_padded : n, 1));
        out[(nc * g.out_h + oy) * g.out_w + ox] = quantize_like_torch(mean, out_scale, lo, hi);
      }
    }
  }
}

}  // namespace bpu::kernels
