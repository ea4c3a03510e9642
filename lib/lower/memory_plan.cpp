// Lifetime-based memory planning for BPU segments: interval packing (largest first, lowest free offset) in the
// DDR arena and in the SRAM window; at O2/O3 candidate plans scored by the bayes cost model, compile_mode
// choosing the objective.

#include "lower/memory_plan.h"

#include <algorithm>
#include <cstdint>

namespace bpu {

namespace {

constexpr uint64_t kAlign = 16;

uint64_t aligned(uint64_t v, uint64_t align = kAlign) { return (v + align - 1) / align * align; }

std::vector<Lifetime> lifetimes(const BpuSegment& s, const std::vector<bayes::Instruction>& program) {
  const int64_t n = static_cast<int64_t>(program.size());
  std::vector<Lifetime> life(s.buffers.size(), Lifetime{n, -1});
  for (uint32_t id : s.input_buffers) life[id].first = -1;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<uint32_t> in, out;
    bayes::buffer_operands(program[static_cast<size_t>(i)].body, &in, &out);
    for (uint32_t id : out) life[id].first = std::min(life[id].first, i);
    for (uint32_t id : in) life[id].last = std::max(life[id].last, i);
    for (uint32_t id : out) life[id].last = std::max(life[id].last, i);
  }
  for (uint32_t id : s.output_buffers) life[id].last = n;
  for (auto& l : life) {
    if (l.first > l.last) l = Lifetime{-1, n};  // never touched: keep it for the whole run
  }
  return life;
}

}  // namespace

uint64_t pack_by_lifetime(const std::vector<BpuBuffer>& buffers, const std::vector<Lifetime>& life, int64_t moments,
                          const std::vector<uint32_t>& ids, uint64_t capacity, uint64_t align,
                          std::vector<uint64_t>& offset, std::vector<bool>& placed) {
  std::vector<std::vector<uint32_t>> alive(static_cast<size_t>(moments + 2));  // moment t at index t + 1
  std::vector<uint32_t> seen(buffers.size(), UINT32_MAX);
  uint64_t high = 0;
  for (uint32_t id : ids) {
    std::vector<std::pair<uint64_t, uint64_t>> busy;  // [begin, end) of live neighbours
    for (int64_t t = life[id].first; t <= life[id].last; ++t) {
      for (uint32_t other : alive[static_cast<size_t>(t + 1)]) {
        if (seen[other] == id) continue;
        seen[other] = id;
        busy.emplace_back(offset[other], offset[other] + aligned(buffers[other].size, align));
      }
    }
    std::sort(busy.begin(), busy.end());
    const uint64_t size = aligned(buffers[id].size, align);
    uint64_t at = 0;
    for (const auto& [b, e] : busy) {
      if (at + size <= b) break;
      at = std::max(at, e);
    }
    if (at + size > capacity) continue;
    offset[id] = at;
    placed[id] = true;
    for (int64_t t = life[id].first; t <= life[id].last; ++t) alive[static_cast<size_t>(t + 1)].push_back(id);
    high = std::max(high, at + size);
  }
  return high;
}

namespace {

// DDR bytes and estimated cycles a buffer would save on chip, from the all-DDR cost of every instruction.
struct Saving {
  double bytes = 0, cycles = 0;
};

// `s` has no SRAM window or weight staging yet (plan_memory clears them first), so its estimate is all-DDR.
std::vector<Saving> savings(const BpuSegment& s, const std::vector<bayes::Instruction>& program, const bayes::Hardware& hw) {
  const bayes::SegmentCost cost = bayes::estimate_segment(s, program, 0, hw);
  const double bytes_per_cycle = hw.ddr_gbytes_per_second * 1e9 / (hw.clock_mhz * 1e6);
  std::vector<Saving> out(s.buffers.size());
  for (size_t i = 0; i < program.size(); ++i) {
    std::vector<uint32_t> in, res;
    bayes::buffer_operands(program[i].body, &in, &res);
    in.insert(in.end(), res.begin(), res.end());
    const bayes::InstructionCost& c = cost.instructions[i];
    const double slack = std::max(0.0, c.memory_cycles - c.compute_cycles);
    for (uint32_t id : in) {
      const double bytes = static_cast<double>(s.buffers[id].size);
      out[id].bytes += bytes;
      out[id].cycles += std::min(bytes / bytes_per_cycle, slack);
    }
  }
  return out;
}

// One candidate memory map: which buffers sit in the SRAM window, every offset, the sizes.
struct Plan {
  std::vector<uint64_t> offset;
  uint64_t ddr_size = 0, sram_size = 0, staging = 0;
};

Plan make_plan(const BpuSegment& s, const std::vector<Lifetime>& life, int64_t steps, int level, uint64_t capacity,
               uint64_t staging, const std::vector<double>& priority) {
  const size_t n = s.buffers.size();
  Plan plan;
  plan.staging = staging;
  std::vector<uint64_t> ddr_offset(n, 0), sram_offset(n, 0);
  std::vector<bool> on_chip(n, false), placed(n, false);
  if (level >= 2) {
    const uint64_t window = capacity - staging;
    const uint64_t per_tensor = level == 2 ? window / 2 : window;
    std::vector<bool> boundary(n, false);
    for (uint32_t id : s.input_buffers) boundary[id] = true;
    for (uint32_t id : s.output_buffers) boundary[id] = true;
    std::vector<uint32_t> candidates;
    for (uint32_t id = 0; id < n; ++id) {
      if (!boundary[id] && aligned(s.buffers[id].size) <= per_tensor && priority[id] > 0) candidates.push_back(id);
    }
    std::stable_sort(candidates.begin(), candidates.end(), [&](uint32_t a, uint32_t b) { return priority[a] > priority[b]; });
    plan.sram_size = pack_by_lifetime(s.buffers, life, steps, candidates, window, kAlign, sram_offset, on_chip);
  }
  std::vector<uint32_t> ddr;
  for (uint32_t id = 0; id < n; ++id) if (!on_chip[id]) ddr.push_back(id);
  std::stable_sort(ddr.begin(), ddr.end(), [&](uint32_t a, uint32_t b) { return s.buffers[a].size > s.buffers[b].size; });
  plan.ddr_size = pack_by_lifetime(s.buffers, life, steps, ddr, UINT64_MAX, kAlign, ddr_offset, placed);
  plan.offset.resize(n);
  for (uint32_t id = 0; id < n; ++id) plan.offset[id] = on_chip[id] ? plan.ddr_size + sram_offset[id] : ddr_offset[id];
  return plan;
}

void apply(BpuSegment& s, const Plan& plan) {
  for (size_t id = 0; id < s.buffers.size(); ++id) s.buffers[id].offset = plan.offset[id];
  s.arena_size = plan.ddr_size + plan.sram_size;
  s.sram_size = plan.sram_size;
  s.weight_staging_size = plan.staging;
}

}  // namespace

int optimize_level_number(const std::string& level) {
  if (level.size() == 2 && level[0] == 'O' && level[1] >= '0' && level[1] <= '3') return level[1] - '0';
  return 0;
}

void plan_memory(BpuSegment& s, const std::vector<bayes::Instruction>& program, const MemoryPlanOptions& options) {
  s.sram_size = 0;
  s.weight_staging_size = 0;
  if (options.optimize_level <= 0) return;  // O0 keeps the lowering's linear arena
  const int64_t steps = static_cast<int64_t>(program.size());
  const std::vector<Lifetime> life = lifetimes(s, program);
  const size_t n = s.buffers.size();
  if (options.optimize_level == 1) {
    apply(s, make_plan(s, life, steps, 1, 0, 0, std::vector<double>(n, 0)));
    return;
  }
  // O2/O3: candidate plans from two activation orders (cycles saved, bytes saved) with and without a weight
  // staging buffer, each scored by the cost model; compile_mode is the objective that picks one.
  const uint64_t capacity = std::min<uint64_t>(static_cast<uint64_t>(options.hardware.sram_kib * 1024), bayes::kMaxSramBytes) / kAlign * kAlign;
  uint64_t largest_weights = 0;
  for (const auto& ins : program) largest_weights = std::max(largest_weights, bayes::weight_bytes(s, ins.body));
  const uint64_t staging = std::min(aligned(largest_weights), capacity / 4 / kAlign * kAlign);
  const std::vector<Saving> save = savings(s, program, options.hardware);
  std::vector<double> by_cycles(n), by_bytes(n);
  for (size_t id = 0; id < n; ++id) {
    by_cycles[id] = save[id].cycles + 1e-9 * save[id].bytes;  // bytes break ties
    by_bytes[id] = save[id].bytes + 1e-9 * save[id].cycles;
  }
  BpuSegment scratch;  // what the cost model reads, without the constant pool
  scratch.buffers = s.buffers;
  scratch.source_nodes = s.source_nodes;
  scratch.input_buffers = s.input_buffers;
  scratch.output_buffers = s.output_buffers;
  struct Scored {
    Plan plan;
    double cycles = 0, bytes = 0;
  };
  std::vector<Scored> scored;
  const std::vector<uint64_t> stagings = staging > 0 ? std::vector<uint64_t>{0, staging} : std::vector<uint64_t>{0};
  for (const auto* priority : {&by_cycles, &by_bytes}) {
    for (uint64_t stage : stagings) {
      Scored c;
      c.plan = make_plan(s, life, steps, options.optimize_level, capacity, stage, *priority);
      apply(scratch, c.plan);
      const bayes::SegmentCost cost = bayes::estimate_segment(scratch, program, 0, options.hardware);
      c.cycles = cost.cycles;
      c.bytes = cost.ddr_load_bytes + cost.ddr_store_bytes;
      scored.push_back(std::move(c));
    }
  }
  double min_cycles = 1e300, min_bytes = 1e300;
  for (const auto& c : scored) {
    min_cycles = std::min(min_cycles, c.cycles);
    min_bytes = std::min(min_bytes, c.bytes);
  }
  auto objective = [&](const Scored& c) {
    if (options.compile_mode == "bandwidth") return std::make_pair(c.bytes, c.cycles);
    if (options.compile_mode == "balance") {
      return std::make_pair(c.cycles / std::max(min_cycles, 1e-9) + c.bytes / std::max(min_bytes, 1e-9), 0.0);
    }
    return std::make_pair(c.cycles, c.bytes);  // latency
  };
  const Scored* best = &scored.front();
  for (const auto& c : scored) if (objective(c) < objective(*best)) best = &c;
  apply(s, best->plan);
}

}  // namespace bpu
