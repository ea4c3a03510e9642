// Golden tests of the bayes kernels other than CONV2D against double-precision references: pooling (integer
// and exact), resize, concat/rescale, LUTs, broadcasting add/sub and mul with int16 saturation,
// transpose/slice/pad, transposed convolution and softmax.

#include <array>
#include <cmath>
#include <algorithm>
#include <random>

#include "numerics/activation.h"
#include "numerics/requant.h"
#include "arch/bayes/isa.h"
#include "arch/bayes/sim/kernels/add.h"
#include "arch/bayes/sim/kernels/deconv2d.h"
#include "arch/bayes/sim/kernels/movement.h"
#include "arch/bayes/sim/kernels/mul.h"
#include "arch/bayes/sim/kernels/pool.h"
#include "arch/bayes/sim/kernels/resize.h"
#include "common/broadcast.h"
#include "test_helpers.h"

using namespace bpu;
using namespace bpu::kernels;

namespace {

std::vector<int64_t> random_codes(size_t n, int64_t lo, int64_t hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> d(lo, hi);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// RNE of a real value, or false when it is within 1e-9 of a tie (left to the reference's rounding).
bool rne(long double v, int64_t lo, int64_t hi, int64_t* out) {
  long double f = std::floor(v);
  if (std::fabs(v - f - 0.5L) < 1e-9L) return false;
  *out = std::min<int64_t>(hi, std::max<int64_t>(lo, static_cast<int64_t>(std::nearbyintl(v))));
  return true;
}

// round(v * a * b / n) in exact rational arithmetic (ties to even): a and b float32, split into 24-bit integer
// mantissas, the quotient taken in 128-bit integers. The witness of the kernels that round by the QAT
// model's definition, v * in_scale / n * float32(1 / out_scale), in float64.
int64_t exact_rne(int64_t v, float a, float b, int64_t n) {
  int ea, eb;
  const auto ma = static_cast<__int128>(std::ldexp(std::frexp(a, &ea), 24));
  const auto mb = static_cast<__int128>(std::ldexp(std::frexp(b, &eb), 24));
  __int128 num = static_cast<__int128>(v) * ma * mb, den = n;
  int e = ea + eb - 48;
  for (; e > 0; --e) num *= 2;
  for (; e < 0; ++e) den *= 2;  // |e| stays below 100 for sane scales
  const bool neg = num < 0;
  if (neg) num = -num;
  __int128 q = num / den, r = num % den;
  if (2 * r > den || (2 * r == den && (q & 1))) ++q;
  return static_cast<int64_t>(neg ? -q : q);
}

}  // namespace

TEST_CASE("golden: integer average pooling with padding equals the real mean", "[golden]") {
  PoolGeometry g;
  g.batch_channels = 3;
  g.in_h = 7;
  g.in_w = 6;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = 2;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 1;
  g.out_h = 4;
  g.out_w = 3;
  const double s_in = 0.031, s_out = 0.017;
  std::vector<RequantParams> table;
  for (int n = 1; n <= 9; ++n) table.push_back(make_conv_requant(s_in, 1.0 / n, s_out, 0));
  std::vector<int64_t> x = random_codes(3 * 7 * 6, -128, 127, 1), y(3 * 4 * 3);
  pool2d(g, false, false, x.data(), table.data(), 9, -128, 127, y.data());
  int compared = 0;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t oy = 0; oy < 4; ++oy)
      for (int64_t ox = 0; ox < 3; ++ox) {
        long double sum = 0;
        int n = 0;
        for (int64_t iy = oy * 2 - 1; iy <= oy * 2 + 1; ++iy)
          for (int64_t ix = ox * 2 - 1; ix <= ox * 2 + 1; ++ix)
            if (iy >= 0 && iy < 7 && ix >= 0 && ix < 6) { sum += x[(c * 7 + iy) * 6 + ix]; ++n; }
        int64_t expected;
        if (!rne(sum / n * s_in / s_out, -128, 127, &expected)) continue;
        CHECK(y[(c * 4 + oy) * 3 + ox] == expected);
        ++compared;
      }
  CHECK(compared > 30);
}

TEST_CASE("golden: max pooling takes the window maximum and rescales", "[golden]") {
  PoolGeometry g;
  g.in_h = g.in_w = 4;
  g.kernel_h = g.kernel_w = 2;
  g.stride_h = g.stride_w = 2;
  g.out_h = g.out_w = 2;
  std::vector<int64_t> x = {1, -5, 7, 2, 3, 4, -8, -9, 0, 0, 100, 127, -128, -1, 5, 6};
  RequantParams same = make_conv_requant(0.1, 1.0, 0.1, 0);
  std::vector<int64_t> y(4);
  pool2d(g, true, false, x.data(), &same, 1, -128, 127, y.data());
  CHECK(y == std::vector<int64_t>{4, 7, 0, 127});
  RequantParams half = make_conv_requant(0.1, 1.0, 0.2, 0);
  pool2d(g, true, false, x.data(), &half, 1, -128, 127, y.data());
  CHECK(y == std::vector<int64_t>{2, 4, 0, 64});  // 3.5 -> 4 and 63.5 -> 64 (ties to even)
}

TEST_CASE("golden: the direct max pooling path equals pool2d on padded, strided windows", "[golden]") {
  struct Case { int64_t in_h, in_w, k, stride, pad_lo, pad_hi; };
  // 3x3 s2 with windows all padding on the bottom/right edge, 3x3 s1 same, 2x2 s2, 3x3 s2 ceil-mode-like, 5x2 s3.
  for (const Case c : {Case{9, 11, 3, 2, 1, 2}, Case{7, 8, 3, 1, 1, 1}, Case{8, 8, 2, 2, 0, 0}, Case{31, 31, 3, 2, 0, 1},
                       Case{10, 13, 5, 3, 2, 4}}) {
    PoolGeometry g;
    g.batch_channels = 3;
    g.in_h = c.in_h;
    g.in_w = c.in_w;
    g.kernel_h = c.k;
    g.kernel_w = c.k == 5 ? 2 : c.k;
    g.stride_h = g.stride_w = c.stride;
    g.pad_top = g.pad_left = c.pad_lo;
    g.pad_bottom = g.pad_right = c.pad_hi;
    g.out_h = (g.in_h + c.pad_lo + c.pad_hi - g.kernel_h) / c.stride + 1;
    g.out_w = (g.in_w + c.pad_lo + c.pad_hi - g.kernel_w) / c.stride + 1;
    const size_t n_in = static_cast<size_t>(3 * g.in_h * g.in_w), n_out = static_cast<size_t>(3 * g.out_h * g.out_w);
    std::vector<int64_t> x8v = random_codes(n_in, -128, 127, 31), x16v = random_codes(n_in, -32768, 32767, 32);
    std::vector<int8_t> x8(x8v.begin(), x8v.end());
    std::vector<int16_t> x16(x16v.begin(), x16v.end());
    for (RequantParams p : {make_conv_requant(0.1, 1.0, 0.1, 0), make_conv_requant(0.1, 1.0, 0.23, 0.7)}) {
      std::vector<int64_t> ref(n_out), ref16(n_out);
      pool2d(g, true, false, x8v.data(), &p, 1, -128, 127, ref.data());
      pool2d(g, true, false, x16v.data(), &p, 1, -32768, 32767, ref16.data());
      std::vector<int8_t> got(n_out);
      std::vector<int16_t> got16(n_out);
      std::vector<int32_t> got32(n_out);
      max_pool2d_direct(g, x8.data(), p, -128, 127, got.data());
      CHECK(std::equal(ref.begin(), ref.end(), got.begin()));
      max_pool2d_direct(g, x8.data(), p, -128, 127, got32.data());
      CHECK(std::equal(ref.begin(), ref.end(), got32.begin()));
      max_pool2d_direct(g, x16.data(), p, -32768, 32767, got16.data());
      CHECK(std::equal(ref16.begin(), ref16.end(), got16.begin()));
    }
  }
}

TEST_CASE("golden: global average pooling on typed planes equals avg_pool2d_exact", "[golden]") {
  for (int64_t plane : {1, 7, 64, 1024}) {
    PoolGeometry g;
    g.batch_channels = 5;
    g.in_h = plane == 1024 ? 32 : 1;
    g.in_w = plane / g.in_h;
    g.kernel_h = g.in_h;
    g.kernel_w = g.in_w;
    const size_t n = static_cast<size_t>(5 * plane);
    for (auto [lo, hi] : {std::pair<int64_t, int64_t>{-128, 127}, {-32768, 32767}}) {
      std::vector<int64_t> x = random_codes(n, lo, hi, 61 + plane), ref(5);
      for (float s : {0.0231f, 0.25f}) {
        avg_pool2d_exact(g, false, x.data(), s, s * 0.75f, -128, 127, ref.data());
        std::vector<int8_t> got8(5);
        std::vector<int32_t> got32(5);
        if (hi == 127) {
          std::vector<int8_t> x8(x.begin(), x.end());
          global_avg_pool_exact(5, plane, x8.data(), s, s * 0.75f, -128, 127, got8.data());
        } else {
          std::vector<int16_t> x16(x.begin(), x.end());
          global_avg_pool_exact(5, plane, x16.data(), s, s * 0.75f, -128, 127, got8.data());
        }
        std::vector<int32_t> x32(x.begin(), x.end());
        global_avg_pool_exact(5, plane, x32.data(), s, s * 0.75f, -128, 127, got32.data());
        CHECK(std::equal(ref.begin(), ref.end(), got8.begin()));
        CHECK(std::equal(ref.begin(), ref.end(), got32.begin()));
      }
    }
  }
}

TEST_CASE("golden: exact average pooling equals the rational value at and away from ties", "[golden]") {
  PoolGeometry g;
  g.batch_channels = 256;
  g.in_h = g.in_w = 2;
  g.kernel_h = g.kernel_w = 2;
  g.out_h = g.out_w = 1;
  // 0.0231: s * float32(1/s) != 1, so the real mean's .5 ties move off the tie; 0.25: exact ties, to even.
  for (float s : {0.0231f, 0.25f, 0.0173f}) {
    std::vector<int64_t> x = random_codes(256 * 4, -128, 127, 2), y(256);
    avg_pool2d_exact(g, false, x.data(), s, s, -128, 127, y.data());
    int ties = 0;
    for (int c = 0; c < 256; ++c) {
      const int64_t sum = x[c * 4] + x[c * 4 + 1] + x[c * 4 + 2] + x[c * 4 + 3];
      ties += (sum % 4 == 2 || sum % 4 == -2);
      const int64_t expected = std::min<int64_t>(127, std::max<int64_t>(-128, exact_rne(sum, s, 1.0f / s, 4)));
      CHECK(y[c] == expected);
    }
    CHECK(ties > 20);
  }
}

TEST_CASE("golden: exact average pooling with 3x3 windows, pads and unequal scales", "[golden]") {
  PoolGeometry g;
  g.batch_channels = 4;
  g.in_h = g.in_w = 6;
  g.kernel_h = g.kernel_w = 3;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 1;
  g.out_h = g.out_w = 6;
  std::vector<int64_t> x = random_codes(4 * 36, -128, 127, 9), y(4 * 36);
  const float s_in = 0.031f, s_out = 0.017f;
  avg_pool2d_exact(g, false, x.data(), s_in, s_out, -128, 127, y.data());
  for (int c = 0; c < 4; ++c)
    for (int oy = 0; oy < 6; ++oy)
      for (int ox = 0; ox < 6; ++ox) {
        int64_t sum = 0, n = 0;
        for (int iy = oy - 1; iy <= oy + 1; ++iy)
          for (int ix = ox - 1; ix <= ox + 1; ++ix)
            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6) sum += x[(c * 6 + iy) * 6 + ix], ++n;
        const int64_t expected = std::min<int64_t>(127, std::max<int64_t>(-128, exact_rne(sum, s_in, 1.0f / s_out, n)));
        CHECK(y[(c * 6 + oy) * 6 + ox] == expected);
      }
}

TEST_CASE("golden: exact bilinear x2 (half_pixel) equals the rational value at and away from ties", "[golden]") {
  const int64_t H = 5, W = 7;
  ResizeGeometry g{3, H, W, 2 * H, 2 * W};
  std::vector<int64_t> x = random_codes(static_cast<size_t>(3 * H * W), -128, 127, 5), y(static_cast<size_t>(12 * H * W));
  // Source coordinate o / 2 - 1/4 clamped to [0, len - 1], in quarters: i0 and the fraction f4 / 4.
  auto tap = [](int64_t o, int64_t len, int64_t* i0, int64_t* f4) {
    const int64_t q = std::max<int64_t>(0, std::min<int64_t>(4 * (len - 1), 2 * o - 1));
    *i0 = q / 4;
    *f4 = q % 4;
  };
  for (float s : {0.0231f, 0.25f}) {
    resize2d_bilinear_exact(g, CoordinateMode::HalfPixel, s, s, -128, 127, x.data(), y.data());
    int ties = 0;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t oy = 0; oy < 2 * H; ++oy)
        for (int64_t ox = 0; ox < 2 * W; ++ox) {
          int64_t y0, fy, x0, fx;
          tap(oy, H, &y0, &fy);
          tap(ox, W, &x0, &fx);
          const int64_t y1 = std::min(y0 + 1, H - 1), x1 = std::min(x0 + 1, W - 1);
          auto at = [&](int64_t yy, int64_t xx) { return x[(c * H + yy) * W + xx]; };
          const int64_t v16 = (4 - fy) * ((4 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((4 - fx) * at(y1, x0) + fx * at(y1, x1));
          ties += (v16 % 16 == 8 || v16 % 16 == -8);
          const int64_t expected = std::min<int64_t>(127, std::max<int64_t>(-128, exact_rne(v16, s, 1.0f / s, 16)));
          CHECK(y[(c * 2 * H + oy) * 2 * W + ox] == expected);
        }
    CHECK(ties > 10);
  }
}

TEST_CASE("golden: resize nearest (asymmetric floor) and integer bilinear x2", "[golden]") {
  ResizeGeometry g{1, 2, 3, 4, 6};
  std::vector<int64_t> x = {1, 2, 3, 4, 5, 6}, y(24);
  RescaleParams same = make_rescale_params(1.0);
  resize2d(g, false, CoordinateMode::Asymmetric, NearestMode::Floor, same, -128, 127, x.data(), y.data());
  CHECK(y == std::vector<int64_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6});
  // Bilinear, half_pixel: output (1, 1) = 0.5625*x00 + 0.1875*x01 + 0.1875*x10 + 0.0625*x11 (before clamping).
  std::vector<int64_t> big = {40, -20, 60, 100, 8, -8};
  RescaleParams p = make_rescale_params(1.0);
  p.shift += 30;
  resize2d(g, true, CoordinateMode::HalfPixel, NearestMode::RoundPreferFloor, p, -128, 127, big.data(), y.data());
  int64_t expected;
  REQUIRE(rne(0.5625L * 40 + 0.1875L * -20 + 0.1875L * 100 + 0.0625L * 8, -128, 127, &expected));
  CHECK(y[1 * 6 + 1] == expected);
  CHECK(y[0] == 40);  // the corner copies its source
}

TEST_CASE("golden: rescale, add/sub with broadcasting and int16 saturation, mul", "[golden]") {
  RescaleParams r = make_rescale_params(0.37 / 0.11);
  for (int64_t q : {-128, -37, 0, 1, 55, 127}) {
    int64_t expected;
    if (rne(q * (0.37L / 0.11L), -32768, 32767, &expected)) CHECK(apply_rescale(q, r, -32768, 32767) == expected);
  }
  // Add [2,3] + [3] -> [2,3] with int16 saturation.
  AddParams a = make_add_params(0.5, 0.25, 0.5);
  std::vector<int64_t> va = {30000, -30000, 1, 2, 3, 4}, vb = {30000, -30000, 2}, out(6);
  for_each_broadcast({2, 3}, {2, 3}, {3}, [&](int64_t o, int64_t ia, int64_t ib) { out[o] = apply_add(va[ia], vb[ib], a, -32768, 32767); });
  CHECK(out == std::vector<int64_t>{32767, -32768, 2, 15002, -14997, 5});
  AddParams sub = a;
  sub.mult_b = -sub.mult_b;
  CHECK(apply_add(10, 8, sub, -128, 127) == 6);  // 10*0.5/0.5 - 8*0.25/0.5
  RequantParams m = make_conv_requant(0.02, 0.05, 0.01, 0);
  CHECK(apply_requant(int64_t(100) * -37, m, -128, 127) == -128);  // -370 saturates
  int64_t expected;
  REQUIRE(rne(7.0L * 9 * 0.02L * 0.05L / 0.01L, -128, 127, &expected));
  CHECK(apply_requant(7 * 9, m, -128, 127) == expected);
}

TEST_CASE("golden: LUTs equal the real formula at every code, rounded by the model's definition", "[golden]") {
  std::vector<int64_t> t8 = build_activation_lut([](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 0.05f, 8, 1.0f / 128, 8);
  REQUIRE(t8.size() == 256);
  const long double r8 = 1.0f / (1.0f / 128);
  for (int q = -128; q < 128; ++q) {
    const long double y = 1.0L / (1.0L + std::exp(-(q * static_cast<long double>(0.05f))));
    int64_t expected;
    if (rne(y * r8, -128, 127, &expected)) CHECK(t8[q + 128] == expected);
  }
  std::vector<int64_t> t16 = build_activation_lut([](double x) { return std::tanh(x); }, 1e-4f, 16, 1.0f / 32767, 16);
  REQUIRE(t16.size() == 65536);
  CHECK(t16[32768] == 0);
  const long double r16 = 1.0f / (1.0f / 32767);
  size_t checked = 0;
  for (int q = -32768; q < 32768; q += 97) {
    int64_t expected;
    if (!rne(std::tanh(q * static_cast<long double>(1e-4f)) * r16, -32768, 32767, &expected)) continue;
    CHECK(t16[q + 32768] == expected);
    ++checked;
  }
  CHECK(checked > 600);
}

TEST_CASE("golden: transpose, slice and pad move codes as specified", "[golden]") {
  std::vector<int64_t> x = {0, 1, 2, 3, 4, 5};  // shape [2, 3]
  CHECK(transpose_nd(x, {2, 3}, {1, 0}) == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  CHECK(slice_nd(x, {2, 3}, {2, 2}, {0, 2}, {1, -1}) == std::vector<int64_t>{2, 1, 5, 4});
  CHECK(pad_nd(x, {2, 3}, {3, 4}, {1, 0}, -7) == std::vector<int64_t>{-7, -7, -7, -7, 0, 1, 2, -7, 3, 4, 5, -7});
}

TEST_CASE("golden: the vector ADD equals apply_add on int8 and int16, Sub's negative multipliers and ties", "[golden]") {
  const std::vector<int64_t> ca = random_codes(1003, -128, 127, 41), cb = random_codes(1003, -128, 127, 42);
  const std::vector<int64_t> wa = random_codes(1003, -32768, 32767, 43), wb = random_codes(1003, -32768, 32767, 44);
  std::vector<int8_t> a8(ca.begin(), ca.end()), b8(cb.begin(), cb.end());
  std::vector<int16_t> a16(wa.begin(), wa.end()), b16(wb.begin(), wb.end());
  a8[0] = b8[0] = -128;
  a16[0] = b16[0] = -32768;
  std::vector<AddParams> params = {make_add_params(0.02, 0.03, 0.04), make_add_params(0.015, 0.02, 0.03),  // 3:4:6 ties
                                   make_add_params(0.5, 0.25, 0.5), make_add_params(1e-3, 0.7, 0.05)};
  AddParams sub = make_add_params(0.02, 0.03, 0.04);
  sub.mult_b = -sub.mult_b;  // Sub: a - b
  params.push_back(sub);
  params.push_back({(int64_t(1) << 46) - 1, -((int64_t(1) << 46) - 1), 40});  // the largest multipliers taken
  params.push_back({1, 1, 1});    // (a + b) / 2: every odd sum an exact tie
  params.push_back({3, -1, 2});   // negative sums at ties too
  params.push_back({5, 7, 0});    // no shift
  for (const AddParams& p : params) {
    INFO("mult_a " << p.mult_a << " mult_b " << p.mult_b << " shift " << p.shift);
    std::vector<int8_t> ref8(1003), got8(1003);
    add_elementwise_scalar(a8.data(), b8.data(), 1003, p, -128, 127, ref8.data());
    add_elementwise(a8.data(), b8.data(), 1003, p, -128, 127, got8.data());
    CHECK(ref8 == got8);
    std::vector<int16_t> ref16(1003), got16(1003);
    add_elementwise_scalar(a16.data(), b16.data(), 1003, p, 0, 32767, ref16.data());  // a fused ReLU's clamp
    add_elementwise(a16.data(), b16.data(), 1003, p, 0, 32767, got16.data());
    CHECK(ref16 == got16);
    std::vector<int32_t> ref32(1003), got32(1003);
    add_elementwise_scalar(a8.data(), b16.data(), 1003, p, INT32_MIN, INT32_MAX, ref32.data());
    add_elementwise(a8.data(), b16.data(), 1003, p, INT32_MIN, INT32_MAX, got32.data());
    CHECK(ref32 == got32);
  }
}

// clamp(round half to even of a * b * m / 2^shift) on 128-bit integers: the MUL definition, written out.
int64_t mul_definition(int64_t a, int64_t b, int32_t m, int shift, int64_t lo, int64_t hi) {
  const __int128 v = static_cast<__int128>(a) * b * m;
  __int128 q = v >> shift;  // floor
  const __int128 rem = v - (q << shift), half = shift > 0 ? (static_cast<__int128>(1) << (shift - 1)) : 0;
  if (shift > 0 && (rem > half || (rem == half && (q & 1)))) ++q;
  return q < lo ? lo : (q > hi ? hi : static_cast<int64_t>(q));
}

TEST_CASE("golden: MUL rows equal the definition for 8/16-bit codes, broadcast rows and ties", "[golden]") {
  const std::vector<int64_t> ca = random_codes(2060, -128, 127, 51), wa = random_codes(2060, -32768, 32767, 52);
  std::vector<int8_t> a8(ca.begin(), ca.end());
  std::vector<int16_t> a16(wa.begin(), wa.end());
  a8[0] = -128;
  a16[0] = a16[1] = -32768;  // -32768 * -32768 = 2^30, the largest product
  const std::vector<RequantParams> params = {make_conv_requant(0.02, 0.03, 0.04, 0), make_conv_requant(0.5, 0.25, 0.5, 0),
                                             RequantParams{1 << 30, 31, 0},       // (a * b) / 2: ties
                                             RequantParams{(1 << 30) + 7, 37, 0}, RequantParams{1, 0, 0}};
  for (const RequantParams& p : params) {
    for (int64_t step_a : {0, 1}) {
      for (int64_t step_b : {0, 1}) {
        // 5 and 15: the short-row form; 1001: one block of int32 products with an 8-lane and a scalar tail; 2053:
        // three blocks, the last of 5 (the short-plane requantization).
        for (const int64_t n : {5, 15, 1001, 2053}) {
          INFO("multiplier " << p.multiplier << " shift " << p.shift << " steps " << step_a << step_b << ", " << n << " elements");
          std::vector<int8_t> got8(n);
          std::vector<int32_t> got32(n);
          std::vector<int16_t> got16(n);
          mul_row(a8.data(), step_a, a8.data() + 2, step_b, n, p, -128, 127, got8.data());
          mul_row(a16.data(), step_a, a16.data() + 1, step_b, n, p, INT32_MIN, INT32_MAX, got32.data());
          mul_row(a8.data() + 1, step_a, a16.data(), step_b, n, p, 0, 32767, got16.data());
          int bad = 0;
          for (int64_t j = 0; j < n; ++j) {
            bad += got8[j] != mul_definition(a8[j * step_a], a8[2 + j * step_b], p.multiplier, p.shift, -128, 127);
            bad += got32[j] != mul_definition(a16[j * step_a], a16[1 + j * step_b], p.multiplier, p.shift, INT32_MIN, INT32_MAX);
            bad += got16[j] != mul_definition(a8[1 + j * step_a], a16[j * step_b], p.multiplier, p.shift, 0, 32767);
          }
          CHECK(bad == 0);
        }
      }
    }
  }
}

TEST_CASE("golden: coalesced broadcast shapes walk the same elements", "[golden]") {
  const std::vector<std::array<Shape, 3>> cases = {
      {Shape{1, 32, 16, 16}, Shape{1, 32, 1, 1}, Shape{1, 32, 16, 16}}, {Shape{2, 3, 4, 5}, Shape{3, 1, 5}, Shape{2, 1, 4, 1}},
      {Shape{4, 1, 6}, Shape{6}, Shape{4, 1, 1}}, {Shape{1, 1}, Shape{1}, Shape{1, 1}}, {Shape{3, 4}, Shape{3, 4}, Shape{}}};
  for (const auto& c : cases) {
    std::vector<std::array<int64_t, 3>> walk, coalesced;
    for_each_broadcast(c[0], c[1], c[2], [&](int64_t o, int64_t ia, int64_t ib) { walk.push_back({o, ia, ib}); });
    Shape o = c[0], a = c[1], b = c[2];
    coalesce_broadcast(o, a, b);
    CHECK(o.size() <= c[0].size());
    for_each_broadcast_row(o, a, b, [&](int64_t r, int64_t ia, int64_t sa, int64_t ib, int64_t sb, int64_t len) {
      for (int64_t j = 0; j < len; ++j) coalesced.push_back({r + j, ia + j * sa, ib + j * sb});
    });
    CHECK(walk == coalesced);
  }
}

TEST_CASE("golden: the typed slice equals slice_nd on every axis, step and sign", "[golden]") {
  const Shape in_shape = {2, 5, 6, 7};
  const std::vector<int64_t> x = random_codes(2 * 5 * 6 * 7, -128, 127, 17);
  std::vector<int8_t> x8(x.begin(), x.end());
  struct Case { Shape out; std::vector<int32_t> starts, steps; };
  for (const Case& c : std::vector<Case>{{{2, 5, 6, 7}, {0, 0, 0, 0}, {1, 1, 1, 1}},
                                         {{1, 3, 6, 4}, {1, 1, 0, 3}, {1, 1, 1, 1}},
                                         {{2, 2, 3, 3}, {0, 4, 5, 0}, {1, -2, -2, 3}},
                                         {{2, 5, 2, 7}, {0, 0, 1, 6}, {1, 1, 3, -1}},
                                         {{1, 1, 1, 1}, {1, 2, 3, 4}, {1, 1, 1, 1}}}) {
    const std::vector<int64_t> ref = slice_nd(x, in_shape, c.out, c.starts, c.steps);
    std::vector<int8_t> got(ref.size());
    slice_typed<int8_t>(x8.data(), in_shape, c.out, c.starts, c.steps, got.data());
    CHECK(std::equal(ref.begin(), ref.end(), got.begin()));
  }
}

TEST_CASE("golden: the typed transpose equals transpose_nd for every permutation of four axes, and 5-D shuffles", "[golden]") {
  // All 24 permutations of [2, 3, 4, 5] (merged axes, contiguous and strided runs), the ShuffleNet channel
  // shuffle [1, 2, 6, 3, 4] -> [0, 2, 1, 3, 4], a rank-1 and a rank-0 tensor; int8 and int16 codes.
  const Shape in_shape = {2, 3, 4, 5};
  const std::vector<int64_t> x = random_codes(120, -32768, 32767, 29);
  std::vector<int16_t> x16(x.begin(), x.end());
  std::vector<uint32_t> perm = {0, 1, 2, 3};
  do {
    const std::vector<int64_t> ref = transpose_nd(x, in_shape, perm);
    std::vector<int16_t> got(ref.size());
    transpose_typed<int16_t>(x16.data(), in_shape, perm, got.data());
    INFO(perm[0] << perm[1] << perm[2] << perm[3]);
    CHECK(std::equal(ref.begin(), ref.end(), got.begin()));
  } while (std::next_permutation(perm.begin(), perm.end()));
  struct Case { Shape shape; std::vector<uint32_t> perm; };
  for (const Case& c : std::vector<Case>{{{1, 2, 6, 3, 4}, {0, 2, 1, 3, 4}}, {{7}, {0}}, {{}, {}}}) {
    int64_t n = 1;
    for (int64_t d : c.shape) n *= d;
    const std::vector<int64_t> v = random_codes(n, -128, 127, 31);
    std::vector<int8_t> v8(v.begin(), v.end()), got(static_cast<size_t>(n));
    transpose_typed<int8_t>(v8.data(), c.shape, c.perm, got.data());
    const std::vector<int64_t> ref = transpose_nd(v, c.shape, c.perm);
    CHECK(std::equal(ref.begin(), ref.end(), got.begin()));
  }
}

TEST_CASE("golden: transposed convolution equals the gather definition", "[golden]") {
  DeconvGeometry g;
  g.in_channels = 2;
  g.in_h = 3;
  g.in_w = 3;
  g.out_channels = 3;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = 2;
  g.pad_top = g.pad_left = 1;
  g.out_h = g.out_w = 5;
  std::vector<int64_t> x = random_codes(18, -128, 127, 3);
  std::vector<int64_t> w64 = random_codes(2 * 3 * 9, -128, 127, 4);
  std::vector<int8_t> w(w64.begin(), w64.end());
  std::vector<int64_t> acc(3 * 25);
  deconv_accumulate_reference(g, x.data(), w.data(), acc.data());
  for (int co = 0; co < 3; ++co)
    for (int oy = 0; oy < 5; ++oy)
      for (int ox = 0; ox < 5; ++ox) {
        int64_t sum = 0;
        for (int ci = 0; ci < 2; ++ci)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int ny = oy + 1 - ky, nx = ox + 1 - kx;  // oy = iy*2 - 1 + ky
              if (ny % 2 || nx % 2 || ny < 0 || nx < 0 || ny / 2 >= 3 || nx / 2 >= 3) continue;
              sum += x[(ci * 3 + ny / 2) * 3 + nx / 2] * w[((ci * 3 + co) * 3 + ky) * 3 + kx];
            }
        CHECK(acc[(co * 5 + oy) * 5 + ox] == sum);
      }
}

TEST_CASE("golden: exact softmax rounds the real softmax by the model's definition", "[golden]") {
  std::vector<int64_t> x = {0, 20, 40, -10, 0, 10};  // two rows of 3
  std::vector<int64_t> y = softmax_exact(x, {2, 3}, 1, 0.05f, 1.0f / 256, -128, 127);
  const long double r = 1.0f / (1.0f / 256);  // float32(1 / out_scale) = 256 exactly
  for (int r0 = 0; r0 < 2; ++r0) {
    long double e[3], sum = 0;
    for (int k = 0; k < 3; ++k) sum += (e[k] = std::exp(x[r0 * 3 + k] * static_cast<long double>(0.05f)));
    for (int k = 0; k < 3; ++k) {
      int64_t expected;
      REQUIRE(rne(e[k] / sum * r, -128, 127, &expected));
      CHECK(y[r0 * 3 + k] == expected);
    }
  }
}

TEST_CASE("golden: the int8 rescale table copy equals apply_rescale per element", "[golden]") {
  const std::vector<int64_t> codes = random_codes(6 * 37, -128, 127, 11);
  std::vector<int8_t> x(codes.begin(), codes.end());
  struct Case { int64_t mult; int32_t shift; };
  // identity, a down-scale, an up-scale that saturates, a ratio near a .5 tie
  for (const Case c : {Case{1 << 30, 30}, Case{1518500250, 31}, Case{3 * (int64_t(1) << 29), 29}, Case{(int64_t(1) << 29) + 1, 30}}) {
    const kernels::Int8Rescale r(c.mult, c.shift, -128, 127);
    std::vector<int8_t> y(6 * 50, 7);
    r.copy(x.data(), 6, 37, y.data() + 5, 50);  // rows of 37 written 50 apart at offset 5
    for (int64_t row = 0; row < 6; ++row) {
      for (int64_t k = 0; k < 50; ++k) {
        const int64_t got = y[row * 50 + k];
        if (k < 5 || k >= 42) {
          CHECK(got == 7);  // untouched
          continue;
        }
        CHECK(got == apply_rescale(x[row * 37 + k - 5], RescaleParams{c.mult, c.shift}, -128, 127));
      }
    }
    CHECK(r.identity == (c.shift == 30 && c.mult == (1 << 30)));
  }
}

TEST_CASE("golden: the int8 fast resize equals resize2d for every coordinate and nearest mode, up and down", "[golden]") {
  struct Case { int64_t in_h, in_w, out_h, out_w; };
  const Case cases[] = {{4, 4, 8, 8}, {3, 5, 7, 11}, {8, 8, 4, 4}, {1, 6, 3, 13}, {5, 3, 5, 3}, {6, 9, 4, 20}, {2, 2, 1, 1}};
  const RescaleParams ratios[] = {make_rescale_params(1.0), make_rescale_params(0.37), make_rescale_params(1.9),
                                  RescaleParams{(int64_t(1) << 29) + 1, 30}};
  uint64_t seed = 90;
  for (const Case c : cases) {
    ResizeGeometry g{5, c.in_h, c.in_w, c.out_h, c.out_w};
    const std::vector<int64_t> codes = random_codes(static_cast<size_t>(5 * c.in_h * c.in_w), -128, 127, ++seed);
    const std::vector<int8_t> x8(codes.begin(), codes.end());
    const size_t n_out = static_cast<size_t>(5 * c.out_h * c.out_w);
    for (uint32_t coord = 0; coord < 4; ++coord) {
      for (uint32_t nearest = 0; nearest < 4; ++nearest) {
        for (const RescaleParams& q : ratios) {
          for (bool bilinear : {false, true}) {
            // bilinear sums carry 30 fractional bits: the same ratio, 30 more bits of shift
            RescaleParams p = q;
            if (bilinear) p.shift += 2 * bayes::kBilinearWeightBits;
            for (auto [lo, hi] : {std::pair<int64_t, int64_t>{-128, 127}, {-20, 100}}) {
              std::vector<int64_t> ref(n_out);
              resize2d(g, bilinear, static_cast<CoordinateMode>(coord), static_cast<NearestMode>(nearest), p, lo, hi,
                       codes.data(), ref.data());
              const Int8Rescale table(p.mult, p.shift, lo, hi);
              std::vector<int8_t> got(n_out, 99);
              // planes in two calls, as two workers take them
              resize2d_int8(g, bilinear, static_cast<CoordinateMode>(coord), static_cast<NearestMode>(nearest), p, lo, hi,
                            table.table, x8.data(), got.data(), 0, 2);
              resize2d_int8(g, bilinear, static_cast<CoordinateMode>(coord), static_cast<NearestMode>(nearest), p, lo, hi,
                            table.table, x8.data(), got.data(), 2, 5);
              INFO("geometry " << c.in_h << "x" << c.in_w << " -> " << c.out_h << "x" << c.out_w << " coord " << coord
                               << " nearest " << nearest << " bilinear " << bilinear);
              CHECK(std::equal(ref.begin(), ref.end(), got.begin()));
            }
          }
        }
      }
    }
  }
}
