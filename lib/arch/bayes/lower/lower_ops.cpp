// SegmentBuilder lowering of Gemm (as a 1x1 CONV2D between RESHAPEs), requantization, pooling, concat,
// resize and table-lookup activations.

#include <cmath>
#include <cstring>

#include "arch/bayes/constraints.h"
#include "common/error.h"
#include "arch/bayes/lower/bpu_segment_builder.h"
#include "numerics/activation.h"
#include "numerics/requant.h"
#include "ops/float_island.h"
#include "ops/op_def.h"

namespace bpu {

namespace {

[[noreturn]] void unsupported(const ir::Graph& g, const ir::Node& n, const std::string& what) {
  throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type + "): " + what);
}

float attr_float(const ir::Node& n, const char* key, float fallback) {
  const ir::Attribute* a = n.attr(key);
  return a && a->kind == ir::Attribute::Kind::Float ? a->f : fallback;
}


RescaleParams rescale_or_fail(const ir::Graph& g, const ir::Node& n, double ratio) {
  try {
    return make_rescale_params(ratio);
  } catch (const Error& e) {
    unsupported(g, n, e.what());
  }
}

}  // namespace

uint32_t float_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

void SegmentBuilder::lower_gemm(const ir::Node& n) {
  const ir::Tensor& a = g_.tensor(n.inputs[0]);
  const ir::Tensor& w = g_.tensor(n.inputs[1]);
  if (a.shape.size() != 2 || w.shape.size() != 2 || n.attr_int("transA", 0) != 0) unsupported(g_, n, "needs 2-D A without transA");
  const bool trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
  const int64_t K = a.shape[1], M = trans_b ? w.shape[0] : w.shape[1];
  const float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
  if (!(alpha > 0)) unsupported(g_, n, "alpha must be positive");
  // Weights as [M, K]; per-channel scales must follow M.
  std::vector<int8_t> weights(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) weights[m * K + k] = trans_b ? w.quantized[m * K + k] : w.quantized[k * M + m];
  const std::vector<float>& ws = w.quant->scales;
  if (ws.size() != 1 && (static_cast<int64_t>(ws.size()) != M || w.quant->axis != (trans_b ? 0 : 1))) {
    unsupported(g_, n, "weight scales must be per tensor or per output feature");
  }
  std::vector<float> bias(M, 0.0f);
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const ir::Tensor& c = g_.tensor(n.inputs[2]);
    if (c.float_data.size() != 1 && static_cast<int64_t>(c.float_data.size()) != M) unsupported(g_, n, "C must have 1 or N values");
    for (int64_t m = 0; m < M; ++m) bias[m] = beta * c.float_data[c.float_data.size() == 1 ? 0 : m];
  }
  const ir::QuantParams& qa = quant_of(n, n.inputs[0]);
  const ir::QuantParams& qy = quant_of(n, n.outputs[0]);
  std::vector<RequantParams> records(M);
  for (int64_t m = 0; m < M; ++m) {
    try {
      records[m] = make_conv_requant(qa.scales[0], static_cast<double>(ws.size() == 1 ? ws[0] : ws[m]) * alpha, qy.scales[0], bias[m]);
    } catch (const Error& e) {
      unsupported(g_, n, e.what());
    }
  }
  const int64_t N = a.shape[0];
  const uint32_t in2d = quantized_buffer(n, n.inputs[0]);
  const uint32_t in4d = internal_buffer(n.inputs[0] + "__nchw", qa.dtype(), qa.scales, -1, {N, K, 1, 1});
  const uint32_t out4d = internal_buffer(n.outputs[0] + "__nchw", qy.dtype(), qy.scales, -1, {N, M, 1, 1});
  const uint32_t out2d = quantized_buffer(n, n.outputs[0]);
  emit(n, bayes::Reshape{in2d, in4d});
  bayes::Conv2d c;
  c.input = in4d;
  c.output = out4d;
  c.weight_offset = add_constant(weights.data(), weights.size());
  c.requant_offset = add_requant_table(records);
  std::tie(c.clamp_lo, c.clamp_hi) = clamp_bounds(n, qy.dtype(), qy.scales[0]);
  emit(n, c);
  emit(n, bayes::Reshape{out4d, out2d});
}

void SegmentBuilder::lower_requantize(const ir::Node& n) {
  const ir::QuantParams& x = quant_of(n, n.inputs[0]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const uint32_t in = quantized_buffer(n, n.inputs[0]);
  const uint32_t out = quantized_buffer(n, n.outputs[0]);
  if (x.scales == y.scales && x.bits == y.bits) {
    emit(n, bayes::Reshape{in, out});
    return;
  }
  RescaleParams p = rescale_or_fail(g_, n, rescale_ratio(x.scales[0], y.scales[0]));
  bayes::Rescale r{in, out, p.mult, p.shift, static_cast<int32_t>(dtype_min(y.dtype())), static_cast<int32_t>(dtype_max(y.dtype()))};
  emit(n, r);
}

uint32_t SegmentBuilder::moved_buffer(const ir::Node& n, const std::string& in, const std::string& out) {
  const ir::QuantParams& x = quant_of(n, in);
  const ir::QuantParams& y = quant_of(n, out);
  if (x.scales == y.scales && x.bits == y.bits && !moved_island_) return quantized_buffer(n, out);
  return internal_buffer(n.name + "/" + out + "_moved", x.dtype(), x.scales, -1, g_.tensor(out).shape);
}

void SegmentBuilder::requantize_moved(const ir::Node& n, const std::string& in, const std::string& out, uint32_t moved) {
  const ir::QuantParams& x = quant_of(n, in);
  const ir::QuantParams& y = quant_of(n, out);
  if (moved_island_) {  // a float island ending in this move: its table maps the moved codes to out
    const ops::FloatIsland& island = *moved_island_;
    emit_lut_from(n, moved, out, build_activation_lut([&](double v) { return island.evaluate64(v); }, x.scales[0], x.bits,
                                                      y.scales[0], y.bits));
    ++moved_island_tables_;
    return;
  }
  if (x.scales == y.scales && x.bits == y.bits) return;
  RescaleParams p = rescale_or_fail(g_, n, rescale_ratio(x.scales[0], y.scales[0]));
  emit(n, bayes::Rescale{moved, quantized_buffer(n, out), p.mult, p.shift, static_cast<int32_t>(dtype_min(y.dtype())),
                         static_cast<int32_t>(dtype_max(y.dtype()))});
}

void SegmentBuilder::lower_pool(const ir::Node& n) {
  const ir::QuantParams& x = quant_of(n, n.inputs[0]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const Shape& in_shape = g_.tensor(n.inputs[0]).shape;
  const bool global = n.op_type.rfind("Global", 0) == 0;
  const bool is_max = n.op_type == "MaxPool" || n.op_type == "GlobalMaxPool";
  bayes::Pool p;
  p.input = quantized_buffer(n, n.inputs[0]);
  p.output = quantized_buffer(n, n.outputs[0]);
  p.kind = is_max ? 0 : 1;
  std::vector<int64_t> k = global ? std::vector<int64_t>{in_shape[2], in_shape[3]} : n.attr_ints("kernel_shape", {});
  std::vector<int64_t> s = global ? std::vector<int64_t>{1, 1} : n.attr_ints("strides", {1, 1});
  std::vector<int64_t> pads = global ? std::vector<int64_t>{0, 0, 0, 0} : n.attr_ints("pads", {0, 0, 0, 0});
  std::vector<int64_t> d = global ? std::vector<int64_t>{1, 1} : n.attr_ints("dilations", {1, 1});
  if (k.size() != 2 || s.size() != 2 || pads.size() != 4 || d.size() != 2) unsupported(g_, n, "malformed 2-D pooling attributes");
  p.kernel_h = static_cast<uint32_t>(k[0]);
  p.kernel_w = static_cast<uint32_t>(k[1]);
  p.stride_h = static_cast<uint32_t>(s[0]);
  p.stride_w = static_cast<uint32_t>(s[1]);
  p.pad_top = static_cast<uint32_t>(pads[0]);
  p.pad_left = static_cast<uint32_t>(pads[1]);
  p.pad_bottom = static_cast<uint32_t>(pads[2]);
  p.pad_right = static_cast<uint32_t>(pads[3]);
  p.dilation_h = static_cast<uint32_t>(d[0]);
  p.dilation_w = static_cast<uint32_t>(d[1]);
  p.count_include_pad = static_cast<uint32_t>(n.attr_int("count_include_pad", 0));
  std::vector<RequantParams> table;
  const int64_t window = k[0] * k[1];
  const Shape& out_shape = g_.tensor(n.outputs[0]).shape;
  // Every window covers kernel_h*kernel_w elements when nothing hangs over the input (or pads count).
  const bool windows_full = (pads == std::vector<int64_t>{0, 0, 0, 0} || p.count_include_pad) &&
                            (out_shape[2] - 1) * s[0] + (k[0] - 1) * d[0] < in_shape[2] + pads[0] + pads[2] &&
                            (out_shape[3] - 1) * s[1] + (k[1] - 1) * d[1] < in_shape[3] + pads[1] + pads[3];
  if (!is_max) {
    // Average pooling is computed exactly (kind 2): with equal in/out scales and n = 2^k windows a large share
    // of results lie at (or within float32 noise of) a rounding tie, which integer requant tables misplace.
    p.kind = 2;
    p.in_scale_bits = float_bits(x.scales[0]);
    p.out_scale_bits = float_bits(y.scales[0]);
    std::tie(p.clamp_lo, p.clamp_hi) = clamp_bounds(n, y.dtype(), y.scales[0]);
    p.table_entries = 0;
    emit(n, p);
    return;
  }
  try {
    if (is_max) {
      table.push_back(make_conv_requant(x.scales[0], 1.0, y.scales[0], 0.0));
    } else if (windows_full) {
      table.push_back(make_conv_requant(x.scales[0], 1.0 / static_cast<double>(window), y.scales[0], 0.0));
    } else {
      for (int64_t c = 1; c <= window; ++c) table.push_back(make_conv_requant(x.scales[0], 1.0 / static_cast<double>(c), y.scales[0], 0.0));
    }
  } catch (const Error& e) {
    unsupported(g_, n, e.what());
  }
  p.table_entries = static_cast<uint32_t>(table.size());
  p.table_offset = add_requant_table(table);
  std::tie(p.clamp_lo, p.clamp_hi) = clamp_bounds(n, y.dtype(), y.scales[0]);
  emit(n, p);
}

void SegmentBuilder::lower_concat(const ir::Node& n) {
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const int64_t rank = static_cast<int64_t>(g_.tensor(n.outputs[0]).shape.size());
  int64_t axis = n.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  bayes::Concat c;
  c.axis = static_cast<uint32_t>(axis);
  for (const auto& in : n.inputs) {
    const ir::QuantParams& x = quant_of(n, in);
    RescaleParams p = rescale_or_fail(g_, n, rescale_ratio(x.scales[0], y.scales[0]));
    c.inputs.push_back({quantized_buffer(n, in), p.mult, p.shift});
  }
  c.output = quantized_buffer(n, n.outputs[0]);
  emit(n, c);
}

void SegmentBuilder::lower_resize(const ir::Node& n) {
  const ir::QuantParams& x = quant_of(n, n.inputs[0]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  bayes::Resize r;
  r.input = quantized_buffer(n, n.inputs[0]);
  r.output = moved_island_ ? moved_buffer(n, n.inputs[0], n.outputs[0]) : quantized_buffer(n, n.outputs[0]);
  r.mode = n.attr_string("mode", "nearest") == "linear" ? 1 : 0;
  const std::string ctm = n.attr_string("coordinate_transformation_mode", "half_pixel");
  r.coordinate_mode = ctm == "asymmetric" ? 1 : ctm == "align_corners" ? 2 : ctm == "pytorch_half_pixel" ? 3 : 0;
  const std::string nm = n.attr_string("nearest_mode", "round_prefer_floor");
  r.nearest_mode = nm == "floor" ? 1 : nm == "ceil" ? 2 : nm == "round_prefer_ceil" ? 3 : 0;
  if (moved_island_ && r.mode != 0) unsupported(g_, n, "a float island can end only in a nearest Resize");
  RescaleParams p = rescale_or_fail(g_, n, rescale_ratio(x.scales[0], moved_island_ ? x.scales[0] : y.scales[0]));
  r.mult = p.mult;
  r.shift = p.shift + (r.mode == 1 ? 2 * bayes::kBilinearWeightBits : 0);
  if (r.mode == 1) {
    // Bilinear x2 puts 1/16 of the results at ties; compute it exactly instead (mode 2).
    r.mode = 2;
    r.in_scale_bits = float_bits(x.scales[0]);
    r.out_scale_bits = float_bits(y.scales[0]);
  }
  const DType clamp_type = moved_island_ ? x.dtype() : y.dtype();
  r.clamp_lo = static_cast<int32_t>(dtype_min(clamp_type));
  r.clamp_hi = static_cast<int32_t>(dtype_max(clamp_type));
  emit(n, r);
  if (moved_island_) requantize_moved(n, n.inputs[0], n.outputs[0], r.output);
}

void SegmentBuilder::lower_lut(const ir::Node& n) {
  const ir::QuantParams& x = quant_of(n, n.inputs[0]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const ops::OpDef* op = ops::find_op(n.op_type, n.domain);
  if (!op || !op->formula64) unsupported(g_, n, "has no float formula for a lookup table");
  emit_lut(n, n.inputs[0], build_activation_lut([&](double v) { return op->formula64(n, v); }, x.scales[0], x.bits, y.scales[0], y.bits));
}

// A float island (placement's island_nodes, the root last): one table over every code of the island's source,
// each entry the island's formulas in float64 (ops::FloatIsland, the registry's per-op formulas) applied to the
// dequantized code and quantized by the model's definition at the root's output scale.
// An island ending in a data movement (ops::island_movement_op) moves the source's codes with the op's own lowering
// and applies the table on each moved output (moved_island_).
void SegmentBuilder::lower_float_island(const ir::Node& root, const Placement& p) {
  ops::FloatIsland island;
  std::string why;
  if (!island.compile(g_, ops::island_formula_nodes(g_, p.island_nodes), p.island_source, &why)) {
    unsupported(g_, root, "float island: " + why);
  }
  if (!ops::island_member_op(root)) {  // a data-movement root
    const ir::Node moved = ops::island_moved_root(root, p.island_source);
    const bayes::OpSupport* support = bayes::family_op_support(moved.op_type, moved.domain);
    if (!support || !support->lower) unsupported(g_, root, "float island ends in a move the BPU cannot lower");
    moved_island_ = &island;
    moved_island_tables_ = 0;
    placement_ = &p;
    (this->*(support->lower))(moved);
    placement_ = nullptr;
    moved_island_ = nullptr;
    size_t outputs = 0;
    for (const auto& o : root.outputs) outputs += !o.empty();
    // Every output must have gone through requantize_moved, or a move would have skipped the table.
    if (moved_island_tables_ != outputs) unsupported(g_, root, "float island ends in a move whose lowering cannot apply the table");
    return;
  }
  const ir::QuantParams& x = quant_of(root, p.island_source);
  const ir::QuantParams& y = quant_of(root, root.outputs[0]);
  emit_lut(root, p.island_source,
           build_activation_lut([&](double v) { return island.evaluate64(v); }, x.scales[0], x.bits, y.scales[0], y.bits));
}

void SegmentBuilder::emit_lut(const ir::Node& n, const std::string& input, const std::vector<int64_t>& values) {
  emit_lut_from(n, quantized_buffer(n, input), n.outputs[0], values);
}

void SegmentBuilder::emit_lut_from(const ir::Node& n, uint32_t input, const std::string& output,
                                   const std::vector<int64_t>& values) {
  const ir::QuantParams& y = quant_of(n, output);
  std::vector<uint8_t> bytes;
  for (int64_t v : values) {
    if (y.bits == 16) {
      int16_t t = static_cast<int16_t>(v);
      const uint8_t* b = reinterpret_cast<const uint8_t*>(&t);
      bytes.insert(bytes.end(), b, b + 2);
    } else {
      bytes.push_back(static_cast<uint8_t>(static_cast<int8_t>(v)));
    }
  }
  bayes::Lut l;
  l.input = input;
  l.output = quantized_buffer(n, output);
  l.table_offset = add_constant(bytes.data(), bytes.size());
  emit(n, l);
}

std::vector<int64_t> SegmentBuilder::constant_ints(const ir::Node& n, size_t input) {
  if (input >= n.inputs.size() || n.inputs[input].empty()) return {};
  const ir::Tensor& t = g_.tensor(n.inputs[input]);
  if (!t.is_constant) unsupported(g_, n, "input '" + n.inputs[input] + "' must be a constant");
  return t.int_data;
}

// MUL and MATMUL: the product of two quantized inputs, one requantization by s_a * s_b / s_out.
template <typename Product>
void SegmentBuilder::lower_product(const ir::Node& n) {
  const ir::QuantParams& a = quant_of(n, n.inputs[0]);
  const ir::QuantParams& b = quant_of(n, n.inputs[1]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  RequantParams p;
  try {
    p = make_conv_requant(a.scales[0], b.scales[0], y.scales[0], 0.0);
  } catch (const Error& e) {
    unsupported(g_, n, e.what());
  }
  Product m;
  m.input_a = quantized_buffer(n, n.inputs[0]);
  m.input_b = quantized_buffer(n, n.inputs[1]);
  m.output = quantized_buffer(n, n.outputs[0]);
  m.multiplier = p.multiplier;
  m.shift = p.shift;
  std::tie(m.clamp_lo, m.clamp_hi) = clamp_bounds(n, y.dtype(), y.scales[0]);
  emit(n, m);
}

void SegmentBuilder::lower_matmul(const ir::Node& n) {
  if (g_.tensor(n.inputs[1]).is_constant) lower_gemm(n);
  else lower_product<bayes::Matmul>(n);
}

void SegmentBuilder::lower_mul(const ir::Node& n) { lower_product<bayes::Mul>(n); }

void SegmentBuilder::lower_transpose(const ir::Node& n) {
  const size_t rank = g_.tensor(n.inputs[0]).shape.size();
  const std::vector<int64_t> perm = n.attr_ints("perm", {});  // canonical: explicit
  if (perm.size() != rank) unsupported(g_, n, "perm does not match the input rank");
  bayes::Transpose t;
  t.input = quantized_buffer(n, n.inputs[0]);
  t.output = moved_buffer(n, n.inputs[0], n.outputs[0]);
  for (int64_t p : perm) t.perm.push_back(static_cast<uint32_t>(p));
  emit(n, t);
  requantize_moved(n, n.inputs[0], n.outputs[0], t.output);
}

void SegmentBuilder::lower_slice(const ir::Node& n) {
  const Shape& x = g_.tensor(n.inputs[0]).shape;
  const int64_t rank = static_cast<int64_t>(x.size());
  // Canonical Slice: starts, ends, non-negative axes and steps are all constant inputs.
  const std::vector<int64_t> starts = constant_ints(n, 1), axes = constant_ints(n, 3), steps = constant_ints(n, 4);
  bayes::Slice sl;
  sl.starts.assign(rank, 0);
  sl.steps.assign(rank, 1);
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t a = axes.at(k);
    const int64_t dim = x[a];
    int64_t b = starts[k] < 0 ? starts[k] + dim : starts[k];
    b = steps[k] > 0 ? std::max<int64_t>(0, std::min(dim, b)) : std::max<int64_t>(0, std::min(dim - 1, b));
    sl.starts[a] = static_cast<int32_t>(b);
    sl.steps[a] = static_cast<int32_t>(steps[k]);
  }
  sl.input = quantized_buffer(n, n.inputs[0]);
  sl.output = moved_buffer(n, n.inputs[0], n.outputs[0]);
  emit(n, sl);
  requantize_moved(n, n.inputs[0], n.outputs[0], sl.output);
}

void SegmentBuilder::lower_split(const ir::Node& n) {
  const Shape& x = g_.tensor(n.inputs[0]).shape;
  int64_t axis = n.attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(x.size());
  const uint32_t in = quantized_buffer(n, n.inputs[0]);
  int32_t offset = 0;
  for (const auto& o : n.outputs) {
    bayes::Slice sl;
    sl.input = in;
    sl.output = moved_buffer(n, n.inputs[0], o);
    sl.starts.assign(x.size(), 0);
    sl.steps.assign(x.size(), 1);
    sl.starts[axis] = offset;
    offset += static_cast<int32_t>(g_.tensor(o).shape[axis]);
    emit(n, sl);
    requantize_moved(n, n.inputs[0], o, sl.output);
  }
}

void SegmentBuilder::lower_gather(const ir::Node& n) {
  const Shape& x = g_.tensor(n.inputs[0]).shape;
  int64_t axis = 0, start = 0, step = 0;
  std::string why;
  if (!bayes::gather_as_slice(g_, n, &axis, &start, &step, &why)) unsupported(g_, n, why);
  const ir::QuantParams& qx = quant_of(n, n.inputs[0]);
  Shape box = x;  // the gathered rows with the axis kept
  box[axis] = std::max<int64_t>(1, g_.tensor(n.inputs[1]).element_count());
  bayes::Slice sl;
  sl.input = quantized_buffer(n, n.inputs[0]);
  sl.output = internal_buffer(n.name + "/gathered", qx.dtype(), qx.scales, -1, box);
  sl.starts.assign(x.size(), 0);
  sl.steps.assign(x.size(), 1);
  sl.starts[axis] = static_cast<int32_t>(start);
  sl.steps[axis] = static_cast<int32_t>(step);
  emit(n, sl);
  const uint32_t moved = moved_buffer(n, n.inputs[0], n.outputs[0]);
  emit(n, bayes::Reshape{sl.output, moved});
  requantize_moved(n, n.inputs[0], n.outputs[0], moved);
}

void SegmentBuilder::lower_pad(const ir::Node& n) {
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const size_t rank = g_.tensor(n.inputs[0]).shape.size();
  // Canonical Pad: pads and the scalar constant_value are constant inputs.
  const std::vector<int64_t> pads = constant_ints(n, 1);
  const float value = g_.tensor(n.inputs.at(2)).float_data.at(0);
  bayes::Pad p;
  p.input = quantized_buffer(n, n.inputs[0]);
  p.output = quantized_buffer(n, n.outputs[0]);
  p.value = static_cast<int32_t>(quantize_exact(value, y.scales[0], dtype_min(y.dtype()), dtype_max(y.dtype())));
  for (size_t k = 0; k < rank; ++k) p.begins.push_back(static_cast<uint32_t>(pads.at(k)));
  emit(n, p);
}

void SegmentBuilder::lower_deconv(const ir::Node& n) {
  const ir::Tensor& x = g_.tensor(n.inputs[0]);
  const ir::Tensor& w = g_.tensor(n.inputs[1]);
  const int64_t groups = n.attr_int("group", 1);
  const int64_t cout = w.shape[1] * groups;
  const std::vector<float>& ws = w.quant->scales;
  if (ws.size() != 1 && (static_cast<int64_t>(ws.size()) != cout || w.quant->axis != 1 || groups != 1)) {
    unsupported(g_, n, "weight scales must be per tensor or per output channel (axis 1)");
  }
  std::vector<float> bias(cout, 0.0f);
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) bias = g_.tensor(n.inputs[2]).float_data;
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  std::vector<RequantParams> records(cout);
  for (int64_t k = 0; k < cout; ++k) {
    try {
      records[k] = make_conv_requant(x.quant->scales[0], ws.size() == 1 ? ws[0] : ws[k], y.scales[0], bias.at(k));
    } catch (const Error& e) {
      unsupported(g_, n, e.what());
    }
  }
  const std::vector<int64_t> s = n.attr_ints("strides", {1, 1}), d = n.attr_ints("dilations", {1, 1});
  const std::vector<int64_t> pads = n.attr_ints("pads", {0, 0, 0, 0});
  bayes::Deconv2d c;
  c.input = quantized_buffer(n, n.inputs[0]);
  c.output = quantized_buffer(n, n.outputs[0]);
  c.kernel_h = static_cast<uint32_t>(w.shape[2]);
  c.kernel_w = static_cast<uint32_t>(w.shape[3]);
  c.stride_h = static_cast<uint32_t>(s[0]);
  c.stride_w = static_cast<uint32_t>(s[1]);
  c.pad_top = static_cast<uint32_t>(pads[0]);
  c.pad_left = static_cast<uint32_t>(pads[1]);
  c.dilation_h = static_cast<uint32_t>(d[0]);
  c.dilation_w = static_cast<uint32_t>(d[1]);
  c.groups = static_cast<uint32_t>(groups);
  c.weight_offset = add_constant(w.quantized.data(), w.quantized.size());
  c.requant_offset = add_requant_table(records);
  std::tie(c.clamp_lo, c.clamp_hi) = clamp_bounds(n, y.dtype(), y.scales[0]);
  emit(n, c);
}

void SegmentBuilder::lower_softmax(const ir::Node& n) {
  const ir::QuantParams& x = quant_of(n, n.inputs[0]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const int64_t axis = n.attr_int("axis", -1);  // canonical: explicit and non-negative
  bayes::Softmax sm;
  sm.input = quantized_buffer(n, n.inputs[0]);
  sm.output = quantized_buffer(n, n.outputs[0]);
  sm.axis = static_cast<uint32_t>(axis);
  sm.in_scale_bits = float_bits(x.scales[0]);
  sm.out_scale_bits = float_bits(y.scales[0]);
  emit(n, sm);
}

}  // namespace bpu
