// Lookup-table construction for activations the BPU runs as a table: dequantize each input code (q * s_in in
// float32, as DequantizeLinear does), apply the op's float formula (from the op registry, lib/ops/), quantize
// with PyTorch's rounding at s_out. Exact against the fake-quant reference up to the reference's own float noise.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace bpu {

// Table for every input code of the input type (256 for 8 bits, 65536 for 16), index q - qmin.
std::vector<int64_t> build_activation_lut(const std::function<float(float)>& formula, float in_scale, int in_bits,
                                          float out_scale, int out_bits);

}  // namespace bpu
