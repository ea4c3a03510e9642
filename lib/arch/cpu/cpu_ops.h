// The ops the runtime's CPU executor implements (float32, ONNX semantics; QuantizeLinear with PyTorch's
// rounding). The partitioner refuses at compile time any CPU-placed node whose op is not listed here, and a
// unit test holds this list and the executor's kernel registry equal.
#pragma once

#include <string>
#include <vector>

namespace bpu::cpu {

const std::vector<std::string>& cpu_op_types();
bool cpu_supports(const std::string& op_type, const std::string& domain);

}  // namespace bpu::cpu
