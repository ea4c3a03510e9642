// `run --profile-path` (hrt_model_exec's profile): a run's timed entries (runtime/model_runner.h ProfileEntry)
// averaged over several runs, written as CSV and JSON with each entry's share of the whole, and summed per segment.
#pragma once

#include <string>
#include <vector>

#include "runtime/model_runner.h"

namespace bpu {

// The per-entry mean over `runs` (each the entries of one run, in the same order: every run executes the same
// steps). Throws Error(Internal) when the runs differ in shape.
std::vector<ProfileEntry> mean_profile(const std::vector<std::vector<ProfileEntry>>& runs);

// CSV: index, device, segment, op, node, time_ms, share (of the total), one row per entry.
std::string profile_csv(const std::vector<ProfileEntry>& entries);
// JSON: {"total_ms", "runs", "segments": [{device, segment, time_ms, share}], "entries": [{... as the CSV}]}.
std::string profile_json(const std::vector<ProfileEntry>& entries, int runs);
// The per-segment totals as a text table (BPU and CPU segments in execution order, host steps together).
std::string format_profile_summary(const std::vector<ProfileEntry>& entries);

}  // namespace bpu
