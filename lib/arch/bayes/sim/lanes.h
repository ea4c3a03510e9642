// Side-by-side execution plan for a BPU program on two threads: consecutive instructions of independent branches
// (detection heads, a ShuffleNet unit's two halves, the arms of an inception block) are dealt into two lanes that
// run at the same time, each on one core, instead of every small instruction being cut in two and its output read
// back across cores.
//
// The .bin's memory plan reuses bytes in program order (optimize_level O1+), so two branches usually share bytes
// and could not run side by side in it. Every instruction reads all its inputs before it writes (docs/isa.md),
// so a buffer's value does not depend on where it lies: a plan with lanes therefore brings its own host layout, a
// lifetime packing where a lane step counts as one moment, so that no two buffers touched in the same step share a
// byte or a cache line. The values are those of the program order whatever the timing. Built from per-instruction
// times measured on the first runs; the simulator keeps one plan per program.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/bayes/isa.h"
#include "lower/compiled_model.h"

namespace bpu {

// One step: `first` alone runs on the calling thread in order (its instructions may split across the pool);
// when `second` is not empty the two lists run at the same time, each on one thread, without the pool.
struct LaneStep {
  std::vector<uint32_t> first;
  std::vector<uint32_t> second;
};

// What the planner knows of one instruction from the measuring runs.
struct MeasuredInstruction {
  double seconds = 0;      // host time on the calling thread
  bool used_pool = false;  // its work was split across the pool
  double alone_seconds = 0;  // its time unsplit on one thread, when measured (0: taken as twice `seconds` if split)
};

// Two lanes pay only when each holds at least this much work: below it, handing a lane to the other core costs
// more than it saves.
constexpr double kMinLaneSeconds = 3e-6;
// What a two-lane step costs beyond its longer lane (the hand-out and the other core's cache misses): a step is
// taken only when its longer lane plus this beats the same instructions in order.
constexpr double kLaneStepSeconds = 1.5e-6;
// An instruction that split its work goes into a lane (and then runs on one thread, at its measured unsplit time,
// or about twice its split time when only that was measured) only up to this time: beyond it, splitting the one
// instruction pays better.
constexpr double kMaxSplitSecondsInLane = 20e-6;

struct LanePlan {
  std::vector<LaneStep> steps;     // every instruction once; program order within each lane and between steps
  std::vector<BpuBuffer> buffers;  // the host layout (the segment's buffers, moved); empty: no two-lane step
  uint64_t arena_size = 0;
};

// The buffers an instruction reads and writes (ids into the segment's buffer table).
struct Operands {
  std::vector<uint32_t> reads, writes;
};
Operands instruction_operands(const bayes::Instruction& ins);

// True when the two instructions may run at the same time in a layout where distinct buffers share no byte:
// neither writes a buffer the other reads or writes.
bool independent(const Operands& a, const Operands& b);

LanePlan plan_lanes(const BpuSegment& segment, const std::vector<bayes::Instruction>& program,
                    const std::vector<MeasuredInstruction>& measured, double min_lane_seconds = kMinLaneSeconds);

}  // namespace bpu
