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
  double sram_kib = 2048;           // on-chip SRAM window the memory plan may fill at O2/O3
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

// Bytes an instruction loads besides tensors: weights and requant records (CONV2D, DECONV2D) or its LUT table.
uint64_t weight_bytes(const BpuSegment& segment, const Body& body);

// Weights always load from DDR (prefetched during the previous instruction's compute-bound slack when they fit
// the segment's weight staging buffer); a tensor costs DDR traffic unless the segment's memory plan placed it in the
// SRAM window (BpuSegment::on_chip).
SegmentCost estimate_segment(const BpuSegment& segment, const std::vector<Instruction>& program, uint32_t index,
                             const Hardware& hw);

}  // namespace bpu::bayes
