// The output-size rule of one convolution axis (common/conv_geometry.h).

#include "common/conv_geometry.h"

namespace bpu {

int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end, int64_t dilation) {
  if (stride < 1 || dilation < 1 || kernel < 1) return 0;
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t padded = in + pad_begin + pad_end;
  if (padded < span) return 0;
  return (padded - span) / stride + 1;
}

}  // namespace bpu
