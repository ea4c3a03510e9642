// A value on the host side of the schedule: float32 model tensors and integer tensors handed to and from
// BPU segments (int8/int16/int32 kept widened in int32 storage).
#pragma once

#include <vector>

#include "lower/compiled_model.h"

namespace bpu {

struct HostTensor {
  TensorInfo info;
  std::vector<float> f;    // float32 values
  std::vector<int32_t> q;  // integer values
};

}  // namespace bpu
