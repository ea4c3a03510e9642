// Loader validation: checks a deserialized CompiledModel completely before anything runs — values, schedule
// data flow, buffer ranges, every decoded instruction against its buffers and the constant pool, and every
// CPU segment's ONNX subgraph (ops, shapes, inputs and outputs against the host values).
// A model that passes cannot make the simulator read or write out of bounds.
#pragma once

#include <vector>

#include <memory>

#include "arch/bayes/isa.h"
#include "lower/compiled_model.h"
#include "runtime/cpu/cpu_graph.h"

namespace bpu {

constexpr uint64_t kMaxArenaBytes = uint64_t(256) << 20;

struct ValidatedModel {
  std::vector<std::vector<bayes::Instruction>> programs;  // decoded program per BPU segment
  std::vector<std::shared_ptr<const cpu::CpuGraph>> cpu_graphs;  // parsed and shape-checked CPU segments
};

// Throws Error(Artifact) naming `path` and the offending part. The .bin's march must be one the simulator runs
// (every known march: they share the ISA); a non-empty `expected_march` must equal it (both are named).
ValidatedModel validate_model(const CompiledModel& model, const std::string& path, const std::string& expected_march);

}  // namespace bpu
