// The bayes performance model (hb_perf's role): a parametric description of the accelerator and a static
// estimate per instruction, cycles = max(compute cycles, memory cycles), summed per segment. An estimate from
// documented assumptions, not a measurement (docs/performance.md lists the defaults).
#pragma once

#include <string>
#include <vector>

#include "arch/bayes/isa.h"
#include "lower/compiled_model.h"

namespace bpu::bayes {

struct Hardware {
  double clock_mhz = 1000;          // BPU core clock
  int cores = 2;                    // BPU cores (bayes is dual core); the estimate uses one core per frame
  double int8_macs_per_cycle = 4096;  // per core; int16 x int8 runs at a quarter
  double vector_elements_per_cycle = 256;  // element-wise, pooling, LUT and data movement
  double ddr_gbytes_per_second = 25.6;
  double sram_kib = 2048;           // on-chip memory: tensors that fit are not counted as DDR traffic at O2+
};

// Reads overrides from the echoed YAML's compiler_parameters (bpu_clock_mhz, bpu_macs_per_cycle,
// bpu_vector_per_cycle, bpu_ddr_gbps, bpu_sram_kib); unknown or absent keys keep the defaults.
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

// optimize_level O0/O1: every tensor goes through DDR; O2/O3: tensors that fit the SRAM stay on chip (weights and
// segment boundaries still load/store).
SegmentCost estimate_segment(const BpuSegment& segment, const std::vector<Instruction>& program, uint32_t index,
                             const Hardware& hw, int optimize_level);

}  // namespace bpu::bayes
