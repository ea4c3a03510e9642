// Data movement and softmax reference loops.

#include "arch/bayes/sim/kernels/movement.h"

#include <cstring>

#include <cmath>

#include "numerics/requant.h"

namespace bpu::kernels {

namespace {

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t k = static_cast<int64_t>(s.size()) - 2; k >= 0; --k) st[k] = st[k + 1] * s[k + 1];
  return st;
}

// Calls f(output index, multi-index) for every element of `shape` in row-major order.
template <typename F>
void for_each_index(const Shape& shape, F&& f) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t o = 0; o < count; ++o) {
    f(o, idx);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

std::vector<int64_t> transpose_nd(const std::vector<int64_t>& in, const Shape& in_shape, const std::vector<uint32_t>& perm) {
  Shape out_shape(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) out_shape[k] = in_shape[perm[k]];
  const std::vector<int64_t> st = strides_of(in_shape);
  std::vector<int64_t> out(in.size());
  for_each_index(out_shape, [&](int64_t o, const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t k = 0; k < perm.size(); ++k) src += idx[k] * st[perm[k]];
    out[o] = in[src];
  });
  return out;
}

template <typename T>
void transpose_typed(const T* in, const Shape& in_shape, const std::vector<uint32_t>& perm, T* out) {
  const std::vector<int64_t> st = strides_of(in_shape);
  std::vector<int64_t> extent, stride;  // output axes whose input axes follow each other, merged: extent, input stride
  for (size_t k = 0; k < perm.size(); ++k) {
    if (k > 0 && perm[k] == perm[k - 1] + 1) {
      extent.back() *= in_shape[perm[k]];
      stride.back() = st[perm[k]];
    } else {
      extent.push_back(in_shape[perm[k]]);
      stride.push_back(st[perm[k]]);
    }
  }
  if (extent.empty()) {
    out[0] = in[0];
    return;
  }
  const size_t outer = extent.size() - 1;
  const int64_t len = extent[outer], step = stride[outer];
  int64_t rows = 1;
  for (size_t k = 0; k < outer; ++k) rows *= extent[k];
  std::vector<int64_t> idx(outer, 0);
  int64_t src = 0;  // input offset of the current run
  for (int64_t r = 0; r < rows; ++r) {
    T* dst = out + r * len;
    if (step == 1) {
      std::memcpy(dst, in + src, static_cast<size_t>(len) * sizeof(T));
    } else {
      for (int64_t i = 0; i < len; ++i) dst[i] = in[src + i * step];
    }
    for (size_t k = outer; k-- > 0;) {  // next outer index, last axis fastest
      src += stride[k];
      if (++idx[k] < extent[k]) break;
      src -= idx[k] * stride[k];
      idx[k] = 0;
    }
  }
}

template void transpose_typed<int8_t>(const int8_t*, const Shape&, const std::vector<uint32_t>&, int8_t*);
template void transpose_typed<int16_t>(const int16_t*, const Shape&, const std::vector<uint32_t>&, int16_t*);
template void transpose_typed<int32_t>(const int32_t*, const Shape&, const std::vector<uint32_t>&, int32_t*);

std::vector<int64_t> slice_nd(const std::vector<int64_t>& in, const Shape& in_shape, const Shape& out_shape,
                              const std::vector<int32_t>& starts, const std::vector<int32_t>& steps) {
  const std::vector<int64_t> st = strides_of(in_shape);
  int64_t count = 1;
  for (int64_t d : out_shape) count *= d;
  std::vector<int64_t> out(static_cast<size_t>(count));
  for_each_index(out_shape, [&](int64_t o, const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t k = 0; k < idx.size(); ++k) src += (starts[k] + idx[k] * steps[k]) * st[k];
    out[o] = in[src];
  });
  return out;
}

template <typename T>
void slice_typed(const T* in, const Shape& in_shape, const Shape& out_shape, const std::vector<int32_t>& starts,
                 const std::vector<int32_t>& steps, T* out) {
  const size_t rank = out_shape.size();
  if (rank == 0) {
    out[0] = in[0];
    return;
  }
  const std::vector<int64_t> st = strides_of(in_shape);
  const int64_t len = out_shape[rank - 1], step = steps[rank - 1];
  int64_t rows = 1;
  for (size_t k = 0; k + 1 < rank; ++k) rows *= out_shape[k];
  std::vector<int64_t> idx(rank, 0);  // the outer index of the current run
  for (int64_t r = 0; r < rows; ++r) {
    int64_t src = starts[rank - 1];
    for (size_t k = 0; k + 1 < rank; ++k) src += (starts[k] + idx[k] * steps[k]) * st[k];
    T* dst = out + r * len;
    if (step == 1) {
      std::memcpy(dst, in + src, static_cast<size_t>(len) * sizeof(T));
    } else {
      for (int64_t i = 0; i < len; ++i) dst[i] = in[src + i * step];
    }
    for (size_t k = rank - 1; k-- > 0;) {  // next outer index, last axis fastest
      if (++idx[k] < out_shape[k]) break;
      idx[k] = 0;
    }
  }
}

template void slice_typed<int8_t>(const int8_t*, const Shape&, const Shape&, const std::vector<int32_t>&,
                                  const std::vector<int32_t>&, int8_t*);
template void slice_typed<int16_t>(const int16_t*, const Shape&, const Shape&, const std::vector<int32_t>&,
                                   const std::vector<int32_t>&, int16_t*);
template void slice_typed<int32_t>(const int32_t*, const Shape&, const Shape&, const std::vector<int32_t>&,
                                   const std::vector<int32_t>&, int32_t*);

std::vector<int64_t> pad_nd(const std::vector<int64_t>& in, const Shape& in_shape, const Shape& out_shape,
                            const std::vector<uint32_t>& begins, int64_t value) {
  const std::vector<int64_t> st = strides_of(in_shape);
  int64_t count = 1;
  for (int64_t d : out_shape) count *= d;
  std::vector<int64_t> out(static_cast<size_t>(count), value);
  for_each_index(out_shape, [&](int64_t o, const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      const int64_t i = idx[k] - begins[k];
      if (i < 0 || i >= in_shape[k]) return;
      src += i * st[k];
    }
    out[o] = in[src];
  });
  return out;
}

Int8Rescale::Int8Rescale(int64_t mult, int32_t shift, int64_t lo, int64_t hi) {
  const RescaleParams p{mult, shift};
  for (int q = -128; q < 128; ++q) {
    table[q + 128] = static_cast<int8_t>(apply_rescale(q, p, lo, hi));
    identity = identity && table[q + 128] == q;
  }
}

void Int8Rescale::copy(const int8_t* x, int64_t rows, int64_t len, int8_t* y, int64_t y_stride) const {
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* src = x + r * len;
    int8_t* dst = y + r * y_stride;
    if (identity) {
      if (dst != src) std::memcpy(dst, src, static_cast<size_t>(len));
      continue;
    }
    for (int64_t k = 0; k < len; ++k) dst[k] = table[static_cast<int>(src[k]) + 128];
  }
}

std::vector<int64_t> softmax_exact(const std::vector<int64_t>& in, const Shape& shape, uint32_t axis, float in_scale,
                                      float out_scale, int64_t lo, int64_t hi) {
  int64_t outer = 1, inner = 1;
  for (uint32_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t len = shape[axis];
  std::vector<int64_t> out(in.size());
  std::vector<double> e(static_cast<size_t>(len));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      double m = -INFINITY;
      for (int64_t k = 0; k < len; ++k) m = std::max(m, static_cast<double>(in[base + k * inner]) * in_scale);
      double sum = 0;
      for (int64_t k = 0; k < len; ++k) sum += (e[k] = std::exp(static_cast<double>(in[base + k * inner]) * in_scale - m));
      for (int64_t k = 0; k < len; ++k) {
        out[base + k * inner] = quantize_exact(e[k] / sum, out_scale, lo, hi);
      }
    }
  }
  return out;
}

}  // namespace bpu::kernels
