// SegmentBuilder core: buffers, constants, boundaries, and the Conv / Add / Reshape lowering.

#include "arch/bayes/lower/bpu_segment_builder.h"

#include <cmath>

#include "arch/bayes/constraints.h"
#include "common/byte_stream.h"
#include "common/error.h"
#include "numerics/requant.h"

namespace bpu {

namespace {

constexpr uint64_t kArenaAlign = 64;

[[noreturn]] void unsupported(const ir::Graph& g, const ir::Node& n, const std::string& what) {
  throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type + "): " + what);
}

}  // namespace

std::string quantized_value_name(const std::string& tensor) { return tensor + "_quantized"; }
std::string accumulator_value_name(const std::string& tensor) { return tensor + "_int32"; }

SegmentBuilder::SegmentBuilder(const ir::Graph& g, const PartitionResult& part, const Segment& seg)
    : g_(g), part_(part), seg_(seg) {
  for (int i : seg.nodes) {
    for (const auto& o : g.nodes[i].outputs) produced_.insert(o);
  }
}

BpuSegment SegmentBuilder::build() {
  for (int i : seg_.nodes) lower_node(i);
  out_.code = bayes::encode_program(program_);
  // Boundary outputs: produced here and read outside the segment or by the graph.
  const int my_segment = part_.placements[seg_.nodes[0]].segment;
  const std::map<std::string, std::vector<int>> consumers = g_.consumer_index();
  for (const auto& [name, id] : buffer_ids_) {
    if (!produced_.count(name)) continue;
    bool outside = g_.is_graph_output(name);
    auto it = consumers.find(name);
    if (it != consumers.end()) for (int c : it->second) outside |= part_.placements[c].segment != my_segment;
    if (outside) {
      out_.output_buffers.push_back(id);
      out_.output_values.push_back(out_.buffers[id].info.dtype == DType::Int32 ? accumulator_value_name(name)
                                                                                 : quantized_value_name(name));
    }
  }
  return std::move(out_);
}

uint32_t SegmentBuilder::buffer(const std::string& name, DType dtype, const std::vector<float>& scales, int axis,
                                const Shape* shape) {
  auto it = buffer_ids_.find(name);
  if (it != buffer_ids_.end()) return it->second;
  BpuBuffer b;
  b.info.name = name;
  b.info.dtype = dtype;
  b.info.shape = shape ? *shape : g_.tensor(name).shape;
  b.info.scales = scales;
  b.info.axis = axis;
  b.info.layout = layout_for(b.info.shape);
  int64_t count = 1;
  for (int64_t d : b.info.shape) count *= d;
  b.size = static_cast<uint64_t>(count) * dtype_size(dtype);
  b.offset = out_.arena_size;
  out_.arena_size += (b.size + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
  uint32_t id = static_cast<uint32_t>(out_.buffers.size());
  out_.buffers.push_back(b);
  buffer_ids_[name] = id;
  if (!shape && !produced_.count(name)) {
    out_.input_buffers.push_back(id);
    // An image input's pixels (uint8) are the model input itself; other inputs arrive in their quantized form.
    out_.input_values.push_back(dtype == DType::UInt8 ? name : quantized_value_name(name));
  }
  return id;
}

uint32_t SegmentBuilder::internal_buffer(const std::string& name, DType dtype, const std::vector<float>& scales, int axis,
                                         const Shape& shape) {
  return buffer(name, dtype, scales, axis, &shape);
}

const ir::QuantParams& SegmentBuilder::quant_of(const ir::Node& n, const std::string& name) {
  const ir::Tensor& t = g_.tensor(name);
  if (!t.quant) unsupported(g_, n, "tensor '" + name + "' has no quantization parameters");
  if (t.quant->scales.size() != 1) unsupported(g_, n, "per-channel activation scales on '" + name + "' are not supported");
  return *t.quant;
}

uint32_t SegmentBuilder::quantized_buffer(const ir::Node& n, const std::string& name) {
  const ir::QuantParams& q = quant_of(n, name);
  const ir::Tensor& t = g_.tensor(name);
  if (t.is_constant && !buffer_ids_.count(name)) {
    // A quantized constant operand (constraints.cpp constant_operand): its int8 codes, written by CONST on first use.
    if (t.quantized.empty() || q.per_channel() || q.bits != 8) unsupported(g_, n, "constant '" + name + "' has no per-tensor int8 codes");
    const uint32_t id = internal_buffer(name, q.dtype(), q.scales, -1, t.shape);
    if (out_.buffers[id].size != t.quantized.size()) unsupported(g_, n, "constant '" + name + "' does not fill its shape");
    emit(n, bayes::Const{id, add_constant(t.quantized.data(), t.quantized.size())});
    return id;
  }
  return buffer(name, q.dtype(), q.scales, -1);
}

uint32_t SegmentBuilder::add_constant(const void* data, size_t size) {
  while (out_.constants.size() % 16) out_.constants.push_back(0);
  uint32_t off = static_cast<uint32_t>(out_.constants.size());
  const uint8_t* p = static_cast<const uint8_t*>(data);
  out_.constants.insert(out_.constants.end(), p, p + size);
  return off;
}

uint32_t SegmentBuilder::add_requant_table(const std::vector<RequantParams>& records) {
  ByteWriter table;
  for (const auto& r : records) {
    table.i32(r.multiplier);
    table.i32(r.shift);
    table.i64(r.bias);
  }
  return add_constant(table.data().data(), table.size());
}

uint32_t SegmentBuilder::source_index(const ir::Node& n) {
  out_.source_nodes.push_back(n.name);
  return static_cast<uint32_t>(out_.source_nodes.size() - 1);
}

void SegmentBuilder::emit(const ir::Node& n, bayes::Body body) {
  bayes::Opcode op = bayes::opcode_of(body);
  program_.push_back({op, source_index(n), std::move(body)});
}

std::pair<int32_t, int32_t> SegmentBuilder::clamp_bounds(const ir::Node& n, DType dtype, float scale) {
  int64_t lo = dtype_min(dtype), hi = dtype_max(dtype);
  if (n.fused_clamp) {
    auto [flo, fhi] = *n.fused_clamp;
    if (std::isfinite(flo)) lo = std::max(lo, quantize_exact(flo, scale, lo, hi));
    if (std::isfinite(fhi)) hi = std::min(hi, quantize_exact(fhi, scale, lo, hi));
  }
  return {static_cast<int32_t>(lo), static_cast<int32_t>(hi)};
}

void SegmentBuilder::lower_node(int index) {
  const Placement& placement = part_.placements[index];
  if (placement.fused_into >= 0) return;  // lowered as its producer's output clamp
  if (placement.island_root >= 0) return;  // part of its root's lookup table
  if (!placement.island_nodes.empty()) {
    lower_float_island(g_.nodes[index], placement);
    return;
  }
  // Fusion legality was decided with placement (bayes::fusable_activation): the producer writes the
  // activation's output directly, clamped.
  ir::Node fused = g_.nodes[index];
  if (placement.fused_activation >= 0) {
    fused.outputs[0] = g_.nodes[placement.fused_activation].outputs[0];
    fused.fused_clamp = placement.fused_bounds;
  }
  const ir::Node& n = fused;
  const bayes::OpSupport* support = bayes::family_op_support(n.op_type, n.domain);  // one lowering per op, every march
  if (!support || !support->lower) unsupported(g_, n, "placed on the BPU but has no lowering");
  placement_ = &placement;
  (this->*(support->lower))(n);
  placement_ = nullptr;
}

void SegmentBuilder::lower_conv(const ir::Node& n) {
  const Placement& p = *placement_;
  const ir::Tensor& x = g_.tensor(n.inputs[0]);
  const ir::Tensor& w = g_.tensor(n.inputs[1]);
  if (w.shape.size() != 4 || x.shape.size() != 4) unsupported(g_, n, "only 2-D convolution (4-D tensors) is supported");
  const int64_t cout = w.shape[0];
  const int64_t groups = n.attr_int("group", 1);
  if (groups < 1 || x.shape[1] % groups || cout % groups || w.shape[1] * groups != x.shape[1]) {
    unsupported(g_, n, "group=" + std::to_string(groups) + " does not match input channels " + std::to_string(x.shape[1]));
  }
  const std::vector<float>& ws = w.quant->scales;
  if (ws.size() != 1 && (static_cast<int64_t>(ws.size()) != cout || w.quant->axis != 0)) {
    unsupported(g_, n, "weight scales must be per tensor or per output channel (axis 0)");
  }
  std::vector<float> bias(cout, 0.0f);
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const ir::Tensor& b = g_.tensor(n.inputs[2]);
    if (static_cast<int64_t>(b.float_data.size()) != cout) unsupported(g_, n, "bias must have one float per output channel");
    bias = b.float_data;
  }
  bayes::Conv2d c;
  c.input = quantized_buffer(n, n.inputs[0]);
  const float sx = x.quant->scales[0];
  std::vector<RequantParams> records(cout);
  if (p.high_precision_output) {
    std::vector<float> acc_scales(cout);
    for (int64_t k = 0; k < cout; ++k) {
      float swk = ws.size() == 1 ? ws[0] : ws[k];
      records[k] = make_accumulator_output(sx, swk, bias[k]);
      acc_scales[k] = static_cast<float>(static_cast<double>(sx) * swk);
    }
    if (n.fused_clamp && (n.fused_clamp->first != 0.0f || std::isfinite(n.fused_clamp->second))) {
      unsupported(g_, n, "a clamp other than ReLU on an int32 high-precision output is not supported");
    }
    c.output = buffer(n.outputs[0], DType::Int32, acc_scales, 1);
    c.clamp_lo = n.fused_clamp ? 0 : INT32_MIN;
    c.clamp_hi = INT32_MAX;
  } else {
    const ir::Tensor& y = g_.tensor(n.outputs[0]);
    const float sy = y.quant->scales[0];
    for (int64_t k = 0; k < cout; ++k) {
      try {
        records[k] = make_conv_requant(sx, ws.size() == 1 ? ws[0] : ws[k], sy, bias[k]);
      } catch (const Error& e) {
        unsupported(g_, n, std::string("output channel ") + std::to_string(k) + ": " + e.what());
      }
    }
    c.output = quantized_buffer(n, n.outputs[0]);
    std::tie(c.clamp_lo, c.clamp_hi) = clamp_bounds(n, y.quant->dtype(), sy);
  }
  std::vector<int64_t> s = n.attr_ints("strides", {1, 1});
  std::vector<int64_t> d = n.attr_ints("dilations", {1, 1});
  std::vector<int64_t> pads = n.attr_ints("pads", {0, 0, 0, 0});
  if (s.size() != 2 || d.size() != 2 || pads.size() != 4) unsupported(g_, n, "malformed 2-D conv attributes");
  c.kernel_h = static_cast<uint32_t>(w.shape[2]);
  c.kernel_w = static_cast<uint32_t>(w.shape[3]);
  c.stride_h = static_cast<uint32_t>(s[0]);
  c.stride_w = static_cast<uint32_t>(s[1]);
  c.dilation_h = static_cast<uint32_t>(d[0]);
  c.dilation_w = static_cast<uint32_t>(d[1]);
  c.pad_top = static_cast<uint32_t>(pads[0]);
  c.pad_left = static_cast<uint32_t>(pads[1]);
  c.pad_bottom = static_cast<uint32_t>(pads[2]);
  c.pad_right = static_cast<uint32_t>(pads[3]);
  c.groups = static_cast<uint32_t>(groups);
  c.weight_offset = add_constant(w.quantized.data(), w.quantized.size());
  c.requant_offset = add_requant_table(records);
  emit(n, c);
}

void SegmentBuilder::lower_add(const ir::Node& n) {
  const ir::QuantParams& a = quant_of(n, n.inputs[0]);
  const ir::QuantParams& b = quant_of(n, n.inputs[1]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  bayes::Add add;
  add.input_a = quantized_buffer(n, n.inputs[0]);
  add.input_b = quantized_buffer(n, n.inputs[1]);
  add.output = quantized_buffer(n, n.outputs[0]);
  AddParams params;
  try {
    params = make_add_params(a.scales[0], b.scales[0], y.scales[0]);
  } catch (const Error& e) {
    unsupported(g_, n, e.what());
  }
  add.mult_a = params.mult_a;
  add.mult_b = n.op_type == "Sub" ? -params.mult_b : params.mult_b;
  add.shift = params.shift;
  std::tie(add.clamp_lo, add.clamp_hi) = clamp_bounds(n, y.dtype(), y.scales[0]);
  emit(n, add);
}

void SegmentBuilder::lower_reshape(const ir::Node& n) {
  bayes::Reshape rs;
  rs.input = quantized_buffer(n, n.inputs[0]);
  rs.output = moved_buffer(n, n.inputs[0], n.outputs[0]);
  emit(n, rs);
  requantize_moved(n, n.inputs[0], n.outputs[0], rs.output);
}

}  // namespace bpu
