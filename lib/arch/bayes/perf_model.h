// The bayes performance model (hb_perf's role): a parametric description of the accelerator and a static
// estimate per instruction, cycles = max(compute cycles, memory cycles), summed per segment. An estimate from
// documented assumptions, not a measurement (docs/performance.md lists the defaults).
#pragma once

#include <string>
#include <vector>

#include "arch/bayes/isa.h"
#include "arch/hardware.h"
#include "lower/compiled_model.h"

namespace bpu::bayes {

using Hardware = arch::Hardware;

// The march's defaults (the target named by the echoed YAML's model_parameters.march; bayes when absent or
// unknown) with the overrides from its compiler_parameters (bpu_clock_mhz, bpu_macs_per_cycle,
// bpu_vector_per_cycle, bpu_ddr_gbps, bpu_sram_kib); absent or invalid keys keep the defaults.
Hardware hardware_from_yaml(const std::string& yaml);

struct InstructionCost {
  std::string node, opcode;
  double macs = 0, compute_cycles = 0, memory_cycles = 0, cycles = 0;
  double ddr_load_bytes = 0, ddr_store_bytes = 0;
};

struct SegmentCost {
  uint32_t index = 0;
  std::vector<InstructionCost> instructions;
  double macs = 0, cycles = 0, ddr_load_bytes = 0, ddr_store_bytes = 0;
  double milliseconds(const Hardware& hw) const { return cycles / (hw.clock_mhz * 1e3); }
};

// Bytes an instruction loads besides tensors: weights and requant records (CONV2D, DECONV2D) or its LUT table.
uint64_t weight_bytes(const BpuSegment& segment, const Body& body);

// Weights always load from DDR (prefetched during the previous instruction's compute-bound slack when they fit
// the segment's weight staging buffer); a tensor costs DDR traffic unless the segment's memory plan placed it in the
// SRAM window (BpuSegment::on_chip).
SegmentCost estimate_segment(const BpuSegment& segment, const std::vector<Instruction>& program, uint32_t index,
                             const Hardware& hw);

}  // namespace bpu::bayes
