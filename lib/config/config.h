// Config stage: reads an hb_mapper-style YAML (model_parameters, input_parameters, calibration_parameters,
// compiler_parameters) into a validated MapperConfig. `;` lists, paths relative to the YAML file. The whole
// file is checked before anything runs and every problem is reported in one error (one line each: field, value,
// fix): unknown keys (with the closest known key), empty required values, wrong values and ranges, missing
// files and folders. hb_mapper keys bpu-mapper does not act on are checked and warned about once
// (config_schema.h holds the status of every key).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/error.h"
#include "common/image_format.h"

namespace bpu {

struct InputConfig {
  std::string name;          // empty: take the model's single input
  std::string type_rt = "featuremap";
  std::string type_train = "featuremap";
  std::string layout_train = "NCHW";
  std::string layout_rt = "NCHW";
  std::string norm_type = "no_preprocess";
  std::string space_and_range = "regular";
  std::vector<float> mean, scale;  // mean_value / scale_value as given (1 or one per channel); empty: not given
  InputFormat format;        // the above, checked (common/image_format.h)
  Shape shape;               // empty: keep the model's shape (dynamic dimensions must then be set)
};

// model_parameters.node_info entry: {ON: BPU|CPU, InputType: int16, InputType<N>: int16, OutputType: int16}.
struct NodeInfo {
  std::string on;                                // "", "BPU" or "CPU"
  std::map<int, std::string> input_types;        // input index -> "int8"/"int16"; -1 = all inputs (InputType)
  std::string output_type;                       // "", "int8" or "int16"
};

struct MapperConfig {
  std::string yaml_path;
  std::string yaml_text;  // as read; never part of the .bin (canonical_settings_yaml is)

  // model_parameters
  std::string onnx_model;  // resolved against the YAML file's folder
  std::string march;
  std::string output_model_file_prefix = "model";
  std::string working_dir;  // resolved; default <yaml dir>/model_output
  std::map<std::string, NodeInfo> node_info;  // node name -> settings (dict or 'node:int16;...' string form)
  std::vector<std::string> remove_node_types;  // Quantize, Dequantize (lower/boundary.h)
  std::vector<std::string> remove_node_names;  // <input>_HzQuantize, <output>_HzDequantize
  std::vector<std::string> output_nodes;       // nodes whose outputs become extra model outputs
  bool layer_out_dump = false;                 // every quantized activation becomes an extra model output

  // input_parameters (one entry per configured input)
  std::vector<InputConfig> inputs;
  int64_t input_batch = 0;  // 0: not set; else the batch dimension of the single input (1..128)

  // calibration_parameters
  // load (scales from the QAT model's fake quantization) or a post-training method for a float model: default,
  // mix, kl, max, skip (lib/api/calibration.h). Unset: load for a model with fake quantization, default otherwise
  // (hb_mapper's default), decided once the model is read.
  std::string calibration_type;
  std::vector<std::string> cal_data_type;  // per input (or one for all): raw sample dtype; empty: by folder name
  double max_percentile = 0;               // (0, 1]; 0: not set
  bool preprocess_on = false;              // samples are images: decode (stb_image) and resize to the input
  std::vector<std::string> optimization;   // set_model_output_int8, set_model_output_int16, set_all_nodes_int16, run_fast
  std::vector<std::string> run_on_cpu;
  std::vector<std::string> run_on_bpu;
  // A Conv/Gemm whose weights had no fake quantization stays float on the CPU (false, the QAT intent) or is
  // quantized with synthesized per-channel max|w|/127 weight scales as hb_mapper does (true).
  bool quantize_float_weights = false;
  std::vector<std::string> cal_data_dir;  // one folder per input: calibration samples; makertbin's accuracy sample

  // compiler_parameters
  std::string compile_mode = "latency";
  std::string optimize_level = "O0";
  bool debug = false;
  std::map<std::string, double> hardware;  // bpu_clock_mhz, bpu_macs_per_cycle, ... as given (cost model only)

  std::vector<std::string> warnings;  // keys accepted and ignored, each once
  std::vector<std::string> defaults;  // "field = value" for every value not given in the file

  std::string output_bin_path() const;
};

// Every problem found in one config, so that a run reports all of them at once. Each problem is one line
// naming the field, the value and the fix. throw_if_any raises one Error: Config, or Unsupported when every
// problem is a feature bpu-mapper does not implement.
class ConfigProblems {
 public:
  explicit ConfigProblems(std::string path) : path_(std::move(path)) {}
  void add(const std::string& field, const std::string& what, ExitCode code = ExitCode::Config);
  bool empty() const { return lines_.empty(); }
  size_t size() const { return lines_.size(); }
  void throw_if_any() const;

 private:
  std::string path_;
  std::vector<std::string> lines_;
  bool any_config_ = false;
};

// Parses and validates the YAML at `path`. Throws Error(Config) naming the file and every faulty field.
MapperConfig load_config(const std::string& path);
MapperConfig parse_config(const std::string& yaml_text, const std::string& path);

// Splits hb_mapper's `;` lists, trimming spaces and dropping empty items.
std::vector<std::string> split_list(const std::string& text, char sep = ';');

// Parses "1x3x224x224" (also with ',' or ' ' separators); throws Error(Config) naming `field`.
Shape parse_shape(const std::string& text, const std::string& field);

// The settings that change the compiled program, as a canonical YAML text (fixed key order and quoting, no
// paths, prefix, comments or ignored keys), with the effective input shapes. It is stored in the .bin (`info`
// prints it, `perf` reads the cost-model keys from it) and its FNV-1a is the header's config fingerprint.
std::string canonical_settings_yaml(const MapperConfig& config,
                                    const std::vector<std::pair<std::string, Shape>>& input_shapes);

}  // namespace bpu
