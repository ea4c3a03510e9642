// Registry entries of the unary activations: each op's float32 formula (written as PyTorch evaluates it, the QAT
// reference), its attribute defaults made explicit by canonicalization, and one CPU kernel that applies the
// formula. The BPU lookup-table builder and fusion read the same formulas and clamp bounds, so the CPU, the LUT
// and fusion can never disagree about an activation.

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/op_def.h"
#include "ops/simd_float.h"

namespace bpu::ops {

namespace {

float attr_f(const ir::Node& n, const char* key, float fallback) {
  const ir::Attribute* a = n.attr(key);
  return a && a->kind == ir::Attribute::Kind::Float ? a->f : fallback;
}

void set_default(ir::Node& n, const char* key, float value) {
  if (n.attr(key)) return;
  n.attributes[key] = ir::Attribute::of_float(value);
}

constexpr float kSeluAlpha = 1.67326319217681884765625f;
constexpr float kSeluGamma = 1.05070102214813232421875f;

// A formula's view of its node's attributes, each looked up once per kernel call: the float32 kernel applies the
// formula once per eight values, and an attribute map lookup per application cost more than Selu's arithmetic.
// Keys are the formulas' string literals, remembered by address.
class NodeAttrs {
 public:
  explicit NodeAttrs(const ir::Node& n) : node_(n) {}
  float f(const char* key, float fallback) const {
    for (int i = 0; i < used_; ++i) {
      if (keys_[i] == key) return values_[i];
    }
    const float v = attr_f(node_, key, fallback);
    if (used_ < kSlots) keys_[used_] = key, values_[used_++] = v;
    return v;
  }

 private:
  static constexpr int kSlots = 4;
  const ir::Node& node_;
  mutable const char* keys_[kSlots] = {};
  mutable float values_[kSlots] = {};
  mutable int used_ = 0;
};

// Each formula is written once over its value type T: T = double is the exact run's formula (OpDef::formula64),
// T = F8 (lib/ops/simd_float.h) eight float32 values at a time, the CPU kernel; the float32 formula (the QAT
// reference's arithmetic, fusion) is the F8 one on a broadcast value. Written with select/min_of/max_of and the
// *_of math functions so one text serves both.
template <typename T> T relu(const NodeAttrs&, T x) { return select(x > T(0), x, T(0)); }
template <typename T> T sigmoid(const NodeAttrs&, T x) { return T(1) / (T(1) + exp_of(-x)); }
template <typename T> T tanh_f(const NodeAttrs&, T x) { return tanh_of(x); }
template <typename T> T exp_f(const NodeAttrs&, T x) { return exp_of(x); }
template <typename T> T erf_f(const NodeAttrs&, T x) { return erf_of(x); }
// torch.nn.functional.softplus (beta 1, threshold 20): x above 20 passes through, else log1p(exp(x)).
template <typename T> T softplus(const NodeAttrs&, T x) { return select(x > T(20), x, log1p_of(exp_of(x))); }
template <typename T> T neg_f(const NodeAttrs&, T x) { return -x; }
template <typename T> T abs_f(const NodeAttrs&, T x) { return abs_of(x); }
template <typename T> T sqrt_f(const NodeAttrs&, T x) { return sqrt_of(x); }
template <typename T> T reciprocal_f(const NodeAttrs&, T x) { return T(1) / x; }
template <typename T> T selu(const NodeAttrs& n, T x) {
  const T alpha = T(n.f("alpha", kSeluAlpha)), gamma = T(n.f("gamma", kSeluGamma));
  return select(x > T(0), gamma * x, gamma * alpha * expm1_of(x));
}
template <typename T> T elu(const NodeAttrs& n, T x) {
  return select(x > T(0), x, T(n.f("alpha", 1.0f)) * expm1_of(x));
}
template <typename T> T leaky_relu(const NodeAttrs& n, T x) {
  return select(x >= T(0), x, T(n.f("alpha", 0.01f)) * x);
}
template <typename T> T hard_sigmoid(const NodeAttrs& n, T x) {
  return max_of(T(0), min_of(T(1), T(n.f("alpha", 0.2f)) * x + T(n.f("beta", 0.5f))));
}
// torch.nn.functional.hardswish: x * relu6(x + 3) / 6 (ONNX: x * max(0, min(1, x/6 + 1/2)), equal in reals).
template <typename T> T hard_swish(const NodeAttrs&, T x) {
  return x * min_of(max_of(x + T(3), T(0)), T(6)) / T(6);
}

// Clip in canonical form (bounds as inputs 1 and 2) reads its bounds from the node's "_bpu_clip_min"/"_bpu_clip_max"
// attributes, which canonicalization records from the constant inputs so the formula needs no graph.
template <typename T> T clip(const NodeAttrs& n, T x) {
  const float inf = std::numeric_limits<float>::infinity();
  return min_of(T(n.f("_bpu_clip_max", inf)), max_of(T(n.f("_bpu_clip_min", -inf)), x));
}

bool relu_clamp(const ir::Graph&, const ir::Node&, std::pair<float, float>* b) {
  *b = {0.0f, std::numeric_limits<float>::infinity()};
  return true;
}

bool clip_clamp(const ir::Graph&, const ir::Node& n, std::pair<float, float>* b) {
  const float inf = std::numeric_limits<float>::infinity();
  if (!n.attr("_bpu_clip_min") && n.inputs.size() > 1 && !n.inputs[1].empty()) return false;  // run-time bound
  if (!n.attr("_bpu_clip_max") && n.inputs.size() > 2 && !n.inputs[2].empty()) return false;
  const float lo = attr_f(n, "_bpu_clip_min", -inf), hi = attr_f(n, "_bpu_clip_max", inf);
  if (lo > 0 || hi < 0) return false;  // only clamps that keep 0 are exact as integer clamps
  *b = {lo, hi};
  return true;
}

void canon_leaky_relu(CanonContext&, ir::Node& n) { set_default(n, "alpha", 0.01f); }
void canon_elu(CanonContext&, ir::Node& n) { set_default(n, "alpha", 1.0f); }
void canon_selu(CanonContext&, ir::Node& n) {
  set_default(n, "alpha", kSeluAlpha);
  set_default(n, "gamma", kSeluGamma);
}
void canon_hard_sigmoid(CanonContext&, ir::Node& n) {
  set_default(n, "alpha", 0.2f);
  set_default(n, "beta", 0.5f);
}

// Clip: opset < 11 has `min`/`max` attributes, 11+ optional inputs. Canonical: inputs (constants) plus the
// bounds recorded as _bpu_clip_min/_bpu_clip_max attributes (internal: never exported) when they are constants.
void canon_clip(CanonContext& c, ir::Node& n) {
  const float inf = std::numeric_limits<float>::infinity();
  if (c.opset < 11) {
    const float lo = attr_f(n, "min", -inf), hi = attr_f(n, "max", inf);
    n.inputs.resize(1);
    n.inputs.push_back(n.attr("min") ? c.float_constant(n, "min", lo) : "");
    n.inputs.push_back(n.attr("max") ? c.float_constant(n, "max", hi) : "");
    while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
    n.attributes.erase("min");
    n.attributes.erase("max");
  }
  for (size_t k = 1; k <= 2; ++k) {
    if (!c.has_input(n, k)) continue;
    const ir::Tensor& t = c.graph.tensor(n.inputs[k]);
    if (!t.is_constant) continue;
    if (t.element_count() != 1) c.fail(n, "bound '" + n.inputs[k] + "' must be a scalar");
    n.attributes[k == 1 ? "_bpu_clip_min" : "_bpu_clip_max"] =
        ir::Attribute::of_float(t.float_data.empty() ? static_cast<float>(t.int_data.at(0)) : t.float_data[0]);
  }
}

// The float32 CPU kernel of a formula: eight values at a time (the last group partial).
template <F8 (*F)(const NodeAttrs&, F8)>
void formula_kernel8(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in,
                     std::vector<cpu::CpuTensor>& out) {
  cpu::allocate<float>(c, out[0], in.at(0)->shape);
  if (c.shapes_only) return;
  const float* x = in[0]->values<float>().data();
  float* y = out[0].values<float>().data();
  const NodeAttrs attrs(c.node);
  for (int64_t k = 0, n = out[0].count(); k < n; k += 8) store_f8(y + k, F(attrs, load_f8(x + k, n - k)), n - k);
}

// The float32 formula: the kernel's arithmetic on one value.
template <F8 (*F)(const NodeAttrs&, F8)>
float formula32(const ir::Node& n, float x) {
  return F(NodeAttrs(n), F8(x)).lane0();
}

// The float64 formula on one value (OpDef::formula64).
template <double (*D)(const NodeAttrs&, double)>
double formula64(const ir::Node& n, double x) {
  return D(NodeAttrs(n), x);
}

// The float64 CPU kernel (the exact run).
template <double (*F)(const NodeAttrs&, double)>
void formula_kernel64(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in,
                      std::vector<cpu::CpuTensor>& out) {
  cpu::allocate<double>(c, out[0], in.at(0)->shape);
  if (c.shapes_only) return;
  const double* x = in[0]->values<double>().data();
  double* y = out[0].values<double>().data();
  const NodeAttrs attrs(c.node);
  for (int64_t k = 0, n = out[0].count(); k < n; ++k) y[k] = F(attrs, x[k]);
}

// The CPU kernel of Clip reads the model's own form (attributes before opset 11, inputs after), so the QAT
// reference, which runs the model as exported, stays independent of canonicalization.
template <typename T>
void clip_kernel(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in,
                 std::vector<cpu::CpuTensor>& out) {
  T lo = -std::numeric_limits<T>::infinity(), hi = std::numeric_limits<T>::infinity();
  if (c.opset < 11) {
    lo = attr_f(c.node, "min", -std::numeric_limits<float>::infinity());
    hi = attr_f(c.node, "max", std::numeric_limits<float>::infinity());
  } else {
    if (c.present(in, 1)) lo = c.doubles(in, 1).at(0);
    if (c.present(in, 2)) hi = c.doubles(in, 2).at(0);
  }
  cpu::allocate<T>(c, out[0], in.at(0)->shape);
  if (c.shapes_only) return;
  const T* x = in[0]->values<T>().data();
  T* y = out[0].values<T>().data();
  for (int64_t k = 0, n = out[0].count(); k < n; ++k) y[k] = std::min(hi, std::max(lo, x[k]));
}

// One unary entry: the formula template instantiated for the float32 (eight lanes) and float64 kernels.
template <F8 (*F)(const NodeAttrs&, F8), double (*D)(const NodeAttrs&, double)>
void add_unary(Registry& r, const char* type, uint32_t traits, const char* forms, Canonicalize canon,
               ClampBounds clamp = nullptr) {
  r.push_back({type, "", traits, forms, canon, formula32<F>, clamp, formula_kernel8<F>});
  r.back().kernel64 = formula_kernel64<D>;
  r.back().formula64 = formula64<D>;
}

}  // namespace

void register_activations(Registry& r) {
  const uint32_t lut = kElementwise | kLutable;
  add_unary<relu<F8>, relu<double>>(r, "Relu", lut | kFusableActivation, "all opsets", nullptr, relu_clamp);
  add_unary<sigmoid<F8>, sigmoid<double>>(r, "Sigmoid", lut, "all opsets", nullptr);
  add_unary<tanh_f<F8>, tanh_f<double>>(r, "Tanh", lut, "all opsets", nullptr);
  add_unary<exp_f<F8>, exp_f<double>>(r, "Exp", lut, "all opsets", nullptr);
  add_unary<erf_f<F8>, erf_f<double>>(r, "Erf", lut, "all opsets", nullptr);
  add_unary<softplus<F8>, softplus<double>>(r, "Softplus", lut, "all opsets", nullptr);
  // Float-only unary ops (no lookup table: Sqrt and Reciprocal are not finite at every input code).
  add_unary<neg_f<F8>, neg_f<double>>(r, "Neg", kElementwise, "all opsets", nullptr);
  add_unary<abs_f<F8>, abs_f<double>>(r, "Abs", kElementwise, "all opsets", nullptr);
  add_unary<sqrt_f<F8>, sqrt_f<double>>(r, "Sqrt", kElementwise, "all opsets", nullptr);
  add_unary<reciprocal_f<F8>, reciprocal_f<double>>(r, "Reciprocal", kElementwise, "all opsets", nullptr);
  add_unary<selu<F8>, selu<double>>(r, "Selu", lut, "alpha, gamma defaults made explicit", canon_selu);
  add_unary<elu<F8>, elu<double>>(r, "Elu", lut, "alpha default (1.0) made explicit", canon_elu);
  add_unary<leaky_relu<F8>, leaky_relu<double>>(r, "LeakyRelu", lut, "alpha default (0.01) made explicit", canon_leaky_relu);
  add_unary<hard_sigmoid<F8>, hard_sigmoid<double>>(r, "HardSigmoid", lut, "alpha (0.2), beta (0.5) defaults made explicit", canon_hard_sigmoid);
  add_unary<hard_swish<F8>, hard_swish<double>>(r, "HardSwish", lut, "opset 14+ (exported by torch at any opset as its decomposition)", nullptr);
  r.push_back({"Clip", "", lut | kFusableActivation,
               "10: `min`/`max` attributes; 11+: optional `min`/`max` inputs. Canonical: inputs", canon_clip, formula32<clip<F8>>,
               clip_clamp, clip_kernel<float>});
  r.back().kernel64 = clip_kernel<double>;
  r.back().formula64 = formula64<clip<double>>;
}

}  // namespace bpu::ops
