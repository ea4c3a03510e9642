// Numerics: round-half-even shifts, conv requantization and add rescaling against a real-number reference
// computed in long double, and the torch-compatible float quantizer.

#include <algorithm>
#include <random>

#include "numerics/requant.h"
#include "test_helpers.h"

using namespace bpu;

namespace {

// Exact value of acc * M + b/s_y rounded half to even, from long double; returns false near a tie where
// long double's own rounding could decide (|frac - 0.5| < 1e-9), so the comparison is only made where the
// reference is unambiguous.
bool reference_round(long double real, long double* out) {
  long double fl = std::floor(real);
  long double frac = real - fl;
  if (std::fabs(frac - 0.5L) < 1e-9L) return false;
  *out = std::nearbyintl(real);
  return true;
}

}  // namespace

TEST_CASE("numerics: rshift_rne rounds half to even, including negative values", "[numerics]") {
  CHECK(rshift_rne(5, 1) == 2);    // 2.5 -> 2
  CHECK(rshift_rne(7, 1) == 4);    // 3.5 -> 4
  CHECK(rshift_rne(-5, 1) == -2);  // -2.5 -> -2
  CHECK(rshift_rne(-7, 1) == -4);  // -3.5 -> -4
  CHECK(rshift_rne(9, 2) == 2);    // 2.25 -> 2
  CHECK(rshift_rne(11, 2) == 3);   // 2.75 -> 3
  CHECK(rshift_rne(-9, 2) == -2);
  CHECK(rshift_rne(-11, 2) == -3);
  CHECK(rshift_rne(12345, 0) == 12345);
  // The double-rounding trap from TF issue #25087: exact 11.4991 must give 11.
  RequantParams p;
  p.multiplier = 1583594044;
  p.shift = 31 + 9;
  CHECK(apply_requant(7984, p, -1000, 1000) == 11);
}

TEST_CASE("numerics: conv requantization equals the real-number result", "[numerics]") {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> log_scale(-9.0, -2.0);
  std::uniform_int_distribution<int64_t> acc_dist(-(int64_t(1) << 24), int64_t(1) << 24);
  std::normal_distribution<double> bias_dist(0.0, 2.0);
  int compared = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    float sx = static_cast<float>(std::exp(log_scale(rng)));
    float sw = static_cast<float>(std::exp(log_scale(rng)));
    float sy = static_cast<float>(std::exp(log_scale(rng) + 3.0));
    float bias = static_cast<float>(bias_dist(rng));
    RequantParams p = make_conv_requant(sx, sw, sy, bias);
    REQUIRE(p.shift >= 0);
    REQUIRE(p.shift <= kMaxShift);
    for (int k = 0; k < 20; ++k) {
      int64_t acc = acc_dist(rng) >> (k % 12);
      // The encoded multiplier is M to 31 significant bits; compare against the encoded value, which is the
      // integer scheme's definition, and separately against the true M within one LSB.
      long double encoded = (static_cast<long double>(acc) * p.multiplier + p.bias) / std::ldexp(1.0L, p.shift);
      long double expected;
      if (!reference_round(encoded, &expected)) continue;
      expected = std::min<long double>(127, std::max<long double>(-128, expected));
      int64_t got = apply_requant(acc, p, -128, 127);
      REQUIRE(got == static_cast<int64_t>(expected));
      const long double inv = 1.0f / sy;  // torch's float32 reciprocal of the output scale
      long double real = static_cast<long double>(acc) * sx * sw * inv + static_cast<long double>(bias) * inv;
      long double real_q = std::min<long double>(127, std::max<long double>(-128, std::nearbyintl(real)));
      REQUIRE(std::fabs(got - real_q) <= 1);
      ++compared;
    }
  }
  CHECK(compared > 30000);
}

// Issue 12 point 6: the QAT model's quantizer is rint(y * float32(1/s)), not rint(y / s). Where the two round
// differently (values within ~2^-25 relative of a .5 tie), the integer requantization must give torch's code.
TEST_CASE("numerics: requantization multiplies by torch's float32 reciprocal, not divides", "[numerics]") {
  int differing = 0, compared = 0, wrong = 0;
  for (float sy : {0.0371f, 0.0123f, 0.0917f, 0.00523f}) {
    const float sx = 3.1e-6f;
    const RequantParams p = make_conv_requant(sx, 1.0, sy, 0.0);
    const long double inv = 1.0f / sy;
    for (int64_t acc = -(int64_t(1) << 20); acc <= (int64_t(1) << 20); ++acc) {
      const long double by_reciprocal = static_cast<long double>(acc) * sx * inv;
      const long double frac = by_reciprocal - std::floor(by_reciprocal);
      if (std::fabs(frac - 0.5L) < 1e-7L) continue;  // the 31-bit multiplier may decide this close to a tie
      const int64_t torch_code = static_cast<int64_t>(std::nearbyintl(by_reciprocal));
      const int64_t division_code = static_cast<int64_t>(std::nearbyintl(static_cast<long double>(acc) * sx / sy));
      if (std::abs(torch_code) > 32000) continue;
      wrong += apply_requant(acc, p, -32768, 32767) != torch_code;
      differing += torch_code != division_code;
      ++compared;
    }
  }
  INFO("codes where rint(y/s) and rint(y*float32(1/s)) differ: " << differing << " of " << compared);
  CHECK(wrong == 0);
  CHECK(differing > 0);  // the sweep does reach the values where the two definitions part
}

TEST_CASE("numerics: the accumulator output keeps the bias in accumulator units", "[numerics]") {
  RequantParams p = make_accumulator_output(0.02, 0.001, 0.5);
  CHECK(p.multiplier == 1);
  CHECK(p.shift == 0);
  CHECK(p.bias == 25000);  // 0.5 / (0.02 * 0.001)
  CHECK(apply_requant(-100, p, INT32_MIN, INT32_MAX) == 24900);
}

TEST_CASE("numerics: add rescaling equals the real-number sum", "[numerics]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> log_scale(-6.0, -1.0);
  std::uniform_int_distribution<int> q(-128, 127);
  int mismatches = 0, compared = 0;
  for (int trial = 0; trial < 500; ++trial) {
    float sa = static_cast<float>(std::exp(log_scale(rng)));
    float sb = static_cast<float>(std::exp(log_scale(rng)));
    float so = static_cast<float>(std::exp(log_scale(rng)));
    if (std::max(sa, sb) / so > 60000) continue;
    AddParams p = make_add_params(sa, sb, so);
    for (int k = 0; k < 200; ++k) {
      int qa = q(rng), qb = q(rng);
      const long double inv = 1.0f / so;
      long double real = (static_cast<long double>(qa) * sa + static_cast<long double>(qb) * sb) * inv;
      long double expected;
      if (!reference_round(real, &expected)) continue;
      expected = std::min<long double>(127, std::max<long double>(-128, expected));
      mismatches += apply_add(qa, qb, p, -128, 127) != static_cast<int64_t>(expected);
      ++compared;
    }
  }
  INFO("mismatches " << mismatches << " of " << compared);
  // 40 fraction bits: the multiplier error is < 2^-40 relative, so only values within ~1e-9 of a tie can flip.
  CHECK(mismatches == 0);
  CHECK(compared > 50000);
}

TEST_CASE("numerics: quantize_like_torch multiplies by the float32 reciprocal and rounds half to even", "[numerics]") {
  CHECK(quantize_like_torch(0.5f, 1.0f, -128, 127) == 0);
  CHECK(quantize_like_torch(1.5f, 1.0f, -128, 127) == 2);
  CHECK(quantize_like_torch(-2.5f, 1.0f, -128, 127) == -2);
  CHECK(quantize_like_torch(1000.0f, 0.1f, -128, 127) == 127);
  CHECK(quantize_like_torch(-1000.0f, 0.1f, -128, 127) == -128);
  CHECK(quantize_like_torch(std::nanf(""), 0.1f, -128, 127) == -128);
  // x * (1/s) in float32, not x / s: pick a case where they differ.
  int differ = 0;
  for (int i = 1; i < 200000 && !differ; ++i) {
    float s = 0.0123f;
    float x = static_cast<float>(i) * s * 0.5f;
    differ += std::nearbyint(x * (1.0f / s)) != std::nearbyint(x / s);
    if (differ) CHECK(quantize_like_torch(x, s, -100000, 100000) == static_cast<int64_t>(std::nearbyint(x * (1.0f / s))));
  }
}

TEST_CASE("numerics: absurd scale ratios are refused", "[numerics]") {
  bpu::test::require_error([] { make_conv_requant(1e6, 1e6, 1e-6, 0); }, ExitCode::Unsupported, "outside (0, 2^31)");
  bpu::test::require_error([] { make_add_params(1e3, 1.0, 1e-3); }, ExitCode::Unsupported, "scale ratio");
}

TEST_CASE("numerics: the 64-bit requant fast path equals the 128-bit definition", "[numerics]") {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 200000; ++i) {
    RequantParams p;
    p.multiplier = static_cast<int32_t>((rng() % (1u << 31)));
    p.shift = static_cast<int32_t>(rng() % 63);
    p.bias = static_cast<int64_t>(rng()) >> (rng() % 64);
    const int64_t acc = static_cast<int64_t>(rng()) >> (rng() % 64);
    const int128 w = int128(acc) * p.multiplier + p.bias;
    const int64_t expected = clamp64(rshift_rne(w, p.shift), INT32_MIN, INT32_MAX);
    REQUIRE(apply_requant(acc, p, INT32_MIN, INT32_MAX) == expected);
  }
}

TEST_CASE("numerics: the 64-bit add for 16-bit inputs equals the 128-bit definition", "[numerics]") {
  std::mt19937_64 rng(7);
  const int64_t limit = int64_t(1) << 47;
  for (int i = 0; i < 200000; ++i) {
    AddParams p;
    p.mult_a = static_cast<int64_t>(rng() % (2 * limit - 1)) - (limit - 1);
    p.mult_b = static_cast<int64_t>(rng() % (2 * limit - 1)) - (limit - 1);
    p.shift = static_cast<int32_t>(rng() % 63);
    const int64_t qa = static_cast<int64_t>(rng() % 65537) - 32768, qb = static_cast<int64_t>(rng() % 65537) - 32768;
    REQUIRE(apply_add_narrow(qa, qb, p, INT32_MIN, INT32_MAX) == apply_add(qa, qb, p, INT32_MIN, INT32_MAX));
  }
  AddParams extreme{limit - 1, limit - 1, 0};  // the largest magnitudes the validator lets through
  CHECK(apply_add_narrow(-32768, -32768, extreme, INT64_MIN, INT64_MAX) == apply_add(-32768, -32768, extreme, INT64_MIN, INT64_MAX));
}

TEST_CASE("numerics: for_each_in_channels visits every element once with (k / inner) % channels", "[numerics]") {
  for (size_t channels : {1u, 2u, 3u, 7u}) {
    for (size_t inner : {1u, 4u, 9u}) {
      for (size_t n : {size_t(0), channels * inner, channels * inner * 3, channels * inner * 3 + 2}) {
        std::vector<int> seen(n, 0);
        size_t expected_k = 0;
        bool in_order = true, channel_ok = true;
        for_each_in_channels(n, channels, inner, [&](size_t k, size_t c) {
          in_order &= k == expected_k++;
          if (k < n) ++seen[k];
          channel_ok &= c == (channels == 1 ? 0 : (k / inner) % channels);
        });
        INFO(channels << " channels, inner " << inner << ", n " << n);
        CHECK(expected_k == n);
        CHECK(in_order);
        CHECK(channel_ok);
        CHECK(std::count(seen.begin(), seen.end(), 1) == static_cast<long>(n));
      }
    }
  }
}
