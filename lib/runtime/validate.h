// Loader validation: checks a deserialized CompiledModel completely before anything runs — values, schedule
// data flow, buffer ranges, and every decoded instruction against its buffers and the constant pool.
// A model that passes cannot make the simulator read or write out of bounds.
#pragma once

#include <vector>

#include "arch/bayes/isa.h"
#include "lower/compiled_model.h"

namespace bpu {

constexpr uint64_t kMaxArenaBytes = uint64_t(256) << 20;

struct ValidatedModel {
  std::vector<std::vector<bayes::Instruction>> programs;  // decoded program per BPU segment
};

// Throws Error(Artifact) naming `path` and the offending part. `expected_march` is the simulator's march.
ValidatedModel validate_model(const CompiledModel& model, const std::string& path, const std::string& expected_march);

}  // namespace bpu
