// The self-contained HTML page of `bpu-mapper perf` (report/perf_html.h).

#include "report/perf_html.h"

#include <cstdio>
#include <sstream>

namespace bpu {

namespace {

std::string num(double v, const char* format = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string json_text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_float()) return num(j.get<double>(), "%.6f");
  if (j.is_null()) return "-";
  return j.dump();
}

// A table from rows of strings; `device_column` >= 0 colours each row by the BPU/CPU value in that column.
std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows, int device_column = -1) {
  std::ostringstream os;
  os << "<table>";
  if (!head.empty()) {
    os << "<tr>";
    for (const auto& h : head) os << "<th>" << xml_escape(h) << "</th>";
    os << "</tr>";
  }
  os << "\n";
  for (const auto& row : rows) {
    std::string cls;
    if (device_column >= 0 && device_column < static_cast<int>(row.size())) cls = row[device_column] == "BPU" ? " class=\"bpu\"" : " class=\"cpu\"";
    os << "<tr" << cls << ">";
    for (const auto& c : row) os << "<td>" << xml_escape(c) << "</td>";
    os << "</tr>\n";
  }
  os << "</table>\n";
  return os.str();
}

std::string summary_section(const CompiledModel& m, const PerfReport& r, const std::string& name) {
  const auto& hw = r.hardware;
  std::vector<std::vector<std::string>> rows = {
      {"model", name},
      {"source ONNX", m.source_model},
      {"march / compiler", m.march + " / bpu-mapper " + m.compiler_version},
      {"optimize level / compile mode", "O" + std::to_string(r.optimize_level) + " / " + r.compile_mode},
      {"latency (BPU segments)", num(r.latency_ms, "%.4f") + " ms"},
      {"FPS", num(r.latency_ms > 0 ? 1000.0 / r.latency_ms : 0.0, "%.1f")},
      {"GMACs", num(r.macs / 1e9, "%.4f")},
      {"DDR per frame", num(r.ddr_load_bytes / 1e6, "%.3f") + " MB loaded, " + num(r.ddr_store_bytes / 1e6, "%.3f") + " MB stored"},
      {"segments", std::to_string(r.segments.size()) + " BPU, " + std::to_string(r.cpu_segments) + " CPU (CPU not estimated)"},
      {"hardware", num(hw.clock_mhz, "%.0f") + " MHz, " + num(hw.int8_macs_per_cycle, "%.0f") + " int8 MACs/cycle, " +
                       num(hw.ddr_gbytes_per_second, "%.1f") + " GB/s DDR, " + num(hw.sram_kib, "%.0f") + " KiB SRAM"}};
  std::string io;
  for (const auto& t : m.inputs) io += (io.empty() ? "" : ", ") + t.name + " " + shape_to_string(t.shape);
  rows.push_back({"inputs", io});
  io.clear();
  for (const auto& t : m.outputs) io += (io.empty() ? "" : ", ") + t.name + " " + shape_to_string(t.shape);
  rows.push_back({"outputs", io});
  return "<h2>Summary</h2>\n" + table({}, rows);
}

std::string segment_section(const PerfReport& r) {
  std::vector<std::vector<std::string>> rows;
  for (size_t k = 0; k < r.segments.size(); ++k) {
    const auto& s = r.segments[k];
    const auto& mem = r.memory[k];
    rows.push_back({"BPU " + std::to_string(s.index), std::to_string(s.instructions.size()), num(s.macs, "%.0f"),
                    num(s.milliseconds(r.hardware), "%.4f"), num(s.ddr_load_bytes / 1e6, "%.3f"), num(s.ddr_store_bytes / 1e6, "%.3f"),
                    num(mem.ddr_bytes / 1024.0, "%.1f"), num(mem.sram_window_bytes / 1024.0, "%.1f"), std::to_string(mem.on_chip_tensors)});
  }
  return "<h2>Segments</h2>\n" + table({"segment", "instructions", "MACs", "latency ms", "DDR load MB", "DDR store MB",
                                         "DDR arena KiB", "SRAM window KiB", "tensors on chip"}, rows);
}

std::string layer_section(const PerfReport& r) {
  if (!r.per_layer) return "<h2>Layers</h2>\n<p>Per-layer detail: compile with <code>compiler_parameters.debug: true</code>.</p>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.segments) {
    for (const auto& c : s.instructions) {
      rows.push_back({"BPU " + std::to_string(s.index), c.opcode, c.node, num(c.macs, "%.0f"), num(c.cycles, "%.0f"),
                      num(c.compute_cycles, "%.0f"), num(c.memory_cycles, "%.0f"), num(c.ddr_load_bytes, "%.0f"),
                      num(c.ddr_store_bytes, "%.0f")});
    }
  }
  return "<h2>Layers</h2>\n" + table({"segment", "opcode", "ONNX node", "MACs", "cycles", "compute cycles", "memory cycles",
                                       "DDR load B", "DDR store B"}, rows);
}

std::string report_sections(const nlohmann::json& report, const std::string& note) {
  if (!note.empty()) return "<h2>Placement and accuracy</h2>\n<p>" + xml_escape(note) + "</p>\n";
  if (report.is_null()) return "<h2>Placement and accuracy</h2>\n<p>No report JSON beside the .bin.</p>\n";
  std::ostringstream os;
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : report.value("placement", nlohmann::json::object()).value("nodes", nlohmann::json::array())) {
    rows.push_back({json_text(n.value("name", "")), json_text(n.value("op_type", "")), json_text(n.value("device", "")),
                    json_text(n.value("subgraph", "")), json_text(n.value("reason", ""))});
  }
  os << "<h2>Placement</h2>\n" << table({"node", "op", "device", "subgraph", "reason"}, rows, 2);
  const nlohmann::json acc = report.value("accuracy", nlohmann::json::object());
  rows.clear();
  for (const auto& n : acc.value("nodes", nlohmann::json::array())) {
    rows.push_back({json_text(n.value("node", "")), json_text(n.value("op_type", "")), json_text(n.value("device", "")),
                    json_text(n.value("cosine", nlohmann::json())), json_text(n.value("threshold", nlohmann::json())),
                    json_text(n.value("input_dtype", "")), json_text(n.value("output_dtype", ""))});
  }
  os << "<h2>Accuracy per node</h2>\n<p>Sample: " << xml_escape(json_text(acc.value("sample", ""))) << "</p>\n"
     << table({"node", "op", "device", "cosine vs float", "threshold", "input dtype", "output dtype"}, rows, 2);
  rows.clear();
  for (const auto& o : acc.value("outputs", nlohmann::json::array())) {
    const auto f = o.value("vs_float", nlohmann::json::object()), q = o.value("vs_qat", nlohmann::json::object());
    rows.push_back({json_text(o.value("output", "")), json_text(f.value("cosine", nlohmann::json())), json_text(f.value("l1", nlohmann::json())),
                    json_text(f.value("l2", nlohmann::json())), json_text(f.value("chebyshev", nlohmann::json())),
                    json_text(q.value("identical", nlohmann::json())), json_text(q.value("max_lsb", nlohmann::json()))});
  }
  os << "<h2>Accuracy per output</h2>\n"
     << table({"output", "cosine", "L1", "L2", "Chebyshev", "identical vs QAT", "max LSB vs QAT"}, rows);
  return os.str();
}

const char* kStyle =
    "body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    "th{background:#eee}tr.bpu td{background:#d8f0ec}tr.cpu td{background:#ececec}"
    ".legend span{display:inline-block;width:14px;height:14px;margin:0 6px 0 16px;vertical-align:middle;border-radius:3px}";

}  // namespace

std::string perf_html(const CompiledModel& m, const PerfReport& r, const std::string& model_name, const nlohmann::json& report,
                      const std::string& note) {
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bpu-mapper perf: " << xml_escape(model_name)
     << "</title>\n<style>" << kStyle << "</style></head>\n<body>\n<h1>bpu-mapper perf: " << xml_escape(model_name) << "</h1>\n";
  os << summary_section(m, r, model_name);
  os << "<h2>Model structure</h2>\n<p class=\"legend\">Execution order, top to bottom.<span style=\"background:#2a9d8f\">"
        "</span>BPU segment<span style=\"background:#9e9e9e\"></span>CPU segment (host, float32)</p>\n";
  os << perf_svg(m, r);
  os << segment_section(r) << layer_section(r) << report_sections(report, note);
  os << "</body></html>\n";
  return os.str();
}

}  // namespace bpu
