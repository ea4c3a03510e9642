// Memory planning of a BPU segment: decides where every buffer lives in the segment's memory map (the DDR arena,
// then the on-chip SRAM window) from compiler_parameters.optimize_level and compile_mode. The plan changes the
// program the .bin carries (offsets, arena and window sizes) and so the cost model's DDR traffic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arch/bayes/isa.h"
#include "arch/bayes/perf_model.h"
#include "lower/compiled_model.h"

namespace bpu {

struct MemoryPlanOptions {
  int optimize_level = 0;              // 0..3 (compiler_parameters.optimize_level O0..O3)
  std::string compile_mode = "latency";  // latency | bandwidth | balance: the order SRAM candidates are taken in
  bayes::Hardware hardware;            // SRAM size and the rates the latency priority is computed from
};

// O0: every buffer its own DDR range, in creation order (what the lowering produced).
// O1: DDR ranges shared by buffers whose lifetimes (first write .. last read) do not overlap.
// O2: O1, and intermediate tensors (neither segment input nor output) of at most half the window go to the SRAM
//     window while they fit beside the on-chip tensors alive at the same time.
// O3: as O2 without the half-window limit per tensor.
// At O2/O3 four candidate plans are built: activations ordered by estimated cycles saved or by DDR bytes saved,
// each with or without a weight staging buffer (the largest instruction's weights, at most a quarter of the
// SRAM, so weights prefetch during the previous instruction's compute). The bayes cost model scores them and
// compile_mode picks: latency = fewest cycles, bandwidth = fewest DDR bytes, balance = least sum of both, each
// relative to the best candidate. So latency mode is never estimated slower than bandwidth mode, and bandwidth
// mode never moves more DDR bytes than latency mode.
void plan_memory(BpuSegment& segment, const std::vector<bayes::Instruction>& program, const MemoryPlanOptions& options);

// A buffer's lifetime in moments, both ends included: -1 = before the first moment, `moments` = after the last.
// The memory plan's moments are instructions; the simulator's two-lane layout counts a lane step as one.
struct Lifetime {
  int64_t first = 0, last = 0;
};

// Places `ids` (already in priority order) at the lowest `align`-aligned offset where no placed buffer with an
// overlapping lifetime sits; a buffer that would end beyond `capacity` stays unplaced. Placed buffers are
// registered at every moment they are alive, so finding a buffer's live neighbours costs the sum of the live-set
// sizes over its lifetime (near linear for a network, not quadratic in its size).
// Returns the high-water mark; `offset[id]` is set and `placed[id]` true for every placed buffer.
uint64_t pack_by_lifetime(const std::vector<BpuBuffer>& buffers, const std::vector<Lifetime>& life, int64_t moments,
                          const std::vector<uint32_t>& ids, uint64_t capacity, uint64_t align,
                          std::vector<uint64_t>& offset, std::vector<bool>& placed);

// Parses "O0".."O3"; anything else is 0 (the config reader already refused other values).
int optimize_level_number(const std::string& level);

}  // namespace bpu
