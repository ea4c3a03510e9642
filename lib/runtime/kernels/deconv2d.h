// Reference kernel of the bayes DECONV2D instruction (transposed convolution, ONNX ConvTranspose semantics
// with explicit pads): each input element scatters its products into the output accumulators.
#pragma once

#include <cstdint>

namespace bpu::kernels {

struct DeconvGeometry {
  int64_t batch = 1, in_channels = 1, in_h = 1, in_w = 1, out_channels = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  int64_t dilation_h = 1, dilation_w = 1, groups = 1;
};

// acc[n, co, oy, ox] (zeroed here) += in[n, ci, iy, ix] * w[ci, co_local, ky, kx] for
// oy = iy*stride_h - pad_top + ky*dilation_h inside the output (likewise x); weights [Cin, Cout/g, kh, kw].
void deconv_accumulate_reference(const DeconvGeometry& g, const int64_t* input, const int8_t* weight, int64_t* acc);

}  // namespace bpu::kernels
