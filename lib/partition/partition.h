// Partition stage: decides for every compute node whether it runs on the BPU or the CPU, records a stable
// reason code and a sentence for the decision, and groups nodes into segments.
// Order of decisions: quantization context, then the bayes constraint table (lib/arch/bayes/constraints).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace bpu {

enum class Device { Bpu, Cpu };
const char* device_name(Device d);

struct Placement {
  Device device = Device::Cpu;
  int segment = -1;
  std::string reason_code;  // e.g. BPU_QUANTIZED, NO_QUANT_INPUT, MARCH_CONSTRAINT
  std::string reason;       // the sentence users read
  bool high_precision_output = false;  // Conv whose output stays int32 (no output fake quant)
};

struct Segment {
  Device device = Device::Bpu;
  std::vector<int> nodes;  // indices into graph.nodes, topological order
};

struct PartitionResult {
  std::vector<Placement> placements;  // parallel to graph.nodes
  std::vector<Segment> segments;      // in execution order
  int count(Device d) const;
  int segment_count(Device d) const;
};

PartitionResult partition_graph(const ir::Graph& graph);

}  // namespace bpu
