// Static cost estimate of bayes-ISA instructions, with the hardware parameters of the .bin's march.

#include "arch/bayes/perf_model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "arch/target.h"

namespace bpu::bayes {

Hardware hardware_from_yaml(const std::string& yaml) {
  Hardware hw = arch::target_for("bayes").hardware();
  try {
    YAML::Node root = YAML::Load(yaml);
    YAML::Node mp = root["model_parameters"];
    if (mp && mp.IsMap() && mp["march"] && mp["march"].IsScalar()) {
      if (const arch::Target* t = arch::find_target(mp["march"].Scalar())) hw = t->hardware();
    }
    YAML::Node cp = root["compiler_parameters"];
    if (!cp || !cp.IsMap()) return hw;
    auto read = [&](const char* key, double* field) {
      if (cp[key] && cp[key].IsScalar()) {
        double v = cp[key].as<double>();
        if (v > 0 && v < 1e9) *field = v;
      }
    };
    read("bpu_clock_mhz", &hw.clock_mhz);
    read("bpu_macs_per_cycle", &hw.int8_macs_per_cycle);
    read("bpu_vector_per_cycle", &hw.vector_elements_per_cycle);
    read("bpu_ddr_gbps", &hw.ddr_gbytes_per_second);
    read("bpu_sram_kib", &hw.sram_kib);
  } catch (const YAML::Exception&) {
  }
  return hw;
}

namespace {

double elements(const BpuBuffer& b) {
  double n = 1;
  for (int64_t d : b.info.shape) n *= static_cast<double>(d);
  return n;
}

// MACs and bytes loaded besides tensors (weights, requant records, LUT tables) of an instruction: one overload
// per opcode, dispatched with std::visit, so an opcode without a cost entry does not compile.
struct Work {
  double macs = 0, weight_bytes = 0;
};

template <typename C>
Work conv_work(const BpuSegment& s, const C& b, bool transposed) {
  const BpuBuffer& x = s.buffers[b.input];
  const BpuBuffer& y = s.buffers[b.output];
  const double cin_g = static_cast<double>(x.info.shape[1]) / b.groups;
  const double taps = cin_g * b.kernel_h * b.kernel_w;
  Work w;
  w.macs = (transposed ? elements(x) * (y.info.shape[1] / static_cast<double>(b.groups)) / cin_g : elements(y)) * taps;
  w.weight_bytes = static_cast<double>(y.info.shape[1]) * taps + y.info.shape[1] * kRequantRecordBytes;
  return w;
}

Work work(const BpuSegment& s, const Conv2d& b) { return conv_work(s, b, false); }
Work work(const BpuSegment& s, const Deconv2d& b) { return conv_work(s, b, true); }
// MATMUL: K multiply-adds per output element, no weights (both operands are activations).
Work work(const BpuSegment& s, const Matmul& b) {
  const Shape& a = s.buffers[b.input_a].info.shape;
  return {elements(s.buffers[b.output]) * static_cast<double>(a.back()), 0};
}
Work work(const BpuSegment& s, const Lut& b) { return {0, s.buffers[b.input].info.dtype == DType::Int8 ? 256.0 : 65536.0 * 2}; }
// Vector and data-movement instructions: no MACs and no weights; their cycles follow from the output elements.
Work work(const BpuSegment&, const Add&) { return {}; }
Work work(const BpuSegment&, const Reshape&) { return {}; }
Work work(const BpuSegment&, const Rescale&) { return {}; }
Work work(const BpuSegment&, const Pool&) { return {}; }
Work work(const BpuSegment&, const Concat&) { return {}; }
Work work(const BpuSegment&, const Resize&) { return {}; }
Work work(const BpuSegment&, const Mul&) { return {}; }
Work work(const BpuSegment&, const Transpose&) { return {}; }
Work work(const BpuSegment&, const Slice&) { return {}; }
Work work(const BpuSegment&, const Pad&) { return {}; }
Work work(const BpuSegment&, const Softmax&) { return {}; }
// CONST: its bytes come from the constant pool as weights do.
Work work(const BpuSegment& s, const Const& b) { return {0, static_cast<double>(s.buffers[b.output].size)}; }
// PREPROCESS: up to 3 multiply-adds per output element (the colour/normalization matrix), its records as weights.
Work work(const BpuSegment& s, const Preprocess& b) {
  return {elements(s.buffers[b.output]) * 3, 3.0 * kPreprocessRecordBytes};
}

void work_of(const BpuSegment& s, const Body& body, double* macs, double* weight_bytes) {
  const Work w = std::visit([&](const auto& b) { return work(s, b); }, body);
  *macs = w.macs;
  *weight_bytes = w.weight_bytes;
}

}  // namespace

uint64_t weight_bytes(const BpuSegment& segment, const Body& body) {
  double macs = 0, bytes = 0;
  work_of(segment, body, &macs, &bytes);
  return static_cast<uint64_t>(bytes);
}

SegmentCost estimate_segment(const BpuSegment& s, const std::vector<Instruction>& program, uint32_t index,
                             const Hardware& hw) {
  SegmentCost cost;
  cost.index = index;
  const double ddr_bytes_per_cycle = hw.ddr_gbytes_per_second * 1e9 / (hw.clock_mhz * 1e6);
  double idle_ddr_cycles = 0;  // cycles the previous instruction left the DDR port idle (compute-bound slack)
  for (const auto& ins : program) {
    InstructionCost c;
    c.node = s.source_nodes.at(ins.source_node);
    c.opcode = opcode_name(ins.opcode);
    std::vector<uint32_t> in, out;
    buffer_operands(ins.body, &in, &out);
    double weight_bytes = 0;
    work_of(s, ins.body, &c.macs, &weight_bytes);
    // Traffic: weights always load from DDR; a tensor costs DDR traffic unless the memory plan put it in the
    // on-chip SRAM window (compiler_parameters.optimize_level O2/O3, lib/lower/memory_plan.h).
    c.ddr_load_bytes = weight_bytes;
    for (uint32_t id : in) if (!s.on_chip(s.buffers[id])) c.ddr_load_bytes += static_cast<double>(s.buffers[id].size);
    for (uint32_t id : out) if (!s.on_chip(s.buffers[id])) c.ddr_store_bytes += static_cast<double>(s.buffers[id].size);
    bool int16 = false;
    for (uint32_t id : in) int16 |= s.buffers[id].info.dtype == DType::Int16;
    if (c.macs > 0) {
      c.compute_cycles = c.macs / (hw.int8_macs_per_cycle * (int16 ? 0.25 : 1.0));
    } else {
      double n = 0;
      for (uint32_t id : out) n += elements(s.buffers[id]);
      c.compute_cycles = n / hw.vector_elements_per_cycle;
    }
    c.memory_cycles = (c.ddr_load_bytes + c.ddr_store_bytes) / ddr_bytes_per_cycle;
    // With a weight staging buffer (compile_mode latency/balance at O2+) weights that fit it are prefetched
    // while the previous instruction computes: that instruction's idle DDR cycles hide part of this load.
    if (weight_bytes > 0 && weight_bytes <= static_cast<double>(s.weight_staging_size)) {
      c.memory_cycles -= std::min(weight_bytes / ddr_bytes_per_cycle, idle_ddr_cycles);
    }
    c.cycles = std::max(c.compute_cycles, c.memory_cycles);
    idle_ddr_cycles = std::max(0.0, c.compute_cycles - c.memory_cycles);
    cost.macs += c.macs;
    cost.cycles += c.cycles;
    cost.ddr_load_bytes += c.ddr_load_bytes;
    cost.ddr_store_bytes += c.ddr_store_bytes;
    cost.instructions.push_back(c);
  }
  return cost;
}

}  // namespace bpu::bayes
