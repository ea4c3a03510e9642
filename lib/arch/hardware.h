// The parameters of the cost model (hb_perf's role) that differ between marches: clock, compute and vector rates,
// DDR bandwidth, on-chip SRAM. Each target (lib/arch/<march>/) gives its defaults with their derivation;
// compiler_parameters (bpu_clock_mhz, bpu_macs_per_cycle, bpu_vector_per_cycle, bpu_ddr_gbps, bpu_sram_kib)
// override them. docs/performance.md lists every march's values.
#pragma once

namespace bpu::arch {

struct Hardware {
  double clock_mhz = 1000;          // BPU core clock
  int cores = 2;                    // BPU cores; the estimate uses one core per frame
  double int8_macs_per_cycle = 4096;  // per core; int16 x int8 runs at a quarter
  double vector_elements_per_cycle = 256;  // element-wise, pooling, LUT and data movement
  double ddr_gbytes_per_second = 25.6;
  double sram_kib = 2048;           // on-chip SRAM window the memory plan may fill at O2/O3
};

}  // namespace bpu::arch
