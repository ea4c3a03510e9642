// Kernels of the bayes DECONV2D instruction (transposed convolution, ONNX ConvTranspose semantics with explicit
// pads): the reference, in which each input element scatters its products into the output accumulators, and a
// fast kernel with the same exact integer sums in an order that keeps one weight in a register and walks an input
// row contiguously (no bounds test in the inner loop); tests hold the two bit-identical.
#pragma once

#include <cstdint>

#include "arch/bayes/sim/kernels/conv2d.h"

namespace bpu::kernels {

// The same fields as a convolution: input and output sizes, kernel, strides, pads, dilations, groups.
using DeconvGeometry = ConvGeometry;

// acc[n, co, oy, ox] (zeroed here) += in[n, ci, iy, ix] * w[ci, co_local, ky, kx] for
// oy = iy*stride_h - pad_top + ky*dilation_h inside the output (likewise x); weights [Cin, Cout/g, kh, kw].
void deconv_accumulate_reference(const DeconvGeometry& g, const int64_t* input, const int8_t* weight, int64_t* acc);
// The same accumulators (exact integers, so any summation order gives them).
void deconv_accumulate_fast(const DeconvGeometry& g, const int64_t* input, const int8_t* weight, int64_t* acc);

}  // namespace bpu::kernels
