// Kernels of the bayes DECONV2D instruction (transposed convolution, ONNX ConvTranspose semantics with explicit
// pads): the reference, in which each input element scatters its products into the output accumulators, and a
// fast kernel with the same exact integer sums in an order that keeps one weight in a register and walks an input
// row contiguously (no bounds test in the inner loop); tests hold the two bit-identical.
#pragma once

#include <cstdint>

#include <vector>

#include "arch/bayes/sim/kernels/conv2d.h"
#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"

namespace bpu::kernels {

// The same fields as a convolution: input and output sizes, kernel, strides, pads, dilations, groups.
using DeconvGeometry = ConvGeometry;

// acc[n, co, oy, ox] (zeroed here) += in[n, ci, iy, ix] * w[ci, co_local, ky, kx] for
// oy = iy*stride_h - pad_top + ky*dilation_h inside the output (likewise x); weights [Cin, Cout/g, kh, kw].
void deconv_accumulate_reference(const DeconvGeometry& g, const int64_t* input, const int8_t* weight, int64_t* acc);
// The same accumulators (exact integers, so any summation order gives them).
void deconv_accumulate_fast(const DeconvGeometry& g, const int64_t* input, const int8_t* weight, int64_t* acc);

// The int8 path on the dot kernels (AVX-512 VNNI or AVX2): the products as a 1x1 convolution to columns,
// cols[n, (co, ky, kx), iy, ix] = sum over the group's ci of in[n, ci, iy, ix] * w[ci, co_local, ky, kx] (the dot
// kernel, int32, exact), then each column plane added into the output accumulators at
// (iy*stride_h - pad_top + ky*dilation_h, likewise x): the same exact sums. deconv_columns_geometry is that 1x1
// convolution; pack_deconv_weights lays the weights out for it. Requires int8_dot_available() and
// int8_dot_accepts(deconv_columns_geometry(g)).
ConvGeometry deconv_columns_geometry(const DeconvGeometry& g);
PackedConvWeights pack_deconv_weights(const DeconvGeometry& g, const int8_t* weight);
void deconv_accumulate_int8_dot(const DeconvGeometry& g, const int8_t* input, const PackedConvWeights& w,
                                std::vector<int32_t>& cols, std::vector<uint8_t>& panels, ThreadPool* pool, int64_t* acc);

}  // namespace bpu::kernels
