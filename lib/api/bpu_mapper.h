// bpu-mapper's public library API: compile an hb_mapper-style config into a CompiledModel (and a .bin),
// check a model's placement without a config (hb_mapper checker's role), and run a .bin (runtime/). The CLI in
// tools/ is a thin front end over these calls; tests use them directly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <optional>

#include "api/calibration.h"
#include "config/config.h"
#include "ir/graph.h"
#include "lower/compiled_model.h"
#include "onnx_import/onnx_import.h"
#include "partition/partition.h"
#include "report/accuracy.h"
#include "report/perf_report.h"
#include "report/placement_report.h"

namespace bpu {

extern const char* const kCompilerVersion;

struct CompileResult {
  CompiledModel model;
  ir::Graph graph;  // after quant extraction and fusion (after makertbin, constants of >= 4096 values hold no values)
  PartitionResult partition;
  std::vector<PlacementRow> placement;
  std::vector<std::string> synthesized_weights;  // weight tensors whose scales the compiler invented
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, double>> phase_seconds;  // import, quant, passes, partition, lower, ...
  AccuracyReport accuracy;                                     // makertbin only
  std::string calibrated_onnx;                  // a calibrated float model: the fake-quant model that was compiled
  std::optional<CalibrationReport> calibration; // a calibrated float model: methods, scores, every tensor's scale
  PerfReport perf;                                             // makertbin only
  double seconds = 0;
};

// The importer's view of input_name / input_shape / input_batch.
ImportOptions import_options(const MapperConfig& config);

// Checks the config against the model's graph inputs (names, input_shape, input_batch, one cal_data_dir per
// input; every problem in one Error(Config)), then runs import -> quant -> passes -> partition -> lower.
// Writes nothing.
CompileResult compile_model(const MapperConfig& config);

// compile_model and the accuracy sample (cal_data_dir or seeded random data), then, as one transaction
// (output_transaction.h): <prefix>.bin, <prefix>_placement.json, the staged models
// <prefix>_{original_float,optimized_float,quantized}_model.onnx, the accuracy run on the staged .bin and
// <prefix>_report.json (schema: docs/report_json.md) are written into a private folder inside working_dir and
// moved into working_dir only when all of them succeeded. On any failure nothing new remains.
CompileResult makertbin(const MapperConfig& config);

// The checker: the same pipeline with default settings (no user placement), for a bare ONNX file.
CompileResult check_model(const std::string& onnx_path, const std::string& march,
                          const std::map<std::string, Shape>& input_shapes);

}  // namespace bpu
