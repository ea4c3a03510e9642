// NumPy broadcasting over row-major shapes: the index walk every element-wise kernel uses (the CPU kernels of
// lib/ops and the bayes simulator's ADD/MUL) and the broadcastability check of the .bin validator.
#pragma once

#include <cstdint>
#include <vector>

#include "common/dtype.h"

namespace bpu {

// For every output index o (row-major over `out`), calls f(o, index_in_a, index_in_b) with NumPy broadcasting.
template <typename F>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, F&& f) {
  const size_t rank = out.size();
  std::vector<int64_t> sa(rank, 0), sb(rank, 0);
  int64_t stride_a = 1, stride_b = 1;
  for (size_t k = 0; k < rank; ++k) {
    const size_t o = rank - 1 - k;
    if (k < a.size()) {
      const int64_t d = a[a.size() - 1 - k];
      sa[o] = d == 1 ? 0 : stride_a;
      stride_a *= d;
    }
    if (k < b.size()) {
      const int64_t d = b[b.size() - 1 - k];
      sb[o] = d == 1 ? 0 : stride_b;
      stride_b *= d;
    }
  }
  int64_t count = 1;
  for (int64_t d : out) count *= d;
  std::vector<int64_t> index(rank, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t o = 0; o < count; ++o) {
    f(o, ia, ib);
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
      if (++index[d] < out[d]) {
        ia += sa[d];
        ib += sb[d];
        break;
      }
      ia -= sa[d] * (out[d] - 1);
      ib -= sb[d] * (out[d] - 1);
      index[d] = 0;
    }
  }
}

// The same walk a row (the last output axis) at a time: calls f(o, ia, step_a, ib, step_b, len) for the output
// elements o .. o + len - 1, which read a[ia + j * step_a] and b[ib + j * step_b] (steps 0 or 1).
template <typename F>
void for_each_broadcast_row(const Shape& out, const Shape& a, const Shape& b, F&& f) {
  const size_t rank = out.size();
  if (rank == 0) return f(int64_t{0}, int64_t{0}, int64_t{0}, int64_t{0}, int64_t{0}, int64_t{1});
  const int64_t len = out[rank - 1];
  const int64_t step_a = a.size() && a.back() != 1 ? 1 : 0, step_b = b.size() && b.back() != 1 ? 1 : 0;
  const Shape outer(out.begin(), out.end() - 1);
  const Shape outer_a = a.size() ? Shape(a.begin(), a.end() - 1) : a, outer_b = b.size() ? Shape(b.begin(), b.end() - 1) : b;
  const int64_t row_a = a.size() ? a.back() : 1, row_b = b.size() ? b.back() : 1;
  for_each_broadcast(outer, outer_a, outer_b, [&](int64_t r, int64_t ra, int64_t rb) {
    f(r * len, ra * row_a, step_a, rb * row_b, step_b, len);
  });
}

bool broadcastable(const Shape& from, const Shape& to);

// Rewrites a broadcast (b and a broadcastable to out) as the same element walk over fewer axes: axes of size 1
// dropped, neighbours merged where each input is broadcast along both or along neither. The results have
// out's new rank (a rank-0 out stays rank 0); an SE scale 1xCx1x1 against 1xCxHxW becomes C x 1 against C x HW.
void coalesce_broadcast(Shape& out, Shape& a, Shape& b);

}  // namespace bpu
