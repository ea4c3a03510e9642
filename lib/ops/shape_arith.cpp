// Registry entries and CPU kernels of the shape-arithmetic ops torch exports for x.size(), flatten, channel
// shuffle, FPN upsampling sizes and attention masks: Shape, Size, Gather, Cast, Range, ConstantOfShape, Equal,
// Less, Greater, Not, Where, Expand. Integer results are kept exactly in CpuTensor.i (and mirrored as floats in
// .f, or .d in a float64 run, as the CPU executor does for integer constants), so the constant folder
// (passes/simplify) reads back exact shapes. Every kernel checks its inputs' shapes and indices before it reads
// data. A float64 run's Cast to a float type keeps the double value (the exact run computes every float in double).

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/broadcast.h"
#include "ops/op_def.h"

namespace bpu::cpu {

namespace {

bool integer_type(ir::ElemType t) { return t != ir::ElemType::Float && t != ir::ElemType::Double; }

// Value k of t as a double (integer tensors from .i).
template <typename T>
double value(const CpuTensor& t, int64_t k) { return t.integer ? static_cast<double>(t.i[k]) : t.values<T>()[k]; }

template <typename T>
void need_data(const KernelContext& c, const std::vector<const CpuTensor*>& in, size_t k) {
  if (!c.present(in, k)) c.fail("input " + std::to_string(k) + " is missing");
  const CpuTensor& t = *in[k];
  const size_t n = static_cast<size_t>(t.count());
  if (!t.has_data || (t.integer ? t.i.size() : t.values<T>().size()) != n) c.fail("input " + std::to_string(k) + " has no data");
}

// Integer output: exact values in .i, the same values as floats in .f (.d for T = double).
template <typename T>
void set_ints(const KernelContext& c, CpuTensor& out, const Shape& shape, const std::vector<int64_t>& v,
              ir::ElemType type = ir::ElemType::Int64) {
  allocate<T>(c, out, shape);
  out.elem_type = type;
  if (c.shapes_only) return;
  if (static_cast<int64_t>(v.size()) != out.count()) c.fail("internal: integer output size mismatch");
  out.integer = true;
  out.i = v;
  out.values<T>().assign(v.begin(), v.end());
}

// Output element o = input element src[o] (src[o] < 0: element of `other`, index -src[o]-1), integer-preserving.
template <typename T>
void pick(const KernelContext& c, const CpuTensor& x, CpuTensor& out, const Shape& shape, const std::vector<int64_t>& src) {
  if (x.integer) {
    std::vector<int64_t> v(src.size());
    for (size_t o = 0; o < src.size(); ++o) v[o] = x.i[src[o]];
    set_ints<T>(c, out, shape, v, x.elem_type);
    return;
  }
  allocate<T>(c, out, shape);
  for (size_t o = 0; o < src.size(); ++o) out.values<T>()[o] = x.values<T>()[src[o]];
}

Shape broadcast(const KernelContext& c, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da != db && da != 1 && db != 1) c.fail("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
    out[k] = da == 1 ? db : da;
  }
  return out;
}

template <typename T>
void shape_op(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const Shape& x = in.at(0)->shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t start = c.opset >= 15 ? c.node.attr_int("start", 0) : 0;
  int64_t end = c.opset >= 15 ? c.node.attr_int("end", rank) : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) dims.push_back(x[d]);
  KernelContext data{c.node, c.opset, false, c.pool};  // the data is known from the shape alone, even in shapes_only
  set_ints<T>(data, out[0], {static_cast<int64_t>(dims.size())}, dims);
}

template <typename T>
void size_op(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  KernelContext data{c.node, c.opset, false, c.pool};
  set_ints<T>(data, out[0], {}, {in.at(0)->count()});
}

template <typename T>
void gather(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  if (!c.present(in, 1)) c.fail("indices are missing");
  const CpuTensor& idx = *in[1];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  if (rank == 0) c.fail("cannot gather from a scalar");
  const int64_t axis = kernel_axis(c, c.node.attr_int("axis", 0), rank);
  Shape shape(x.shape.begin(), x.shape.begin() + axis);
  shape.insert(shape.end(), idx.shape.begin(), idx.shape.end());
  shape.insert(shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  if (c.shapes_only) {
    allocate<T>(c, out[0], shape);
    return;
  }
  need_data<T>(c, in, 0);
  need_data<T>(c, in, 1);
  const int64_t n = x.shape[axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[d];
  std::vector<int64_t> positions;
  for (int64_t k = 0, m = idx.count(); k < m; ++k) {
    const double v = value<T>(idx, k);
    if (v < -n || v >= n || v != std::floor(v)) {
      c.fail("index " + std::to_string(static_cast<long long>(v)) + " is out of range for axis " +
             std::to_string(axis) + " of length " + std::to_string(n));
    }
    positions.push_back(v < 0 ? static_cast<int64_t>(v) + n : static_cast<int64_t>(v));
  }
  std::vector<int64_t> src;
  src.reserve(static_cast<size_t>(outer * inner) * positions.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t p : positions) {
      for (int64_t q = 0; q < inner; ++q) src.push_back((o * n + p) * inner + q);
    }
  }
  pick<T>(c, x, out[0], shape, src);
}

template <typename T>
void cast(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  const int64_t to = c.node.attr_int("to", 0);
  ir::ElemType type;
  switch (to) {
    case 1: case 10: case 11: case 16: type = ir::ElemType::Float; break;  // float, float16, double, bfloat16
    case 2: type = ir::ElemType::Uint8; break;
    case 3: type = ir::ElemType::Int8; break;
    case 5: type = ir::ElemType::Int16; break;
    case 6: type = ir::ElemType::Int32; break;
    case 7: type = ir::ElemType::Int64; break;
    case 9: type = ir::ElemType::Bool; break;
    default: c.fail("cast to element type " + std::to_string(to) + " is not supported");
  }
  if (c.shapes_only) {
    allocate<T>(c, out[0], x.shape);
    out[0].elem_type = type;
    return;
  }
  need_data<T>(c, in, 0);
  const int64_t n = x.count();
  if (!integer_type(type)) {
    allocate<T>(c, out[0], x.shape);
    for (int64_t k = 0; k < n; ++k) out[0].values<T>()[k] = static_cast<T>(value<T>(x, k));
    return;
  }
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const double d = value<T>(x, k);
    if (type == ir::ElemType::Bool) { v[k] = d != 0; continue; }
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) c.fail("value " + std::to_string(d) + " does not fit the integer type");
    int64_t t = static_cast<int64_t>(d);  // truncation toward zero, as ONNX (and numpy) cast
    switch (type) {
      case ir::ElemType::Uint8: t = static_cast<uint8_t>(t); break;
      case ir::ElemType::Int8: t = static_cast<int8_t>(t); break;
      case ir::ElemType::Int16: t = static_cast<int16_t>(t); break;
      case ir::ElemType::Int32: t = static_cast<int32_t>(t); break;
      default: break;
    }
    v[k] = t;
  }
  set_ints<T>(c, out[0], x.shape, v, type);
}

template <typename T>
void range(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  for (size_t k = 0; k < 3; ++k) {
    need_data<T>(c, in, k);
    if (in[k]->count() != 1) c.fail("input " + std::to_string(k) + " must be a scalar");
  }
  const double start = value<T>(*in[0], 0), limit = value<T>(*in[1], 0), delta = value<T>(*in[2], 0);
  if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta)) c.fail("delta must be non-zero and all inputs finite");
  const double steps = std::max(std::ceil((limit - start) / delta), 0.0);
  if (steps > static_cast<double>(kMaxTensorElements)) c.fail("the range has too many elements");
  const int64_t n = static_cast<int64_t>(steps);
  if (in[0]->integer && in[1]->integer && in[2]->integer) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) v[k] = in[0]->i[0] + k * in[2]->i[0];
    set_ints<T>(c, out[0], {n}, v, in[0]->elem_type);
    return;
  }
  allocate<T>(c, out[0], {n});
  if (c.shapes_only) return;
  for (int64_t k = 0; k < n; ++k) out[0].values<T>()[k] = static_cast<T>(start + static_cast<double>(k) * delta);
}

template <typename T>
void constant_of_shape(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  need_data<T>(c, in, 0);
  Shape shape = c.ints(in, 0);
  if (in[0]->shape.size() != 1) c.fail("the shape input must be 1-D");
  // The `value` tensor attribute arrives as Floats (float tensors) or Ints (integer tensors) of one element.
  const ir::Attribute* a = c.node.attr("value");
  double v = 0;
  bool integer = false;
  if (a) {
    if (a->s != "tensor" || a->floats.size() + a->ints.size() != 1) c.fail("the value attribute must be a one-element tensor");
    integer = !a->ints.empty();
    v = integer ? static_cast<double>(a->ints[0]) : a->floats[0];
  }
  if (integer) {
    allocate<T>(c, out[0], shape);  // checks the size before the integer vector is made
    const int64_t n = c.shapes_only ? 0 : out[0].count();
    set_ints<T>(c, out[0], shape, std::vector<int64_t>(static_cast<size_t>(n), static_cast<int64_t>(v)));
    return;
  }
  allocate<T>(c, out[0], shape);
  if (!c.shapes_only) std::fill(out[0].values<T>().begin(), out[0].values<T>().end(), static_cast<T>(v));
}

template <typename T, typename Op>
void compare(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out, Op op) {
  const Shape shape = broadcast(c, in.at(0)->shape, in.at(1)->shape);
  if (c.shapes_only) {
    allocate<T>(c, out[0], shape);
    out[0].elem_type = ir::ElemType::Bool;
    return;
  }
  need_data<T>(c, in, 0);
  need_data<T>(c, in, 1);
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > kMaxTensorElements / d) c.fail("output " + shape_to_string(shape) + " is too large");
    n *= d;
  }
  std::vector<int64_t> v(static_cast<size_t>(n));
  for_each_broadcast(shape, in[0]->shape, in[1]->shape,
                              [&](int64_t o, int64_t a, int64_t b) { v[o] = op(value<T>(*in[0], a), value<T>(*in[1], b)); });
  set_ints<T>(c, out[0], shape, v, ir::ElemType::Bool);
}

template <typename T>
void equal(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  compare<T>(c, in, out, [](double a, double b) { return a == b; });
}
template <typename T>
void less(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  compare<T>(c, in, out, [](double a, double b) { return a < b; });
}
template <typename T>
void greater(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  compare<T>(c, in, out, [](double a, double b) { return a > b; });
}

template <typename T>
void not_op(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  if (c.shapes_only) {
    allocate<T>(c, out[0], x.shape);
    out[0].elem_type = ir::ElemType::Bool;
    return;
  }
  need_data<T>(c, in, 0);
  std::vector<int64_t> v(static_cast<size_t>(x.count()));
  for (int64_t k = 0; k < x.count(); ++k) v[k] = value<T>(x, k) == 0;
  set_ints<T>(c, out[0], x.shape, v, ir::ElemType::Bool);
}

template <typename T>
void where(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  if (in.size() < 3 || !in[0] || !in[1] || !in[2]) c.fail("Where needs three inputs");
  const Shape xy = broadcast(c, in[1]->shape, in[2]->shape);
  const Shape shape = broadcast(c, in[0]->shape, xy);
  if (c.shapes_only) {
    allocate<T>(c, out[0], shape);
    return;
  }
  for (size_t k = 0; k < 3; ++k) need_data<T>(c, in, k);
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > kMaxTensorElements / d) c.fail("output " + shape_to_string(shape) + " is too large");
    n *= d;
  }
  // Element indices of cond, x and y for every output element.
  std::vector<int64_t> ic(n), ix(n), iy(n);
  for_each_broadcast(shape, in[0]->shape, in[1]->shape, [&](int64_t o, int64_t a, int64_t b) { ic[o] = a; ix[o] = b; });
  for_each_broadcast(shape, in[2]->shape, in[2]->shape, [&](int64_t o, int64_t a, int64_t) { iy[o] = a; });
  const bool integer = in[1]->integer && in[2]->integer;
  if (integer) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t o = 0; o < n; ++o) v[o] = value<T>(*in[0], ic[o]) != 0 ? in[1]->i[ix[o]] : in[2]->i[iy[o]];
    set_ints<T>(c, out[0], shape, v, in[1]->elem_type);
    return;
  }
  allocate<T>(c, out[0], shape);
  for (int64_t o = 0; o < n; ++o) {
    out[0].values<T>()[o] = static_cast<T>(value<T>(*in[0], ic[o]) != 0 ? value<T>(*in[1], ix[o]) : value<T>(*in[2], iy[o]));
  }
}

template <typename T>
void expand(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  need_data<T>(c, in, 1);
  if (in[1]->shape.size() != 1) c.fail("the shape input must be 1-D");
  const Shape target = c.ints(in, 1);
  for (int64_t d : target) {
    if (d < 0) c.fail("negative dimension in the shape input " + shape_to_string(target));
  }
  const Shape shape = broadcast(c, x.shape, target);
  if (c.shapes_only) {
    allocate<T>(c, out[0], shape);
    return;
  }
  need_data<T>(c, in, 0);
  allocate<T>(c, out[0], shape);  // size check before the index vector is made
  std::vector<int64_t> src(static_cast<size_t>(out[0].count()));
  for_each_broadcast(shape, x.shape, x.shape, [&](int64_t o, int64_t a, int64_t) { src[o] = a; });
  pick<T>(c, x, out[0], shape, src);
}

}  // namespace

}  // namespace bpu::cpu

namespace bpu::ops {

namespace {

// One entry whose kernel is written over its scalar type: K<float> and K<double>.
template <cpu::CpuKernel F32, cpu::CpuKernel F64>
void add(Registry& r, const char* type, uint32_t traits, const char* forms) {
  r.push_back({type, "", traits, forms, nullptr, nullptr, nullptr, F32});
  r.back().kernel64 = F64;
}

}  // namespace

void register_shape_arith(Registry& r) {
  using namespace cpu;
  add<shape_op<float>, shape_op<double>>(r, "Shape", 0, "1-14: the whole shape; 15+: `start`/`end` attributes");
  add<size_op<float>, size_op<double>>(r, "Size", 0, "all opsets");
  add<gather<float>, gather<double>>(r, "Gather", kDataMovement, "any axis, negative indices");
  add<cast<float>, cast<double>>(r, "Cast", kElementwise,
                                 "to float/double/float16 (as float32), int8/uint8/int16/int32/int64, bool");
  add<range<float>, range<double>>(r, "Range", 0, "11+: scalar start, limit, delta");
  add<constant_of_shape<float>, constant_of_shape<double>>(r, "ConstantOfShape", 0,
                                                           "9+: `value` one-element tensor (default float 0)");
  add<equal<float>, equal<double>>(r, "Equal", kElementwise, "all opsets: NumPy broadcasting, bool output");
  add<less<float>, less<double>>(r, "Less", kElementwise, "all opsets: NumPy broadcasting, bool output");
  add<greater<float>, greater<double>>(r, "Greater", kElementwise, "all opsets: NumPy broadcasting, bool output");
  add<not_op<float>, not_op<double>>(r, "Not", kElementwise, "all opsets");
  add<where<float>, where<double>>(r, "Where", kElementwise, "9+: NumPy broadcasting of condition, X and Y");
  add<expand<float>, expand<double>>(r, "Expand", kDataMovement, "8+: shape input, NumPy broadcasting");
}

}  // namespace bpu::ops
