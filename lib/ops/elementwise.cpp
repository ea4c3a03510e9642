// Registry entries and CPU kernels of the binary element-wise ops (broadcasting Add/Sub/Mul/Div/Pow) and the ONNX
// fake-quantization pair QuantizeLinear/DequantizeLinear (PyTorch rounding).

#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>

#include "numerics/requant.h"
#include "common/broadcast.h"
#include "ops/op_def.h"

namespace bpu::cpu {

namespace {

Shape broadcast_shape(const KernelContext& ctx, const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da != db && da != 1 && db != 1) ctx.fail("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
    out[k] = std::max(da, db);
  }
  return out;
}

// Shape arithmetic on integer constants (torch's c // g, h * w) stays exact in int64; Div truncates toward zero
// as ONNX integer division does. False for other ops (computed in float).
template <typename T>
bool integer_binary(const KernelContext& ctx, const CpuTensor& a, const CpuTensor& b, const Shape& shape, CpuTensor& y) {
  const std::string& op = ctx.node.op_type;
  if (op != "Add" && op != "Sub" && op != "Mul" && op != "Div") return false;
  if (a.i.size() != static_cast<size_t>(a.count()) || b.i.size() != static_cast<size_t>(b.count())) return false;
  std::vector<int64_t> v(static_cast<size_t>(y.count()));
  for_each_broadcast(shape, a.shape, b.shape, [&](int64_t o, int64_t ia, int64_t ib) {
    const int64_t p = a.i[ia], q = b.i[ib];
    if (op == "Div" && q == 0) ctx.fail("integer division by zero");
    v[o] = op == "Add" ? p + q : op == "Sub" ? p - q : op == "Mul" ? p * q : p / q;
  });
  y.integer = true;
  y.elem_type = a.elem_type;
  y.i = v;
  y.values<T>().assign(v.begin(), v.end());
  return true;
}

// The formulas of the binary ops, written once over the scalar type: registered as OpDef::binary (float32) and
// OpDef::binary64 (the exact run), and instantiated into their kernels.
template <typename T> T add_f(T a, T b) { return a + b; }
template <typename T> T sub_f(T a, T b) { return a - b; }
template <typename T> T mul_f(T a, T b) { return a * b; }
template <typename T> T div_f(T a, T b) { return a / b; }
// Pow by 2 (torch's x.pow(2), LayerNorm's variance) is x * x, as torch computes it; std::pow otherwise.
template <typename T> T pow_f(T a, T b) { return b == T(2) ? a * a : std::pow(a, b); }

template <typename T, typename Op>
void binary(const KernelContext& ctx, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out, Op op) {
  const CpuTensor& a = *in.at(0);
  const CpuTensor& b = *in.at(1);
  Shape shape = broadcast_shape(ctx, a.shape, b.shape);
  allocate<T>(ctx, out[0], shape);
  if (ctx.shapes_only) return;
  if (a.integer && b.integer && integer_binary<T>(ctx, a, b, shape, out[0])) return;
  std::vector<T> a_held, b_held;  // integer inputs converted; float inputs read in place
  const T* af = a.integer ? (a_held = values_as<T>(a)).data() : a.values<T>().data();
  const T* bf = b.integer ? (b_held = values_as<T>(b)).data() : b.values<T>().data();
  T* y = out[0].values<T>().data();
  const int64_t n = out[0].count();
  if (a.shape == shape && b.shape == shape) {
    for (int64_t k = 0; k < n; ++k) y[k] = op(af[k], bf[k]);
    return;
  }
  for_each_broadcast_row(shape, a.shape, b.shape, [&](int64_t o, int64_t ia, int64_t sa, int64_t ib, int64_t sb, int64_t len) {
    if (sa && sb) for (int64_t j = 0; j < len; ++j) y[o + j] = op(af[ia + j], bf[ib + j]);
    else if (sa) for (int64_t j = 0; j < len; ++j) y[o + j] = op(af[ia + j], bf[ib]);
    else if (sb) for (int64_t j = 0; j < len; ++j) y[o + j] = op(af[ia], bf[ib + j]);
    else for (int64_t j = 0; j < len; ++j) y[o + j] = op(af[ia], bf[ib]);
  });
}

template <typename T, T (*F)(T, T)>
void binary_kernel(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  binary<T>(c, in, out, [](T a, T b) { return F(a, b); });
}

// Scale / zero point of input 1 / 2 for element k along the quantization axis.
struct QuantAxis {
  std::vector<float> scales;
  std::vector<int64_t> zero_points;
  int64_t inner = 1;
  int64_t lo = -128, hi = 127;
};

QuantAxis quant_axis(const KernelContext& c, const std::vector<const CpuTensor*>& in) {
  QuantAxis q;
  q.scales = c.floats(in, 1);
  if (c.present(in, 2)) {
    q.zero_points = c.ints(in, 2);
    switch (in[2]->elem_type) {
      case ir::ElemType::Int8: break;
      case ir::ElemType::Uint8: q.lo = 0; q.hi = 255; break;
      case ir::ElemType::Int16: q.lo = -32768; q.hi = 32767; break;
      default: c.fail("zero point type must be int8, uint8 or int16");
    }
  } else {
    q.zero_points.assign(q.scales.size(), 0);
    q.lo = 0;
    q.hi = 255;
  }
  if (q.scales.empty() || q.zero_points.size() != q.scales.size()) c.fail("scale and zero point sizes differ");
  for (float s : q.scales) {
    if (!is_sane_scale(s)) c.fail("invalid scale " + std::to_string(s));
  }
  const Shape& shape = in[0]->shape;
  if (q.scales.size() > 1) {
    int64_t axis = c.node.attr_int("axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(shape.size());
    if (axis < 0 || axis >= static_cast<int64_t>(shape.size()) || shape[axis] != static_cast<int64_t>(q.scales.size())) {
      c.fail("per-axis scales do not match the input shape");
    }
    for (size_t d = axis + 1; d < shape.size(); ++d) q.inner *= shape[d];
  }
  return q;
}

// Float32: torch's fake quantize. Float64 (the exact run): an activation rounds by the same definition,
// rint(x * float32(1/s)), evaluated in double (quantize_exact); a weight (a node folded at load, reading only constants) still rounds as torch did when it trained.
template <typename T>
void quantize_linear(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  QuantAxis q = quant_axis(c, in);  // the zero point's type sets the integer range
  allocate<T>(c, out[0], in[0]->shape);
  if (c.shapes_only) return;
  const T* x = in[0]->values<T>().data();
  T* y = out[0].values<T>().data();
  const bool like_torch = std::is_same_v<T, float> || c.folding;
  if constexpr (std::is_same_v<T, float>) {  // a row per channel block
    const size_t count = static_cast<size_t>(out[0].count()), inner = q.scales.size() > 1 ? static_cast<size_t>(q.inner) : count;
    for (size_t k = 0, ch = 0; k < count; k += inner, ch = (ch + 1) % q.scales.size()) {
      const int64_t zp = q.zero_points[ch];
      quantize_like_torch_row(x + k, std::min(inner, count - k), q.scales[ch], q.lo - zp, q.hi - zp,
                              static_cast<float>(zp), y + k);
    }
    return;
  }
  const size_t count = static_cast<size_t>(out[0].count()), inner = q.scales.size() > 1 ? static_cast<size_t>(q.inner) : count;
  std::vector<float> row, codes;  // like_torch: the row in float32 (the values torch saw), then its codes
  for (size_t k = 0, ch = 0; k < count; k += inner, ch = (ch + 1) % q.scales.size()) {
    const int64_t zp = q.zero_points[ch], n = static_cast<int64_t>(std::min(inner, count - k));
    if (!like_torch) {
      quantize_exact_row(x + k, static_cast<size_t>(n), q.scales[ch], q.lo - zp, q.hi - zp, y + k);
      for (int64_t i = 0; i < n; ++i) y[k + i] += static_cast<T>(zp);
      continue;
    }
    row.assign(x + k, x + k + n);
    codes.resize(static_cast<size_t>(n));
    quantize_like_torch_row(row.data(), static_cast<size_t>(n), q.scales[ch], q.lo - zp, q.hi - zp, static_cast<float>(zp),
                            codes.data());
    std::copy(codes.begin(), codes.end(), y + k);
  }
}

template <typename T>
void dequantize_linear(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  QuantAxis q = quant_axis(c, in);
  allocate<T>(c, out[0], in[0]->shape);
  if (c.shapes_only) return;
  const T* x = in[0]->values<T>().data();
  T* y = out[0].values<T>().data();
  for_each_in_channels(static_cast<size_t>(out[0].count()), q.scales.size(), static_cast<size_t>(q.inner), [&](size_t k, size_t ch) {
    y[k] = (x[k] - static_cast<T>(q.zero_points[ch])) * static_cast<T>(q.scales[ch]);
  });
}

}  // namespace

}  // namespace bpu::cpu

namespace bpu::ops {

namespace {

// A binary entry: the formula template instantiated for both kernels and both formula slots.
template <float (*F32)(float, float), double (*F64)(double, double)>
void add_binary(Registry& r, const char* type, const char* forms) {
  using namespace cpu;
  r.push_back({type, "", kElementwise, forms, nullptr, nullptr, nullptr, binary_kernel<float, F32>, F32});
  r.back().kernel64 = binary_kernel<double, F64>;
  r.back().binary64 = F64;
}

}  // namespace

void register_elementwise(Registry& r) {
  using namespace cpu;
  const uint32_t ew = kElementwise;
  add_binary<add_f<float>, add_f<double>>(r, "Add", "all opsets: NumPy broadcasting (opset 7+)");
  add_binary<sub_f<float>, sub_f<double>>(r, "Sub", "all opsets: NumPy broadcasting");
  add_binary<mul_f<float>, mul_f<double>>(r, "Mul", "all opsets: NumPy broadcasting");
  add_binary<div_f<float>, div_f<double>>(r, "Div", "all opsets: NumPy broadcasting");
  add_binary<pow_f<float>, pow_f<double>>(r, "Pow", "all opsets: NumPy broadcasting (float32 std::pow)");
  r.push_back({"QuantizeLinear", "", ew | kFakeQuant, "10: per tensor; 13: per-axis scales (`axis`)", nullptr, nullptr,
               nullptr, quantize_linear<float>});
  r.back().kernel64 = quantize_linear<double>;
  r.push_back({"DequantizeLinear", "", ew | kFakeQuant, "10: per tensor; 13: per-axis scales (`axis`)", nullptr,
               nullptr, nullptr, dequantize_linear<float>});
  r.back().kernel64 = dequantize_linear<double>;
}

}  // namespace bpu::ops
