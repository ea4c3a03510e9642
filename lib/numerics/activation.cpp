// Activation formulas and LUT construction.

#include "numerics/activation.h"

#include <algorithm>
#include <cmath>

#include "numerics/requant.h"

namespace bpu {

bool is_lut_activation(const std::string& op) {
  static const char* ops[] = {"Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Exp", "Selu", "Elu", "LeakyRelu", "Relu", "Clip"};
  return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

float activation_reference(const ActivationSpec& a, float x) {
  const std::string& op = a.op;
  if (op == "Sigmoid") return 1.0f / (1.0f + std::exp(-x));
  if (op == "Tanh") return std::tanh(x);
  if (op == "HardSigmoid") return std::max(0.0f, std::min(1.0f, a.alpha * x + a.beta));
  if (op == "HardSwish") return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
  if (op == "Exp") return std::exp(x);
  if (op == "Selu") return x > 0 ? a.beta * x : a.beta * a.alpha * std::expm1(x);
  if (op == "Elu") return x > 0 ? x : a.alpha * std::expm1(x);
  if (op == "LeakyRelu") return x >= 0 ? x : a.alpha * x;
  if (op == "Relu") return x > 0 ? x : 0.0f;
  if (op == "Clip") return std::min(a.beta, std::max(a.alpha, x));
  return x;
}

std::vector<int64_t> build_activation_lut(const ActivationSpec& spec, float in_scale, int in_bits, float out_scale,
                                          int out_bits) {
  const int64_t in_min = in_bits == 16 ? -32768 : -128, in_max = in_bits == 16 ? 32767 : 127;
  const int64_t out_min = out_bits == 16 ? -32768 : -128, out_max = out_bits == 16 ? 32767 : 127;
  std::vector<int64_t> table;
  table.reserve(static_cast<size_t>(in_max - in_min + 1));
  for (int64_t q = in_min; q <= in_max; ++q) {
    const float x = static_cast<float>(q) * in_scale;  // DequantizeLinear in float32
    table.push_back(quantize_like_torch(activation_reference(spec, x), out_scale, out_min, out_max));
  }
  return table;
}

}  // namespace bpu
