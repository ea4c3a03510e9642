// Reference kernel of the bayes RESIZE instruction: nearest or bilinear over H and W of NCHW tensors.
// Source coordinates are computed in double from the output index (docs/isa.md); bilinear weights are
// rounded to 15-bit fixed point, the four products summed exactly, then one requantization.
#pragma once

#include <cstdint>

#include "numerics/requant.h"

namespace bpu::kernels {

enum class CoordinateMode : uint32_t { HalfPixel = 0, Asymmetric = 1, AlignCorners = 2, PytorchHalfPixel = 3 };
enum class NearestMode : uint32_t { RoundPreferFloor = 0, Floor = 1, Ceil = 2, RoundPreferCeil = 3 };

struct ResizeGeometry {
  int64_t batch_channels = 1, in_h = 1, in_w = 1, out_h = 1, out_w = 1;
};

// Source coordinate of output index `x` along an axis of in_len -> out_len.
double resize_source_coordinate(CoordinateMode mode, int64_t x, int64_t in_len, int64_t out_len);

// Both kernels run over the buffers' own integer types (int8/int16/int32 each way; int64 for widened values).
template <typename In, typename Out>
void resize2d(const ResizeGeometry& g, bool bilinear, CoordinateMode coord, NearestMode nearest, const RescaleParams& p,
              int64_t lo, int64_t hi, const In* in, Out* out);

// Fast path of resize2d for int8 -> int8 (nearest and integer bilinear) over planes [c0, c1): the same codes.
// `table` holds apply_rescale(q, p, lo, hi) of every code q at table[q + 128] (Int8Rescale), which nearest reads
// instead of rescaling each output; bilinear interpolates each input row along x once (separable).
void resize2d_int8(const ResizeGeometry& g, bool bilinear, CoordinateMode coord, NearestMode nearest,
                   const RescaleParams& p, int64_t lo, int64_t hi, const int8_t* table, const int8_t* in, int8_t* out,
                   int64_t c0, int64_t c1);

// Exact bilinear resize (RESIZE mode 2): the QAT model's value from the fake-quantized input, x = q * in_scale,
// in float64 with the reference's order (rows combined as fma(x00, w0, x01 * w1), then fma(top, h0, bottom * h1);
// weights from the double source coordinate), quantized by its definition (quantize_exact).
template <typename In, typename Out>
void resize2d_bilinear_exact(const ResizeGeometry& g, CoordinateMode coord, float in_scale, float out_scale, int64_t lo,
                             int64_t hi, const In* in, Out* out);

}  // namespace bpu::kernels
