// Integer 2-D convolution kernels of the bayes CONV2D instruction (docs/isa.md): a reference kernel written
// as plain loops that read like the spec, and a fast kernel (im2col + Eigen float GEMM over K-chunks whose
// partial sums are exact) that tests hold bit-identical to it. Both produce exact integer accumulators.
#pragma once

#include <cstdint>
#include <vector>

#include "common/conv_geometry.h"
#include "numerics/requant.h"

namespace bpu::kernels {

// The geometry (bpu::ConvGeometry) and its output-size rule are shared with the CPU Conv kernel
// (common/conv_geometry.h).

// acc[n, co, y, x] = sum of input * weight; input is int8 or int16 NCHW, weight int8 [Cout, Cin/g, kh, kw].
template <typename T>
void conv_accumulate_reference(const ConvGeometry& g, const T* input, const int8_t* weight, int64_t* acc);
// `threads` > 1 splits each GEMM by output-channel rows; the sums are exact integers, so the result is the same
// for every thread count.
template <typename T>
void conv_accumulate_fast(const ConvGeometry& g, const T* input, const int8_t* weight, int64_t* acc, int threads = 1);

// out[n, c, p] = clamp(requant_c(acc[n, c, p])) written as OutT (int8, int16 or int32).
template <typename OutT>
void requantize_per_channel(const int64_t* acc, int64_t batch, int64_t channels, int64_t plane,
                            const RequantParams* params, int64_t lo, int64_t hi, OutT* out);

}  // namespace bpu::kernels
