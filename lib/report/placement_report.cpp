// Placement table formatting.

#include "report/placement_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace bpu {

std::vector<PlacementRow> placement_rows(const ir::Graph& g, const PartitionResult& part) {
  std::vector<int> bpu_ordinal(part.segments.size(), -1);
  int next = 0;
  for (size_t s = 0; s < part.segments.size(); ++s) {
    if (part.segments[s].device == Device::Bpu) bpu_ordinal[s] = next++;
  }
  std::vector<PlacementRow> rows;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    const Placement& p = part.placements[i];
    std::string sub = p.device == Device::Bpu ? std::to_string(bpu_ordinal[p.segment]) : "-";
    rows.push_back({n.name, device_name(p.device), sub, n.op_type, p.reason_code, p.reason, ""});
    for (const auto& folded : n.folded_nodes) {
      const ir::Attribute* as = folded.attr("_bpu_folded_as");  // set by passes other than the BN fold
      rows.push_back({folded.name, device_name(p.device), sub, folded.op_type, Reason::Folded,
                      "folded into '" + n.name + "' " + (as ? as->s : "as a per-channel weight scale and bias"), ""});
    }
  }
  return rows;
}

std::string format_placement_table(const std::vector<PlacementRow>& rows) {
  size_t wn = 4, wt = 4, ws = 8;
  for (const auto& r : rows) {
    wn = std::max(wn, r.node.size());
    wt = std::max(wt, r.op_type.size());
    ws = std::max(ws, r.subgraph.size());
  }
  bool with_cosine = false;
  for (const auto& r : rows) with_cosine |= !r.cosine.empty();
  std::ostringstream os;
  auto line = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d,
                  const std::string& cos, const std::string& e) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%%-%zus  %%-3s  %%-%zus  %%-%zus  %%s%%s\n", wn, ws, wt);
    char out[4096];
    const std::string cosine_cell = with_cosine ? (cos + std::string(cos.size() < 10 ? 10 - cos.size() : 0, ' ') + "  ") : "";
    std::snprintf(out, sizeof(out), buf, a.c_str(), b.c_str(), c.c_str(), d.c_str(), cosine_cell.c_str(), e.c_str());
    os << out;
  };
  line("Node", "ON", "Subgraph", "Type", "Cosine", "Reason");
  for (const auto& r : rows) {
    line(r.node, r.device, r.subgraph, r.op_type, r.cosine, std::string(reason_name(r.reason_code)) + ": " + r.reason);
  }
  return os.str();
}

std::string format_placement_summary(const std::vector<PlacementRow>& rows, const PartitionResult& part) {
  int bpu = 0;
  for (const auto& r : rows) bpu += r.device == "BPU";
  int total = static_cast<int>(rows.size());
  char buf[256];
  std::snprintf(buf, sizeof(buf), "BPU nodes: %d (%.1f%%), CPU nodes: %d (%.1f%%), BPU segments: %d, CPU segments: %d",
                bpu, total ? 100.0 * bpu / total : 0.0, total - bpu, total ? 100.0 * (total - bpu) / total : 0.0,
                part.segment_count(Device::Bpu), part.segment_count(Device::Cpu));
  return buf;
}

nlohmann::json placement_json(const ir::Graph& g, const PartitionResult& part, const std::vector<PlacementRow>& rows,
                              const std::string& march) {
  nlohmann::json j;
  j["model"] = g.source_path;
  j["march"] = march;
  int bpu = 0;
  for (const auto& r : rows) bpu += r.device == "BPU";
  j["summary"] = {{"nodes", rows.size()},
                  {"bpu_nodes", bpu},
                  {"cpu_nodes", static_cast<int>(rows.size()) - bpu},
                  {"bpu_segments", part.segment_count(Device::Bpu)},
                  {"cpu_segments", part.segment_count(Device::Cpu)}};
  j["nodes"] = nlohmann::json::array();
  for (const auto& r : rows) {
    j["nodes"].push_back({{"name", r.node}, {"op_type", r.op_type}, {"device", r.device}, {"subgraph", r.subgraph},
                          {"reason_code", reason_name(r.reason_code)}, {"reason", r.reason}});
  }
  j["segments"] = nlohmann::json::array();
  for (size_t s = 0; s < part.segments.size(); ++s) {
    nlohmann::json nodes = nlohmann::json::array();
    for (int i : part.segments[s].nodes) nodes.push_back(g.nodes[i].name);
    j["segments"].push_back({{"index", s}, {"device", device_name(part.segments[s].device)}, {"nodes", nodes}});
  }
  j["synthesized_scales"] = nlohmann::json::array();
  for (const auto& [name, t] : g.tensors) {
    if (t.quant && t.quant->synthesized) j["synthesized_scales"].push_back({{"tensor", name}, {"scales", t.quant->scales}});
  }
  return j;
}

}  // namespace bpu
