// Memory planning (lower/memory_plan.h): every optimize_level gives a program whose outputs are identical to O0's;
// no two buffers alive at the same time share bytes; O1 shrinks the arena; O2/O3 put tensors in the SRAM window
// and the estimate gets no slower (O3 <= O2 <= O1 = O0); compile_mode changes what goes on chip when it is tight.

#include <algorithm>
#include <set>

#include "lower/memory_plan.h"
#include "perf_helpers.h"

using namespace bpu;

namespace {

using bpu::test::compile_at;
using bpu::test::Planned;

std::map<std::string, FloatArray> run_fixture(const CompiledModel& m, const std::string& fixture) {
  ModelRunner runner(m, "plan.bin");
  FloatArray input = load_npy(bpu::test::data_path(fixture + "/input_0.npy"));
  return runner.run({{m.inputs.at(0).name, input}});
}

// Independent check of the plan: lifetimes from the decoded program, then every pair alive together must not
// overlap in memory, and every buffer lies wholly in the DDR arena or wholly in the SRAM window.
void check_no_live_overlap(const BpuSegment& s) {
  auto program = bayes::decode_program(s.code.data(), s.code.size(), "test");
  const int64_t n = static_cast<int64_t>(program.size());
  std::vector<int64_t> first(s.buffers.size(), n), last(s.buffers.size(), -1);
  for (uint32_t id : s.input_buffers) first[id] = -1;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<uint32_t> in, out;
    bayes::buffer_operands(program[i].body, &in, &out);
    for (uint32_t id : out) first[id] = std::min(first[id], i), last[id] = std::max(last[id], i);
    for (uint32_t id : in) last[id] = std::max(last[id], i);
  }
  for (uint32_t id : s.output_buffers) last[id] = n;
  for (size_t a = 0; a < s.buffers.size(); ++a) {
    const BpuBuffer& x = s.buffers[a];
    CHECK((x.offset + x.size <= s.sram_base() || x.offset >= s.sram_base()));
    for (size_t b = a + 1; b < s.buffers.size(); ++b) {
      const BpuBuffer& y = s.buffers[b];
      const bool alive_together = first[a] <= last[b] && first[b] <= last[a];
      const bool share_bytes = x.offset < y.offset + y.size && y.offset < x.offset + x.size;
      INFO(x.info.name << " and " << y.info.name);
      CHECK(!(alive_together && share_bytes));
    }
  }
}

uint64_t arena_bytes(const CompiledModel& m) {
  uint64_t total = 0;
  for (const auto& s : m.bpu_segments) total += s.arena_size - s.sram_size;
  return total;
}

uint64_t sram_bytes(const CompiledModel& m) {
  uint64_t total = 0;
  for (const auto& s : m.bpu_segments) total += s.sram_size;
  return total;
}

}  // namespace

TEST_CASE("memory plan: every level computes the same outputs and only O1+ reuses memory", "[plan]") {
  for (const std::string fixture : {"resnet18", "mobilenet_v2", "hybrid"}) {
    const bool has_intermediates = fixture != "hybrid";  // hybrid's BPU segments hold only boundary tensors
    INFO(fixture);
    Planned o0 = compile_at(fixture, "O0"), o1 = compile_at(fixture, "O1"), o2 = compile_at(fixture, "O2"),
            o3 = compile_at(fixture, "O3");
    const auto expected = run_fixture(o0.model, fixture);
    for (const Planned* p : {&o1, &o2, &o3}) {
      for (const auto& s : p->model.bpu_segments) check_no_live_overlap(s);
      const auto got = run_fixture(p->model, fixture);
      for (const auto& [name, value] : expected) CHECK(got.at(name).data == value.data);
    }
    CHECK(sram_bytes(o0.model) == 0);
    CHECK(sram_bytes(o1.model) == 0);
    if (has_intermediates) CHECK(arena_bytes(o1.model) < arena_bytes(o0.model));
    CHECK(o1.perf.latency_ms == o0.perf.latency_ms);  // reuse alone moves no traffic on chip
    CHECK(o2.perf.latency_ms <= o1.perf.latency_ms);
    CHECK(o3.perf.latency_ms <= o2.perf.latency_ms);
    if (has_intermediates) {
      CHECK(o3.perf.ddr_load_bytes + o3.perf.ddr_store_bytes < o0.perf.ddr_load_bytes + o0.perf.ddr_store_bytes);
      CHECK(o3.perf.latency_ms < o0.perf.latency_ms);
    }
  }
}

TEST_CASE("memory plan: O2 and O3 fill the SRAM window and respect its size", "[plan]") {
  Planned o3 = compile_at("resnet18", "O3");
  CHECK(sram_bytes(o3.model) > 0);
  Planned tiny = compile_at("resnet18", "O3", "  bpu_sram_kib: 8\n");
  for (const auto& s : tiny.model.bpu_segments) CHECK(s.sram_size <= 8 * 1024);
  CHECK(sram_bytes(tiny.model) < sram_bytes(o3.model));
  CHECK(tiny.perf.latency_ms >= o3.perf.latency_ms);
}

TEST_CASE("memory plan: compile_mode decides what goes on chip when the SRAM is tight", "[plan]") {
  auto on_chip_names = [](const CompiledModel& m) {
    std::set<std::string> names;
    for (const auto& s : m.bpu_segments)
      for (const auto& b : s.buffers)
        if (s.on_chip(b)) names.insert(b.info.name);
    return names;
  };
  // A tight SRAM (8 KiB) and slower MACs: the latency and bandwidth objectives pick different plans here.
  const std::string tight = "  bpu_sram_kib: 8\n  bpu_macs_per_cycle: 256\n";
  auto plan = [&](const std::string& mode) { return compile_at("resize_concat", "O3", tight, mode); };
  const Planned latency = plan("latency"), bandwidth = plan("bandwidth"), balance = plan("balance");
  CHECK(on_chip_names(latency.model) != on_chip_names(bandwidth.model));
  CHECK(latency.perf.latency_ms < bandwidth.perf.latency_ms);
  CHECK(bandwidth.perf.ddr_load_bytes + bandwidth.perf.ddr_store_bytes <
        latency.perf.ddr_load_bytes + latency.perf.ddr_store_bytes);
  const auto expected = run_fixture(latency.model, "resize_concat");
  for (const Planned* p : {&latency, &bandwidth, &balance}) {
    for (const auto& s : p->model.bpu_segments) check_no_live_overlap(s);
    const auto got = run_fixture(p->model, "resize_concat");
    for (const auto& [name, value] : expected) CHECK(got.at(name).data == value.data);
  }
}

TEST_CASE("memory plan: optimize_level names map to levels", "[plan]") {
  CHECK(optimize_level_number("O0") == 0);
  CHECK(optimize_level_number("O3") == 3);
  CHECK(optimize_level_number("O9") == 0);
}

TEST_CASE("memory plan: the weight staging buffer lets the estimate hide weight loads", "[plan]") {
  Planned with = compile_at("nonhybrid", "O3", "  bpu_sram_kib: 128\n  bpu_macs_per_cycle: 256\n");
  uint64_t staging = 0;
  for (const auto& s : with.model.bpu_segments) staging += s.weight_staging_size;
  REQUIRE(staging > 0);
  CompiledModel without = with.model;
  for (auto& s : without.bpu_segments) s.weight_staging_size = 0;
  ModelRunner runner(without, "plan.bin");
  PerfReport p = estimate_model(runner.model(), runner.validated());
  CHECK(with.perf.latency_ms < p.latency_ms);
  CHECK(with.perf.ddr_load_bytes == p.ddr_load_bytes);  // prefetch moves no bytes, it overlaps them
}
