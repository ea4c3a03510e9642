// Report stage: the node placement table users read (hb_mapper's Node / ON / Subgraph / Type plus the
// reason for every decision) and the summary line, as text for the terminal and the log.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "partition/partition.h"

namespace bpu {

struct PlacementRow {
  std::string node;
  std::string device;
  std::string subgraph;  // BPU segment ordinal ("0", "1", ...) or "-" for CPU
  std::string op_type;
  Reason reason_code{};
  std::string reason;
  std::string cosine;  // calibrated float models: the node output's cosine, fake-quant vs float, on the first sample
};

// One row per compute node in model order, including activations fused into their producer.
std::vector<PlacementRow> placement_rows(const ir::Graph& graph, const PartitionResult& partition);
std::string format_placement_table(const std::vector<PlacementRow>& rows);
std::string format_placement_summary(const std::vector<PlacementRow>& rows, const PartitionResult& partition);

// <prefix>_placement.json: summary, one entry per node with its reason, segments, and every weight scale the
// compiler synthesized. Schema in docs/cli.md.
nlohmann::json placement_json(const ir::Graph& graph, const PartitionResult& partition,
                              const std::vector<PlacementRow>& rows, const std::string& march);

}  // namespace bpu
