// List of ops the CPU fallback executor runs.

#include "arch/cpu/cpu_ops.h"

#include <algorithm>

namespace bpu::cpu {

const std::vector<std::string>& cpu_op_types() {
  static const std::vector<std::string> ops = {
      "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
      "Add", "Sub", "Mul", "Div",
      "Relu", "Clip", "Sigmoid", "Tanh", "Selu", "Elu", "LeakyRelu", "HardSigmoid", "HardSwish", "Softmax", "Exp",
      "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
      "Reshape", "Flatten", "Transpose", "Concat", "Slice", "Split", "Squeeze", "Unsqueeze", "Pad", "Identity",
      "Resize",
      "QuantizeLinear", "DequantizeLinear",
  };
  return ops;
}

bool cpu_supports(const std::string& op_type, const std::string& domain) {
  if (!domain.empty()) return false;
  const auto& ops = cpu_op_types();
  return std::find(ops.begin(), ops.end(), op_type) != ops.end();
}

}  // namespace bpu::cpu
