// RESIZE reference loops.

#include "arch/bayes/sim/kernels/resize.h"

#include <algorithm>
#include <cmath>
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

void resize2d(const ResizeGeometry& g, bool bilinear, CoordinateMode coord, NearestMode nearest, const RescaleParams& p,
              int64_t lo, int64_t hi, const int64_t* in, int64_t* out) {
  std::vector<Tap> ty = taps(coord, g.in_h, g.out_h), tx = taps(coord, g.in_w, g.out_w);
  std::vector<int64_t> ny(g.out_h), nx(g.out_w);
  for (int64_t y = 0; y < g.out_h; ++y) ny[y] = nearest_index(nearest, resize_source_coordinate(coord, y, g.in_h, g.out_h), g.in_h);
  for (int64_t x = 0; x < g.out_w; ++x) nx[x] = nearest_index(nearest, resize_source_coordinate(coord, x, g.in_w, g.out_w), g.in_w);
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const int64_t* plane = in + nc * g.in_h * g.in_w;
    int64_t* dst = out + nc * g.out_h * g.out_w;
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
        dst[y * g.out_w + x] = apply_rescale(v, p, lo, hi);
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

void resize2d_bilinear_exact(const ResizeGeometry& g, CoordinateMode coord, float in_scale, float out_scale, int64_t lo,
                             int64_t hi, const int64_t* in, int64_t* out) {
  std::vector<ExactTap> ty = exact_taps(coord, g.in_h, g.out_h), tx = exact_taps(coord, g.in_w, g.out_w);
  const double s = in_scale;
  for (int64_t nc = 0; nc < g.batch_channels; ++nc) {
    const int64_t* plane = in + nc * g.in_h * g.in_w;
    int64_t* dst = out + nc * g.out_h * g.out_w;
    auto at = [&](int64_t y, int64_t x) { return static_cast<double>(plane[y * g.in_w + x]) * s; };
    for (int64_t y = 0; y < g.out_h; ++y) {
      const ExactTap& a = ty[y];
      for (int64_t x = 0; x < g.out_w; ++x) {
        const ExactTap& b = tx[x];
        const double top = std::fma(at(a.i0, b.i0), b.w0, at(a.i0, b.i1) * b.w1);
        const double bottom = std::fma(at(a.i1, b.i0), b.w0, at(a.i1, b.i1) * b.w1);
        dst[y * g.out_w + x] = quantize_exact(std::fma(top, a.w0, bottom * a.w1), out_scale, lo, hi);
      }
    }
  }
}

}  // namespace bpu::kernels
