// bpu-mapper's public library API: compile an hb_mapper-style config into a CompiledModel (and a .bin), and
// run a .bin. The CLI in tools/ is a thin front end over these calls; tests use them directly.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "ir/graph.h"
#include "lower/compiled_model.h"
#include "partition/partition.h"
#include "report/placement_report.h"

namespace bpu {

extern const char* const kCompilerVersion;

struct CompileResult {
  CompiledModel model;
  ir::Graph graph;  // after quant extraction and fusion
  PartitionResult partition;
  std::vector<PlacementRow> placement;
  double seconds = 0;
};

// Runs config -> import -> quant -> passes -> partition -> lower. Writes nothing.
CompileResult compile_model(const MapperConfig& config);

// compile_model, then writes <working_dir>/<prefix>.bin atomically. Returns the result; the path is
// config.output_bin_path().
CompileResult makertbin(const MapperConfig& config);

}  // namespace bpu
