// Encoding of requantization parameters from float32 scales, computed in long double.

#include "numerics/requant.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace bpu {

namespace {

// Rounds a long double to the nearest integer, ties to even.
long double round_even(long double x) { return std::nearbyintl(x); }

}  // namespace

RequantParams make_conv_requant(double input_scale, double weight_scale, double output_scale, double bias) {
  const long double inv = torch_reciprocal(output_scale);
  long double M = static_cast<long double>(input_scale) * weight_scale * inv;
  if (!(M > 0) || !std::isfinite(static_cast<double>(M)) || M >= 2147483648.0L) {
    throw Error(ExitCode::Unsupported, "requantization multiplier " + std::to_string(static_cast<double>(M)) +
                                           " (s_in*s_w/s_out) is outside (0, 2^31)");
  }
  int exponent = 0;
  long double fraction = std::frexp(M, &exponent);  // M = fraction * 2^exponent, fraction in [0.5, 1)
  int shift = 31 - exponent;
  long double m = round_even(std::ldexp(fraction, 31));
  if (m >= 2147483648.0L) {
    m /= 2;
    shift -= 1;
  }
  // Bias in output units with `shift` fraction bits must fit int64 (|bias| < 2^62) and the shift must stay in
  // range; for tiny M or huge biases give up low multiplier bits (documented in docs/numerics.md).
  long double bias_units = static_cast<long double>(bias) * inv;
  while (shift > 0 && (shift > kMaxShift || std::fabs(std::ldexp(bias_units, shift)) >= 4.6e18L)) {
    m = round_even(m / 2);
    shift -= 1;
  }
  if (!(std::fabs(std::ldexp(bias_units, shift)) < 4.6e18L)) {  // also NaN
    throw Error(ExitCode::Unsupported, "bias " + std::to_string(bias) + " at output scale " +
                                           std::to_string(output_scale) + " does not fit the int64 bias");
  }
  RequantParams p;
  p.multiplier = static_cast<int32_t>(m);
  p.shift = shift;
  p.bias = static_cast<int64_t>(round_even(std::ldexp(bias_units, shift)));
  return p;
}

RequantParams make_accumulator_output(double input_scale, double weight_scale, double bias) {
  long double acc_scale = static_cast<long double>(input_scale) * weight_scale;
  long double units = round_even(static_cast<long double>(bias) / acc_scale);
  if (!(std::fabs(units) < 2147483647.0L)) {  // also NaN
    throw Error(ExitCode::Unsupported, "bias " + std::to_string(bias) + " does not fit the int32 accumulator at scale " +
                                           std::to_string(static_cast<double>(acc_scale)));
  }
  RequantParams p;
  p.multiplier = 1;
  p.shift = 0;
  p.bias = static_cast<int64_t>(units);
  return p;
}

AddParams make_add_params(double scale_a, double scale_b, double output_scale) {
  const long double inv = torch_reciprocal(output_scale);
  long double ra = static_cast<long double>(scale_a) * inv;
  long double rb = static_cast<long double>(scale_b) * inv;
  long double r = std::max(ra, rb);
  if (!(r > 0) || r >= 65536.0L) {
    throw Error(ExitCode::Unsupported, "add input/output scale ratio " + std::to_string(static_cast<double>(r)) +
                                           " is outside (0, 65536)");
  }
  int shift = 40;
  while (shift > 0 && std::ldexp(r, shift) >= 70368744177664.0L) --shift;  // keep multipliers < 2^46
  AddParams p;
  p.shift = shift;
  p.mult_a = static_cast<int64_t>(round_even(std::ldexp(ra, shift)));
  p.mult_b = static_cast<int64_t>(round_even(std::ldexp(rb, shift)));
  return p;
}

RescaleParams make_rescale_params(double ratio) {
  if (!(ratio > 0) || ratio >= 65536.0) {
    throw Error(ExitCode::Unsupported, "scale ratio " + std::to_string(ratio) + " is outside (0, 65536)");
  }
  AddParams a = make_add_params(ratio, ratio, 1.0);
  return {a.mult_a, a.shift};
}

bool is_sane_scale(double scale) { return std::isfinite(scale) && scale >= 1e-20 && scale <= 1e10; }

bool make_preprocess_coefficients(const double (&a)[3][3], const double (&b)[3], int channels, int samples, float scale,
                                  PreprocessCoefficients* out, std::string* why) {
  const double r = static_cast<double>(torch_reciprocal(scale));
  double max_a = 0, max_b = 0;
  for (int c = 0; c < channels; ++c) {
    for (int k = 0; k < samples; ++k) max_a = std::max(max_a, std::fabs(a[c][k] * r));
    max_b = std::max(max_b, std::fabs(b[c] * r));
  }
  if (!std::isfinite(max_a) || !std::isfinite(max_b)) {
    *why = "the preprocessing coefficients are not finite";
    return false;
  }
  int shift = 40;
  while (shift > 0 && max_a * std::ldexp(1.0, shift) >= 2147483647.0) --shift;
  if (max_a * std::ldexp(1.0, shift) >= 2147483647.0 || max_b * std::ldexp(1.0, shift) >= std::ldexp(1.0, 62)) {
    *why = "the preprocessing maps one pixel step to " + std::to_string(max_a) + " output codes (bias " +
           std::to_string(max_b) + "); the scale, mean_value or scale_value is out of proportion";
    return false;
  }
  *out = PreprocessCoefficients{};
  out->shift = shift;
  for (int c = 0; c < channels; ++c) {
    for (int k = 0; k < samples; ++k) out->m[c][k] = static_cast<int32_t>(std::nearbyint(std::ldexp(a[c][k] * r, shift)));
    out->bias[c] = static_cast<int64_t>(std::nearbyint(std::ldexp(b[c] * r, shift)));
  }
  return true;
}

}  // namespace bpu
