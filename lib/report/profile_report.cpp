// Profile averaging, CSV/JSON and the per-segment summary.

#include "report/profile_report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

#include "common/error.h"
#include "report/csv.h"

namespace bpu {

namespace {

double total_seconds(const std::vector<ProfileEntry>& entries) {
  double t = 0;
  for (const auto& e : entries) t += e.seconds;
  return t;
}

struct SegmentTotal {
  std::string device;
  uint32_t segment = 0;
  double seconds = 0;
};

// Consecutive entries of one segment summed, in execution order (host steps: one total at the end).
std::vector<SegmentTotal> segment_totals(const std::vector<ProfileEntry>& entries) {
  std::vector<SegmentTotal> out;
  SegmentTotal host{"host", 0, 0};
  for (const auto& e : entries) {
    if (e.device == "host") {
      host.seconds += e.seconds;
      continue;
    }
    if (out.empty() || out.back().device != e.device || out.back().segment != e.segment) out.push_back({e.device, e.segment, 0});
    out.back().seconds += e.seconds;
  }
  out.push_back(host);
  return out;
}

}  // namespace

std::vector<ProfileEntry> mean_profile(const std::vector<std::vector<ProfileEntry>>& runs) {
  if (runs.empty()) return {};
  std::vector<ProfileEntry> mean = runs[0];
  for (size_t r = 1; r < runs.size(); ++r) {
    if (runs[r].size() != mean.size()) throw Error(ExitCode::Internal, "profile runs executed different steps");
    for (size_t i = 0; i < mean.size(); ++i) mean[i].seconds += runs[r][i].seconds;
  }
  for (auto& e : mean) e.seconds /= static_cast<double>(runs.size());
  return mean;
}

std::string profile_csv(const std::vector<ProfileEntry>& entries) {
  const double total = total_seconds(entries);
  std::ostringstream os;
  os << "index,device,segment,op,node,time_ms,share\n";
  char nums[96];
  for (size_t i = 0; i < entries.size(); ++i) {
    const ProfileEntry& e = entries[i];
    std::snprintf(nums, sizeof(nums), "%.6f,%.6f", e.seconds * 1e3, total > 0 ? e.seconds / total : 0.0);
    os << i << ',' << e.device << ',' << e.segment << ',' << csv_field(e.op) << ',' << csv_field(e.node) << ',' << nums << '\n';
  }
  return os.str();
}

std::string profile_json(const std::vector<ProfileEntry>& entries, int runs) {
  const double total = total_seconds(entries);
  nlohmann::json j;
  j["total_ms"] = total * 1e3;
  j["runs"] = runs;
  j["segments"] = nlohmann::json::array();
  for (const auto& s : segment_totals(entries)) {
    j["segments"].push_back({{"device", s.device}, {"segment", s.segment}, {"time_ms", s.seconds * 1e3},
                             {"share", total > 0 ? s.seconds / total : 0.0}});
  }
  j["entries"] = nlohmann::json::array();
  for (const auto& e : entries) {
    j["entries"].push_back({{"device", e.device}, {"segment", e.segment}, {"op", e.op}, {"node", e.node},
                            {"time_ms", e.seconds * 1e3}, {"share", total > 0 ? e.seconds / total : 0.0}});
  }
  return j.dump(2) + "\n";
}

std::string format_profile_summary(const std::vector<ProfileEntry>& entries) {
  const double total = total_seconds(entries);
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof(line), "  %-16s %-12s %s\n", "Segment", "Time ms", "Share");
  os << line;
  for (const auto& s : segment_totals(entries)) {
    const std::string name = s.device == "host" ? "host steps" : s.device + " " + std::to_string(s.segment);
    std::snprintf(line, sizeof(line), "  %-16s %-12.4f %.1f %%\n", name.c_str(), s.seconds * 1e3, total > 0 ? 100 * s.seconds / total : 0.0);
    os << line;
  }
  return os.str();
}

}  // namespace bpu
