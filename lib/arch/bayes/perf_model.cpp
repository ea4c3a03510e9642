// Static cost estimate of bayes instructions.

#include "arch/bayes/perf_model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace bpu::bayes {

Hardware hardware_from_yaml(const std::string& yaml) {
  Hardware hw;
  try {
    YAML::Node root = YAML::Load(yaml);
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

// Input and output buffer ids of an instruction, and its MACs and weight bytes.
void operands(const BpuSegment& s, const Body& body, std::vector<uint32_t>* in, std::vector<uint32_t>* out, double* macs,
              double* weight_bytes) {
  *macs = 0;
  *weight_bytes = 0;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, Conv2d> || std::is_same_v<T, Deconv2d>) {
          in->push_back(b.input);
          out->push_back(b.output);
          const BpuBuffer& x = s.buffers[b.input];
          const BpuBuffer& y = s.buffers[b.output];
          const double cin_g = static_cast<double>(x.info.shape[1]) / b.groups;
          const double taps = cin_g * b.kernel_h * b.kernel_w;
          *macs = (std::is_same_v<T, Conv2d> ? elements(y) : elements(x) * (y.info.shape[1] / static_cast<double>(b.groups)) / cin_g) * taps;
          *weight_bytes = static_cast<double>(y.info.shape[1]) * taps + y.info.shape[1] * kRequantRecordBytes;
        } else if constexpr (std::is_same_v<T, Add> || std::is_same_v<T, Mul>) {
          in->push_back(b.input_a);
          in->push_back(b.input_b);
          out->push_back(b.output);
        } else if constexpr (std::is_same_v<T, Concat>) {
          for (const auto& i : b.inputs) in->push_back(i.buffer);
          out->push_back(b.output);
        } else if constexpr (std::is_same_v<T, Lut>) {
          in->push_back(b.input);
          out->push_back(b.output);
          *weight_bytes = s.buffers[b.input].info.dtype == DType::Int8 ? 256 : 65536 * 2;
        } else {
          in->push_back(b.input);
          out->push_back(b.output);
        }
      },
      body);
}

}  // namespace

SegmentCost estimate_segment(const BpuSegment& s, const std::vector<Instruction>& program, uint32_t index,
                             const Hardware& hw, int optimize_level) {
  SegmentCost cost;
  cost.index = index;
  const std::set<uint32_t> boundary_in(s.input_buffers.begin(), s.input_buffers.end());
  const std::set<uint32_t> boundary_out(s.output_buffers.begin(), s.output_buffers.end());
  const double sram_bytes = hw.sram_kib * 1024;
  const double ddr_bytes_per_cycle = hw.ddr_gbytes_per_second * 1e9 / (hw.clock_mhz * 1e6);
  for (const auto& ins : program) {
    InstructionCost c;
    c.node = s.source_nodes.at(ins.source_node);
    c.opcode = opcode_name(ins.opcode);
    std::vector<uint32_t> in, out;
    double weight_bytes = 0;
    operands(s, ins.body, &in, &out, &c.macs, &weight_bytes);
    // Traffic: weights always load; a tensor goes through DDR unless O2+ keeps it on chip (it fits the SRAM and
    // is not a segment boundary).
    auto on_chip = [&](uint32_t id, bool is_input) {
      if (optimize_level < 2) return false;
      if (is_input ? boundary_in.count(id) : boundary_out.count(id)) return false;
      return static_cast<double>(s.buffers[id].size) <= sram_bytes / 2;
    };
    c.ddr_load_bytes = weight_bytes;
    for (uint32_t id : in) if (!on_chip(id, true)) c.ddr_load_bytes += static_cast<double>(s.buffers[id].size);
    for (uint32_t id : out) if (!on_chip(id, false)) c.ddr_store_bytes += static_cast<double>(s.buffers[id].size);
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
    c.cycles = std::max(c.compute_cycles, c.memory_cycles);
    cost.macs += c.macs;
    cost.cycles += c.cycles;
    cost.ddr_load_bytes += c.ddr_load_bytes;
    cost.ddr_store_bytes += c.ddr_store_bytes;
    cost.instructions.push_back(c);
  }
  return cost;
}

}  // namespace bpu::bayes
