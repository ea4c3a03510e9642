// `bpu-mapper perf`'s HTML page (hb_perf's report): one self-contained file, no scripts, fonts or links to fetch —
// model summary, the segments drawn in execution order (BPU and CPU coloured, with a legend), the per-segment
// table, the per-layer table (compiler_parameters.debug), and the placement and accuracy tables when makertbin's
// report JSON is given.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/perf_report.h"

namespace bpu {

// `report`: the parsed <prefix>_report.json beside the .bin, or null; `note` is shown when it could not be read.
std::string perf_html(const CompiledModel& model, const PerfReport& r, const std::string& model_name,
                      const nlohmann::json& report, const std::string& note);

}  // namespace bpu
