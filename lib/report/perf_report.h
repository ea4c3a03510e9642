// `bpu-mapper perf` (hb_perf's role): the static BPU estimate of a validated .bin — model latency, FPS, DDR
// bytes loaded and stored per frame, per segment its instruction count, MACs, latency and DDR traffic, per layer
// detail when the config had compiler_parameters.debug: true — and an SVG picture of the segments.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arch/bayes/perf_model.h"
#include "arch/bayes/sim/validate.h"
#include "runtime/model_runner.h"

namespace bpu {

// A segment's memory plan as the .bin carries it (lib/lower/memory_plan.h).
struct SegmentMemory {
  uint64_t ddr_bytes = 0, sram_window_bytes = 0, weight_staging_bytes = 0;
  int on_chip_tensors = 0;
};

struct PerfReport {
  std::string march = "bayes";  // the .bin's march, whose cost-model defaults apply
  bayes::Hardware hardware;
  int optimize_level = 0;
  std::string compile_mode = "latency";
  std::vector<SegmentMemory> memory;  // parallel to segments
  bool per_layer = false;
  std::vector<bayes::SegmentCost> segments;
  size_t cpu_segments = 0;
  double latency_ms = 0, macs = 0, ddr_load_bytes = 0, ddr_store_bytes = 0;
  // `perf --measure N`: the simulator's mean host time per segment over N runs on zero inputs (empty otherwise).
  int measured_runs = 0;
  std::vector<double> host_ms_bpu;  // parallel to segments
  std::vector<double> host_ms_cpu;  // per CPU segment
};

// Fills r's host times from a run profile (runtime/model_runner.h entries, already averaged over `runs`).
void add_measured_times(PerfReport& r, const std::vector<ProfileEntry>& profile, int runs, size_t cpu_segments);

PerfReport estimate_model(const CompiledModel& model, const ValidatedModel& validated);
std::string format_perf_report(const PerfReport& r);
nlohmann::json perf_json(const PerfReport& r);
// `s` with & < > " escaped for XML/HTML text and attribute values.
std::string xml_escape(const std::string& s);

// Segments in execution order as boxes: BPU teal, CPU grey, with their estimates.
std::string perf_svg(const CompiledModel& model, const PerfReport& r);

}  // namespace bpu
