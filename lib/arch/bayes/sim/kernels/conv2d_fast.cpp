// Fast CONV2D accumulation: im2col, then Eigen GEMM. int8 inputs use float32 over K-chunks of at most 1024:
// every product is at most 128*128 = 2^14 in magnitude, so any partial sum of <= 1024 of them is <= 2^24 and
// exact in float32 whatever the summation order (docs/isa.md, "Reference and fast kernels"). int16 inputs use double, exact for
// any K below 2^31. Chunk sums are converted to integers and added in int64.

#include <Eigen/Core>
#include <thread>
#include <vector>
#include <type_traits>

#include "arch/bayes/sim/kernels/conv2d.h"

namespace bpu::kernels {

namespace {

constexpr int64_t kExactChunkInt8 = 1024;

template <typename Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

template <typename T>
void conv_accumulate_fast(const ConvGeometry& g, const T* input, const int8_t* weight, int64_t* acc, int threads) {
  using Scalar = std::conditional_t<std::is_same_v<T, int8_t>, float, double>;
  const int64_t cin_g = g.in_channels / g.groups;
  const int64_t cout_g = g.out_channels / g.groups;
  const int64_t K = cin_g * g.kernel_h * g.kernel_w;
  const int64_t P = g.out_h * g.out_w;
  const int64_t chunk = std::is_same_v<T, int8_t> ? kExactChunkInt8 : K;
  const bool pointwise = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
                         g.pad_top == 0 && g.pad_left == 0 && g.out_h == g.in_h && g.out_w == g.in_w;

  RowMatrix<Scalar> col(K, P);
  RowMatrix<Scalar> w(cout_g, K);
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      // im2col for this image and group: row k = (ci, ky, kx), column p = (y, x).
      for (int64_t ci = 0; ci < cin_g; ++ci) {
        const T* plane = input + (n * g.in_channels + grp * cin_g + ci) * g.in_h * g.in_w;
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            Scalar* row = col.data() + ((ci * g.kernel_h + ky) * g.kernel_w + kx) * P;
            if (pointwise) {
              for (int64_t p = 0; p < P; ++p) row[p] = static_cast<Scalar>(plane[p]);
              continue;
            }
            for (int64_t y = 0; y < g.out_h; ++y) {
              const int64_t iy = y * g.stride_h - g.pad_top + ky * g.dilation_h;
              Scalar* out_row = row + y * g.out_w;
              if (iy < 0 || iy >= g.in_h) {
                std::fill(out_row, out_row + g.out_w, Scalar(0));
                continue;
              }
              const T* in_row = plane + iy * g.in_w;
              for (int64_t x = 0; x < g.out_w; ++x) {
                const int64_t ix = x * g.stride_w - g.pad_left + kx * g.dilation_w;
                out_row[x] = (ix >= 0 && ix < g.in_w) ? static_cast<Scalar>(in_row[ix]) : Scalar(0);
              }
            }
          }
        }
      }
      for (int64_t co = 0; co < cout_g; ++co) {
        const int8_t* wrow = weight + (grp * cout_g + co) * K;
        for (int64_t k = 0; k < K; ++k) w(co, k) = static_cast<Scalar>(wrow[k]);
      }
      int64_t* out = acc + (n * g.out_channels + grp * cout_g) * P;
      // Rows [r0, r1) of this group's output: its own partial product, disjoint from other threads' rows.
      auto rows = [&](int64_t r0, int64_t r1) {
        RowMatrix<Scalar> part(r1 - r0, P);
        std::fill(out + r0 * P, out + r1 * P, int64_t(0));
        for (int64_t k0 = 0; k0 < K; k0 += chunk) {
          const int64_t kc = std::min(chunk, K - k0);
          part.noalias() = w.block(r0, k0, r1 - r0, kc) * col.middleRows(k0, kc);
          const Scalar* src = part.data();
          int64_t* dst = out + r0 * P;
          for (int64_t i = 0; i < (r1 - r0) * P; ++i) dst[i] += static_cast<int64_t>(src[i]);
        }
      };
      const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(threads, cout_g * P >= 65536 ? cout_g : 1));
      if (workers == 1) {
        rows(0, cout_g);
        continue;
      }
      std::vector<std::thread> pool;
      for (int64_t t = 0; t < workers; ++t) {
        const int64_t r0 = cout_g * t / workers, r1 = cout_g * (t + 1) / workers;
        if (r1 > r0) pool.emplace_back(rows, r0, r1);
      }
      for (auto& th : pool) th.join();
    }
  }
}

template void conv_accumulate_fast<int8_t>(const ConvGeometry&, const int8_t*, const int8_t*, int64_t*, int);
template void conv_accumulate_fast<int16_t>(const ConvGeometry&, const int16_t*, const int8_t*, int64_t*, int);

}  // namespace bpu::kernels
