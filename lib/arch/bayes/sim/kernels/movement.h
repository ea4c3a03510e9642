// Reference kernels of the bayes data-movement and element-wise instructions on widened integer codes:
// NumPy broadcasting for ADD/MUL, TRANSPOSE, SLICE, PAD, and the double-precision SOFTMAX emulation.
#pragma once

#include <cstdint>
#include <vector>

#include "common/broadcast.h"
#include "common/dtype.h"

namespace bpu::kernels {

// NumPy broadcasting walks and checks (bpu::for_each_broadcast, bpu::broadcastable) live in common/broadcast.h,
// shared with the CPU kernels of lib/ops.

std::vector<int64_t> transpose_nd(const std::vector<int64_t>& in, const Shape& in_shape, const std::vector<uint32_t>& perm);
std::vector<int64_t> slice_nd(const std::vector<int64_t>& in, const Shape& in_shape, const Shape& out_shape,
                              const std::vector<int32_t>& starts, const std::vector<int32_t>& steps);
std::vector<int64_t> pad_nd(const std::vector<int64_t>& in, const Shape& in_shape, const Shape& out_shape,
                            const std::vector<uint32_t>& begins, int64_t value);
std::vector<int64_t> softmax_emulated(const std::vector<int64_t>& in, const Shape& shape, uint32_t axis, float in_scale,
                                      float out_scale, int64_t lo, int64_t hi);

}  // namespace bpu::kernels
