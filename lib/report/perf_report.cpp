// Perf report text, JSON and SVG.

#include "report/perf_report.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <sstream>

#include "lower/memory_plan.h"

namespace bpu {

namespace {

// optimize_level, compile_mode and debug as the echoed YAML set them (the config reader validated them).
void compiler_settings_of(const std::string& yaml, PerfReport* r) {
  r->per_layer = false;
  try {
    YAML::Node cp = YAML::Load(yaml)["compiler_parameters"];
    if (cp && cp.IsMap()) {
      if (cp["debug"] && cp["debug"].IsScalar()) r->per_layer = cp["debug"].Scalar() == "true" || cp["debug"].Scalar() == "True";
      if (cp["optimize_level"] && cp["optimize_level"].IsScalar()) r->optimize_level = optimize_level_number(cp["optimize_level"].Scalar());
      if (cp["compile_mode"] && cp["compile_mode"].IsScalar()) r->compile_mode = cp["compile_mode"].Scalar();
    }
  } catch (const YAML::Exception&) {
  }
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

PerfReport estimate_model(const CompiledModel& m, const ValidatedModel& v) {
  PerfReport r;
  r.march = m.march;
  r.hardware = bayes::hardware_from_yaml(m.config_yaml);
  compiler_settings_of(m.config_yaml, &r);
  r.cpu_segments = m.cpu_segments.size();
  for (uint32_t i = 0; i < m.bpu_segments.size(); ++i) {
    const BpuSegment& s = m.bpu_segments[i];
    SegmentMemory mem{s.sram_base(), s.sram_size, s.weight_staging_size, 0};
    for (const auto& b : s.buffers) mem.on_chip_tensors += s.on_chip(b);
    r.memory.push_back(mem);
    bayes::SegmentCost c = bayes::estimate_segment(m.bpu_segments[i], v.programs[i], i, r.hardware);
    r.latency_ms += c.milliseconds(r.hardware);
    r.macs += c.macs;
    r.ddr_load_bytes += c.ddr_load_bytes;
    r.ddr_store_bytes += c.ddr_store_bytes;
    r.segments.push_back(std::move(c));
  }
  return r;
}

void add_measured_times(PerfReport& r, const std::vector<ProfileEntry>& profile, int runs, size_t cpu_segments) {
  r.measured_runs = runs;
  r.host_ms_bpu.assign(r.segments.size(), 0.0);
  r.host_ms_cpu.assign(cpu_segments, 0.0);
  for (const auto& e : profile) {
    if (e.device == "BPU" && e.segment < r.host_ms_bpu.size()) r.host_ms_bpu[e.segment] += e.seconds * 1e3;
    if (e.device == "CPU" && e.segment < r.host_ms_cpu.size()) r.host_ms_cpu[e.segment] += e.seconds * 1e3;
  }
}

std::string format_perf_report(const PerfReport& r) {
  std::ostringstream os;
  char line[512];
  const auto& hw = r.hardware;
  std::snprintf(line, sizeof(line),
                "%s estimate (O%d, %s): %.0f MHz, %.0f int8 MACs/cycle, %.0f vector elements/cycle, %.1f GB/s DDR, %.0f KiB SRAM\n",
                r.march.c_str(), r.optimize_level, r.compile_mode.c_str(), hw.clock_mhz, hw.int8_macs_per_cycle, hw.vector_elements_per_cycle, hw.ddr_gbytes_per_second, hw.sram_kib);
  os << line;
  std::snprintf(line, sizeof(line), "model latency %.4f ms (BPU segments only), %.1f FPS, %.3f GMACs, DDR loaded %.3f MB, stored %.3f MB per frame\n",
                r.latency_ms, r.latency_ms > 0 ? 1000.0 / r.latency_ms : 0.0, r.macs / 1e9, r.ddr_load_bytes / 1e6, r.ddr_store_bytes / 1e6);
  os << line;
  if (r.cpu_segments) os << "(" << r.cpu_segments << " CPU segment(s) not estimated: they run on the host CPU)\n";
  const bool measured = r.measured_runs > 0;
  std::snprintf(line, sizeof(line), "  %-8s %-12s %-14s %-12s %s%-20s %s\n", "Segment", "Instructions", "MACs", "Latency ms",
                measured ? "Host ms      " : "", "DDR MB (load/store)", "memory plan: DDR / SRAM / staging KiB, tensors on chip");
  os << line;
  for (size_t k = 0; k < r.segments.size(); ++k) {
    const auto& s = r.segments[k];
    const SegmentMemory& mem = r.memory[k];
    char io[64];
    std::snprintf(io, sizeof(io), "%.3f / %.3f", s.ddr_load_bytes / 1e6, s.ddr_store_bytes / 1e6);
    char host[32] = "";
    if (measured) std::snprintf(host, sizeof(host), "%-12.4f ", k < r.host_ms_bpu.size() ? r.host_ms_bpu[k] : 0.0);
    std::snprintf(line, sizeof(line), "  BPU %-4u %-12zu %-14.0f %-12.4f %s%-20s %.1f / %.1f / %.1f, %d\n", s.index, s.instructions.size(),
                  s.macs, s.milliseconds(r.hardware), host, io, mem.ddr_bytes / 1024.0, mem.sram_window_bytes / 1024.0,
                  mem.weight_staging_bytes / 1024.0, mem.on_chip_tensors);
    os << line;
  }
  for (size_t k = 0; measured && k < r.host_ms_cpu.size(); ++k) {
    std::snprintf(line, sizeof(line), "  CPU %-4zu %-12s %-14s %-12s %-12.4f (host CPU)\n", k, "-", "-", "-", r.host_ms_cpu[k]);
    os << line;
  }
  if (measured) {
    std::snprintf(line, sizeof(line), "Host ms: the simulator's mean time on this machine over %d runs on zero inputs "
                  "(perf --measure), beside the bayes estimate\n", r.measured_runs);
    os << line;
  }
  if (!r.per_layer) {
    os << "per-layer detail: compile with compiler_parameters.debug: true\n";
    return os.str();
  }
  os << "per layer:\n";
  for (const auto& s : r.segments) {
    for (const auto& c : s.instructions) {
      std::snprintf(line, sizeof(line), "  BPU %-3u %-9s %-40s MACs %-12.0f cycles %-10.0f (compute %.0f, memory %.0f)\n", s.index,
                    c.opcode.c_str(), c.node.c_str(), c.macs, c.cycles, c.compute_cycles, c.memory_cycles);
      os << line;
    }
  }
  return os.str();
}

nlohmann::json perf_json(const PerfReport& r) {
  nlohmann::json j;
  j["optimize_level"] = r.optimize_level;
  j["compile_mode"] = r.compile_mode;
  j["hardware"] = {{"clock_mhz", r.hardware.clock_mhz}, {"int8_macs_per_cycle", r.hardware.int8_macs_per_cycle},
                   {"vector_elements_per_cycle", r.hardware.vector_elements_per_cycle},
                   {"ddr_gbytes_per_second", r.hardware.ddr_gbytes_per_second}, {"sram_kib", r.hardware.sram_kib}};
  j["latency_ms"] = r.latency_ms;
  j["fps"] = r.latency_ms > 0 ? 1000.0 / r.latency_ms : 0.0;
  j["macs"] = r.macs;
  j["ddr_load_bytes"] = r.ddr_load_bytes;
  j["ddr_store_bytes"] = r.ddr_store_bytes;
  j["segments"] = nlohmann::json::array();
  for (size_t k = 0; k < r.segments.size(); ++k) {
    const auto& s = r.segments[k];
    const SegmentMemory& mem = r.memory[k];
    j["segments"].push_back({{"index", s.index}, {"instructions", s.instructions.size()}, {"macs", s.macs},
                             {"latency_ms", s.milliseconds(r.hardware)}, {"ddr_load_bytes", s.ddr_load_bytes},
                             {"ddr_store_bytes", s.ddr_store_bytes},
                             {"memory_plan", {{"ddr_arena_bytes", mem.ddr_bytes}, {"sram_window_bytes", mem.sram_window_bytes},
                                              {"weight_staging_bytes", mem.weight_staging_bytes},
                                              {"tensors_on_chip", mem.on_chip_tensors}}}});
  }
  return j;
}

std::string perf_svg(const CompiledModel& m, const PerfReport& r) {
  std::ostringstream os;
  const int width = 260, height = 70, gap = 30;
  int count = 0;
  for (const auto& s : m.steps) count += s.kind == StepKind::RunBpu || s.kind == StepKind::RunCpu;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width + 40 << "\" height=\"" << count * (height + gap) + 20
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  int y = 10;
  for (const auto& s : m.steps) {
    if (s.kind != StepKind::RunBpu && s.kind != StepKind::RunCpu) continue;
    const bool bpu = s.kind == StepKind::RunBpu;
    std::string title, detail;
    if (bpu) {
      const auto& c = r.segments.at(s.segment);
      char buf[160];
      std::snprintf(buf, sizeof(buf), "%zu instructions, %.4f ms, %.2f GMACs", c.instructions.size(), c.milliseconds(r.hardware), c.macs / 1e9);
      title = "BPU segment " + std::to_string(s.segment);
      detail = buf;
    } else {
      title = "CPU segment " + std::to_string(s.segment);
      detail = std::to_string(m.cpu_segments.at(s.segment).onnx.size()) + " bytes of ONNX, float32";
    }
    os << "  <rect x=\"20\" y=\"" << y << "\" width=\"" << width << "\" height=\"" << height << "\" rx=\"8\" fill=\""
       << (bpu ? "#2a9d8f" : "#9e9e9e") << "\"/>\n";
    os << "  <text x=\"32\" y=\"" << y + 28 << "\" fill=\"white\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
    os << "  <text x=\"32\" y=\"" << y + 50 << "\" fill=\"white\">" << xml_escape(detail) << "</text>\n";
    if (y + height + gap < count * (height + gap) + 10) {
      os << "  <line x1=\"150\" y1=\"" << y + height << "\" x2=\"150\" y2=\"" << y + height + gap << "\" stroke=\"#555\" stroke-width=\"2\"/>\n";
    }
    y += height + gap;
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace bpu
