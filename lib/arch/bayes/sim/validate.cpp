// Semantic validation of a CompiledModel read from a .bin.

#include "arch/bayes/sim/validate.h"

#include <cstring>
#include <map>
#include <set>

#include "common/broadcast.h"
#include "common/conv_geometry.h"
#include "common/error.h"
#include "common/march.h"
#include "numerics/requant.h"
#include "arch/bayes/sim/kernels/conv2d.h"
#include "arch/bayes/sim/kernels/movement.h"

namespace bpu {

namespace {

class Validator {
 public:
  Validator(const CompiledModel& m, std::string path) : m_(m), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ExitCode::Artifact, "model '" + path_ + "': " + what + " (corrupted or incompatible .bin)");
  }

  ValidatedModel run(const std::string& expected_march) {
    if (!find_march(m_.march)) {
      throw Error(ExitCode::Artifact, "model '" + path_ + "' was compiled for march '" + m_.march +
                                          "', which this simulator does not run (it runs " + march_names() + ")");
    }
    if (!expected_march.empty() && m_.march != expected_march) {
      throw Error(ExitCode::Artifact, "model '" + path_ + "' was compiled for march '" + m_.march +
                                          "' but '" + expected_march + "' was asked for; run it with --march " + m_.march +
                                          " or recompile it with march: " + expected_march);
    }
    for (const auto& v : m_.values) {
      if (!values_.emplace(v.name, &v).second) fail("value '" + v.name + "' is defined twice");
    }
    if (m_.inputs.empty() || m_.outputs.empty()) fail("model has no inputs or no outputs");
    std::set<std::string> available;
    for (const auto& in : m_.inputs) {
      const bool integer = (in.dtype == DType::Int8 || in.dtype == DType::Int16) && in.scales.size() == 1;  // removed Quantize
      if (in.dtype != DType::Float32 && !integer && !(in.dtype == DType::UInt8 && in.scales == std::vector<float>{1.0f})) {
        fail("model input '" + in.name + "' is neither float32, per-tensor int8/int16 nor uint8 image pixels");
      }
      available.insert(in.name);
    }
    ValidatedModel out;
    for (size_t i = 0; i < m_.bpu_segments.size(); ++i) out.programs.push_back(check_segment(i));
    for (size_t i = 0; i < m_.cpu_segments.size(); ++i) out.cpu_graphs.push_back(check_cpu_segment(i));
    std::vector<bool> segment_ran(m_.bpu_segments.size(), false);
    std::vector<bool> cpu_ran(m_.cpu_segments.size(), false);
    for (const auto& s : m_.steps) {
      if (s.kind == StepKind::RunCpu) {
        if (s.segment >= m_.cpu_segments.size()) fail("step runs CPU segment " + std::to_string(s.segment) + ", which does not exist");
        if (cpu_ran[s.segment]) fail("CPU segment " + std::to_string(s.segment) + " is scheduled twice");
        cpu_ran[s.segment] = true;
        const CpuSegment& seg = m_.cpu_segments[s.segment];
        for (const auto& v : seg.input_values) {
          if (!available.count(v)) fail("CPU segment " + std::to_string(s.segment) + " reads '" + v + "' before it is produced");
        }
        available.insert(seg.output_values.begin(), seg.output_values.end());
        continue;
      }
      if (s.kind == StepKind::RunBpu) {
        if (s.segment >= m_.bpu_segments.size()) fail("step runs BPU segment " + std::to_string(s.segment) + ", which does not exist");
        if (segment_ran[s.segment]) fail("BPU segment " + std::to_string(s.segment) + " is scheduled twice");
        segment_ran[s.segment] = true;
        const BpuSegment& seg = m_.bpu_segments[s.segment];
        for (const auto& v : seg.input_values) {
          if (!available.count(v)) fail("BPU segment " + std::to_string(s.segment) + " reads '" + v + "' before it is produced");
        }
        available.insert(seg.output_values.begin(), seg.output_values.end());
        continue;
      }
      const TensorInfo& src = value(s.source);
      const TensorInfo& dst = value(s.target);
      if (!available.count(s.source)) fail("step reads '" + s.source + "' before it is produced");
      if (src.shape != dst.shape) fail("step '" + s.source + "' -> '" + s.target + "' changes the shape");
      if (s.kind == StepKind::Quantize) {
        if (src.dtype != DType::Float32 || (dst.dtype != DType::Int8 && dst.dtype != DType::Int16) || dst.scales.size() != 1) {
          fail("quantize step '" + s.source + "' -> '" + s.target + "' needs float32 -> per-tensor int8/int16");
        }
      } else {
        if (src.dtype == DType::Float32 || dst.dtype != DType::Float32) {
          fail("dequantize step '" + s.source + "' -> '" + s.target + "' needs integer -> float32");
        }
      }
      available.insert(s.target);
    }
    for (const auto& o : m_.outputs) {
      if (o.dtype == DType::UInt8) fail("model output '" + o.name + "' is uint8");  // float32 or integer (removed Dequantize)
      if (!available.count(o.name)) fail("model output '" + o.name + "' is never produced");
    }
    return out;
  }

 private:
  const TensorInfo& value(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) fail("unknown value '" + name + "'");
    return *it->second;
  }

  std::vector<bayes::Instruction> check_segment(size_t index) {
    const BpuSegment& s = m_.bpu_segments[index];
    const std::string ctx = "BPU segment " + std::to_string(index);
    if (s.arena_size > kMaxArenaBytes) fail(ctx + " arena of " + std::to_string(s.arena_size) + " bytes exceeds the limit");
    if (s.sram_size > s.arena_size || s.sram_base() % 16 || s.weight_staging_size > bayes::kMaxSramBytes ||
        s.sram_size > bayes::kMaxSramBytes - s.weight_staging_size) {
      fail(ctx + " SRAM window of " + std::to_string(s.sram_size) + " bytes plus weight staging of " +
           std::to_string(s.weight_staging_size) + " bytes does not fit the arena or the " +
           std::to_string(bayes::kMaxSramBytes) + "-byte SRAM limit");
    }
    for (size_t b = 0; b < s.buffers.size(); ++b) {
      const BpuBuffer& buf = s.buffers[b];
      if (buf.info.dtype == DType::Float32) fail(ctx + " buffer '" + buf.info.name + "' is float32");
      uint64_t need = static_cast<uint64_t>(checked_element_count(buf.info.shape, ctx, ExitCode::Artifact)) * dtype_size(buf.info.dtype);
      if (buf.size != need) fail(ctx + " buffer '" + buf.info.name + "' size " + std::to_string(buf.size) + " != " + std::to_string(need));
      if (buf.offset > s.arena_size || buf.size > s.arena_size - buf.offset) fail(ctx + " buffer '" + buf.info.name + "' lies outside the arena");
      if (buf.offset % 16) fail(ctx + " buffer '" + buf.info.name + "' is misaligned");
      if (buf.offset < s.sram_base() && buf.offset + buf.size > s.sram_base()) {
        fail(ctx + " buffer '" + buf.info.name + "' straddles the DDR arena and the SRAM window");
      }
    }
    auto check_binding = [&](const std::vector<uint32_t>& ids, const std::vector<std::string>& names, const char* what) {
      if (ids.size() != names.size()) fail(ctx + " " + what + " bindings are inconsistent");
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] >= s.buffers.size()) fail(ctx + " " + what + " binding names buffer " + std::to_string(ids[i]));
        const TensorInfo& v = value(names[i]);
        const TensorInfo& b = s.buffers[ids[i]].info;
        if (v.dtype != b.dtype || v.shape != b.shape || v.scales != b.scales) {
          fail(ctx + " " + what + " '" + names[i] + "' does not match its buffer's dtype, shape or scales");
        }
      }
    };
    check_binding(s.input_buffers, s.input_values, "input");
    check_binding(s.output_buffers, s.output_values, "output");
    for (uint32_t id : s.output_buffers) {
      if (s.buffers[id].info.dtype == DType::UInt8) fail(ctx + " outputs the uint8 buffer '" + s.buffers[id].info.name + "'");
    }

    std::vector<bayes::Instruction> program = bayes::decode_program(s.code.data(), s.code.size(), "model '" + path_ + "' " + ctx + " code");
    for (size_t i = 0; i < program.size(); ++i) {
      const bayes::Instruction& ins = program[i];
      std::string ictx = ctx + " instruction " + std::to_string(i) + " (" + bayes::opcode_name(ins.opcode) + ")";
      if (ins.source_node >= s.source_nodes.size()) fail(ictx + " names source node " + std::to_string(ins.source_node));
      std::vector<uint32_t> reads, writes;
      bayes::buffer_operands(ins.body, &reads, &writes);
      for (uint32_t id : reads) buffer(s, id, ictx);
      for (uint32_t id : writes) buffer(s, id, ictx);
      // uint8 pixels are read by PREPROCESS only; no other instruction reads or writes them.
      const bool preprocess = std::holds_alternative<bayes::Preprocess>(ins.body);
      for (uint32_t id : writes) {
        if (s.buffers[id].info.dtype == DType::UInt8) fail(ictx + " writes the uint8 buffer '" + s.buffers[id].info.name + "'");
      }
      for (uint32_t id : reads) {
        if (!preprocess && s.buffers[id].info.dtype == DType::UInt8) fail(ictx + " reads the uint8 buffer '" + s.buffers[id].info.name + "'");
      }
      // One check overload per opcode below; an opcode without one does not compile.
      std::visit([&](const auto& body) { check(s, body, ictx); }, ins.body);
    }
    return program;
  }

  std::shared_ptr<const cpu::CpuGraph> check_cpu_segment(size_t index) {
    const CpuSegment& s = m_.cpu_segments[index];
    const std::string ctx = "model '" + path_ + "' CPU segment " + std::to_string(index);
    auto graph = std::make_shared<const cpu::CpuGraph>(s.onnx, ctx);
    const ir::Graph& g = graph->graph();
    if (g.inputs != s.input_values || g.outputs != s.output_values) fail("CPU segment " + std::to_string(index) + " inputs or outputs do not match its bindings");
    for (const auto& names : {s.input_values, s.output_values}) {
      for (const auto& name : names) {
        const TensorInfo& v = value(name);
        const bool pixels = v.dtype == DType::UInt8 && g.tensor(name).elem_type == ir::ElemType::Uint8;  // HzPreprocess on the CPU
        if ((v.dtype != DType::Float32 && !pixels) || v.shape != g.tensor(name).shape) {
          fail("CPU segment " + std::to_string(index) + " value '" + name + "' is not float32 of shape " + shape_to_string(g.tensor(name).shape));
        }
      }
    }
    return graph;
  }

  const BpuBuffer& buffer(const BpuSegment& s, uint32_t id, const std::string& ctx) const {
    if (id >= s.buffers.size()) fail(ctx + " names buffer " + std::to_string(id) + " of " + std::to_string(s.buffers.size()));
    return s.buffers[id];
  }

  void check_clamp(int32_t lo, int32_t hi, DType t, const std::string& ctx) const {
    if (lo > hi || lo < dtype_min(t) || hi > dtype_max(t)) fail(ctx + " clamp [" + std::to_string(lo) + ", " + std::to_string(hi) + "] is invalid for " + dtype_name(t));
  }


  bool is_int8_or_16(const BpuBuffer& b) const { return b.info.dtype == DType::Int8 || b.info.dtype == DType::Int16; }

  void check_records(const BpuSegment& s, uint32_t offset, uint64_t count, const std::string& ctx) const {
    const uint64_t bytes = count * bayes::kRequantRecordBytes;
    if (offset % 8 || offset > s.constants.size() || bytes > s.constants.size() - offset) fail(ctx + " requant table lies outside the constant pool");
    for (uint64_t k = 0; k < count; ++k) {
      int32_t mult, shift;
      std::memcpy(&mult, s.constants.data() + offset + k * 16, 4);
      std::memcpy(&shift, s.constants.data() + offset + k * 16 + 4, 4);
      if (mult < 0 || shift < 0 || shift > kMaxShift) fail(ctx + " record " + std::to_string(k) + " has multiplier " + std::to_string(mult) + ", shift " + std::to_string(shift));
    }
  }

  void check_scale_bits(std::initializer_list<uint32_t> bits, const std::string& ctx) const {
    for (uint32_t b : bits) {
      float f;
      std::memcpy(&f, &b, 4);
      if (!is_sane_scale(f)) fail(ctx + " has an invalid float scale");
    }
  }

  void check_rescale(int64_t mult, int32_t shift, int32_t max_shift, const std::string& ctx) const {
    const int64_t limit = int64_t(1) << 47;
    if (mult <= -limit || mult >= limit || shift < 0 || shift > max_shift) fail(ctx + " rescale multiplier or shift out of range");
  }


  void check(const BpuSegment& s, const bayes::Rescale& r, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, r.input, ctx);
    const BpuBuffer& y = buffer(s, r.output, ctx);
    if (!is_int8_or_16(x) || !is_int8_or_16(y) || x.info.shape != y.info.shape) fail(ctx + " needs int8/int16 buffers of one shape");
    check_rescale(r.mult, r.shift, kMaxShift, ctx);
    check_clamp(r.clamp_lo, r.clamp_hi, y.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Pool& p, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, p.input, ctx);
    const BpuBuffer& y = buffer(s, p.output, ctx);
    if (!is_int8_or_16(x) || !is_int8_or_16(y) || x.info.shape.size() != 4 || y.info.shape.size() != 4) fail(ctx + " needs 4-D int8/int16 buffers");
    if (p.kind > 2) fail(ctx + " has unknown pool kind " + std::to_string(p.kind));
    if (p.kind == 2) check_scale_bits({p.in_scale_bits, p.out_scale_bits}, ctx);
    for (uint32_t v : {p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w}) if (v < 1 || v > 65536) fail(ctx + " has kernel/stride/dilation " + std::to_string(v));
    for (uint32_t v : {p.pad_top, p.pad_left, p.pad_bottom, p.pad_right}) if (v > 4096) fail(ctx + " has pad " + std::to_string(v));
    if (x.info.shape[0] != y.info.shape[0] || x.info.shape[1] != y.info.shape[1]) fail(ctx + " changes N or C");
    // Every output window must start inside the padded input.
    if ((y.info.shape[2] - 1) * p.stride_h >= x.info.shape[2] + p.pad_top + p.pad_bottom ||
        (y.info.shape[3] - 1) * p.stride_w >= x.info.shape[3] + p.pad_left + p.pad_right) {
      fail(ctx + " output " + shape_to_string(y.info.shape) + " does not fit input " + shape_to_string(x.info.shape));
    }
    const uint64_t window = static_cast<uint64_t>(p.kernel_h) * p.kernel_w;
    if (p.kind != 2) {
      if (p.table_entries != 1 && p.table_entries != window) fail(ctx + " table must have 1 or kernel_h*kernel_w entries");
      check_records(s, p.table_offset, p.table_entries, ctx);
    }
    check_clamp(p.clamp_lo, p.clamp_hi, y.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Concat& c, const std::string& ctx) const {
    const BpuBuffer& y = buffer(s, c.output, ctx);
    if (!is_int8_or_16(y) || c.axis >= y.info.shape.size()) fail(ctx + " needs an int8/int16 output and a valid axis");
    int64_t total = 0;
    for (const auto& in : c.inputs) {
      const BpuBuffer& x = buffer(s, in.buffer, ctx);
      if (!is_int8_or_16(x) || x.info.shape.size() != y.info.shape.size()) fail(ctx + " input rank or dtype differs");
      for (size_t d = 0; d < y.info.shape.size(); ++d) {
        if (d != c.axis && x.info.shape[d] != y.info.shape[d]) fail(ctx + " inputs differ outside the concat axis");
      }
      if (x.overlaps(y)) fail(ctx + " input and output overlap");
      total += x.info.shape[c.axis];
      check_rescale(in.mult, in.shift, kMaxShift, ctx);
    }
    if (total != y.info.shape[c.axis]) fail(ctx + " inputs do not add up to the output along the axis");
  }

  void check(const BpuSegment& s, const bayes::Resize& r, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, r.input, ctx);
    const BpuBuffer& y = buffer(s, r.output, ctx);
    if (!is_int8_or_16(x) || !is_int8_or_16(y) || x.info.shape.size() != 4 || y.info.shape.size() != 4) fail(ctx + " needs 4-D int8/int16 buffers");
    if (x.info.shape[0] != y.info.shape[0] || x.info.shape[1] != y.info.shape[1]) fail(ctx + " changes N or C");
    if (y.info.shape[2] > 1024 * x.info.shape[2] || y.info.shape[3] > 1024 * x.info.shape[3]) fail(ctx + " scale factor above 1024");
    if (r.mode > 2 || r.coordinate_mode > 3 || r.nearest_mode > 3) fail(ctx + " has an unknown mode");
    if (r.mode == 2) check_scale_bits({r.in_scale_bits, r.out_scale_bits}, ctx);
    check_rescale(r.mult, r.shift, 100, ctx);
    check_clamp(r.clamp_lo, r.clamp_hi, y.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Lut& l, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, l.input, ctx);
    const BpuBuffer& y = buffer(s, l.output, ctx);
    if (!is_int8_or_16(x) || !is_int8_or_16(y) || x.info.shape != y.info.shape) fail(ctx + " needs int8/int16 buffers of one shape");
    const uint64_t bytes = (x.info.dtype == DType::Int8 ? 256u : 65536u) * dtype_size(y.info.dtype);
    if (l.table_offset > s.constants.size() || bytes > s.constants.size() - l.table_offset) fail(ctx + " table lies outside the constant pool");
  }

  void check(const BpuSegment& s, const bayes::Matmul& m, const std::string& ctx) const {
    const BpuBuffer& a = buffer(s, m.input_a, ctx);
    const BpuBuffer& b = buffer(s, m.input_b, ctx);
    const BpuBuffer& o = buffer(s, m.output, ctx);
    for (const BpuBuffer* t : {&a, &b, &o}) if (!is_int8_or_16(*t)) fail(ctx + " operands must be int8 or int16");
    const Shape &sa = a.info.shape, &sb = b.info.shape, &so = o.info.shape;
    if (sa.size() < 2 || sb.size() < 2 || so.size() < std::max(sa.size(), sb.size())) fail(ctx + " needs operands of rank >= 2");
    const size_t r = so.size();
    if (sa[sa.size() - 1] != sb[sb.size() - 2] || so[r - 2] != sa[sa.size() - 2] || so[r - 1] != sb[sb.size() - 1]) {
      fail(ctx + " shapes are not [..., M, K] x [..., K, N] -> [..., M, N]");
    }
    if (sa[sa.size() - 1] > 65536) fail(ctx + " inner dimension exceeds 65536");
    for (const Shape* x : {&sa, &sb}) {  // batch axes: 1 or the output's, right-aligned
      for (size_t k = 0; k + 2 < x->size(); ++k) {
        const int64_t e = (*x)[x->size() - 3 - k], want = so[r - 3 - k];
        if (e != 1 && e != want) fail(ctx + " batch axes do not broadcast to the output");
      }
    }
    if (m.multiplier < 0 || m.shift < 0 || m.shift > kMaxShift) fail(ctx + " multiplier or shift out of range");
    check_clamp(m.clamp_lo, m.clamp_hi, o.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Mul& m, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, m.input_a, ctx);
    const BpuBuffer& y = buffer(s, m.input_b, ctx);
    const BpuBuffer& o = buffer(s, m.output, ctx);
    for (const BpuBuffer* b : {&x, &y, &o}) if (!is_int8_or_16(*b)) fail(ctx + " operands must be int8 or int16");
    if (!broadcastable(x.info.shape, o.info.shape) || !broadcastable(y.info.shape, o.info.shape)) fail(ctx + " inputs do not broadcast to the output");
    if (m.multiplier < 0 || m.shift < 0 || m.shift > kMaxShift) fail(ctx + " multiplier or shift out of range");
    check_clamp(m.clamp_lo, m.clamp_hi, o.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Transpose& t, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, t.input, ctx);
    const BpuBuffer& y = buffer(s, t.output, ctx);
    if (x.info.dtype != y.info.dtype || t.perm.size() != x.info.shape.size() || y.info.shape.size() != t.perm.size()) fail(ctx + " rank or dtype mismatch");
    std::vector<bool> used(t.perm.size(), false);
    for (size_t k = 0; k < t.perm.size(); ++k) {
      if (t.perm[k] >= t.perm.size() || used[t.perm[k]]) fail(ctx + " perm is not a permutation");
      used[t.perm[k]] = true;
      if (y.info.shape[k] != x.info.shape[t.perm[k]]) fail(ctx + " output shape does not follow the permutation");
    }
  }

  void check(const BpuSegment& s, const bayes::Slice& sl, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, sl.input, ctx);
    const BpuBuffer& y = buffer(s, sl.output, ctx);
    const size_t rank = x.info.shape.size();
    if (x.info.dtype != y.info.dtype || y.info.shape.size() != rank || sl.starts.size() != rank || sl.steps.size() != rank) fail(ctx + " rank or dtype mismatch");
    for (size_t k = 0; k < rank; ++k) {
      const int64_t first = sl.starts[k], last = sl.starts[k] + (y.info.shape[k] - 1) * static_cast<int64_t>(sl.steps[k]);
      if (sl.steps[k] == 0 || first < 0 || first >= x.info.shape[k] || last < 0 || last >= x.info.shape[k]) fail(ctx + " reads outside the input on axis " + std::to_string(k));
    }
  }

  void check(const BpuSegment& s, const bayes::Pad& p, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, p.input, ctx);
    const BpuBuffer& y = buffer(s, p.output, ctx);
    const size_t rank = x.info.shape.size();
    if (x.info.dtype != y.info.dtype || y.info.shape.size() != rank || p.begins.size() != rank) fail(ctx + " rank or dtype mismatch");
    for (size_t k = 0; k < rank; ++k) {
      if (static_cast<int64_t>(p.begins[k]) + x.info.shape[k] > y.info.shape[k]) fail(ctx + " input does not fit the output on axis " + std::to_string(k));
    }
    if (p.value < dtype_min(y.info.dtype) || p.value > dtype_max(y.info.dtype)) fail(ctx + " pad value out of range");
  }

  void check(const BpuSegment& s, const bayes::Deconv2d& d, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, d.input, ctx);
    const BpuBuffer& y = buffer(s, d.output, ctx);
    if (!is_int8_or_16(x) || !is_int8_or_16(y) || x.info.shape.size() != 4 || y.info.shape.size() != 4) fail(ctx + " needs 4-D int8/int16 buffers");
    for (uint32_t v : {d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h, d.dilation_w, d.groups}) if (v < 1 || v > 4096) fail(ctx + " has a kernel/stride/dilation/group of " + std::to_string(v));
    if (d.pad_top > 4096 || d.pad_left > 4096) fail(ctx + " pad out of range");
    if (x.info.shape[0] != y.info.shape[0] || x.info.shape[1] % d.groups || y.info.shape[1] % d.groups) fail(ctx + " batch or groups do not match");
    const uint64_t weights = static_cast<uint64_t>(x.info.shape[1]) * (y.info.shape[1] / d.groups) * d.kernel_h * d.kernel_w;
    if (d.weight_offset > s.constants.size() || weights > s.constants.size() - d.weight_offset) fail(ctx + " weights lie outside the constant pool");
    check_records(s, d.requant_offset, static_cast<uint64_t>(y.info.shape[1]), ctx);
    check_clamp(d.clamp_lo, d.clamp_hi, y.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Softmax& sm, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, sm.input, ctx);
    const BpuBuffer& y = buffer(s, sm.output, ctx);
    if (!is_int8_or_16(x) || !is_int8_or_16(y) || x.info.shape != y.info.shape || sm.axis >= x.info.shape.size()) fail(ctx + " needs int8/int16 buffers of one shape and a valid axis");
    check_scale_bits({sm.in_scale_bits, sm.out_scale_bits}, ctx);
  }

  void check(const BpuSegment& s, const bayes::Const& c, const std::string& ctx) const {
    const BpuBuffer& y = buffer(s, c.output, ctx);
    if (!is_int8_or_16(y)) fail(ctx + " needs an int8/int16 output");
    if (c.data_offset > s.constants.size() || y.size > s.constants.size() - c.data_offset) fail(ctx + " data lies outside the constant pool");
  }

  void check(const BpuSegment& s, const bayes::Preprocess& p, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, p.input, ctx);
    const BpuBuffer& y = buffer(s, p.output, ctx);
    if (x.info.dtype != DType::UInt8 || !is_int8_or_16(y) || y.info.shape.size() != 4) fail(ctx + " needs a uint8 input and a 4-D int8/int16 output");
    if (p.format > 2 || p.out_channels_last > 1) fail(ctx + " has an unknown format");
    if (x.overlaps(y)) fail(ctx + " input and output overlap");
    const Shape& xs = x.info.shape;
    const Shape& ys = y.info.shape;
    const bool last = p.out_channels_last != 0;
    const int64_t n = ys[0], c = last ? ys[3] : ys[1], h = last ? ys[1] : ys[2], w = last ? ys[2] : ys[3];
    if (c != 1 && c != 3) fail(ctx + " output has " + std::to_string(c) + " channels (1 or 3)");
    bool fits = false;
    if (p.format == 2) {
      fits = xs.size() == 3 && h % 2 == 0 && w % 2 == 0 && xs == Shape{n, h / 2 * 3, w};
    } else if (xs.size() == 4) {
      const int64_t cin = p.format == 0 ? xs[3] : xs[1];
      fits = (cin == 1 || cin == 3) && (p.format == 0 ? xs == Shape{n, h, w, cin} : xs == Shape{n, cin, h, w});
    }
    if (!fits) fail(ctx + " input " + shape_to_string(xs) + " does not fit output " + shape_to_string(ys) + " in format " + std::to_string(p.format));
    if (p.shift < 0 || p.shift > 40) fail(ctx + " shift " + std::to_string(p.shift) + " is outside [0, 40]");
    const uint64_t bytes = static_cast<uint64_t>(c) * bayes::kPreprocessRecordBytes;
    if (p.coeff_offset % 8 || p.coeff_offset > s.constants.size() || bytes > s.constants.size() - p.coeff_offset) {
      fail(ctx + " coefficient records lie outside the constant pool");
    }
    for (int64_t k = 0; k < c; ++k) {  // |m| < 2^31 by type; the bias keeps the sum inside int64
      int64_t bias;
      std::memcpy(&bias, s.constants.data() + p.coeff_offset + k * bayes::kPreprocessRecordBytes + 16, 8);
      if (bias <= -(int64_t(1) << 62) || bias >= (int64_t(1) << 62)) fail(ctx + " bias of channel " + std::to_string(k) + " is out of range");
    }
    check_clamp(p.clamp_lo, p.clamp_hi, y.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Conv2d& c, const std::string& ctx) const {
    const BpuBuffer& in = buffer(s, c.input, ctx);
    const BpuBuffer& out = buffer(s, c.output, ctx);
    if (in.info.dtype != DType::Int8 && in.info.dtype != DType::Int16) fail(ctx + " input must be int8 or int16");
    if (in.info.shape.size() != 4 || out.info.shape.size() != 4) fail(ctx + " needs 4-D input and output");
    if (in.overlaps(out)) fail(ctx + " input and output buffers overlap");
    const Shape& x = in.info.shape;
    const Shape& y = out.info.shape;
    const uint32_t limits[] = {c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.dilation_h, c.dilation_w, c.groups};
    for (uint32_t v : limits) if (v < 1 || v > 4096) fail(ctx + " has a kernel, stride, dilation or group value of " + std::to_string(v));
    for (uint32_t v : {c.pad_top, c.pad_left, c.pad_bottom, c.pad_right}) if (v > 4096) fail(ctx + " has pad " + std::to_string(v));
    if (x[0] != y[0] || x[1] % c.groups || y[1] % c.groups) fail(ctx + " batch or group does not match its buffers");
    int64_t oh = conv_output_size(x[2], c.kernel_h, c.stride_h, c.pad_top, c.pad_bottom, c.dilation_h);
    int64_t ow = conv_output_size(x[3], c.kernel_w, c.stride_w, c.pad_left, c.pad_right, c.dilation_w);
    if (oh != y[2] || ow != y[3]) fail(ctx + " output " + shape_to_string(y) + " does not follow from input " + shape_to_string(x));
    // The fast kernels copy the padded extent the output reads (stride phases, the channel-last copy): bounded
    // by the input plane, so padding and dilation read from a file cannot ask for an unbounded allocation.
    if (y[2] < 1 || y[3] < 1 || x[1] < 1) fail(ctx + " has an empty input or output");
    const uint64_t hp = static_cast<uint64_t>(y[2] - 1) * c.stride_h + static_cast<uint64_t>(c.kernel_h - 1) * c.dilation_h + 1;
    const uint64_t wp = static_cast<uint64_t>(y[3] - 1) * c.stride_w + static_cast<uint64_t>(c.kernel_w - 1) * c.dilation_w + 1;
    if (hp * wp > 4 * static_cast<uint64_t>(x[2] * x[3]) + 65536) {
      fail(ctx + " reads a padded input of " + std::to_string(hp) + "x" + std::to_string(wp) + " positions, more than 4x its " +
           std::to_string(x[2]) + "x" + std::to_string(x[3]) + " input plane plus 65536; reduce the padding or dilation");
    }
    uint64_t weight_bytes = static_cast<uint64_t>(y[1]) * (x[1] / c.groups) * c.kernel_h * c.kernel_w;
    if (c.weight_offset > s.constants.size() || weight_bytes > s.constants.size() - c.weight_offset) fail(ctx + " weights lie outside the constant pool");
    check_records(s, c.requant_offset, static_cast<uint64_t>(y[1]), ctx);
    check_clamp(c.clamp_lo, c.clamp_hi, out.info.dtype, ctx);
  }

  void check(const BpuSegment& s, const bayes::Reshape& rs, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, rs.input, ctx);
    const BpuBuffer& y = buffer(s, rs.output, ctx);
    if (x.info.dtype != y.info.dtype || x.size != y.size) fail(ctx + " input and output differ in dtype or size");
  }

  void check(const BpuSegment& s, const bayes::Add& a, const std::string& ctx) const {
    const BpuBuffer& x = buffer(s, a.input_a, ctx);
    const BpuBuffer& y = buffer(s, a.input_b, ctx);
    const BpuBuffer& o = buffer(s, a.output, ctx);
    for (const BpuBuffer* b : {&x, &y, &o}) {
      if (b->info.dtype != DType::Int8 && b->info.dtype != DType::Int16) fail(ctx + " operands must be int8 or int16");
    }
    if (!broadcastable(x.info.shape, o.info.shape) || !broadcastable(y.info.shape, o.info.shape)) fail(ctx + " inputs do not broadcast to the output");
    check_rescale(a.mult_a, a.shift, kMaxShift, ctx);
    check_rescale(a.mult_b, a.shift, kMaxShift, ctx);
    check_clamp(a.clamp_lo, a.clamp_hi, o.info.dtype, ctx);
  }

  const CompiledModel& m_;
  std::string path_;
  std::map<std::string, const TensorInfo*> values_;
};

}  // namespace

ValidatedModel validate_model(const CompiledModel& model, const std::string& path, const std::string& expected_march) {
  return Validator(model, path).run(expected_march);
}

}  // namespace bpu
