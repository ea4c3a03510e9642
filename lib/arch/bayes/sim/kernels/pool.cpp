// POOL reference loops.

#include "arch/bayes/sim/kernels/pool.h"

#include <algorithm>
#include <utility>
#include <vector>

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

// The exact average of a window sum over n elements (n clipped to 1), quantized: POOL kind 2's one formula.
int64_t average_exact(int64_t sum, int64_t n, float in_scale, float out_scale, int64_t lo, int64_t hi) {
  const double count = static_cast<double>(std::max<int64_t>(n, 1));
  const double mean = static_cast<double>(sum) * static_cast<double>(in_scale) / count;
  return quantize_exact(mean, out_scale, lo, hi);
}

// One output row from the window rows' maximum m: output ox takes the maximum of its in-bounds columns. Outputs
// whose window lies inside the row run kernel-column by kernel-column over all of them (vectorizable); the edges
// clip their windows.
template <typename In>
void horizontal_max(const In* __restrict m, int64_t in_w, int64_t out_w, int64_t k, int64_t stride, int64_t pad,
                    In* __restrict h, unsigned char* __restrict empty) {
  int64_t lo = 0, hi = out_w;  // [lo, hi): windows inside the row
  while (lo < out_w && lo * stride - pad < 0) ++lo;
  while (hi > lo && (hi - 1) * stride - pad + k > in_w) --hi;
  auto clipped = [&](int64_t ox) {
    const int64_t x0 = std::max<int64_t>(ox * stride - pad, 0);
    const int64_t x1 = std::min<int64_t>(ox * stride - pad + k, in_w);
    empty[ox] = x1 <= x0;
    In v = x1 > x0 ? m[x0] : In(0);
    for (int64_t x = x0 + 1; x < x1; ++x) v = std::max(v, m[x]);
    h[ox] = v;
  };
  for (int64_t ox = 0; ox < lo; ++ox) clipped(ox);
  for (int64_t ox = hi; ox < out_w; ++ox) clipped(ox);
  if (hi <= lo) return;
  const In* __restrict base = m + lo * stride - pad;
  const int64_t n = hi - lo;
  In* __restrict hv = h + lo;
  for (int64_t i = 0; i < n; ++i) hv[i] = base[i * stride];
  for (int64_t j = 1; j < k; ++j) {
    const In* __restrict col = base + j;
    for (int64_t i = 0; i < n; ++i) hv[i] = std::max(hv[i], col[i * stride]);
  }
  std::fill(empty + lo, empty + hi, 0);
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

// Rows first: the window rows' maximum for every input column (one pass the compiler vectorizes), then each
// output takes the maximum of its columns of that row. An 8-bit input is requantized through a 256-entry table,
// or just converted when that table is the identity (a max pool keeps its input's scale in QAT).
template <typename In, typename Out>
void max_pool2d_direct(const PoolGeometry& g, const In* in, const RequantParams& p, int64_t lo, int64_t hi, Out* out) {
  constexpr bool kTable = sizeof(In) == 1;
  Out table[256] = {};
  bool identity = false;
  if constexpr (kTable) {
    identity = true;
    for (int v = -128; v < 128; ++v) {
      table[v + 128] = static_cast<Out>(apply_requant(v, p, lo, hi));
      identity = identity && table[v + 128] == v;
    }
  }
  auto requant = [&](int64_t v) {
    if constexpr (kTable) return table[v + 128];
    else return static_cast<Out>(apply_requant(v, p, lo, hi));
  };
  const Out empty_value = requant(0);  // an empty window (all padding) yields 0, as in pool2d
  const int64_t in_w = g.in_w, out_w = g.out_w;  // locals: the stores below cannot alias them
  std::vector<In> rows(static_cast<size_t>(in_w)), hrow(static_cast<size_t>(out_w));
  std::vector<unsigned char> empty_flags(static_cast<size_t>(out_w));  // 1: the output's window is all padding
  In* __restrict m = rows.data();
  In* __restrict h = hrow.data();
  unsigned char* empty = empty_flags.data();
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const In* plane = in + nc * g.in_h * in_w;
    Out* __restrict dst = out + nc * g.out_h * out_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy, dst += out_w) {
      const int64_t y0 = std::max<int64_t>(oy * g.stride_h - g.pad_top, 0);
      const int64_t y1 = std::min<int64_t>(oy * g.stride_h - g.pad_top + g.kernel_h, g.in_h);
      if (y1 <= y0) {
        std::fill(dst, dst + out_w, empty_value);
        continue;
      }
      std::copy(plane + y0 * in_w, plane + (y0 + 1) * in_w, m);
      for (int64_t y = y0 + 1; y < y1; ++y) {
        const In* __restrict row = plane + y * in_w;
        for (int64_t x = 0; x < in_w; ++x) m[x] = std::max(m[x], row[x]);
      }
      horizontal_max(m, in_w, out_w, g.kernel_w, g.stride_w, g.pad_left, h, empty);
      if (identity) {
        for (int64_t ox = 0; ox < out_w; ++ox) dst[ox] = static_cast<Out>(h[ox]);  // empty windows hold 0 = requant(0)
      } else {
        for (int64_t ox = 0; ox < out_w; ++ox) dst[ox] = empty[ox] ? empty_value : requant(h[ox]);
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
        out[(nc * g.out_h + oy) * g.out_w + ox] = average_exact(sum, count_include_pad ? n_padded : n, in_scale, out_scale, lo, hi);
      }
    }
  }
}


template <typename In, typename Out>
void global_avg_pool_exact(int64_t planes, int64_t plane_size, const In* in, float in_scale, float out_scale, int64_t lo,
                           int64_t hi, Out* out) {
  for (int64_t c = 0; c < planes; ++c) {
    const In* __restrict x = in + c * plane_size;
    int64_t sum = 0;
    for (int64_t i = 0; i < plane_size; ++i) sum += x[i];
    out[c] = static_cast<Out>(average_exact(sum, plane_size, in_scale, out_scale, lo, hi));
  }
}

#define BPU_GLOBAL_AVG(In, Out) \
  template void global_avg_pool_exact<In, Out>(int64_t, int64_t, const In*, float, float, int64_t, int64_t, Out*);
#define BPU_GLOBAL_AVG_OUT(In) BPU_GLOBAL_AVG(In, int8_t) BPU_GLOBAL_AVG(In, int16_t) BPU_GLOBAL_AVG(In, int32_t)
BPU_GLOBAL_AVG_OUT(int8_t)
BPU_GLOBAL_AVG_OUT(int16_t)
BPU_GLOBAL_AVG_OUT(int32_t)
#undef BPU_GLOBAL_AVG_OUT
#undef BPU_GLOBAL_AVG

}  // namespace bpu::kernels
