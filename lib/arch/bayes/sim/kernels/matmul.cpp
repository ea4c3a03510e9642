// MATMUL reference loops.

#include "arch/bayes/sim/kernels/matmul.h"

namespace bpu::kernels {

namespace {

// Offset of batch index `o` (row-major over the output's batch axes) into an operand whose batch axes are
// right-aligned against the output's and broadcast where they are 1; `matrix` is the operand's M*K or K*N.
int64_t batch_offset(int64_t o, const Shape& out, const Shape& x, int64_t matrix) {
  const size_t out_batch = out.size() - 2, x_batch = x.size() - 2;
  int64_t offset = 0, stride = matrix;
  for (size_t k = 0; k < out_batch; ++k) {
    const size_t axis = out_batch - 1 - k;  // walk the batch axes from the innermost
    const int64_t i = o % out[axis];
    o /= out[axis];
    if (k < x_batch) {
      const int64_t extent = x[x_batch - 1 - k];
      if (extent != 1) offset += i * stride;
      stride *= extent;
    }
  }
  return offset;
}

}  // namespace

std::vector<int64_t> matmul_nd(const std::vector<int64_t>& a, const Shape& a_shape, const std::vector<int64_t>& b,
                               const Shape& b_shape, const Shape& out_shape, const RequantParams& p, int64_t lo,
                               int64_t hi) {
  const size_t r = out_shape.size();
  const int64_t M = out_shape[r - 2], N = out_shape[r - 1], K = a_shape[a_shape.size() - 1];
  int64_t batches = 1;
  for (size_t k = 0; k + 2 < r; ++k) batches *= out_shape[k];
  std::vector<int64_t> out(static_cast<size_t>(batches * M * N));
  for (int64_t o = 0; o < batches; ++o) {
    const int64_t* pa = a.data() + batch_offset(o, out_shape, a_shape, M * K);
    const int64_t* pb = b.data() + batch_offset(o, out_shape, b_shape, K * N);
    int64_t* po = out.data() + o * M * N;
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        int64_t acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += pa[m * K + k] * pb[k * N + n];
        po[m * N + n] = apply_requant(acc, p, lo, hi);
      }
    }
  }
  return out;
}

}  // namespace bpu::kernels
