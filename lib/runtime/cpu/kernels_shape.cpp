// CPU data-movement kernels: Reshape, Flatten, Transpose, Concat, Slice, Split, Squeeze, Unsqueeze, Pad,
// Identity. Axes, shapes, starts and pads come from attributes (older opsets) or constant inputs.

#include <algorithm>

#include "runtime/cpu/cpu_kernels.h"

namespace bpu::cpu {

namespace {

int64_t normalize_axis(const KernelContext& c, int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) c.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis;
}

void copy_data(const KernelContext& c, const CpuTensor& x, CpuTensor& y) {
  if (!c.shapes_only) y.f = x.integer ? std::vector<float>(x.i.begin(), x.i.end()) : x.f;
}

void reshape(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  std::vector<int64_t> target = c.ints(in, 1);
  const bool allowzero = c.node.attr_int("allowzero", 0) != 0;
  Shape shape;
  int64_t known = 1, infer = -1;
  for (size_t k = 0; k < target.size(); ++k) {
    int64_t d = target[k];
    if (d == 0 && !allowzero) {
      if (k >= x.shape.size()) c.fail("0 in the shape has no input dimension to copy");
      d = x.shape[k];
    }
    if (d == -1) {
      if (infer >= 0) c.fail("more than one -1 in the shape");
      infer = static_cast<int64_t>(k);
      shape.push_back(1);
      continue;
    }
    if (d < 0) c.fail("invalid dimension " + std::to_string(d));
    known *= std::max<int64_t>(d, 1);
    shape.push_back(d);
  }
  if (infer >= 0) {
    if (known == 0 || x.count() % known) c.fail("cannot infer -1 for " + shape_to_string(x.shape));
    shape[infer] = x.count() / known;
  }
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  if (count != x.count()) c.fail("cannot reshape " + shape_to_string(x.shape) + " to " + shape_to_string(shape));
  allocate(c, out[0], shape);
  copy_data(c, x, out[0]);
}

void flatten(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = c.node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) c.fail("axis out of range");
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  allocate(c, out[0], {outer, outer ? x.count() / outer : 0});
  copy_data(c, x, out[0]);
}

void identity(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  allocate(c, out[0], in.at(0)->shape);
  copy_data(c, *in[0], out[0]);
}

void transpose(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const size_t rank = x.shape.size();
  std::vector<int64_t> perm = c.node.attr_ints("perm", {});
  if (perm.empty()) for (size_t k = 0; k < rank; ++k) perm.push_back(static_cast<int64_t>(rank - 1 - k));
  if (perm.size() != rank) c.fail("perm has the wrong length");
  std::vector<bool> used(rank, false);
  Shape shape(rank);
  for (size_t k = 0; k < rank; ++k) {
    if (perm[k] < 0 || perm[k] >= static_cast<int64_t>(rank) || used[perm[k]]) c.fail("perm is not a permutation");
    used[perm[k]] = true;
    shape[k] = x.shape[perm[k]];
  }
  allocate(c, out[0], shape);
  if (c.shapes_only) return;
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t k = static_cast<int64_t>(rank) - 2; k >= 0; --k) in_strides[k] = in_strides[k + 1] * x.shape[k + 1];
  std::vector<int64_t> index(rank, 0);
  for (int64_t o = 0, n = out[0].count(); o < n; ++o) {
    int64_t src = 0;
    for (size_t k = 0; k < rank; ++k) src += index[k] * in_strides[perm[k]];
    out[0].f[o] = x.f[src];
    for (int64_t k = static_cast<int64_t>(rank) - 1; k >= 0; --k) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
}

void concat(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const Shape& first = in.at(0)->shape;
  const int64_t axis = normalize_axis(c, c.node.attr_int("axis", 0), static_cast<int64_t>(first.size()));
  Shape shape = first;
  shape[axis] = 0;
  for (const CpuTensor* t : in) {
    if (!t || t->shape.size() != first.size()) c.fail("inputs differ in rank");
    for (size_t d = 0; d < first.size(); ++d) {
      if (static_cast<int64_t>(d) != axis && t->shape[d] != first[d]) c.fail("inputs differ outside the concat axis");
    }
    shape[axis] += t->shape[axis];
  }
  allocate(c, out[0], shape);
  if (c.shapes_only) return;
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  float* y = out[0].f.data();
  for (int64_t o = 0; o < outer; ++o) {
    for (const CpuTensor* t : in) {
      const int64_t chunk = t->shape[axis] * inner;
      std::vector<float> data = t->integer ? std::vector<float>(t->i.begin(), t->i.end()) : t->f;
      std::copy(data.begin() + o * chunk, data.begin() + (o + 1) * chunk, y);
      y += chunk;
    }
  }
}

// Copies the box starting at `start` with `step` per axis from x into y (y's shape gives the box size).
void gather_box(const CpuTensor& x, CpuTensor& y, const std::vector<int64_t>& start, const std::vector<int64_t>& step) {
  const size_t rank = x.shape.size();
  std::vector<int64_t> strides(rank, 1);
  for (int64_t k = static_cast<int64_t>(rank) - 2; k >= 0; --k) strides[k] = strides[k + 1] * x.shape[k + 1];
  std::vector<int64_t> index(rank, 0);
  for (int64_t o = 0, n = y.count(); o < n; ++o) {
    int64_t src = 0;
    for (size_t k = 0; k < rank; ++k) src += (start[k] + index[k] * step[k]) * strides[k];
    y.f[o] = x.f[src];
    for (int64_t k = static_cast<int64_t>(rank) - 1; k >= 0; --k) {
      if (++index[k] < y.shape[k]) break;
      index[k] = 0;
    }
  }
}

void slice(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset < 10) {
    starts = c.node.attr_ints("starts", {});
    ends = c.node.attr_ints("ends", {});
    axes = c.node.attr_ints("axes", {});
  } else {
    starts = c.ints(in, 1);
    ends = c.ints(in, 2);
    if (c.present(in, 3)) axes = c.ints(in, 3);
    if (c.present(in, 4)) steps = c.ints(in, 4);
  }
  if (axes.empty()) for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) c.fail("starts, ends, axes and steps differ in length");
  std::vector<int64_t> start(rank, 0), step(rank, 1);
  Shape shape = x.shape;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t a = normalize_axis(c, axes[k], rank);
    const int64_t dim = x.shape[a];
    const int64_t st = steps[k];
    if (st == 0) c.fail("step 0");
    auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(hi, v)); };
    int64_t b = starts[k] < 0 ? starts[k] + dim : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
    if (st > 0) {
      b = clampi(b, 0, dim);
      e = clampi(e, 0, dim);
      shape[a] = e > b ? (e - b + st - 1) / st : 0;
    } else {
      b = clampi(b, 0, dim - 1);
      e = clampi(e, -1, dim - 1);
      shape[a] = b > e ? (b - e - st - 1) / (-st) : 0;
    }
    start[a] = b;
    step[a] = st;
  }
  allocate(c, out[0], shape);
  if (!c.shapes_only) gather_box(x, out[0], start, step);
}

void split(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t axis = normalize_axis(c, c.node.attr_int("axis", 0), static_cast<int64_t>(x.shape.size()));
  std::vector<int64_t> sizes = c.opset >= 13 ? (c.present(in, 1) ? c.ints(in, 1) : std::vector<int64_t>{})
                                             : c.node.attr_ints("split", {});
  const int64_t n = static_cast<int64_t>(out.size());
  if (sizes.empty()) {
    if (x.shape[axis] % n) c.fail("axis length " + std::to_string(x.shape[axis]) + " does not split into " + std::to_string(n));
    sizes.assign(n, x.shape[axis] / n);
  }
  if (static_cast<int64_t>(sizes.size()) != n) c.fail("split sizes do not match the outputs");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if (total != x.shape[axis]) c.fail("split sizes do not add up to the axis length");
  std::vector<int64_t> start(x.shape.size(), 0), step(x.shape.size(), 1);
  for (int64_t k = 0; k < n; ++k) {
    Shape shape = x.shape;
    shape[axis] = sizes[k];
    allocate(c, out[k], shape);
    if (!c.shapes_only) gather_box(x, out[k], start, step);
    start[axis] += sizes[k];
  }
}

std::vector<int64_t> axes_of(const KernelContext& c, const std::vector<const CpuTensor*>& in) {
  if (c.opset >= 13) return c.present(in, 1) ? c.ints(in, 1) : std::vector<int64_t>{};
  return c.node.attr_ints("axes", {});
}

void squeeze(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> axes = axes_of(c, in);
  std::vector<bool> drop(rank, false);
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) drop[d] = x.shape[d] == 1;
  }
  for (int64_t a : axes) {
    a = normalize_axis(c, a, rank);
    if (x.shape[a] != 1) c.fail("cannot squeeze axis " + std::to_string(a) + " of length " + std::to_string(x.shape[a]));
    drop[a] = true;
  }
  Shape shape;
  for (int64_t d = 0; d < rank; ++d) if (!drop[d]) shape.push_back(x.shape[d]);
  allocate(c, out[0], shape);
  copy_data(c, x, out[0]);
}

void unsqueeze(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  std::vector<int64_t> axes = axes_of(c, in);
  const int64_t rank = static_cast<int64_t>(x.shape.size() + axes.size());
  std::vector<bool> insert(rank, false);
  for (int64_t a : axes) {
    a = normalize_axis(c, a, rank);
    if (insert[a]) c.fail("repeated axis");
    insert[a] = true;
  }
  Shape shape;
  size_t src = 0;
  for (int64_t d = 0; d < rank; ++d) shape.push_back(insert[d] ? 1 : x.shape.at(src++));
  allocate(c, out[0], shape);
  copy_data(c, x, out[0]);
}

void pad(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> pads;
  float value = 0;
  if (c.opset < 11) {
    pads = c.node.attr_ints("pads", {});
    const ir::Attribute* v = c.node.attr("value");
    if (v) value = v->f;
  } else {
    pads = c.ints(in, 1);
    if (c.present(in, 2) && in[2]->count() > 0) value = c.floats(in, 2).at(0);
    if (c.present(in, 3)) c.fail("the axes input is not supported");
  }
  const std::string mode = c.node.attr_string("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect") c.fail("mode '" + mode + "' is not supported");
  if (static_cast<int64_t>(pads.size()) != 2 * rank) c.fail("pads needs 2 values per axis");
  Shape shape(rank);
  for (int64_t d = 0; d < rank; ++d) {
    shape[d] = x.shape[d] + pads[d] + pads[d + rank];
    if (shape[d] < 1) c.fail("padding removes the whole axis");
    if (mode == "reflect" && (pads[d] >= x.shape[d] || pads[d + rank] >= x.shape[d])) c.fail("reflect pad larger than the axis");
  }
  allocate(c, out[0], shape);
  if (c.shapes_only) return;
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t k = rank - 2; k >= 0; --k) in_strides[k] = in_strides[k + 1] * x.shape[k + 1];
  std::vector<int64_t> index(rank, 0);
  for (int64_t o = 0, n = out[0].count(); o < n; ++o) {
    int64_t src = 0;
    bool outside = false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t i = index[d] - pads[d];
      if (i < 0 || i >= x.shape[d]) {
        if (mode == "constant") outside = true;
        else if (mode == "edge") i = std::max<int64_t>(0, std::min(x.shape[d] - 1, i));
        else i = i < 0 ? -i : 2 * (x.shape[d] - 1) - i;
      }
      src += i * in_strides[d];
    }
    out[0].f[o] = outside ? value : x.f[src];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

void register_shape_kernels(std::map<std::string, CpuKernel>& t) {
  t["Reshape"] = reshape;
  t["Flatten"] = flatten;
  t["Identity"] = identity;
  t["Transpose"] = transpose;
  t["Concat"] = concat;
  t["Slice"] = slice;
  t["Split"] = split;
  t["Squeeze"] = squeeze;
  t["Unsqueeze"] = unsqueeze;
  t["Pad"] = pad;
}

}  // namespace bpu::cpu
