// Integer requantization shared by lowering (which encodes the parameters) and the simulator (which applies
// them). The scheme is docs/numerics.md §2: a 31-bit multiplier and shift from double precision, a bias kept
// with the same fraction bits, and a single round-half-to-even shift — exact against real-number arithmetic.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace bpu {

using int128 = __int128;

// Round-half-to-even arithmetic right shift of v by n bits (0 <= n <= 126).
inline int128 rshift_rne(int128 v, int n) {
  if (n <= 0) return v;
  int128 floor = v >> n;  // arithmetic shift: floor division by 2^n
  int128 rem = v - floor * (int128(1) << n);  // multiply: left-shifting a negative value is UB
  int128 half = int128(1) << (n - 1);
  if (rem > half || (rem == half && (floor & 1))) floor += 1;
  return floor;
}

inline int64_t clamp64(int128 v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : static_cast<int64_t>(v));
}

// Per-output-channel requantization: q = clamp(rshift_rne(acc * multiplier + bias, shift), lo, hi).
struct RequantParams {
  int32_t multiplier = 1;  // in [2^30, 2^31) for requantized outputs; 1 for raw int32 accumulators
  int32_t shift = 0;       // in [0, kMaxShift]
  int64_t bias = 0;        // float bias in output units, scaled by 2^shift
};

constexpr int kMaxShift = 62;

// Round-half-to-even shift in 64 bits (0 <= n <= 62); the remainder comes from the unsigned bit pattern.
inline int64_t rshift_rne64(int64_t v, int n) {
  if (n <= 0) return v;
  const int64_t floor = v >> n;  // arithmetic shift (GCC/Clang)
  const uint64_t mask = (uint64_t(1) << n) - 1;
  const uint64_t rem = static_cast<uint64_t>(v) & mask;
  const uint64_t half = uint64_t(1) << (n - 1);
  return (rem > half || (rem == half && (floor & 1))) ? floor + 1 : floor;
}

inline int64_t apply_requant(int64_t acc, const RequantParams& p, int64_t lo, int64_t hi) {
  int64_t product, v;
  // 64-bit fast path when nothing overflows; the same value as the 128-bit definition.
  if (!__builtin_mul_overflow(acc, static_cast<int64_t>(p.multiplier), &product) && !__builtin_add_overflow(product, p.bias, &v)) {
    const int64_t r = rshift_rne64(v, p.shift);
    return r < lo ? lo : (r > hi ? hi : r);
  }
  int128 w = int128(acc) * p.multiplier + p.bias;
  return clamp64(rshift_rne(w, p.shift), lo, hi);
}

// The QAT model quantizes a float value y to an output scale s as torch does: rint(y * float32(1 / s))
// (quantize_like_torch). Every integer requantization multiplies by this same float32 reciprocal rather than
// dividing by s, so at an exact .5 tie the BPU picks the code torch picks (docs/numerics.md §2).
inline long double torch_reciprocal(double scale) { return static_cast<long double>(1.0f / static_cast<float>(scale)); }

// M = s_x * s_w * float32(1/s_y) with float bias b (in real units, b * float32(1/s_y) in output units): the
// requant parameters for one output channel.
// Throws Error(Unsupported) when M is not in (0, 2^31) (absurd scale ratios).
RequantParams make_conv_requant(double input_scale, double weight_scale, double output_scale, double bias);

// A conv whose output stays as the int32 "high precision" accumulator (scale s_x * s_w): bias rounded to
// accumulator units, multiplier 1, shift 0.
RequantParams make_accumulator_output(double input_scale, double weight_scale, double bias);

// Two-input add with different scales (s_a and s_b times float32(1/s_out)): q = clamp(rshift_rne(qa * mult_a + qb * mult_b, shift), lo, hi).
// Multipliers stay below 2^46 so the sum fits in int64 for int16 inputs.
struct AddParams {
  int64_t mult_a = 0;
  int64_t mult_b = 0;
  int32_t shift = 0;
};
AddParams make_add_params(double scale_a, double scale_b, double output_scale);
inline int64_t apply_add(int64_t qa, int64_t qb, const AddParams& p, int64_t lo, int64_t hi) {
  return clamp64(rshift_rne(int128(qa) * p.mult_a + int128(qb) * p.mult_b, p.shift), lo, hi);
}
// apply_add for inputs of at most 16 bits: |q| <= 2^15 and |mult| < 2^47 (make_add_params, and the .bin
// validator) keep the sum below 2^63, so the 64-bit shift gives the 128-bit definition's value.
inline int64_t apply_add_narrow(int64_t qa, int64_t qb, const AddParams& p, int64_t lo, int64_t hi) {
  const int64_t r = rshift_rne64(qa * p.mult_a + qb * p.mult_b, p.shift);
  return r < lo ? lo : (r > hi ? hi : r);
}

// A single-input scale change by `ratio` (s_in * float32(1/s_out), rescale_ratio): q_out = rshift_rne(q * mult, shift), mult < 2^46.
struct RescaleParams {
  int64_t mult = 1;
  int32_t shift = 0;
};
RescaleParams make_rescale_params(double ratio);
inline double rescale_ratio(double in_scale, double out_scale) {
  return static_cast<double>(static_cast<long double>(in_scale) * torch_reciprocal(out_scale));
}
inline int64_t apply_rescale(int64_t q, const RescaleParams& p, int64_t lo, int64_t hi) {
  return clamp64(rshift_rne(int128(q) * p.mult, p.shift), lo, hi);
}

// Float to integer exactly as PyTorch's fake quantize computes it (the reference the QAT model was trained
// with): nearbyint(x * (1.0f / scale)) in float32, ties to even, then clamp.
inline int64_t quantize_like_torch(float x, float scale, int64_t lo, int64_t hi) {
  float inv = 1.0f / scale;
  float r = std::nearbyint(x * inv);
  if (!(r >= static_cast<float>(lo))) return lo;  // also maps NaN to lo
  if (r > static_cast<float>(hi)) return hi;
  return static_cast<int64_t>(r);
}

// The exact fake quantization of `verify --exact` (docs/numerics.md §10) and of the BPU ops that compute in
// double (average POOL, bilinear RESIZE, SOFTMAX): the QAT model's own definition, x times the float32 reciprocal
// of the scale (torch's 1.0f / scale), evaluated in float64 instead of float32, rounded to the nearest code, ties
// to even, then clamp. Where it and quantize_like_torch part, torch's float32 arithmetic picked the other code.
inline int64_t quantize_exact(double x, double scale, int64_t lo, int64_t hi) {
  const float inv = 1.0f / static_cast<float>(scale);
  const double r = std::nearbyint(x * static_cast<double>(inv));
  if (!(r >= static_cast<double>(lo))) return lo;  // also maps NaN to lo
  if (r > static_cast<double>(hi)) return hi;
  return static_cast<int64_t>(r);
}

// quantize_like_torch and quantize_exact over a row of one scale, the same arithmetic per element (the reciprocal
// taken once; the compiler vectorizes these loops): out[i] = code + zero_point.
inline void quantize_like_torch_row(const float* x, size_t n, float scale, int64_t lo, int64_t hi, float zero_point,
                                    float* out) {
  const float inv = 1.0f / scale, l = static_cast<float>(lo), h = static_cast<float>(hi);
  for (size_t i = 0; i < n; ++i) {
    float r = std::nearbyint(x[i] * inv);
    r = r >= l ? r : l;  // also maps NaN to lo
    out[i] = (r > h ? h : r) + zero_point;
  }
}
template <typename In, typename Out>
inline void quantize_exact_row(const In* x, size_t n, double scale, int64_t lo, int64_t hi, Out* out) {
  const double inv = static_cast<double>(1.0f / static_cast<float>(scale));
  const double l = static_cast<double>(lo), h = static_cast<double>(hi);
  for (size_t i = 0; i < n; ++i) {
    double r = std::nearbyint(static_cast<double>(x[i]) * inv);
    r = r >= l ? r : l;  // also maps NaN to lo
    out[i] = static_cast<Out>(r > h ? h : r);
  }
}

// For a tensor quantized along one axis: calls f(k, c) for every element k in order with its channel
// c = (k / inner) % channels (channels = 1: per tensor), without a division per element.
template <class F>
void for_each_in_channels(size_t n, size_t channels, size_t inner, F f) {
  if (channels <= 1 || inner == 0) inner = n;
  for (size_t k = 0, c = 0; k < n; c = c + 1 >= channels ? 0 : c + 1) {
    for (const size_t end = k + inner < n ? k + inner : n; k < end; ++k) f(k, c);
  }
}

// PREPROCESS (docs/numerics.md §9): the float preprocessing of one pixel is an affine map of its raw uint8 samples,
// v_c = sum_k a[c][k] s_k + b[c], which the QAT model then quantizes at `scale`. In integers:
// q_c = clamp(rshift_rne(sum_k m[c][k] s_k + bias[c], shift), lo, hi) with m = round(a r 2^shift),
// bias = round(b r 2^shift), r = float32(1/scale) (torch's reciprocal) and the largest shift <= 40 that keeps every
// |m| < 2^31. The result differs from torch's rint(v * r) only where v * r lies within
// (3 * 255 / 2 + 1/2) / 2^shift of a .5 tie, and then by one code.
struct PreprocessCoefficients {
  int32_t shift = 0;
  int32_t m[3][3] = {{0}};
  int64_t bias[3] = {0, 0, 0};
};
// False (and *why) when the map cannot be represented: a coefficient of 2^31 or more at shift 0, a bias beyond
// 2^62, or a non-finite value (an absurd scale, mean or scale_value).
bool make_preprocess_coefficients(const double (&a)[3][3], const double (&b)[3], int channels, int samples, float scale,
                                  PreprocessCoefficients* out, std::string* why);
inline int64_t apply_preprocess(const PreprocessCoefficients& p, int c, const int64_t* s, int samples, int64_t lo, int64_t hi) {
  int64_t acc = p.bias[c];
  for (int k = 0; k < samples; ++k) acc += static_cast<int64_t>(p.m[c][k]) * s[k];
  const int64_t r = rshift_rne64(acc, p.shift);
  return r < lo ? lo : (r > hi ? hi : r);
}

// Scale sanity used by import and artifact validation: finite, positive, within [1e-20, 1e10].
bool is_sane_scale(double scale);

}  // namespace bpu
