// RESIZE reference loops, and the int8 fast path beside them (resize2d_int8, tested bit-identical to resize2d).

#include "arch/bayes/sim/kernels/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "arch/bayes/isa.h"

namespace bpu::kernels {

double resize_source_coordinate(CoordinateMode mode, int64_t x, int64_t in_len, int64_t out_len) {
  const double scale = static_cast<double>(out_len) / static_cast<double>(in_len);
  switch (mode) {
    case CoordinateMode::Asymmetric: return x / scale;
    case CoordinateMode::AlignCorners: return out_len == 1 ? 0.0 : x * static_cast<double>(in_len - 1) / (out_len - 1);
    case CoordinateMode::PytorchHalfPixel: return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CoordinateMode::HalfPixel: break;
  }
  return (x + 0.5) / scale - 0.5;
}

namespace {

int64_t nearest_index(NearestMode mode, double v, int64_t len) {
  double r;
  switch (mode) {
    case NearestMode::Floor: r = std::floor(v); break;
    case NearestMode::Ceil: r = std::ceil(v); break;
    case NearestMode::RoundPreferCeil: r = std::floor(v + 0.5); break;
    default: r = (v - std::floor(v) == 0.5) ? std::floor(v) : std::round(v); break;
  }
  return std::max<int64_t>(0, std::min<int64_t>(len - 1, static_cast<int64_t>(r)));
}

// Per output index of one axis: its nearest source index (nearest_index of its source coordinate).
std::vector<int64_t> nearest_indices(CoordinateMode coord, NearestMode nearest, int64_t in_len, int64_t out_len) {
  std::vector<int64_t> n(static_cast<size_t>(out_len));
  for (int64_t x = 0; x < out_len; ++x) n[x] = nearest_index(nearest, resize_source_coordinate(coord, x, in_len, out_len), in_len);
  return n;
}

struct Tap {
  int64_t i0, i1, w0, w1;  // neighbours and their 15-bit weights (w0 + w1 = 2^15)
};

std::vector<Tap> taps(CoordinateMode mode, int64_t in_len, int64_t out_len) {
  const int64_t one = int64_t(1) << bayes::kBilinearWeightBits;
  std::vector<Tap> t(out_len);
  for (int64_t x = 0; x < out_len; ++x) {
    double src = std::max(0.0, std::min(static_cast<double>(in_len - 1), resize_source_coordinate(mode, x, in_len, out_len)));
    int64_t i0 = static_cast<int64_t>(std::floor(src));
    int64_t w1 = static_cast<int64_t>(std::nearbyint((src - i0) * one));
    t[x] = {i0, std::min(i0 + 1, in_len - 1), one - w1, w1};
  }
  return t;
}

}  // namespace

template <typename In, typename Out>
void resize2d(const ResizeGeometry& g, bool bilinear, CoordinateMode coord, NearestMode nearest, const RescaleParams& p,
              int64_t lo, int64_t hi, const In* in, Out* out) {
  std::vector<Tap> ty = taps(coord, g.in_h, g.out_h), tx = taps(coord, g.in_w, g.out_w);
  const std::vector<int64_t> ny = nearest_indices(coord, nearest, g.in_h, g.out_h), nx = nearest_indices(coord, nearest, g.in_w, g.out_w);
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const In* plane = in + nc * g.in_h * g.in_w;
    Out* dst = out + nc * g.out_h * g.out_w;
    for (int64_t y = 0; y < g.out_h; ++y) {
      for (int64_t x = 0; x < g.out_w; ++x) {
        int64_t v;
        if (!bilinear) {
          v = plane[ny[y] * g.in_w + nx[x]];
        } else {
          const Tap& a = ty[y];
          const Tap& b = tx[x];
          v = a.w0 * (b.w0 * plane[a.i0 * g.in_w + b.i0] + b.w1 * plane[a.i0 * g.in_w + b.i1]) +
              a.w1 * (b.w0 * plane[a.i1 * g.in_w + b.i0] + b.w1 * plane[a.i1 * g.in_w + b.i1]);
        }
        dst[y * g.out_w + x] = static_cast<Out>(apply_rescale(v, p, lo, hi));
      }
    }
  }
}

void resize2d_int8(const ResizeGeometry& g, bool bilinear, CoordinateMode coord, NearestMode nearest,
                   const RescaleParams& p, int64_t lo, int64_t hi, const int8_t* table, const int8_t* in, int8_t* out,
                   int64_t c0, int64_t c1) {
  const int64_t iw = g.in_w, ow = g.out_w;
  if (!bilinear) {
    const std::vector<int64_t> ny = nearest_indices(coord, nearest, g.in_h, g.out_h), nx = nearest_indices(coord, nearest, iw, ow);
    for (int64_t nc = c0; nc < c1; ++nc) {
      const int8_t* plane = in + nc * g.in_h * iw;
      int8_t* dst = out + nc * g.out_h * ow;
      for (int64_t y = 0; y < g.out_h; ++y) {
        int8_t* row = dst + y * ow;
        if (y > 0 && ny[y] == ny[y - 1]) {  // the same source row as the row above: the same codes
          std::memcpy(row, row - ow, static_cast<size_t>(ow));
          continue;
        }
        const int8_t* src = plane + ny[y] * iw;
        for (int64_t x = 0; x < ow; ++x) row[x] = table[static_cast<int>(src[nx[x]]) + 128];
      }
    }
    return;
  }
  // Bilinear, separably: h(iy, x) = w0(x) * q(iy, i0(x)) + w1(x) * q(iy, i1(x)) once per input row (|h| <= 2^22),
  // then v = w0(y) * h(i0(y), x) + w1(y) * h(i1(y), x), the reference's sum regrouped (exact in integers).
  const std::vector<Tap> ty = taps(coord, g.in_h, g.out_h), tx = taps(coord, iw, ow);
  std::vector<int32_t> h(static_cast<size_t>(g.in_h * ow));
  for (int64_t nc = c0; nc < c1; ++nc) {
    const int8_t* plane = in + nc * g.in_h * iw;
    int8_t* dst = out + nc * g.out_h * ow;
    for (int64_t iy = 0; iy < g.in_h; ++iy) {
      const int8_t* src = plane + iy * iw;
      int32_t* hr = h.data() + iy * ow;
      for (int64_t x = 0; x < ow; ++x) {
        const Tap& b = tx[x];
        hr[x] = static_cast<int32_t>(b.w0 * src[b.i0] + b.w1 * src[b.i1]);
      }
    }
    for (int64_t y = 0; y < g.out_h; ++y) {
      const Tap& a = ty[y];
      const int32_t* top = h.data() + a.i0 * ow;
      const int32_t* bottom = h.data() + a.i1 * ow;
      for (int64_t x = 0; x < ow; ++x) {
        dst[y * ow + x] = static_cast<int8_t>(apply_rescale(a.w0 * top[x] + a.w1 * bottom[x], p, lo, hi));
      }
    }
  }
}

namespace {

struct ExactTap {
  int64_t i0, i1;
  double w0, w1;
};

// Neighbours and weights in double, as the float64 reference computes them (ops/resize.cpp): the source
// coordinate clamped to the input, w1 = its fraction, w0 = 1 - w1.
std::vector<ExactTap> exact_taps(CoordinateMode mode, int64_t in_len, int64_t out_len) {
  std::vector<ExactTap> t(out_len);
  for (int64_t x = 0; x < out_len; ++x) {
    const double src = std::max(0.0, std::min(static_cast<double>(in_len - 1), resize_source_coordinate(mode, x, in_len, out_len)));
    const int64_t i0 = static_cast<int64_t>(std::floor(src));
    const double w1 = src - static_cast<double>(i0);
    t[x] = {i0, std::min(i0 + 1, in_len - 1), 1.0 - w1, w1};
  }
  return t;
}

}  // namespace

template <typename In, typename Out>
void resize2d_bilinear_exact(const ResizeGeometry& g, CoordinateMode coord, float in_scale, float out_scale, int64_t lo,
                             int64_t hi, const In* in, Out* out) {
  std::vector<ExactTap> ty = exact_taps(coord, g.in_h, g.out_h), tx = exact_taps(coord, g.in_w, g.out_w);
  const double s = in_scale;
  // Separable, with the same operations per output: top = fma(v(y0, x0), wx0, v(y0, x1) * wx1) is row y0
  // interpolated at x, so every input row is interpolated along x once and each output blends two such rows.
  std::vector<double> values(static_cast<size_t>(g.in_w)), rows(static_cast<size_t>(g.in_h * g.out_w));
  std::vector<double> blended(static_cast<size_t>(g.out_w));
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const In* plane = in + nc * g.in_h * g.in_w;
    Out* dst = out + nc * g.out_h * g.out_w;
    for (int64_t iy = 0; iy < g.in_h; ++iy) {
      for (int64_t ix = 0; ix < g.in_w; ++ix) values[static_cast<size_t>(ix)] = static_cast<double>(plane[iy * g.in_w + ix]) * s;
      double* row = rows.data() + iy * g.out_w;
      for (int64_t x = 0; x < g.out_w; ++x) {
        const ExactTap& b = tx[static_cast<size_t>(x)];
        row[x] = std::fma(values[static_cast<size_t>(b.i0)], b.w0, values[static_cast<size_t>(b.i1)] * b.w1);
      }
    }
    for (int64_t y = 0; y < g.out_h; ++y) {
      const ExactTap& a = ty[static_cast<size_t>(y)];
      const double* top = rows.data() + a.i0 * g.out_w;
      const double* bottom = rows.data() + a.i1 * g.out_w;
      for (int64_t x = 0; x < g.out_w; ++x) blended[static_cast<size_t>(x)] = std::fma(top[x], a.w0, bottom[x] * a.w1);
      quantize_exact_row(blended.data(), blended.size(), out_scale, lo, hi, dst + y * g.out_w);
    }
  }
}

#define BPU_RESIZE_TYPES(In, Out)                                                                                  \
  template void resize2d<In, Out>(const ResizeGeometry&, bool, CoordinateMode, NearestMode, const RescaleParams&,     \
                                  int64_t, int64_t, const In*, Out*);                                                \
  template void resize2d_bilinear_exact<In, Out>(const ResizeGeometry&, CoordinateMode, float, float, int64_t, int64_t, \
                                                 const In*, Out*);
BPU_RESIZE_TYPES(int64_t, int64_t)
BPU_RESIZE_TYPES(int8_t, int8_t)
BPU_RESIZE_TYPES(int8_t, int16_t)
BPU_RESIZE_TYPES(int8_t, int32_t)
BPU_RESIZE_TYPES(int16_t, int8_t)
BPU_RESIZE_TYPES(int16_t, int16_t)
BPU_RESIZE_TYPES(int16_t, int32_t)
BPU_RESIZE_TYPES(int32_t, int8_t)
BPU_RESIZE_TYPES(int32_t, int16_t)
BPU_RESIZE_TYPES(int32_t, int32_t)
#undef BPU_RESIZE_TYPES

}  // namespace bpu::kernels
