// Config stage: reads an hb_mapper-style YAML (model_parameters, input_parameters, calibration_parameters,
// compiler_parameters) into a validated MapperConfig. `;` lists, paths relative to the YAML file, unknown keys
// warned about, wrong values rejected with the field path and the allowed values (exit code config).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace bpu {

struct InputConfig {
  std::string name;          // empty: take the model's single input
  std::string type_rt = "featuremap";
  std::string type_train = "featuremap";
  std::string layout_train = "NCHW";
  std::string layout_rt = "NCHW";
  std::string norm_type = "no_preprocess";
  Shape shape;               // empty: keep the model's shape
};

// model_parameters.node_info entry: {ON: BPU|CPU, InputType: int16, InputType<N>: int16, OutputType: int16}.
struct NodeInfo {
  std::string on;                                // "", "BPU" or "CPU"
  std::map<int, std::string> input_types;        // input index -> "int8"/"int16"; -1 = all inputs (InputType)
  std::string output_type;                       // "", "int8" or "int16"
};

struct MapperConfig {
  std::string yaml_path;
  std::string yaml_text;  // echoed into the .bin

  // model_parameters
  std::string onnx_model;  // resolved against the YAML file's folder
  std::string march;
  std::string output_model_file_prefix = "model";
  std::string working_dir;  // resolved; default <yaml dir>/model_output
  std::map<std::string, NodeInfo> node_info;  // node name -> settings (dict or 'node:int16;...' string form)

  // input_parameters (one entry per configured input)
  std::vector<InputConfig> inputs;

  // calibration_parameters
  std::string calibration_type = "load";
  std::vector<std::string> run_on_cpu;
  std::vector<std::string> run_on_bpu;
  // A Conv/Gemm whose weights had no fake quantization stays float on the CPU (false, the QAT intent) or is
  // quantized with synthesized per-channel max|w|/127 weight scales as hb_mapper does (true).
  bool quantize_float_weights = false;
  std::vector<std::string> cal_data_dir;  // one folder per input; makertbin's accuracy sample comes from it

  // compiler_parameters
  std::string compile_mode = "latency";
  std::string optimize_level = "O0";
  bool debug = false;

  std::vector<std::string> warnings;  // unknown keys, ignored fields

  std::string output_bin_path() const;
};

// Parses and validates the YAML at `path`. Throws Error(Config) naming the file and the field.
MapperConfig load_config(const std::string& path);
MapperConfig parse_config(const std::string& yaml_text, const std::string& path);

// Splits hb_mapper's `;` lists, trimming spaces and dropping empty items.
std::vector<std::string> split_list(const std::string& text, char sep = ';');

// Parses "1x3x224x224" (also with ',' or ' ' separators); throws Error(Config) naming `field`.
Shape parse_shape(const std::string& text, const std::string& field);

}  // namespace bpu
