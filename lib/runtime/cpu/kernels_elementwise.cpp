// Element-wise CPU kernels: broadcasting Add/Sub/Mul/Div, activations, Clip, Softmax, Quantize/Dequantize.

#include <cmath>
#include <functional>

#include "numerics/requant.h"
#include "runtime/kernels/movement.h"
#include "runtime/cpu/cpu_kernels.h"

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

template <typename Op>
void binary(const KernelContext& ctx, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out, Op op) {
  const CpuTensor& a = *in.at(0);
  const CpuTensor& b = *in.at(1);
  Shape shape = broadcast_shape(ctx, a.shape, b.shape);
  allocate(ctx, out[0], shape);
  if (ctx.shapes_only) return;
  std::vector<float> af = a.integer ? std::vector<float>(a.i.begin(), a.i.end()) : a.f;
  std::vector<float> bf = b.integer ? std::vector<float>(b.i.begin(), b.i.end()) : b.f;
  float* y = out[0].f.data();
  const int64_t n = out[0].count();
  if (a.shape == shape && b.shape == shape) {
    for (int64_t k = 0; k < n; ++k) y[k] = op(af[k], bf[k]);
    return;
  }
  kernels::for_each_broadcast(shape, a.shape, b.shape, [&](int64_t o, int64_t ia, int64_t ib) { y[o] = op(af[ia], bf[ib]); });
}

template <typename F>
void unary(const KernelContext& ctx, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out, F f) {
  allocate(ctx, out[0], in.at(0)->shape);
  if (ctx.shapes_only) return;
  const float* x = in[0]->f.data();
  float* y = out[0].f.data();
  for (int64_t k = 0, n = out[0].count(); k < n; ++k) y[k] = f(x[k]);
}

float attr_float(const ir::Node& n, const char* key, float fallback) {
  const ir::Attribute* a = n.attr(key);
  return a && a->kind == ir::Attribute::Kind::Float ? a->f : fallback;
}

void add(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) { binary(c, in, out, std::plus<float>()); }
void sub(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) { binary(c, in, out, std::minus<float>()); }
void mul(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) { binary(c, in, out, std::multiplies<float>()); }
void div(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) { binary(c, in, out, std::divides<float>()); }

void relu(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  unary(c, in, out, [](float x) { return x > 0 ? x : 0.0f; });
}
void sigmoid(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  unary(c, in, out, [](float x) { return 1.0f / (1.0f + std::exp(-x)); });
}
void tanh_k(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  unary(c, in, out, [](float x) { return std::tanh(x); });
}
void exp_k(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  unary(c, in, out, [](float x) { return std::exp(x); });
}
void selu(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const float alpha = attr_float(c.node, "alpha", 1.67326319217681884765625f);
  const float gamma = attr_float(c.node, "gamma", 1.05070102214813232421875f);
  unary(c, in, out, [=](float x) { return x > 0 ? gamma * x : gamma * alpha * std::expm1(x); });
}
void elu(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const float alpha = attr_float(c.node, "alpha", 1.0f);
  unary(c, in, out, [=](float x) { return x > 0 ? x : alpha * std::expm1(x); });
}
void leaky_relu(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const float alpha = attr_float(c.node, "alpha", 0.01f);
  unary(c, in, out, [=](float x) { return x >= 0 ? x : alpha * x; });
}
void hard_sigmoid(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const float alpha = attr_float(c.node, "alpha", 0.2f), beta = attr_float(c.node, "beta", 0.5f);
  unary(c, in, out, [=](float x) { return std::max(0.0f, std::min(1.0f, alpha * x + beta)); });
}
void hard_swish(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  unary(c, in, out, [](float x) { return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f)); });
}

void clip(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  float lo = -INFINITY, hi = INFINITY;
  if (c.opset < 11) {
    lo = attr_float(c.node, "min", lo);
    hi = attr_float(c.node, "max", hi);
  } else {
    if (c.present(in, 1)) lo = c.floats(in, 1).at(0);
    if (c.present(in, 2)) hi = c.floats(in, 2).at(0);
  }
  unary(c, in, out, [=](float x) { return std::min(hi, std::max(lo, x)); });
}

void softmax(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const Shape& shape = in.at(0)->shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = c.node.attr_int("axis", c.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) c.fail("axis out of range");
  allocate(c, out[0], shape);
  if (c.shapes_only) return;
  // opset >= 13: softmax along `axis`; before: over the flattened dimensions [axis, rank).
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  if (c.opset >= 13) {
    len = shape[axis];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= shape[d];
  } else {
    for (int64_t d = axis; d < rank; ++d) len *= shape[d];
  }
  const float* x = in[0]->f.data();
  float* y = out[0].f.data();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      float m = -INFINITY;
      for (int64_t k = 0; k < len; ++k) m = std::max(m, x[base + k * inner]);
      float sum = 0;
      for (int64_t k = 0; k < len; ++k) sum += (y[base + k * inner] = std::exp(x[base + k * inner] - m));
      for (int64_t k = 0; k < len; ++k) y[base + k * inner] /= sum;
    }
  }
}

// Scale / zero point of input 1 / 2 for element k along the quantization axis.
struct QuantAxis {
  std::vector<float> scales;
  std::vector<int64_t> zero_points;
  int64_t inner = 1;
  int64_t lo = -128, hi = 127;
  size_t channel(int64_t k) const { return scales.size() == 1 ? 0 : static_cast<size_t>((k / inner) % static_cast<int64_t>(scales.size())); }
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

void quantize_linear(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  QuantAxis q = quant_axis(c, in);  // the zero point's type sets the integer range
  allocate(c, out[0], in[0]->shape);
  if (c.shapes_only) return;
  for (int64_t k = 0, n_el = out[0].count(); k < n_el; ++k) {
    size_t ch = q.channel(k);
    out[0].f[k] = static_cast<float>(quantize_like_torch(in[0]->f[k], q.scales[ch], q.lo - q.zero_points[ch], q.hi - q.zero_points[ch]) + q.zero_points[ch]);
  }
}

void dequantize_linear(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  QuantAxis q = quant_axis(c, in);
  allocate(c, out[0], in[0]->shape);
  if (c.shapes_only) return;
  for (int64_t k = 0, n_el = out[0].count(); k < n_el; ++k) {
    size_t ch = q.channel(k);
    out[0].f[k] = (in[0]->f[k] - static_cast<float>(q.zero_points[ch])) * q.scales[ch];
  }
}

}  // namespace

void register_elementwise_kernels(std::map<std::string, CpuKernel>& t) {
  t["Add"] = add;
  t["Sub"] = sub;
  t["Mul"] = mul;
  t["Div"] = div;
  t["Relu"] = relu;
  t["Sigmoid"] = sigmoid;
  t["Tanh"] = tanh_k;
  t["Exp"] = exp_k;
  t["Selu"] = selu;
  t["Elu"] = elu;
  t["LeakyRelu"] = leaky_relu;
  t["HardSigmoid"] = hard_sigmoid;
  t["HardSwish"] = hard_swish;
  t["Clip"] = clip;
  t["Softmax"] = softmax;
  t["QuantizeLinear"] = quantize_linear;
  t["DequantizeLinear"] = dequantize_linear;
}

}  // namespace bpu::cpu
