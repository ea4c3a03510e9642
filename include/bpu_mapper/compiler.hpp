// bpu-mapper's public C++ compiler API (bpu_mapper::compiler): compile an hb_mapper-style YAML config into a
// .bin (makertbin), check where a bare ONNX model's nodes would run (checker), and verify a .bin against its QAT
// ONNX tensor by tensor (verify). Only standard types appear here; failures throw bpu_mapper::Error.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bpu_mapper/model.hpp"

namespace bpu_mapper {

// One compute node: where it runs and why (the placement table of makertbin and checker).
struct PlacementRow {
  std::string node, op_type, device, subgraph, reason_code, reason;
};
// makertbin's accuracy tables on one sample: per node vs the float model, per output the distances.
struct NodeAccuracy {
  std::string node, op_type, device, tensor;
  double cosine = 0, threshold = 0;
};
struct OutputAccuracy {
  std::string output;
  double cosine = 0, l1 = 0, l2 = 0, chebyshev = 0;  // vs the float model
  double cosine_vs_qat = 0, identical_vs_qat = 0, max_lsb_vs_qat = 0;
};

struct CompileResult {
  std::string bin_path;          // "" for check()
  std::string report_json_path;  // <prefix>_report.json ("" for check())
  std::vector<PlacementRow> placement;
  std::string placement_table;   // the text makertbin / checker print
  std::string placement_summary; // "BPU nodes: ..., CPU nodes: ..., BPU segments: ..."
  std::vector<NodeAccuracy> node_accuracy;
  std::vector<OutputAccuracy> output_accuracy;
  std::string accuracy_sample;   // where the accuracy input came from
  std::string accuracy_node_table;     // per node, as makertbin prints it
  std::string accuracy_output_tables;  // per output
  std::string accuracy_tables;         // both
  std::string perf_text;               // the BPU estimate table
  std::string calibration_method;      // a calibrated float model: the method used ("" for a QAT model)
  std::vector<std::pair<std::string, double>> calibration_scores;  // default/mix: candidate -> output cosine
  std::vector<std::string> warnings;    // config warnings and compile warnings
  std::vector<std::string> defaults;    // config fields that took their default
  std::vector<std::pair<std::string, double>> phase_seconds;
  double seconds = 0;
};

// makertbin: reads the YAML (relative paths resolved against its folder), compiles, and writes the .bin, the
// placement JSON, the staged ONNX models and the report JSON into working_dir as one transaction.
// Logs the config's warnings, the defaults it took and its march/model/working_dir before compiling.
BPU_MAPPER_API CompileResult compile(const std::string& config_path);
// checker: the placement of a bare ONNX model with default settings, writing nothing. `input_shapes` maps input
// names to shapes for dynamic inputs.
BPU_MAPPER_API CompileResult check(const std::string& onnx_path, const std::map<std::string, std::vector<int64_t>>& input_shapes = {},
                    const std::string& march = "bayes");

struct TensorAgreement {
  std::string tensor, node;
  double cosine = 0, max_diff = 0, max_lsb = 0, identical = 0;
  bool within = true;
  // verify(..., exact = true), quantized tensors (exact set): the fields above compare the .bin with the exact
  // float64 run; codes (elements) of the .bin and of the float32 QAT reference that differ from the exact codes.
  bool exact = false;
  int64_t elements = 0, bin_codes_vs_exact = 0, qat_codes_vs_exact = 0;
  double bin_max_lsb_vs_exact = 0, qat_max_lsb_vs_exact = 0;
};
struct VerifyResult {
  bool passed = false;
  std::string first_diverging_node;  // "" when passed
  std::vector<TensorAgreement> outputs, nodes;
  std::string text;                  // `bpu-mapper verify`'s report
};
// Runs the .bin and its QAT ONNX on `inputs` and compares every tensor both computed. `input_shapes` defaults
// to the .bin's; `isolated` feeds each reference node the .bin's own inputs (docs/cli.md, verify). `exact` also
// runs the QAT graph in float64 and judges the .bin against it (docs/numerics.md §10); not with `isolated`
// (error 2).
BPU_MAPPER_API VerifyResult verify(const std::string& bin_path, const std::string& onnx_path, const TensorMap& inputs,
                    double tolerance_lsb = 1.0, bool isolated = false,
                    const std::map<std::string, std::vector<int64_t>>& input_shapes = {}, const std::string& model_name = "",
                    bool exact = false);

// `bpu-mapper infer` (hb_mapper infer / hrt_bin_dump): every tensor of a run, for the .bin and for the QAT ONNX.
struct LayerDumpRow {
  std::string tensor, node;     // ONNX tensor name; the QAT node producing it ("" if unknown or a model input)
  std::vector<int64_t> shape;
  std::string bin_file, onnx_file;  // relative to the output folder ("bin/<name>.npy", "onnx/<name>.npy"), "" if absent
  bool compared = false;            // both sides present with the same size
  double cosine = 0, max_diff = 0;
};
struct InferResult {
  std::vector<LayerDumpRow> rows;  // QAT model order, then tensors only the .bin has
  std::string index_path;          // <output_dir>/layer_index.csv
};
// Runs the .bin `bin_path` (model `model_name` of a packed file) and/or the QAT ONNX `onnx_path` ("" skips a side;
// not both) on `inputs` (the .bin's runtime inputs when it is given; the QAT side then gets their documented
// preprocessing, as in verify) and writes every tensor as float32 .npy into <output_dir>/bin/ and
// <output_dir>/onnx/, a pair's two files under the same name, plus layer_index.csv (docs/cli.md, infer). Nothing
// is written when a model or input is refused.
BPU_MAPPER_API InferResult infer(const std::string& bin_path, const std::string& onnx_path, const TensorMap& inputs,
                                 const std::string& output_dir, const std::string& model_name = "");

// A march's operator table (docs/supported_ops.md for bayes, docs/supported_ops_<march>.md for bayes-e and
// bernoulli2), as `bpu-mapper --supported-ops [MARCH]` prints it. Error(2) for an unknown march.
BPU_MAPPER_API std::string supported_ops_markdown(const std::string& march = "bayes");

// hb_model_modifier: removes boundary nodes of an existing .bin (`<input>_HzQuantize`, `<output>_HzDequantize` by
// name, or every one of a type "Quantize" / "Dequantize"), giving integer inputs/outputs with their scales, and
// writes the result to out_path (atomically). Returns the names removed; error 2 for a name or type it cannot remove.
BPU_MAPPER_API std::vector<std::string> modify_model(const std::string& bin_path, const std::vector<std::string>& remove_names,
                                                     const std::vector<std::string>& remove_types, const std::string& out_path);

// hb_pack: writes the models of `bin_paths` (2 to 64 plain .bin files) into one packed file at out_path
// (atomically), each under its file name without .bin; `run --model-name` / Model::load(path, march, name) pick
// one. Returns the names in order. Error(2) for a repeated or invalid name or a file that is already a pack,
// 7 / 8 for a missing or corrupt .bin (nothing is written then).
BPU_MAPPER_API std::vector<std::string> pack_models(const std::vector<std::string>& bin_paths, const std::string& out_path);

}  // namespace bpu_mapper
