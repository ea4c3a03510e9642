// Golden tests of the bayes kernels other than CONV2D against double-precision references: pooling (integer
// and float-emulated), resize, concat/rescale, LUTs, broadcasting add/sub and mul with int16 saturation,
// transpose/slice/pad, transposed convolution and softmax.

#include <cmath>
#include <random>

#include "numerics/activation.h"
#include "numerics/requant.h"
#include "arch/bayes/sim/kernels/deconv2d.h"
#include "arch/bayes/sim/kernels/movement.h"
#include "arch/bayes/sim/kernels/pool.h"
#include "arch/bayes/sim/kernels/resize.h"
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
  PoolGeometry g;
  g.batch_channels = 3;
  g.in_h = 9;
  g.in_w = 11;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = 2;
  g.pad_top = g.pad_left = 1;
  g.pad_bottom = g.pad_right = 2;  // includes windows that are all padding on the bottom/right edge
  g.out_h = 6;
  g.out_w = 7;
  std::vector<int64_t> x = random_codes(static_cast<size_t>(3 * 9 * 11), -128, 127, 31);
  std::vector<int8_t> x8(x.begin(), x.end());
  for (RequantParams p : {make_conv_requant(0.1, 1.0, 0.1, 0), make_conv_requant(0.1, 1.0, 0.23, 0)}) {
    std::vector<int64_t> ref(static_cast<size_t>(3 * 6 * 7));
    pool2d(g, true, false, x.data(), &p, 1, -128, 127, ref.data());
    std::vector<int8_t> got(ref.size());
    max_pool2d_direct(g, x8.data(), p, -128, 127, got.data());
    CHECK(std::equal(ref.begin(), ref.end(), got.begin()));
  }
}

TEST_CASE("golden: float-emulated average pooling agrees with the real mean away from ties", "[golden]") {
  PoolGeometry g;
  g.batch_channels = 64;
  g.in_h = g.in_w = 2;
  g.kernel_h = g.kernel_w = 2;
  g.out_h = g.out_w = 1;
  const float s = 0.0231f;
  std::vector<int64_t> x = random_codes(64 * 4, -128, 127, 2), y(64);
  avg_pool2d_float_emulated(g, false, x.data(), s, s, -128, 127, y.data());
  int ties = 0;
  for (int c = 0; c < 64; ++c) {
    const long double mean = (x[c * 4] + x[c * 4 + 1] + x[c * 4 + 2] + x[c * 4 + 3]) / 4.0L;
    int64_t expected;
    if (!rne(mean, -128, 127, &expected)) {  // exact ties are settled by float noise, as in the reference
      ++ties;
      CHECK(std::llabs(y[c] - static_cast<int64_t>(std::floor(mean))) <= 1);
      continue;
    }
    CHECK(y[c] == expected);
  }
  CHECK(ties > 0);
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

TEST_CASE("golden: LUTs equal the reference formula at every code", "[golden]") {
    std::vector<int64_t> t8 = build_activation_lut([](float x) { return 1.0f / (1.0f + std::exp(-x)); }, 0.05f, 8, 1.0f / 128, 8);
  REQUIRE(t8.size() == 256);
  for (int q = -128; q < 128; ++q) {
    const float y = 1.0f / (1.0f + std::exp(-(static_cast<float>(q) * 0.05f)));
    CHECK(t8[q + 128] == quantize_like_torch(y, 1.0f / 128, -128, 127));
  }
  std::vector<int64_t> t16 = build_activation_lut([](float x) { return std::tanh(x); }, 1e-4f, 16, 1.0f / 32767, 16);
  REQUIRE(t16.size() == 65536);
  CHECK(t16[32768] == 0);
  CHECK(t16[32768 + 10000] == quantize_like_torch(std::tanh(1.0f), 1.0f / 32767, -32768, 32767));
}

TEST_CASE("golden: transpose, slice and pad move codes as specified", "[golden]") {
  std::vector<int64_t> x = {0, 1, 2, 3, 4, 5};  // shape [2, 3]
  CHECK(transpose_nd(x, {2, 3}, {1, 0}) == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  CHECK(slice_nd(x, {2, 3}, {2, 2}, {0, 2}, {1, -1}) == std::vector<int64_t>{2, 1, 5, 4});
  CHECK(pad_nd(x, {2, 3}, {3, 4}, {1, 0}, -7) == std::vector<int64_t>{-7, -7, -7, -7, 0, 1, 2, -7, 3, 4, 5, -7});
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

TEST_CASE("golden: softmax emulation sums to one in the output scale", "[golden]") {
  std::vector<int64_t> x = {0, 20, 40, -10, 0, 10};  // two rows of 3
  std::vector<int64_t> y = softmax_emulated(x, {2, 3}, 1, 0.05f, 1.0f / 256, -128, 127);
  for (int r = 0; r < 2; ++r) {
    long double e[3], sum = 0;
    for (int k = 0; k < 3; ++k) sum += (e[k] = std::exp(x[r * 3 + k] * 0.05L));
    for (int k = 0; k < 3; ++k) {
      int64_t expected;
      if (rne(e[k] / sum * 256, -128, 127, &expected)) CHECK(y[r * 3 + k] == expected);
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
