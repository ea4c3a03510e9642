// The geometry of a 2-D convolution (NCHW, groups, dilation, begin pads) and the output-size rule of one spatial
// axis: one definition for the CPU Conv kernel (lib/ops/conv.cpp), the bayes CONV2D/DECONV2D kernels and the
// .bin validator.
#pragma once

#include <cstdint>

namespace bpu {

struct ConvGeometry {
  int64_t batch = 1, in_channels = 1, in_h = 1, in_w = 1;
  int64_t out_channels = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, dilation_h = 1, dilation_w = 1, groups = 1;
};

// The rows and columns of the padded input that the output reads (from the first padded position): what the fast
// kernels copy into their zero-bordered frames, phases and channel-last copies.
inline int64_t padded_rows(const ConvGeometry& g) { return (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1; }
inline int64_t padded_cols(const ConvGeometry& g) { return (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1; }

// Output size of one spatial axis, or <= 0 when the geometry is impossible.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end, int64_t dilation);

}  // namespace bpu
