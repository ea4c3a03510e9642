// The two-lane planner (lanes.h). A greedy pass in program order: an instruction that depends on nothing in the
// open step goes to the lighter lane, one that depends on one lane follows it, one that depends on both (a
// CONCAT or ADD joining two branches) closes the step; an instruction that splits a long work across the pool
// closes the step and runs alone. A closed step becomes a two-lane step only when both lanes hold at least the
// minimum work and the longer one beats the step's in-order time; otherwise its instructions run in program order
// on the calling thread. Then the host layout: lifetimes in moments (a sequential instruction is one moment, a
// whole lane step one), packed by the memory plan's packer (lower/memory_plan.h) on 64-byte lines.

#include "arch/bayes/sim/lanes.h"

#include <algorithm>
#include <limits>

#include "lower/memory_plan.h"

namespace bpu {

namespace {

constexpr uint64_t kLineBytes = 64;
constexpr uint64_t kMaxLayoutGrowth = 2;  // a host layout may take at most twice the .bin's memory map (+1 MiB)

bool shares(const std::vector<uint32_t>& x, const std::vector<uint32_t>& y) {
  for (uint32_t a : x) {
    if (std::find(y.begin(), y.end(), a) != y.end()) return true;
  }
  return false;
}

// The open step: two lanes being filled, with the seconds each holds so far.
struct OpenStep {
  std::vector<uint32_t> lane[2];
  double seconds[2] = {0, 0};  // on one thread
  double in_order = 0;          // the same instructions in order, as measured (long ones split)

  bool depends_on(int k, const Operands& r, const std::vector<Operands>& ops) const {
    for (uint32_t j : lane[k]) {
      if (!independent(r, ops[j])) return true;
    }
    return false;
  }
};

double one_thread_seconds(const MeasuredInstruction& m) {
  if (m.alone_seconds > 0) return m.alone_seconds;
  return m.used_pool ? 2 * m.seconds : m.seconds;
}

// Appends instructions that run in program order on the calling thread, joining the previous such step.
void append_in_order(std::vector<LaneStep>& plan, std::vector<uint32_t> ids) {
  std::sort(ids.begin(), ids.end());
  if (plan.empty() || !plan.back().second.empty()) plan.emplace_back();
  plan.back().first.insert(plan.back().first.end(), ids.begin(), ids.end());
}

void close(std::vector<LaneStep>& plan, OpenStep& open, double min_lane_seconds) {
  const bool pays = std::min(open.seconds[0], open.seconds[1]) >= min_lane_seconds &&
                    std::max(open.seconds[0], open.seconds[1]) + kLaneStepSeconds < open.in_order;
  if (!open.lane[0].empty() && !open.lane[1].empty() && pays) {
    plan.push_back({std::move(open.lane[0]), std::move(open.lane[1])});
  } else {
    std::vector<uint32_t> ids = std::move(open.lane[0]);
    ids.insert(ids.end(), open.lane[1].begin(), open.lane[1].end());
    if (!ids.empty()) append_in_order(plan, std::move(ids));
  }
  open = OpenStep{};
}

// A branch point: an instruction that depends on an earlier instruction of lane k but not on the ones after it,
// while the other lane holds too little to pay, starts a fresh pair of lanes: lane k's part after that source and
// the new instruction. The other lane and lane k's part up to the source run first, in program order (the other
// lane never depended on lane k, so moving it earlier changes no value).
void fork(std::vector<LaneStep>& plan, OpenStep& open, int k, const Operands& next, const std::vector<Operands>& ops,
          const std::vector<MeasuredInstruction>& measured, double min_lane_seconds) {
  if (open.seconds[1 - k] >= min_lane_seconds) return;
  std::vector<uint32_t>& lane = open.lane[k];
  size_t last = lane.size();
  for (size_t k2 = lane.size(); k2-- > 0;) {
    if (!independent(next, ops[lane[k2]])) {
      last = k2;
      break;
    }
  }
  if (last == lane.size() || last + 1 == lane.size()) return;  // independent of all, or of none after its source
  std::vector<uint32_t> before(lane.begin(), lane.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  before.insert(before.end(), open.lane[1 - k].begin(), open.lane[1 - k].end());
  append_in_order(plan, std::move(before));
  OpenStep fresh;
  fresh.lane[0].assign(lane.begin() + static_cast<std::ptrdiff_t>(last) + 1, lane.end());
  for (uint32_t j : fresh.lane[0]) {
    fresh.seconds[0] += one_thread_seconds(measured[j]);
    fresh.in_order += measured[j].seconds;
  }
  open = std::move(fresh);
}

std::vector<LaneStep> deal(const std::vector<Operands>& ops, const std::vector<MeasuredInstruction>& measured,
                           double min_lane_seconds) {
  std::vector<LaneStep> plan;
  OpenStep open;
  for (uint32_t i = 0; i < ops.size(); ++i) {
    const MeasuredInstruction m = measured.at(i);
    if (m.used_pool && m.seconds > kMaxSplitSecondsInLane) {
      close(plan, open, min_lane_seconds);
      append_in_order(plan, {i});
      continue;
    }
    const double seconds = one_thread_seconds(m);
    bool dep0 = open.depends_on(0, ops[i], ops), dep1 = open.depends_on(1, ops[i], ops);
    if (dep0 != dep1) {
      fork(plan, open, dep0 ? 0 : 1, ops[i], ops, measured, min_lane_seconds);
      dep0 = open.depends_on(0, ops[i], ops);
      dep1 = open.depends_on(1, ops[i], ops);
    }
    if (dep0 && dep1) close(plan, open, min_lane_seconds);
    const int lane = dep0 ? 0 : dep1 ? 1 : (open.seconds[1] < open.seconds[0] ? 1 : 0);  // after a close: 0
    open.lane[lane].push_back(i);
    open.seconds[lane] += seconds;
    open.in_order += m.seconds;
  }
  close(plan, open, min_lane_seconds);
  return plan;
}

// Each buffer's lifetime in moments (inputs from -1, outputs to the returned count of moments; untouched buffers
// keep first > last), or -1 when some buffer is read before anything writes it (a layout that relies on shared
// bytes, which a host layout could not keep).
int64_t lifetimes(const BpuSegment& segment, const std::vector<Operands>& ops, const std::vector<LaneStep>& steps,
                  std::vector<Lifetime>& life) {
  life.assign(segment.buffers.size(), Lifetime{std::numeric_limits<int64_t>::max(), -2});
  std::vector<bool> written(segment.buffers.size(), false);
  auto touch = [&](uint32_t id, int64_t moment) {
    life.at(id).first = std::min(life[id].first, moment);
    life[id].last = std::max(life[id].last, moment);
  };
  for (uint32_t id : segment.input_buffers) {
    touch(id, -1);
    written.at(id) = true;
  }
  int64_t moment = 0;
  auto visit = [&](uint32_t i, int64_t at) {
    for (uint32_t id : ops[i].reads) {
      if (!written.at(id)) return false;
      touch(id, at);
    }
    for (uint32_t id : ops[i].writes) {
      touch(id, at);
      written[id] = true;  // the other lane never reads it (independent), this lane only later
    }
    return true;
  };
  for (const LaneStep& step : steps) {
    const bool lanes = !step.second.empty();
    for (const auto* list : {&step.first, &step.second}) {
      for (uint32_t i : *list) {
        if (!visit(i, lanes ? moment : moment++)) return -1;
      }
    }
    if (lanes) ++moment;
  }
  for (uint32_t id : segment.output_buffers) touch(id, moment);
  return moment;
}

// The host layout: the buffers packed by lifetime on whole cache lines, largest first; returns the arena size.
uint64_t pack(std::vector<BpuBuffer>& buffers, const std::vector<Lifetime>& life, int64_t moments) {
  std::vector<uint32_t> order;
  uint64_t arena = 0;
  for (uint32_t id = 0; id < buffers.size(); ++id) {
    arena = std::max(arena, (buffers[id].size + kLineBytes - 1) / kLineBytes * kLineBytes);
    if (life[id].first <= life[id].last) order.push_back(id);
  }
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return buffers[a].size > buffers[b].size; });
  std::vector<uint64_t> offset(buffers.size(), 0);  // a buffer no instruction touches keeps 0 (never read or written)
  std::vector<bool> placed(buffers.size(), false);
  arena = std::max(arena, pack_by_lifetime(buffers, life, moments, order, UINT64_MAX, kLineBytes, offset, placed));
  for (uint32_t id = 0; id < buffers.size(); ++id) buffers[id].offset = offset[id];
  return arena;
}

}  // namespace

Operands instruction_operands(const bayes::Instruction& ins) {
  Operands r;
  bayes::buffer_operands(ins.body, &r.reads, &r.writes);
  return r;
}

bool independent(const Operands& a, const Operands& b) {
  return !shares(a.writes, b.writes) && !shares(a.writes, b.reads) && !shares(a.reads, b.writes);
}

LanePlan plan_lanes(const BpuSegment& segment, const std::vector<bayes::Instruction>& program,
                    const std::vector<MeasuredInstruction>& measured, double min_lane_seconds) {
  std::vector<Operands> ops;
  ops.reserve(program.size());
  for (const auto& ins : program) ops.push_back(instruction_operands(ins));
  LanePlan plan;
  plan.steps = deal(ops, measured, min_lane_seconds);
  const bool any_lanes = std::any_of(plan.steps.begin(), plan.steps.end(), [](const LaneStep& s) { return !s.second.empty(); });
  std::vector<Lifetime> life;
  const int64_t moments = any_lanes ? lifetimes(segment, ops, plan.steps, life) : -1;
  if (moments >= 0) {
    plan.buffers = segment.buffers;
    plan.arena_size = pack(plan.buffers, life, moments);
    if (plan.arena_size <= kMaxLayoutGrowth * segment.arena_size + (uint64_t(1) << 20)) return plan;
    plan.buffers.clear();  // the host layout would need far more memory than the .bin's: no lanes
    plan.arena_size = 0;
  }
  plan.steps.assign(1, LaneStep{});  // in program order, in the .bin's own layout
  for (uint32_t i = 0; i < program.size(); ++i) plan.steps[0].first.push_back(i);
  return plan;
}

}  // namespace bpu
