// Reference kernel of the bayes POOL instruction (docs/isa.md): max or average over 2-D windows of an NCHW
// tensor, in-bounds elements only, then per-window-count requantization from a table.
#pragma once

#include <cstdint>

#include "numerics/requant.h"

namespace bpu::kernels {

struct PoolGeometry {
  int64_t batch_channels = 1, in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0, dilation_h = 1, dilation_w = 1;
};

// is_max: window max; else window sum with n = in-bounds count, or the window size clipped to the padded
// input when count_include_pad. table has 1 entry (used for every window) or kernel_h*kernel_w (index n-1).
void pool2d(const PoolGeometry& g, bool is_max, bool count_include_pad, const int64_t* in, const RequantParams* table,
            int64_t table_entries, int64_t lo, int64_t hi, int64_t* out);

// Fast path of pool2d for max pooling without dilation and with one requant entry: typed input and output, the
// window rows' maximum taken once per output row (then per output over its columns), an 8-bit input requantized
// through a table. Tested identical to pool2d.
template <typename In, typename Out>
void max_pool2d_direct(const PoolGeometry& g, const In* in, const RequantParams& p, int64_t lo, int64_t hi, Out* out);

// Exact average pooling (POOL kind 2): the integer window sum v (exact), then the QAT model's value
// v * in_scale / n quantized by its definition in float64 (quantize_exact: times float32(1 / out_scale)).
// v * in_scale is exact in double for |v| < 2^29, so this is the float64 reference's own sequence.
void avg_pool2d_exact(const PoolGeometry& g, bool count_include_pad, const int64_t* in, float in_scale, float out_scale,
                      int64_t lo, int64_t hi, int64_t* out);

// avg_pool2d_exact over whole planes (kernel = plane, no padding, one output per plane) on the buffers' own types:
// each plane's sum in int64, then the same formula. Tested identical to avg_pool2d_exact.
template <typename In, typename Out>
void global_avg_pool_exact(int64_t planes, int64_t plane_size, const In* in, float in_scale, float out_scale, int64_t lo,
                           int64_t hi, Out* out);

}  // namespace bpu::kernels
