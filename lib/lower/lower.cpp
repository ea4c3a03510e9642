// IR + placement -> CompiledModel. Conv and Add become bayes instructions whose integer parameters come
// from lib/numerics (the same code the simulator applies).

#include "lower/lower.h"

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "arch/bayes/constraints.h"
#include "arch/bayes/isa.h"
#include "common/byte_stream.h"
#include "common/error.h"
#include "lower/cpu_subgraph.h"
#include "numerics/requant.h"

namespace bpu {

namespace {

constexpr uint64_t kArenaAlign = 64;

std::string quantized_value_name(const std::string& tensor) { return tensor + "_quantized"; }
std::string accumulator_value_name(const std::string& tensor) { return tensor + "_int32"; }

[[noreturn]] void unsupported(const ir::Graph& g, const ir::Node& n, const std::string& what) {
  throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type + "): " + what);
}

class SegmentBuilder {
 public:
  SegmentBuilder(const ir::Graph& g, const PartitionResult& part, const Segment& seg)
      : g_(g), part_(part), seg_(seg) {
    for (int i : seg.nodes) {
      for (const auto& o : g.nodes[i].outputs) produced_.insert(o);
    }
  }

  BpuSegment build() {
    for (int i : seg_.nodes) lower_node(i);
    out_.code = bayes::encode_program(program_);
    // Boundary outputs: produced here and read outside the segment or by the graph.
    for (const auto& [name, id] : buffer_ids_) {
      if (!produced_.count(name)) continue;
      bool outside = g_.is_graph_output(name);
      for (int c : g_.consumers(name)) outside |= part_.placements[c].segment != part_.placements[seg_.nodes[0]].segment;
      if (outside) {
        out_.output_buffers.push_back(id);
        out_.output_values.push_back(host_value_name(name));
      }
    }
    return std::move(out_);
  }

  // Value name on the host side for a boundary tensor of this segment.
  std::string host_value_name(const std::string& tensor) const {
    const BpuBuffer& b = out_.buffers[buffer_ids_.at(tensor)];
    return b.info.dtype == DType::Int32 ? accumulator_value_name(tensor) : quantized_value_name(tensor);
  }

 private:
  uint32_t buffer(const std::string& name, DType dtype, const std::vector<float>& scales, int axis) {
    auto it = buffer_ids_.find(name);
    if (it != buffer_ids_.end()) return it->second;
    BpuBuffer b;
    b.info.name = name;
    b.info.dtype = dtype;
    b.info.shape = g_.tensor(name).shape;
    b.info.scales = scales;
    b.info.axis = axis;
    b.info.layout = layout_for(b.info.shape);
    b.size = static_cast<uint64_t>(g_.tensor(name).element_count()) * dtype_size(dtype);
    b.offset = out_.arena_size;
    out_.arena_size += (b.size + kArenaAlign - 1) / kArenaAlign * kArenaAlign;
    uint32_t id = static_cast<uint32_t>(out_.buffers.size());
    out_.buffers.push_back(b);
    buffer_ids_[name] = id;
    if (!produced_.count(name)) {
      out_.input_buffers.push_back(id);
      out_.input_values.push_back(quantized_value_name(name));
    }
    return id;
  }

  uint32_t quantized_buffer(const ir::Node& n, const std::string& name) {
    const ir::Tensor& t = g_.tensor(name);
    if (!t.quant) unsupported(g_, n, "tensor '" + name + "' has no quantization parameters");
    if (t.quant->scales.size() != 1) unsupported(g_, n, "per-channel activation scales on '" + name + "' are not supported");
    return buffer(name, t.quant->dtype(), t.quant->scales, -1);
  }

  uint32_t add_constant(const void* data, size_t size) {
    while (out_.constants.size() % 16) out_.constants.push_back(0);
    uint32_t off = static_cast<uint32_t>(out_.constants.size());
    const uint8_t* p = static_cast<const uint8_t*>(data);
    out_.constants.insert(out_.constants.end(), p, p + size);
    return off;
  }

  uint32_t source_index(const ir::Node& n) {
    out_.source_nodes.push_back(n.name);
    return static_cast<uint32_t>(out_.source_nodes.size() - 1);
  }

  // Integer clamp bounds for an output of `dtype` with scale `scale`, tightened by a fused activation.
  std::pair<int32_t, int32_t> clamp_bounds(const ir::Node& n, DType dtype, float scale) {
    int64_t lo = dtype_min(dtype), hi = dtype_max(dtype);
    if (n.fused_clamp) {
      auto [flo, fhi] = *n.fused_clamp;
      if (std::isfinite(flo)) lo = std::max(lo, quantize_like_torch(flo, scale, lo, hi));
      if (std::isfinite(fhi)) hi = std::min(hi, quantize_like_torch(fhi, scale, lo, hi));
    }
    return {static_cast<int32_t>(lo), static_cast<int32_t>(hi)};
  }

  void lower_node(int index) {
    const ir::Node& n = g_.nodes[index];
    if (n.op_type == "Conv") lower_conv(n, part_.placements[index]);
    else if (n.op_type == "Add") lower_add(n);
    else if (bayes::is_shape_only_op(n.op_type)) lower_reshape(n);
    else unsupported(g_, n, "placed on the BPU but has no lowering");
  }

  void lower_conv(const ir::Node& n, const Placement& p) {
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
    std::vector<int64_t> k = n.attr_ints("kernel_shape", {w.shape[2], w.shape[3]});
    std::vector<int64_t> s = n.attr_ints("strides", {1, 1});
    std::vector<int64_t> d = n.attr_ints("dilations", {1, 1});
    std::vector<int64_t> pads = n.attr_ints("pads", {0, 0, 0, 0});
    if (k.size() != 2 || s.size() != 2 || d.size() != 2 || pads.size() != 4) unsupported(g_, n, "malformed 2-D conv attributes");
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
    ByteWriter table;
    for (const auto& r : records) {
      table.i32(r.multiplier);
      table.i32(r.shift);
      table.i64(r.bias);
    }
    c.requant_offset = add_constant(table.data().data(), table.size());
    program_.push_back({bayes::Opcode::Conv2d, source_index(n), c});
  }

  void lower_reshape(const ir::Node& n) {
    bayes::Reshape rs;
    rs.input = quantized_buffer(n, n.inputs[0]);
    rs.output = quantized_buffer(n, n.outputs[0]);
    program_.push_back({bayes::Opcode::Reshape, source_index(n), rs});
  }

  void lower_add(const ir::Node& n) {
    const ir::Tensor& a = g_.tensor(n.inputs[0]);
    const ir::Tensor& b = g_.tensor(n.inputs[1]);
    const ir::Tensor& y = g_.tensor(n.outputs[0]);
    bayes::Add add;
    add.input_a = quantized_buffer(n, n.inputs[0]);
    add.input_b = quantized_buffer(n, n.inputs[1]);
    add.output = quantized_buffer(n, n.outputs[0]);
    AddParams params;
    try {
      params = make_add_params(a.quant->scales[0], b.quant->scales[0], y.quant->scales[0]);
    } catch (const Error& e) {
      unsupported(g_, n, e.what());
    }
    add.mult_a = params.mult_a;
    add.mult_b = params.mult_b;
    add.shift = params.shift;
    std::tie(add.clamp_lo, add.clamp_hi) = clamp_bounds(n, y.quant->dtype(), y.quant->scales[0]);
    program_.push_back({bayes::Opcode::Add, source_index(n), add});
  }

  const ir::Graph& g_;
  const PartitionResult& part_;
  const Segment& seg_;
  std::set<std::string> produced_;
  std::map<std::string, uint32_t> buffer_ids_;
  std::vector<bayes::Instruction> program_;
  BpuSegment out_;
};

TensorInfo float_info(const ir::Graph& g, const std::string& name) {
  TensorInfo t;
  t.name = name;
  t.dtype = DType::Float32;
  t.shape = g.tensor(name).shape;
  t.layout = layout_for(t.shape);
  return t;
}

// Host values and the steps that convert between their forms. For a tensor T the float form is named T (the
// value the QAT model sees), the integer forms T_quantized and T_int32.
class Schedule {
 public:
  Schedule(const ir::Graph& g, CompiledModel& m) : g_(g), m_(m) {}

  void add(const TensorInfo& info) {
    if (known_.insert(info.name).second) m_.values.push_back(info);
  }

  // Makes the float form of tensor T available, dequantizing an integer form produced earlier.
  void ensure_float(const std::string& tensor) {
    if (known_.count(tensor)) return;
    for (const std::string& name : {quantized_value_name(tensor), accumulator_value_name(tensor)}) {
      if (known_.count(name)) {
        add(float_info(g_, tensor));
        m_.steps.push_back({StepKind::Dequantize, 0, name, tensor});
        return;
      }
    }
    throw Error(ExitCode::Internal, "no value carries tensor '" + tensor + "'");
  }

  // Makes the integer form `info` (named T_quantized) available, quantizing the float form.
  void ensure_quantized(const std::string& tensor, const TensorInfo& info) {
    if (known_.count(info.name)) return;
    if (!known_.count(tensor)) throw Error(ExitCode::Internal, "no float value for tensor '" + tensor + "'");
    add(info);
    m_.steps.push_back({StepKind::Quantize, 0, tensor, info.name});
  }

 private:
  const ir::Graph& g_;
  CompiledModel& m_;
  std::set<std::string> known_;
};

}  // namespace

CompiledModel lower_model(const ir::Graph& g, const PartitionResult& part) {
  CompiledModel m;
  Schedule schedule(g, m);
  for (const auto& in : g.inputs) {
    if (g.tensor(in).elem_type != ir::ElemType::Float) {
      throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': input '" + in + "' is not float32");
    }
    m.inputs.push_back(float_info(g, in));
    schedule.add(m.inputs.back());
  }
  for (const auto& out : g.outputs) m.outputs.push_back(float_info(g, out));

  for (const auto& seg : part.segments) {
    if (seg.device == Device::Cpu) {
      CpuSegment cpu = build_cpu_segment(g, part, seg);
      for (const auto& v : cpu.input_values) schedule.ensure_float(v);
      m.steps.push_back({StepKind::RunCpu, static_cast<uint32_t>(m.cpu_segments.size()), "", ""});
      for (const auto& v : cpu.output_values) schedule.add(float_info(g, v));
      m.cpu_segments.push_back(std::move(cpu));
      continue;
    }
    SegmentBuilder builder(g, part, seg);
    BpuSegment bpu = builder.build();
    for (size_t i = 0; i < bpu.input_buffers.size(); ++i) {
      TensorInfo info = bpu.buffers[bpu.input_buffers[i]].info;
      const std::string tensor = info.name;
      info.name = bpu.input_values[i];
      schedule.ensure_quantized(tensor, info);
    }
    m.steps.push_back({StepKind::RunBpu, static_cast<uint32_t>(m.bpu_segments.size()), "", ""});
    for (size_t i = 0; i < bpu.output_buffers.size(); ++i) {
      TensorInfo info = bpu.buffers[bpu.output_buffers[i]].info;
      info.name = bpu.output_values[i];
      schedule.add(info);
    }
    m.bpu_segments.push_back(std::move(bpu));
  }
  for (const auto& out : g.outputs) schedule.ensure_float(out);
  return m;
}

}  // namespace bpu
