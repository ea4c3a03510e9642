// Registry entries of the unary activations: each op's float32 formula (written as PyTorch evaluates it, the QAT
// reference), its attribute defaults made explicit by canonicalization, and one CPU kernel that applies the
// formula. The BPU lookup-table builder and fusion read the same formulas and clamp bounds, so the CPU, the LUT
// and fusion can never disagree about an activation.

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/op_def.h"

namespace bpu::ops {

namespace {

float attr_f(const ir::Node& n, const char* key, float fallback) {
  const ir::Attribute* a = n.attr(key);
  return a && a->kind == ir::Attribute::Kind::Float ? a->f : fallback;
}

void set_default(ir::Node& n, const char* key, float value) {
  if (n.attr(key)) return;
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::Float;
  a.f = value;
  n.attributes[key] = a;
}

constexpr float kSeluAlpha = 1.67326319217681884765625f;
constexpr float kSeluGamma = 1.05070102214813232421875f;

float relu(const ir::Node&, float x) { return x > 0 ? x : 0.0f; }
float sigmoid(const ir::Node&, float x) { return 1.0f / (1.0f + std::exp(-x)); }
float tanh_f(const ir::Node&, float x) { return std::tanh(x); }
float exp_f(const ir::Node&, float x) { return std::exp(x); }
float erf_f(const ir::Node&, float x) { return std::erf(x); }
// torch.nn.functional.softplus (beta 1, threshold 20): x above 20 passes through, else log1p(exp(x)).
float softplus(const ir::Node&, float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
float neg_f(const ir::Node&, float x) { return -x; }
float abs_f(const ir::Node&, float x) { return std::fabs(x); }
float sqrt_f(const ir::Node&, float x) { return std::sqrt(x); }
float reciprocal_f(const ir::Node&, float x) { return 1.0f / x; }
float selu(const ir::Node& n, float x) {
  const float alpha = attr_f(n, "alpha", kSeluAlpha), gamma = attr_f(n, "gamma", kSeluGamma);
  return x > 0 ? gamma * x : gamma * alpha * std::expm1(x);
}
float elu(const ir::Node& n, float x) { return x > 0 ? x : attr_f(n, "alpha", 1.0f) * std::expm1(x); }
float leaky_relu(const ir::Node& n, float x) { return x >= 0 ? x : attr_f(n, "alpha", 0.01f) * x; }
float hard_sigmoid(const ir::Node& n, float x) {
  return std::max(0.0f, std::min(1.0f, attr_f(n, "alpha", 0.2f) * x + attr_f(n, "beta", 0.5f)));
}
// torch.nn.functional.hardswish: x * relu6(x + 3) / 6 (ONNX: x * max(0, min(1, x/6 + 1/2)), equal in reals).
float hard_swish(const ir::Node&, float x) { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }

// Clip in canonical form (bounds as inputs 1 and 2) reads its bounds from the node's "_bpu_clip_min"/"_bpu_clip_max"
// attributes, which canonicalization records from the constant inputs so the formula needs no graph.
float clip(const ir::Node& n, float x) {
  const float inf = std::numeric_limits<float>::infinity();
  return std::min(attr_f(n, "_bpu_clip_max", inf), std::max(attr_f(n, "_bpu_clip_min", -inf), x));
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
    ir::Attribute a;
    a.kind = ir::Attribute::Kind::Float;
    a.f = t.float_data.empty() ? static_cast<float>(t.int_data.at(0)) : t.float_data[0];
    n.attributes[k == 1 ? "_bpu_clip_min" : "_bpu_clip_max"] = a;
  }
}

void formula_kernel(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in,
                    std::vector<cpu::CpuTensor>& out) {
  cpu::allocate(c, out[0], in.at(0)->shape);
  if (c.shapes_only) return;
  const OpDef* op = find_op(c.node.op_type, c.node.domain);
  const float* x = in[0]->f.data();
  float* y = out[0].f.data();
  for (int64_t k = 0, n = out[0].count(); k < n; ++k) y[k] = op->formula(c.node, x[k]);
}

// The CPU kernel of Clip reads the model's own form (attributes before opset 11, inputs after), so the QAT
// reference, which runs the model as exported, stays independent of canonicalization.
void clip_kernel(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in,
                 std::vector<cpu::CpuTensor>& out) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (c.opset < 11) {
    lo = attr_f(c.node, "min", lo);
    hi = attr_f(c.node, "max", hi);
  } else {
    if (c.present(in, 1)) lo = c.floats(in, 1).at(0);
    if (c.present(in, 2)) hi = c.floats(in, 2).at(0);
  }
  cpu::allocate(c, out[0], in.at(0)->shape);
  if (c.shapes_only) return;
  const float* x = in[0]->f.data();
  float* y = out[0].f.data();
  for (int64_t k = 0, n = out[0].count(); k < n; ++k) y[k] = std::min(hi, std::max(lo, x[k]));
}

}  // namespace

void register_activations(Registry& r) {
  const uint32_t lut = kElementwise | kLutable;
  r.push_back({"Relu", "", lut | kFusableActivation, "all opsets", nullptr, relu, relu_clamp, formula_kernel});
  r.push_back({"Sigmoid", "", lut, "all opsets", nullptr, sigmoid, nullptr, formula_kernel});
  r.push_back({"Tanh", "", lut, "all opsets", nullptr, tanh_f, nullptr, formula_kernel});
  r.push_back({"Exp", "", lut, "all opsets", nullptr, exp_f, nullptr, formula_kernel});
  r.push_back({"Erf", "", lut, "all opsets", nullptr, erf_f, nullptr, formula_kernel});
  r.push_back({"Softplus", "", lut, "all opsets", nullptr, softplus, nullptr, formula_kernel});
  // Float-only unary ops (no lookup table: Sqrt and Reciprocal are not finite at every input code).
  r.push_back({"Neg", "", kElementwise, "all opsets", nullptr, neg_f, nullptr, formula_kernel});
  r.push_back({"Abs", "", kElementwise, "all opsets", nullptr, abs_f, nullptr, formula_kernel});
  r.push_back({"Sqrt", "", kElementwise, "all opsets", nullptr, sqrt_f, nullptr, formula_kernel});
  r.push_back({"Reciprocal", "", kElementwise, "all opsets", nullptr, reciprocal_f, nullptr, formula_kernel});
  r.push_back({"Selu", "", lut, "alpha, gamma defaults made explicit", canon_selu, selu, nullptr, formula_kernel});
  r.push_back({"Elu", "", lut, "alpha default (1.0) made explicit", canon_elu, elu, nullptr, formula_kernel});
  r.push_back({"LeakyRelu", "", lut, "alpha default (0.01) made explicit", canon_leaky_relu, leaky_relu, nullptr,
               formula_kernel});
  r.push_back({"HardSigmoid", "", lut, "alpha (0.2), beta (0.5) defaults made explicit", canon_hard_sigmoid,
               hard_sigmoid, nullptr, formula_kernel});
  r.push_back({"HardSwish", "", lut, "opset 14+ (exported by torch at any opset as its decomposition)", nullptr,
               hard_swish, nullptr, formula_kernel});
  r.push_back({"Clip", "", lut | kFusableActivation,
               "10: `min`/`max` attributes; 11+: optional `min`/`max` inputs. Canonical: inputs", canon_clip, clip,
               clip_clamp, clip_kernel});
}

}  // namespace bpu::ops
