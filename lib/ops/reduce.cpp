// Registry entries of the reductions ReduceMean, ReduceMax, ReduceMin, ReduceSum. Opsets 10-17: `axes` is an
// attribute, except ReduceSum from 13, where it is an optional input (with noop_with_empty_axes); keepdims
// defaults to 1; no axes means every axis. Canonical: the opset-13 form with the axes listed explicitly, sorted
// and non-negative (an attribute, or ReduceSum's input) and keepdims explicit. The CPU kernel accumulates in double.

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/op_def.h"

namespace bpu::ops {

namespace {

bool axes_are_input(const std::string& op, int64_t opset) { return op == "ReduceSum" && opset >= 13; }

void canon_reduce(CanonContext& c, ir::Node& n) {
  const int64_t rank = static_cast<int64_t>(c.shape(n.inputs.at(0)).size());
  std::vector<int64_t> axes = axes_are_input(n.op_type, c.opset) ? c.constant_ints(n, 1) : n.attr_ints("axes", {});
  if (axes.empty()) {
    if (axes_are_input(n.op_type, c.opset) && n.attr_int("noop_with_empty_axes", 0) != 0) {
      c.fail(n, "noop_with_empty_axes with no axes is an identity; remove the node");
    }
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (int64_t& a : axes) a = normalize_axis(c.graph, n, a, rank);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) c.fail(n, "an axis is listed twice");
  n.attributes["keepdims"] = ir::Attribute::of_int(n.attr_int("keepdims", 1) != 0 ? 1 : 0);
  n.attributes.erase("noop_with_empty_axes");
  if (n.op_type == "ReduceSum") {
    n.attributes.erase("axes");
    n.inputs = {n.inputs[0], c.int_constant(n, "axes", axes)};
  } else {
    ir::Attribute a;
    a.kind = ir::Attribute::Kind::Ints;
    a.ints = axes;
    n.attributes["axes"] = a;
  }
}

enum class Kind { Mean, Max, Min, Sum };

template <Kind K, typename T>
void kernel(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in, std::vector<cpu::CpuTensor>& out) {
  const cpu::CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> axes = axes_are_input(c.node.op_type, c.opset) ? (c.present(in, 1) ? c.ints(in, 1) : std::vector<int64_t>{})
                                                                      : c.node.attr_ints("axes", {});
  std::vector<bool> reduced(rank, axes.empty());
  if (axes.empty() && axes_are_input(c.node.op_type, c.opset) && c.node.attr_int("noop_with_empty_axes", 0)) {
    reduced.assign(rank, false);
  }
  for (int64_t a : axes) reduced[cpu::kernel_axis(c, a, rank)] = true;
  const bool keepdims = c.node.attr_int("keepdims", 1) != 0;
  Shape shape, kept_shape(rank);
  for (int64_t d = 0; d < rank; ++d) {
    kept_shape[d] = reduced[d] ? 1 : x.shape[d];
    if (!reduced[d] || keepdims) shape.push_back(kept_shape[d]);
  }
  cpu::allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  const std::vector<T>& xv = x.values<T>();
  std::vector<T>& y = out[0].values<T>();
  const int64_t n_out = out[0].count();
  const int64_t group = n_out ? x.count() / n_out : 0;
  std::vector<double> acc(n_out, K == Kind::Max ? -INFINITY : K == Kind::Min ? INFINITY : 0.0);
  auto fold = [](double a, double v) { return K == Kind::Max ? std::max(a, v) : K == Kind::Min ? std::min(a, v) : a + v; };
  int64_t kept_rank = rank;
  while (kept_rank > 0 && reduced[kept_rank - 1]) --kept_rank;
  if (std::find(reduced.begin(), reduced.begin() + kept_rank, true) == reduced.begin() + kept_rank) {
    // Only trailing axes reduced: each output folds one contiguous run, in the same order as the walk below.
    for (int64_t o = 0; o < n_out; ++o) {
      for (int64_t i = o * group; i < (o + 1) * group; ++i) acc[o] = fold(acc[o], static_cast<double>(xv[i]));
    }
  } else {
    std::vector<int64_t> index(rank, 0);
    for (int64_t i = 0, n = x.count(); i < n; ++i) {
      int64_t o = 0;
      for (int64_t d = 0; d < rank; ++d) o = o * kept_shape[d] + (reduced[d] ? 0 : index[d]);
      acc[o] = fold(acc[o], static_cast<double>(xv[i]));
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++index[d] < x.shape[d]) break;
        index[d] = 0;
      }
    }
  }
  for (int64_t o = 0; o < n_out; ++o) {
    y[o] = static_cast<T>(K == Kind::Mean ? acc[o] / static_cast<double>(std::max<int64_t>(group, 1)) : acc[o]);
  }
}

}  // namespace

std::vector<int64_t> reduce_axes(const ir::Graph& g, const ir::Node& n) {
  if (n.op_type != "ReduceSum") return n.attr_ints("axes", {});
  if (n.inputs.size() < 2 || n.inputs[1].empty()) return {};
  return g.tensor(n.inputs[1]).int_data;  // canonical: a constant axes input
}

void register_reduce(Registry& r) {
  const std::string forms = "`axes` attribute (none: every axis), keepdims default 1. Canonical: explicit sorted axes";
  r.push_back({"ReduceMean", "", kTieProne, forms, canon_reduce, nullptr, nullptr, kernel<Kind::Mean, float>});
  r.back().kernel64 = kernel<Kind::Mean, double>;
  r.push_back({"ReduceMax", "", 0, forms, canon_reduce, nullptr, nullptr, kernel<Kind::Max, float>});
  r.back().kernel64 = kernel<Kind::Max, double>;
  r.push_back({"ReduceMin", "", 0, forms, canon_reduce, nullptr, nullptr, kernel<Kind::Min, float>});
  r.back().kernel64 = kernel<Kind::Min, double>;
  r.push_back({"ReduceSum", "", 0, "< 13: `axes` attribute; 13+: `axes` input with noop_with_empty_axes. Canonical: "
                                   "explicit sorted axes input", canon_reduce, nullptr, nullptr, kernel<Kind::Sum, float>});
  r.back().kernel64 = kernel<Kind::Sum, double>;
}

}  // namespace bpu::ops
