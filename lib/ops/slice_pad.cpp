// Registry entries of Slice, Split and Pad: their opset forms (attributes vs inputs), the canonical form every
// later stage reads (all-constant inputs with explicit axes, steps, split sizes, pads, value and mode) and the CPU
// kernels, which read the model's own opset form.

#include <algorithm>

#include "ops/op_def.h"

namespace bpu::cpu {

namespace {

template <typename T>
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
    const int64_t a = kernel_axis(c, axes[k], rank);
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
  allocate<T>(c, out[0], shape);
  if (!c.shapes_only) gather_box<T>(x, out[0], start, step);
}

template <typename T>
void split(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t axis = kernel_axis(c, c.node.attr_int("axis", 0), static_cast<int64_t>(x.shape.size()));
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
    allocate<T>(c, out[k], shape);
    if (!c.shapes_only) gather_box<T>(x, out[k], start, step);
    start[axis] += sizes[k];
  }
}

template <typename T>
void pad(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> pads;
  T value = 0;
  if (c.opset < 11) {
    pads = c.node.attr_ints("pads", {});
    const ir::Attribute* v = c.node.attr("value");
    if (v) value = v->f;
  } else {
    pads = c.ints(in, 1);
    if (c.present(in, 2) && in[2]->count() > 0) value = static_cast<T>(c.doubles(in, 2).at(0));
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
  allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t k = rank - 2; k >= 0; --k) in_strides[k] = in_strides[k + 1] * x.shape[k + 1];
  std::vector<int64_t> index(rank, 0);
  const T* from = x.values<T>().data();
  T* to = out[0].values<T>().data();
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
    to[o] = outside ? value : from[src];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

}  // namespace bpu::cpu

namespace bpu::ops {

namespace {

// Slice (10+: inputs starts, ends, optional axes, steps). Canonical: all four inputs, axes non-negative.
void canon_slice(CanonContext& c, ir::Node& n) {
  const int64_t rank = static_cast<int64_t>(c.shape(n.inputs.at(0)).size());
  const std::vector<int64_t> starts = c.constant_ints(n, 1), ends = c.constant_ints(n, 2);
  std::vector<int64_t> axes = c.constant_ints(n, 3), steps = c.constant_ints(n, 4);
  if (axes.empty()) for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    c.fail(n, "starts, ends, axes and steps differ in length");
  }
  for (int64_t& a : axes) a = normalize_axis(c.graph, n, a, rank);
  for (int64_t s : steps) if (s == 0) c.fail(n, "a step is 0");
  n.inputs = {n.inputs[0], c.int_constant(n, "starts", starts), c.int_constant(n, "ends", ends),
              c.int_constant(n, "axes", axes), c.int_constant(n, "steps", steps)};
}

// Split (< 13: `split` attribute; 13+: optional input). Canonical: explicit sizes input, non-negative axis.
void canon_split(CanonContext& c, ir::Node& n) {
  const Shape& x = c.shape(n.inputs.at(0));
  const int64_t axis = normalize_axis(c.graph, n, n.attr_int("axis", 0), static_cast<int64_t>(x.size()));
  std::vector<int64_t> sizes = c.opset < 13 ? n.attr_ints("split", {}) : c.constant_ints(n, 1);
  if (sizes.empty()) {
    for (const auto& o : n.outputs) sizes.push_back(c.shape(o).at(axis));
  }
  n.attributes.erase("split");
  n.attributes["axis"] = ir::Attribute::of_int(axis);
  n.inputs = {n.inputs[0], c.int_constant(n, "split", sizes)};
}

// Pad (< 11: `pads`, `value` attributes; 11+: inputs pads, optional constant_value). Canonical: both inputs and
// an explicit mode.
void canon_pad(CanonContext& c, ir::Node& n) {
  std::vector<int64_t> pads;
  float value = 0.0f;
  if (c.opset < 11) {
    pads = n.attr_ints("pads", {});
    if (const ir::Attribute* v = n.attr("value")) value = v->f;
    n.attributes.erase("pads");
    n.attributes.erase("value");
  } else {
    pads = c.constant_ints(n, 1);
    if (c.has_input(n, 3)) c.fail(n, "the axes input of Pad is not supported");
    if (c.has_input(n, 2)) {
      const ir::Tensor& t = c.graph.tensor(n.inputs[2]);
      if (!t.is_constant) c.fail(n, "constant_value must be a constant");
      if (t.element_count() > 0) value = t.float_data.empty() ? static_cast<float>(t.int_data.at(0)) : t.float_data[0];
    }
  }
  const int64_t rank = static_cast<int64_t>(c.shape(n.inputs.at(0)).size());
  if (static_cast<int64_t>(pads.size()) != 2 * rank) c.fail(n, "pads needs 2 values per axis (" + std::to_string(2 * rank) + ")");
  const std::string mode = n.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") c.fail(n, "mode '" + mode + "' is not supported");
  n.attributes["mode"] = ir::Attribute::of_string(mode);
  n.inputs = {n.inputs[0], c.int_constant(n, "pads", pads), c.float_constant(n, "value", value)};
}

}  // namespace

void register_slice_pad(Registry& r) {
  using namespace cpu;
  r.push_back({"Slice", "", kDataMovement, "10+: starts/ends/axes/steps inputs. Canonical: all four, axes non-negative",
               canon_slice, nullptr, nullptr, slice<float>});
  r.back().kernel64 = slice<double>;
  r.push_back({"Split", "", kDataMovement, "< 13: `split` attribute; 13+: `split` input. Canonical: explicit sizes input",
               canon_split, nullptr, nullptr, split<float>});
  r.back().kernel64 = split<double>;
  r.push_back({"Pad", "", kDataMovement, "< 11: `pads`/`value` attributes; 11+: inputs. Canonical: inputs and mode",
               canon_pad, nullptr, nullptr, pad<float>});
  r.back().kernel64 = pad<double>;
}

}  // namespace bpu::ops
