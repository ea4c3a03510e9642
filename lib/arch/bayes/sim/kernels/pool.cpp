// POOL reference loops.

#include "arch/bayes/sim/kernels/pool.h"

#include <algorithm>
#include <utility>

namespace bpu::kernels {

namespace {

// Calls visit(value) for every in-bounds element of output window (oy, ox) of `plane`, in row-major window
// order; returns the in-bounds count and the count of positions inside input + explicit pads.
template <typename F>
std::pair<int64_t, int64_t> walk_window(const PoolGeometry& g, const int64_t* plane, int64_t oy, int64_t ox, F&& visit) {
  int64_t n = 0, n_padded = 0;
  for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
    const int64_t iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
    for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
      const int64_t ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
      if (iy < g.in_h + g.pad_bottom && ix < g.in_w + g.pad_right) ++n_padded;
      if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) continue;
      visit(plane[iy * g.in_w + ix]);
      ++n;
    }
  }
  return {n, n_padded};
}

}  // namespace

void pool2d(const PoolGeometry& g, bool is_max, bool count_include_pad, const int64_t* in, const RequantParams* table,
            int64_t table_entries, int64_t lo, int64_t hi, int64_t* out) {
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const int64_t* plane = in + nc * g.in_h * g.in_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        int64_t value = 0;
        bool first = true;
        auto [n, n_padded] = walk_window(g, plane, oy, ox, [&](int64_t v) {
          value = is_max ? (first ? v : std::max(value, v)) : value + v;
          first = false;
        });
        const int64_t count = is_max ? 1 : (count_include_pad ? n_padded : n);
        const RequantParams& p = table[table_entries == 1 ? 0 : std::max<int64_t>(count, 1) - 1];
        out[(nc * g.out_h + oy) * g.out_w + ox] = apply_requant(value, p, lo, hi);
      }
    }
  }
}

template <typename In, typename Out>
void max_pool2d_direct(const PoolGeometry& g, const In* in, const RequantParams& p, int64_t lo, int64_t hi, Out* out) {
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const In* plane = in + nc * g.in_h * g.in_w;
    Out* dst = out + nc * g.out_h * g.out_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const int64_t y0 = std::max<int64_t>(oy * g.stride_h - g.pad_top, 0);
      const int64_t y1 = std::min<int64_t>(oy * g.stride_h - g.pad_top + g.kernel_h, g.in_h);
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const int64_t x0 = std::max<int64_t>(ox * g.stride_w - g.pad_left, 0);
        const int64_t x1 = std::min<int64_t>(ox * g.stride_w - g.pad_left + g.kernel_w, g.in_w);
        int64_t value = 0;  // an empty window (all padding) yields 0, as in pool2d
        if (y1 > y0 && x1 > x0) {
          In m = plane[y0 * g.in_w + x0];
          for (int64_t y = y0; y < y1; ++y) {
            for (int64_t x = x0; x < x1; ++x) m = std::max(m, plane[y * g.in_w + x]);
          }
          value = m;
        }
        dst[oy * g.out_w + ox] = static_cast<Out>(apply_requant(value, p, lo, hi));
      }
    }
  }
}

#define BPU_MAX_POOL(In, Out) \
  template void max_pool2d_direct<In, Out>(const PoolGeometry&, const In*, const RequantParams&, int64_t, int64_t, Out*);
BPU_MAX_POOL(int8_t, int8_t)
BPU_MAX_POOL(int8_t, int16_t)
BPU_MAX_POOL(int8_t, int32_t)
BPU_MAX_POOL(int16_t, int8_t)
BPU_MAX_POOL(int16_t, int16_t)
BPU_MAX_POOL(int16_t, int32_t)
BPU_MAX_POOL(int32_t, int8_t)
BPU_MAX_POOL(int32_t, int16_t)
BPU_MAX_POOL(int32_t, int32_t)
#undef BPU_MAX_POOL

void avg_pool2d_exact(const PoolGeometry& g, bool count_include_pad, const int64_t* in, float in_scale, float out_scale,
                      int64_t lo, int64_t hi, int64_t* out) {
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const int64_t* plane = in + nc * g.in_h * g.in_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        int64_t sum = 0;
        auto [n, n_padded] = walk_window(g, plane, oy, ox, [&](int64_t v) { sum += v; });
        const double count = static_cast<double>(std::max<int64_t>(count_include_pad ? n_padded : n, 1));
        const double mean = static_cast<double>(sum) * static_cast<double>(in_scale) / count;
        out[(nc * g.out_h + oy) * g.out_w + ox] = quantize_exact(mean, out_scale, lo, hi);
      }
    }
  }
}

}  // namespace bpu::kernels
