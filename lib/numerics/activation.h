// Reference formulas of the activations the BPU runs as lookup tables, written as PyTorch evaluates them in
// float32, and the table builder: dequantize each input code (q * s_in), apply the formula, quantize with
// PyTorch's rounding at s_out. Exact against the fake-quant reference up to the reference's own float noise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpu {

struct ActivationSpec {
  std::string op;     // Sigmoid, Tanh, HardSigmoid, HardSwish, Exp, Selu, Elu, LeakyRelu, Relu, Clip
  float alpha = 0;    // HardSigmoid alpha, Selu alpha, Elu alpha, LeakyRelu alpha, Clip min
  float beta = 0;     // HardSigmoid beta, Selu gamma, Clip max
};

bool is_lut_activation(const std::string& op);
float activation_reference(const ActivationSpec& spec, float x);

// Table for every input code of the input type (256 for 8 bits, 65536 for 16), index q - qmin.
std::vector<int64_t> build_activation_lut(const ActivationSpec& spec, float in_scale, int in_bits, float out_scale,
                                          int out_bits);

}  // namespace bpu
