// LUT construction from a float formula (the formulas themselves live in the op registry, lib/ops/).

#include "numerics/activation.h"

#include "numerics/requant.h"

namespace bpu {

std::vector<int64_t> build_activation_lut(const std::function<double(double)>& formula, float in_scale, int in_bits,
                                          float out_scale, int out_bits) {
  const int64_t in_min = in_bits == 16 ? -32768 : -128, in_max = in_bits == 16 ? 32767 : 127;
  const int64_t out_min = out_bits == 16 ? -32768 : -128, out_max = out_bits == 16 ? 32767 : 127;
  std::vector<int64_t> table;
  table.reserve(static_cast<size_t>(in_max - in_min + 1));
  for (int64_t q = in_min; q <= in_max; ++q) {
    const double x = static_cast<double>(q) * static_cast<double>(in_scale);  // DequantizeLinear, exact in double
    table.push_back(quantize_exact(formula(x), out_scale, out_min, out_max));
  }
  return table;
}

}  // namespace bpu
