// Registry entries of the reshaping and data-movement ops: Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// Dropout, Transpose, Concat (canonical forms and CPU kernels). Kernels read the model's own opset form.

#include <algorithm>

#include "ops/op_def.h"

namespace bpu::cpu {

namespace {

template <typename T>
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
    if (__builtin_mul_overflow(known, std::max<int64_t>(d, 1), &known)) c.fail("the shape's element count overflows");
    shape.push_back(d);
  }
  if (infer >= 0) {
    if (known == 0 || x.count() % known) c.fail("cannot infer -1 for " + shape_to_string(x.shape));
    shape[infer] = x.count() / known;
  }
  int64_t count = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(count, d, &count)) c.fail("the shape's element count overflows");
  }
  if (count != x.count()) c.fail("cannot reshape " + shape_to_string(x.shape) + " to " + shape_to_string(shape));
  allocate<T>(c, out[0], shape);
  copy_data<T>(c, x, out[0]);
}

template <typename T>
void flatten(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = c.node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) c.fail("axis out of range");
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  allocate<T>(c, out[0], {outer, outer ? x.count() / outer : 0});
  copy_data<T>(c, x, out[0]);
}

template <typename T>
void identity(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  allocate<T>(c, out[0], in.at(0)->shape);
  copy_data<T>(c, *in[0], out[0]);
}

template <typename T>
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
  allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t k = static_cast<int64_t>(rank) - 2; k >= 0; --k) in_strides[k] = in_strides[k + 1] * x.shape[k + 1];
  const T* from = x.values<T>().data();
  T* to = out[0].values<T>().data();
  const int64_t n = out[0].count();
  if (rank == 0 || n == 0) {
    std::copy(from, from + n, to);
    return;
  }
  // Output rows (the last output axis) one at a time: a strided read of the input along axis perm[rank - 1].
  const int64_t row = shape[rank - 1], step = in_strides[perm[rank - 1]];
  std::vector<int64_t> index(rank, 0);
  for (int64_t o = 0; o < n; o += row) {
    int64_t src = 0;
    for (size_t k = 0; k + 1 < rank; ++k) src += index[k] * in_strides[perm[k]];
    for (int64_t j = 0; j < row; ++j) to[o + j] = from[src + j * step];
    for (int64_t k = static_cast<int64_t>(rank) - 2; k >= 0; --k) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
}

template <typename T>
void concat(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const Shape& first = in.at(0)->shape;
  const int64_t axis = kernel_axis(c, c.node.attr_int("axis", 0), static_cast<int64_t>(first.size()));
  Shape shape = first;
  shape[axis] = 0;
  for (const CpuTensor* t : in) {
    if (!t || t->shape.size() != first.size()) c.fail("inputs differ in rank");
    for (size_t d = 0; d < first.size(); ++d) {
      if (static_cast<int64_t>(d) != axis && t->shape[d] != first[d]) c.fail("inputs differ outside the concat axis");
    }
    shape[axis] += t->shape[axis];
  }
  allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<std::vector<T>> converted(in.size());  // integer inputs as T, once each
  std::vector<const T*> data(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    if (in[k]->integer) converted[k] = values_as<T>(*in[k]);
    data[k] = in[k]->integer ? converted[k].data() : in[k]->values<T>().data();
  }
  T* y = out[0].values<T>().data();
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < in.size(); ++k) {
      const int64_t chunk = in[k]->shape[axis] * inner;
      std::copy(data[k] + o * chunk, data[k] + (o + 1) * chunk, y);
      y += chunk;
    }
  }
}

std::vector<int64_t> axes_of(const KernelContext& c, const std::vector<const CpuTensor*>& in) {
  if (c.opset >= 13) return c.present(in, 1) ? c.ints(in, 1) : std::vector<int64_t>{};
  return c.node.attr_ints("axes", {});
}

template <typename T>
void squeeze(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> axes = axes_of(c, in);
  std::vector<bool> drop(rank, false);
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) drop[d] = x.shape[d] == 1;
  }
  for (int64_t a : axes) {
    a = kernel_axis(c, a, rank);
    if (x.shape[a] != 1) c.fail("cannot squeeze axis " + std::to_string(a) + " of length " + std::to_string(x.shape[a]));
    drop[a] = true;
  }
  Shape shape;
  for (int64_t d = 0; d < rank; ++d) if (!drop[d]) shape.push_back(x.shape[d]);
  allocate<T>(c, out[0], shape);
  copy_data<T>(c, x, out[0]);
}

template <typename T>
void unsqueeze(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  std::vector<int64_t> axes = axes_of(c, in);
  const int64_t rank = static_cast<int64_t>(x.shape.size() + axes.size());
  std::vector<bool> insert(rank, false);
  for (int64_t a : axes) {
    a = kernel_axis(c, a, rank);
    if (insert[a]) c.fail("repeated axis");
    insert[a] = true;
  }
  Shape shape;
  size_t src = 0;
  for (int64_t d = 0; d < rank; ++d) shape.push_back(insert[d] ? 1 : x.shape.at(src++));
  allocate<T>(c, out[0], shape);
  copy_data<T>(c, x, out[0]);
}

}  // namespace

}  // namespace bpu::cpu

namespace bpu::ops {

namespace {

void set_ints(ir::Node& n, const char* key, std::vector<int64_t> values) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::Ints;
  a.ints = std::move(values);
  n.attributes[key] = a;
}

void canon_transpose(CanonContext& c, ir::Node& n) {
  if (n.attr("perm")) return;
  const int64_t rank = static_cast<int64_t>(c.shape(n.inputs.at(0)).size());
  std::vector<int64_t> perm;
  for (int64_t k = rank - 1; k >= 0; --k) perm.push_back(k);
  set_ints(n, "perm", perm);
}

void canon_flatten(CanonContext& c, ir::Node& n) {
  const int64_t rank = static_cast<int64_t>(c.shape(n.inputs.at(0)).size());
  int64_t axis = n.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) c.fail(n, "axis " + std::to_string(n.attr_int("axis", 1)) + " is out of range");
  n.attributes["axis"] = ir::Attribute::of_int(axis);
}

void canon_concat(CanonContext& c, ir::Node& n) {
  const int64_t rank = static_cast<int64_t>(c.shape(n.inputs.at(0)).size());
  n.attributes["axis"] = ir::Attribute::of_int(normalize_axis(c.graph, n, n.attr_int("axis", 0), rank));
}

// Squeeze/Unsqueeze: axes attribute before opset 13, an input from 13. Canonical: a sorted, non-negative axes
// input (Squeeze without axes lists every axis of length 1).
void canon_squeeze_family(CanonContext& c, ir::Node& n) {
  const Shape& x = c.shape(n.inputs.at(0));
  const Shape& y = c.shape(n.outputs.at(0));
  std::vector<int64_t> axes = c.opset < 13 ? n.attr_ints("axes", {}) : c.constant_ints(n, 1);
  const bool squeeze = n.op_type == "Squeeze";
  const int64_t rank = static_cast<int64_t>(squeeze ? x.size() : y.size());
  if (axes.empty() && squeeze) {
    for (int64_t d = 0; d < rank; ++d) if (x[d] == 1) axes.push_back(d);
  }
  for (int64_t& a : axes) a = normalize_axis(c.graph, n, a, rank);
  std::sort(axes.begin(), axes.end());
  n.attributes.erase("axes");
  n.inputs.resize(1);
  n.inputs.push_back(c.int_constant(n, "axes", axes));
}

void canon_dropout(CanonContext& c, ir::Node& n) {
  // Inference: Dropout is the identity; a mask output would be all true.
  if (n.outputs.size() > 1 && !n.outputs[1].empty()) c.fail(n, "the mask output of Dropout is not supported");
  n.op_type = "Identity";
  n.inputs.resize(1);
  n.outputs.resize(1);
  n.attributes.clear();
}

// Identity as an element-wise formula: a member of float islands (e.g. the quantizing Identity quant extraction
// puts between a float tensor and its fake-quantized form).
template <typename T>
T identity_f(const ir::Node&, T x) { return x; }

}  // namespace

void register_shape(Registry& r) {
  using namespace cpu;
  const uint32_t reshape_like = kShapeOnly | kDataMovement;
  r.push_back({"Reshape", "", reshape_like, "5+: shape input (allowzero from 14)", nullptr, nullptr, nullptr, reshape<float>});
  r.back().kernel64 = reshape<double>;
  r.push_back({"Flatten", "", reshape_like, "axis made explicit and non-negative", canon_flatten, nullptr, nullptr, flatten<float>});
  r.back().kernel64 = flatten<double>;
  r.push_back({"Squeeze", "", reshape_like, "< 13: `axes` attribute; 13+: `axes` input. Canonical: sorted axes input",
               canon_squeeze_family, nullptr, nullptr, squeeze<float>});
  r.back().kernel64 = squeeze<double>;
  r.push_back({"Unsqueeze", "", reshape_like, "< 13: `axes` attribute; 13+: `axes` input. Canonical: sorted axes input",
               canon_squeeze_family, nullptr, nullptr, unsqueeze<float>});
  r.back().kernel64 = unsqueeze<double>;
  r.push_back({"Identity", "", kDataMovement | kElementwise, "all opsets", nullptr, identity_f<float>, nullptr, identity<float>});
  r.back().kernel64 = identity<double>;
  r.back().formula64 = identity_f<double>;
  r.push_back({"Dropout", "", kDataMovement, "inference: the identity (canonical: Identity)", canon_dropout, nullptr,
               nullptr, identity<float>});
  r.back().kernel64 = identity<double>;
  r.push_back({"Transpose", "", kDataMovement, "perm default (reversed axes) made explicit", canon_transpose, nullptr,
               nullptr, transpose<float>});
  r.back().kernel64 = transpose<double>;
  r.push_back({"Concat", "", kDataMovement, "axis made non-negative", canon_concat, nullptr, nullptr, concat<float>});
  r.back().kernel64 = concat<double>;
}

}  // namespace bpu::ops
