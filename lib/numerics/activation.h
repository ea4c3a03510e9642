// Lookup-table construction for activations the BPU runs as a table: dequantize each input code (q * s_in, exact
// in double), apply the op's formula in float64 (the registry's formula64, lib/ops/), quantize by the model's
// definition in double (quantize_exact: times float32(1 / s_out)). The table is the exact run's value at every
// code; torch's float32 run differs from it only where its own float32 ulps cross an output rounding tie.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace bpu {

// Table for every input code of the input type (256 for 8 bits, 65536 for 16), index q - qmin.
std::vector<int64_t> build_activation_lut(const std::function<double(double)>& formula, float in_scale, int in_bits,
                                          float out_scale, int out_bits);

}  // namespace bpu
