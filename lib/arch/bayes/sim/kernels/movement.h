// Reference kernels of the bayes data-movement and element-wise instructions on widened integer codes:
// NumPy broadcasting for ADD/MUL, TRANSPOSE, SLICE, PAD, and the double-precision SOFTMAX emulation.
#pragma once

#include <cstdint>
#include <vector>

#include "common/broadcast.h"
#include "common/dtype.h"
#include "numerics/requant.h"

namespace bpu::kernels {

// NumPy broadcasting walks and checks (bpu::for_each_broadcast, bpu::broadcastable) live in common/broadcast.h,
// shared with the CPU kernels of lib/ops.

std::vector<int64_t> transpose_nd(const std::vector<int64_t>& in, const Shape& in_shape, const std::vector<uint32_t>& perm);
// Fast path of transpose_nd on the buffers' own type: output axes whose input axes are consecutive merged, the
// innermost merged axis copied as a run (memcpy when it is contiguous in the input: a channel shuffle moves
// whole planes). Tested identical to transpose_nd.
template <typename T>
void transpose_typed(const T* in, const Shape& in_shape, const std::vector<uint32_t>& perm, T* out);
std::vector<int64_t> slice_nd(const std::vector<int64_t>& in, const Shape& in_shape, const Shape& out_shape,
                              const std::vector<int32_t>& starts, const std::vector<int32_t>& steps);
// Fast path of slice_nd on the buffers' own type: the innermost axis copied as a run (memcpy at step 1), the
// outer ones walked once per run. Tested identical to slice_nd.
template <typename T>
void slice_typed(const T* in, const Shape& in_shape, const Shape& out_shape, const std::vector<int32_t>& starts,
                 const std::vector<int32_t>& steps, T* out);
std::vector<int64_t> pad_nd(const std::vector<int64_t>& in, const Shape& in_shape, const Shape& out_shape,
                            const std::vector<uint32_t>& begins, int64_t value);
// The fast int8 -> int8 rescale of a data move (CONCAT's per-input RESCALE): the 256 results of
// apply_rescale(q, mult, shift) as a table, so the copy is one lookup per element (a plain copy when the table is
// the identity). Bit-identical to applying apply_rescale to each element, by construction.
struct Int8Rescale {
  int8_t table[256];
  bool identity = true;
  Int8Rescale(int64_t mult, int32_t shift, int64_t lo, int64_t hi);
  // rows x len codes from x (rows len apart) into y (rows y_stride apart).
  void copy(const int8_t* x, int64_t rows, int64_t len, int8_t* y, int64_t y_stride) const;
};

// SOFTMAX along `axis` of the fake-quantized input x = q * in_scale, in float64 (max subtracted, exp, sum,
// divide), each result quantized by the QAT model's definition (quantize_exact): the exact reference's sequence.
std::vector<int64_t> softmax_exact(const std::vector<int64_t>& in, const Shape& shape, uint32_t axis, float in_scale,
                                   float out_scale, int64_t lo, int64_t hi);

}  // namespace bpu::kernels
