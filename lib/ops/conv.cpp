// CPU float kernels with weights: Conv (im2col + Eigen GEMM), ConvTranspose (scatter), Gemm, MatMul,
// BatchNormalization (inference).

#include <Eigen/Core>

#include <algorithm>

#include "ops/op_def.h"
#include "common/conv_geometry.h"
#include "common/thread_pool.h"

namespace bpu::cpu {

namespace {

// Every kernel is written over its scalar type T (float: the executor; double: the exact run).
template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const RowMatrix<T>>;
template <typename T>
using Map = Eigen::Map<RowMatrix<T>>;

// One im2col row: the input values tap (ky, kx) of one input plane reads for output columns [p0, p1), zero where
// the tap falls in the padding. Output row by output row: the in-bounds stretch of each row is a strided copy.
template <typename T>
void im2col_row(const ConvGeometry& g, const T* plane, int64_t ky, int64_t kx, int64_t p0, int64_t p1, T* row) {
  const int64_t x_shift = kx * g.dilation_w - g.pad_left;
  // Output columns xo with 0 <= xo * stride + x_shift < in_w.
  const int64_t lo = x_shift >= 0 ? 0 : (-x_shift + g.stride_w - 1) / g.stride_w;
  const int64_t hi = g.in_w - x_shift <= 0 ? 0 : (g.in_w - x_shift + g.stride_w - 1) / g.stride_w;
  for (int64_t p = p0; p < p1;) {
    const int64_t yo = p / g.out_w, x_begin = p % g.out_w, x_end = std::min(g.out_w, x_begin + (p1 - p));
    const int64_t iy = yo * g.stride_h - g.pad_top + ky * g.dilation_h;
    T* dst = row + (p - p0) - x_begin;  // dst[xo] is output column (yo, xo)
    if (iy < 0 || iy >= g.in_h) {
      std::fill(dst + x_begin, dst + x_end, T(0));
    } else {
      const int64_t a = std::clamp(lo, x_begin, x_end), b = std::clamp(std::min(hi, g.out_w), a, x_end);
      std::fill(dst + x_begin, dst + a, T(0));
      const T* src = plane + iy * g.in_w + x_shift;
      for (int64_t xo = a; xo < b; ++xo) dst[xo] = src[xo * g.stride_w];
      std::fill(dst + b, dst + x_end, T(0));
    }
    p += x_end - x_begin;
  }
}

// Output columns [p0, p1) of image n, group grp: im2col of those columns (none for a 1x1 stride-1 unpadded
// convolution, whose input planes are the columns), then one Eigen GEMM and the bias.
template <typename T>
void conv_columns(const ConvGeometry& g, const T* x, const T* weight, const T* bias, int64_t n, int64_t grp,
                  int64_t p0, int64_t p1, T* y) {
  const int64_t cin_g = g.in_channels / g.groups, cout_g = g.out_channels / g.groups;
  const int64_t K = cin_g * g.kernel_h * g.kernel_w, P = g.out_h * g.out_w, cols = p1 - p0;
  const T* first_plane = x + (n * g.in_channels + grp * cin_g) * g.in_h * g.in_w;
  const bool pointwise = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
                         g.pad_top == 0 && g.pad_left == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
  thread_local std::vector<T> scratch;  // each worker's im2col buffer, kept between calls
  if (!pointwise) {
    scratch.resize(static_cast<size_t>(K * cols));
    for (int64_t ci = 0; ci < cin_g; ++ci) {
      for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
        for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
          im2col_row(g, first_plane + ci * g.in_h * g.in_w, ky, kx, p0, p1,
                     scratch.data() + ((ci * g.kernel_h + ky) * g.kernel_w + kx) * cols);
        }
      }
    }
  }
  using Strided = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
  const Strided col = pointwise ? Strided(first_plane + p0, K, cols, Eigen::OuterStride<>(g.in_h * g.in_w))
                                : Strided(scratch.data(), K, cols, Eigen::OuterStride<>(cols));
  ConstMap<T> wm(weight + grp * cout_g * K, cout_g, K);
  Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>> ym(y + (n * g.out_channels + grp * cout_g) * P + p0, cout_g, cols,
                                                    Eigen::OuterStride<>(P));
  ym.noalias() = wm * col;
  if (bias) {
    for (int64_t co = 0; co < cout_g; ++co) ym.row(co).array() += bias[grp * cout_g + co];
  }
}

// Stride 1: the padded planes of image n, group grp ([cin_g][hp][wp], zeros around the input, a zero tail the
// last block may read into), so im2col row (ci, ky, kx) over the grid positions q = y * wp + x is one contiguous
// run at ci * hp * wp + ky * dh * wp + kx * dw; grid columns x >= out_w are computed and dropped.
template <typename T>
int64_t pad_planes(const ConvGeometry& g, const T* x, int64_t n, int64_t grp, std::vector<T>& padded) {
  const int64_t cin_g = g.in_channels / g.groups;
  const int64_t hp = g.out_h + (g.kernel_h - 1) * g.dilation_h, wp = g.out_w + (g.kernel_w - 1) * g.dilation_w;
  padded.assign(static_cast<size_t>(cin_g * hp * wp + wp + (g.kernel_h - 1) * g.dilation_h * wp + g.kernel_w * g.dilation_w), T(0));
  const int64_t rows = std::min(g.in_h, hp - g.pad_top), width = std::min(g.in_w, wp - g.pad_left);
  for (int64_t ci = 0; ci < cin_g; ++ci) {
    const T* plane = x + ((n * g.in_channels) + grp * cin_g + ci) * g.in_h * g.in_w;
    for (int64_t iy = 0; iy < rows; ++iy) {
      std::copy(plane + iy * g.in_w, plane + iy * g.in_w + width, padded.data() + (ci * hp + iy + g.pad_top) * wp + g.pad_left);
    }
  }
  return wp;
}

// Grid positions [q0, q1) of a stride-1 convolution over pad_planes' planes: each im2col row one copy, one Eigen
// GEMM into a block result, the valid columns plus the bias stored into y.
template <typename T>
void conv_grid_columns(const ConvGeometry& g, const T* padded, int64_t wp, const T* weight, const T* bias, int64_t n,
                       int64_t grp, int64_t q0, int64_t q1, T* y) {
  const int64_t cin_g = g.in_channels / g.groups, cout_g = g.out_channels / g.groups;
  const int64_t K = cin_g * g.kernel_h * g.kernel_w, P = g.out_h * g.out_w, cols = q1 - q0;
  const int64_t hp = g.out_h + (g.kernel_h - 1) * g.dilation_h;
  thread_local std::vector<T> scratch, result;
  scratch.resize(static_cast<size_t>(K * cols));
  for (int64_t k = 0; k < K; ++k) {
    const int64_t ci = k / (g.kernel_h * g.kernel_w), ky = (k / g.kernel_w) % g.kernel_h, kx = k % g.kernel_w;
    const T* src = padded + ci * hp * wp + ky * g.dilation_h * wp + kx * g.dilation_w + q0;
    std::copy(src, src + cols, scratch.data() + k * cols);
  }
  result.resize(static_cast<size_t>(cout_g * cols));
  Map<T>(result.data(), cout_g, cols).noalias() = ConstMap<T>(weight + grp * cout_g * K, cout_g, K) * ConstMap<T>(scratch.data(), K, cols);
  T* out = y + (n * g.out_channels + grp * cout_g) * P;
  for (int64_t q = q0; q < q1;) {  // one grid row segment at a time
    const int64_t yo = q / wp, x0 = q % wp, x1 = std::min(wp, x0 + (q1 - q));
    for (int64_t co = 0; co < cout_g && x0 < g.out_w; ++co) {
      const T b = bias ? bias[grp * cout_g + co] : T(0);
      const T* src = result.data() + co * cols + (q - q0);
      T* dst = out + co * P + yo * g.out_w;
      for (int64_t xo = x0; xo < std::min(x1, g.out_w); ++xo) dst[xo] = src[xo - x0] + b;
    }
    q += x1 - x0;
  }
}

template <typename T>
void conv(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const CpuTensor& w = *in.at(1);
  if (x.shape.size() != 4 || w.shape.size() != 4) c.fail("only 2-D convolution (4-D tensors) is supported");
  if (c.node.attr_string("auto_pad", "NOTSET") != "NOTSET") c.fail("auto_pad is not supported");
  const int64_t groups = c.node.attr_int("group", 1);
  const auto k = c.node.attr_ints("kernel_shape", {w.shape[2], w.shape[3]});
  const auto s = c.node.attr_ints("strides", {1, 1});
  const auto d = c.node.attr_ints("dilations", {1, 1});
  const auto p = c.node.attr_ints("pads", {0, 0, 0, 0});
  if (k.size() != 2 || s.size() != 2 || d.size() != 2 || p.size() != 4) c.fail("malformed attributes");
  if (k[0] != w.shape[2] || k[1] != w.shape[3]) c.fail("kernel_shape does not match the weight");
  if (groups < 1 || x.shape[1] % groups || w.shape[0] % groups || w.shape[1] * groups != x.shape[1]) c.fail("group does not match the channels");
  ConvGeometry g;
  g.batch = x.shape[0];
  g.in_channels = x.shape[1];
  g.in_h = x.shape[2];
  g.in_w = x.shape[3];
  g.out_channels = w.shape[0];
  g.kernel_h = k[0];
  g.kernel_w = k[1];
  g.stride_h = s[0];
  g.stride_w = s[1];
  g.dilation_h = d[0];
  g.dilation_w = d[1];
  g.pad_top = p[0];
  g.pad_left = p[1];
  g.groups = groups;
  g.out_h = conv_output_size(g.in_h, g.kernel_h, g.stride_h, p[0], p[2], g.dilation_h);
  g.out_w = conv_output_size(g.in_w, g.kernel_w, g.stride_w, p[1], p[3], g.dilation_w);
  if (g.out_h < 1 || g.out_w < 1) c.fail("the kernel does not fit the padded input");
  if (c.present(in, 2) && in[2]->count() != g.out_channels) c.fail("bias must have one value per output channel");
  allocate<T>(c, out[0], {g.batch, g.out_channels, g.out_h, g.out_w});
  if (c.shapes_only) return;
  const int64_t P = g.out_h * g.out_w;
  const T* bias = c.present(in, 2) ? in[2]->values<T>().data() : nullptr;
  // Output columns in fixed blocks of kColumns, each one im2col + GEMM, spread over the workers. The blocks do
  // not depend on the worker count, so neither does any output bit (Eigen's summation order depends on the
  // block's shape, which is why the blocks are fixed rather than one per worker).
  constexpr int64_t kColumns = 128;
  const int64_t blocks = (P + kColumns - 1) / kColumns;
  const bool pointwise = g.kernel_h == 1 && g.kernel_w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
                         g.out_h == g.in_h && g.out_w == g.in_w;
  if (g.stride_h == 1 && g.stride_w == 1 && !pointwise) {  // the grid form, blocks of kColumns grid positions
    std::vector<T> padded;
    for (int64_t n = 0; n < g.batch; ++n) {
      for (int64_t grp = 0; grp < groups; ++grp) {
        const int64_t wp = pad_planes<T>(g, x.values<T>().data(), n, grp, padded), Q = g.out_h * wp;
        parallel_for(c.pool, (Q + kColumns - 1) / kColumns, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            conv_grid_columns<T>(g, padded.data(), wp, w.values<T>().data(), bias, n, grp, b * kColumns,
                                 std::min(Q, (b + 1) * kColumns), out[0].values<T>().data());
          }
        });
      }
    }
    return;
  }
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t grp = 0; grp < groups; ++grp) {
      auto body = [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          conv_columns<T>(g, x.values<T>().data(), w.values<T>().data(), bias, n, grp, b * kColumns,
                          std::min(P, (b + 1) * kColumns), out[0].values<T>().data());
        }
      };
      parallel_for(c.pool, blocks, body);
    }
  }
}

template <typename T>
void conv_transpose(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const CpuTensor& w = *in.at(1);
  if (x.shape.size() != 4 || w.shape.size() != 4) c.fail("only 2-D transposed convolution is supported");
  if (c.node.attr_string("auto_pad", "NOTSET") != "NOTSET" || c.node.attr("output_shape")) c.fail("auto_pad and output_shape are not supported");
  const int64_t groups = c.node.attr_int("group", 1);
  const auto s = c.node.attr_ints("strides", {1, 1});
  const auto d = c.node.attr_ints("dilations", {1, 1});
  const auto p = c.node.attr_ints("pads", {0, 0, 0, 0});
  const auto op = c.node.attr_ints("output_padding", {0, 0});
  if (s.size() != 2 || d.size() != 2 || p.size() != 4 || op.size() != 2) c.fail("malformed attributes");
  if (groups < 1 || x.shape[1] != w.shape[0] || x.shape[1] % groups) c.fail("weight does not match the input channels");
  const int64_t cin = x.shape[1], cout_g = w.shape[1], cout = cout_g * groups, cin_g = cin / groups;
  const int64_t oh = (x.shape[2] - 1) * s[0] - p[0] - p[2] + d[0] * (w.shape[2] - 1) + 1 + op[0];
  const int64_t ow = (x.shape[3] - 1) * s[1] - p[1] - p[3] + d[1] * (w.shape[3] - 1) + 1 + op[1];
  if (oh < 1 || ow < 1) c.fail("empty output");
  if (c.present(in, 2) && in[2]->count() != cout) c.fail("bias must have one value per output channel");
  allocate<T>(c, out[0], {x.shape[0], cout, oh, ow});
  if (c.shapes_only) return;
  T* y = out[0].values<T>().data();
  const std::vector<T>& xv = x.values<T>();
  const std::vector<T>& wv = w.values<T>();
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t ci = 0; ci < cin; ++ci) {
      const int64_t grp = ci / cin_g;
      for (int64_t iy = 0; iy < x.shape[2]; ++iy)
        for (int64_t ix = 0; ix < x.shape[3]; ++ix) {
          const T v = xv[((n * cin + ci) * x.shape[2] + iy) * x.shape[3] + ix];
          for (int64_t col = 0; col < cout_g; ++col)
            for (int64_t ky = 0; ky < w.shape[2]; ++ky) {
              const int64_t oy = iy * s[0] - p[0] + ky * d[0];
              if (oy < 0 || oy >= oh) continue;
              for (int64_t kx = 0; kx < w.shape[3]; ++kx) {
                const int64_t ox = ix * s[1] - p[1] + kx * d[1];
                if (ox < 0 || ox >= ow) continue;
                y[((n * cout + grp * cout_g + col) * oh + oy) * ow + ox] += v * wv[((ci * cout_g + col) * w.shape[2] + ky) * w.shape[3] + kx];
              }
            }
        }
    }
  if (c.present(in, 2)) {
    for (int64_t n = 0; n < x.shape[0]; ++n)
      for (int64_t co = 0; co < cout; ++co)
        for (int64_t k = 0; k < oh * ow; ++k) y[(n * cout + co) * oh * ow + k] += in[2]->values<T>()[co];
  }
}

template <typename T>
void gemm(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& a = *in.at(0);
  const CpuTensor& b = *in.at(1);
  if (a.shape.size() != 2 || b.shape.size() != 2) c.fail("Gemm needs 2-D inputs");
  const bool ta = c.node.attr_int("transA", 0), tb = c.node.attr_int("transB", 0);
  const ir::Attribute* alpha_a = c.node.attr("alpha");
  const ir::Attribute* beta_a = c.node.attr("beta");
  const T alpha = alpha_a ? alpha_a->f : 1.0f, beta = beta_a ? beta_a->f : 1.0f;
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t N = tb ? b.shape[0] : b.shape[1], Kb = tb ? b.shape[1] : b.shape[0];
  if (K != Kb) c.fail("inner dimensions differ");
  if (c.present(in, 2)) {
    const Shape& cs = in[2]->shape;
    int64_t cn = in[2]->count();
    if (!(cn == 1 || cn == N || cn == M * N) || (cs.size() == 2 && cs[0] != 1 && cs[0] != M)) c.fail("C does not broadcast to the output");
  }
  allocate<T>(c, out[0], {M, N});
  if (c.shapes_only) return;
  ConstMap<T> am(a.values<T>().data(), a.shape[0], a.shape[1]);
  ConstMap<T> bm(b.values<T>().data(), b.shape[0], b.shape[1]);
  Map<T> y(out[0].values<T>().data(), M, N);
  if (ta && tb) y.noalias() = alpha * (am.transpose() * bm.transpose());
  else if (ta) y.noalias() = alpha * (am.transpose() * bm);
  else if (tb) y.noalias() = alpha * (am * bm.transpose());
  else y.noalias() = alpha * (am * bm);
  if (c.present(in, 2)) {
    const std::vector<T>& cc = in[2]->values<T>();
    const int64_t cn = in[2]->count();
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        T v = cn == 1 ? cc[0] : (cn == N ? cc[j] : cc[i * N + j]);
        y(i, j) += beta * v;
      }
    }
  }
}

template <typename T>
void matmul(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  Shape a = in.at(0)->shape, b = in.at(1)->shape;
  if (a.empty() || b.empty()) c.fail("MatMul needs tensors of rank >= 1");
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  const int64_t M = a[a.size() - 2], K = a.back(), N = b.back();
  if (b[b.size() - 2] != K) c.fail("inner dimensions differ: " + shape_to_string(in[0]->shape) + " x " + shape_to_string(in[1]->shape));
  Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  size_t rank = std::max(batch_a.size(), batch_b.size());
  Shape batch(rank);
  for (size_t k = 0; k < rank; ++k) {
    int64_t da = k < rank - batch_a.size() ? 1 : batch_a[k - (rank - batch_a.size())];
    int64_t db = k < rank - batch_b.size() ? 1 : batch_b[k - (rank - batch_b.size())];
    if (da != db && da != 1 && db != 1) c.fail("batch dimensions do not broadcast");
    batch[k] = std::max(da, db);
  }
  Shape shape = batch;
  if (!a_vec) shape.push_back(M);
  if (!b_vec) shape.push_back(N);
  allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  int64_t batches = 1;
  for (int64_t d : batch) batches *= d;
  for (int64_t t = 0; t < batches; ++t) {
    // Map flat batch index t to the (broadcast) batch index of a and b.
    int64_t rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
    for (int64_t k = static_cast<int64_t>(rank) - 1; k >= 0; --k) {
      int64_t idx = rem % batch[k];
      rem /= batch[k];
      int64_t da = k < static_cast<int64_t>(rank - batch_a.size()) ? 1 : batch_a[k - (rank - batch_a.size())];
      int64_t db = k < static_cast<int64_t>(rank - batch_b.size()) ? 1 : batch_b[k - (rank - batch_b.size())];
      ia += (da == 1 ? 0 : idx) * sa;
      ib += (db == 1 ? 0 : idx) * sb;
      sa *= da;
      sb *= db;
    }
    ConstMap<T> am(in[0]->values<T>().data() + ia * M * K, M, K);
    ConstMap<T> bm(in[1]->values<T>().data() + ib * K * N, K, N);
    Map<T> y(out[0].values<T>().data() + t * M * N, M, N);
    y.noalias() = am * bm;
  }
}

template <typename T>
void batch_norm(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  if (x.shape.size() < 2) c.fail("input needs a channel axis");
  const int64_t C = x.shape[1];
  for (size_t k = 1; k < 5; ++k) {
    if (!c.present(in, k) || in[k]->count() != C) c.fail("scale, B, mean and var need one value per channel");
  }
  const ir::Attribute* e = c.node.attr("epsilon");
  const T eps = e ? e->f : 1e-5f;
  allocate<T>(c, out[0], x.shape);
  if (c.shapes_only) return;
  int64_t inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d) inner *= x.shape[d];
  const std::vector<T>& scale = in[1]->values<T>(), &shift = in[2]->values<T>(), &mean = in[3]->values<T>();
  const std::vector<T>& var = in[4]->values<T>(), &xv = x.values<T>();
  std::vector<T>& y = out[0].values<T>();
  for (int64_t n = 0; n < x.shape[0]; ++n) {
    for (int64_t ch = 0; ch < C; ++ch) {
      const T a = scale[ch] / std::sqrt(var[ch] + eps);
      const T b = shift[ch] - mean[ch] * a;
      const int64_t base = (n * C + ch) * inner;
      for (int64_t k = 0; k < inner; ++k) y[base + k] = xv[base + k] * a + b;
    }
  }
}

}  // namespace

}  // namespace bpu::cpu

namespace bpu::ops {

void explicit_spatial_attrs(CanonContext& c, ir::Node& n, const std::vector<int64_t>& kernel) {
  const size_t rank = kernel.size();
  auto ints = [&](const char* key, std::vector<int64_t> fallback) {
    if (!n.attr(key)) {
      ir::Attribute a;
      a.kind = ir::Attribute::Kind::Ints;
      a.ints = std::move(fallback);
      n.attributes[key] = a;
    }
    return n.attr_ints(key, {});
  };
  const std::vector<int64_t> strides = ints("strides", std::vector<int64_t>(rank, 1));
  const std::vector<int64_t> dilations = ints("dilations", std::vector<int64_t>(rank, 1));
  ints("kernel_shape", kernel);
  const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  std::vector<int64_t> pads = n.attr_ints("pads", std::vector<int64_t>(2 * rank, 0));
  if (auto_pad == "VALID") {
    pads.assign(2 * rank, 0);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const Shape& x = c.shape(n.inputs.at(0));
    if (x.size() != rank + 2 || strides.size() != rank || dilations.size() != rank) c.fail(n, "malformed attributes");
    for (size_t d = 0; d < rank; ++d) {
      const int64_t out = (x[d + 2] + strides[d] - 1) / strides[d];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - x[d + 2]);
      const int64_t small = total / 2, large = total - small;
      pads[d] = auto_pad == "SAME_UPPER" ? small : large;
      pads[d + rank] = auto_pad == "SAME_UPPER" ? large : small;
    }
  } else if (auto_pad != "NOTSET") {
    c.fail(n, "auto_pad '" + auto_pad + "' is not an ONNX value");
  }
  ir::Attribute p;
  p.kind = ir::Attribute::Kind::Ints;
  p.ints = pads;
  n.attributes["pads"] = p;
  n.attributes.erase("auto_pad");
}

namespace {

std::vector<int64_t> weight_kernel(CanonContext& c, const ir::Node& n) {
  const Shape& w = c.shape(n.inputs.at(1));
  if (w.size() < 3) c.fail(n, "the weight has rank " + std::to_string(w.size()));
  return std::vector<int64_t>(w.begin() + 2, w.end());
}

void canon_conv(CanonContext& c, ir::Node& n) {
  if (!n.attr("group")) n.attributes["group"] = ir::Attribute::of_int(1);
  if (n.op_type == "ConvTranspose" && n.attr_string("auto_pad", "NOTSET") != "NOTSET") {
    c.fail(n, "auto_pad on ConvTranspose is not supported; export with explicit pads");
  }
  explicit_spatial_attrs(c, n, weight_kernel(c, n));
}

void canon_gemm(CanonContext&, ir::Node& n) {
  for (const char* key : {"alpha", "beta"}) {
    if (n.attr(key)) continue;
    n.attributes[key] = ir::Attribute::of_float(1.0f);
  }
  for (const char* key : {"transA", "transB"}) {
    if (!n.attr(key)) n.attributes[key] = ir::Attribute::of_int(0);
  }
}

}  // namespace

void register_conv(Registry& r) {
  using namespace cpu;
  r.push_back({"Conv", "", kWeighted, "all opsets; auto_pad resolved to explicit pads, defaults made explicit",
               canon_conv, nullptr, nullptr, conv<float>});
  r.back().kernel64 = conv<double>;
  r.push_back({"ConvTranspose", "", kWeighted, "all opsets; strides/pads/dilations/group made explicit", canon_conv,
               nullptr, nullptr, conv_transpose<float>});
  r.back().kernel64 = conv_transpose<double>;
  r.push_back({"Gemm", "", kWeighted, "alpha, beta, transA, transB made explicit", canon_gemm, nullptr, nullptr, gemm<float>});
  r.back().kernel64 = gemm<double>;
  r.push_back({"MatMul", "", kWeighted | kActivationB, "all opsets", nullptr, nullptr, nullptr, matmul<float>});
  r.back().kernel64 = matmul<double>;
  r.push_back({"BatchNormalization", "", kElementwise, "inference form (opset 9, 14, 15)", nullptr, nullptr, nullptr,
               batch_norm<float>});
  r.back().kernel64 = batch_norm<double>;
}

}  // namespace bpu::ops
