// The compile pipeline driver behind `bpu-mapper makertbin`.

#include "api/bpu_mapper.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "artifact/bin_format.h"
#include "common/error.h"
#include "lower/lower.h"
#include "onnx_import/onnx_import.h"
#include "passes/fuse_activation.h"
#include "quant/qdq_extract.h"

namespace bpu {

const char* const kCompilerVersion = "0.1.0";

CompileResult compile_model(const MapperConfig& config) {
  auto start = std::chrono::steady_clock::now();
  ImportOptions import_options;
  for (const auto& in : config.inputs) {
    if (in.shape.empty()) continue;
    if (in.name.empty()) {
      throw Error(ExitCode::Config, "config '" + config.yaml_path + "': input_parameters.input_shape needs "
                                    "input_parameters.input_name");
    }
    import_options.input_shapes[in.name] = in.shape;
  }
  CompileResult r;
  r.graph = import_onnx(config.onnx_model, import_options);
  for (const auto& in : config.inputs) {
    if (!in.name.empty() && std::find(r.graph.inputs.begin(), r.graph.inputs.end(), in.name) == r.graph.inputs.end()) {
      std::string names;
      for (const auto& n : r.graph.inputs) names += (names.empty() ? "" : ", ") + n;
      throw Error(ExitCode::Config, "config '" + config.yaml_path + "': input_parameters.input_name: the model has no input '" +
                                        in.name + "' (inputs: " + names + ")");
    }
  }
  spdlog::info("imported '{}': {} nodes, {} inputs, {} outputs, opset {}", config.onnx_model, r.graph.nodes.size(),
               r.graph.inputs.size(), r.graph.outputs.size(), r.graph.opset);
  QuantSummary qs = extract_quantization(r.graph);
  spdlog::info("quantization: {} activation fake-quant pairs, {} weight fake-quant pairs (calibration_type load)",
               qs.activation_pairs, qs.weight_pairs);
  int fused = fuse_activations(r.graph);
  spdlog::info("passes: {} activations fused into their producers", fused);
  r.partition = partition_graph(r.graph);
  r.placement = placement_rows(r.graph, r.partition);
  r.model = lower_model(r.graph, r.partition);
  r.model.march = config.march;
  r.model.compiler_version = kCompilerVersion;
  r.model.source_model = std::filesystem::path(config.onnx_model).filename().string();
  r.model.config_yaml = config.yaml_text;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

CompileResult makertbin(const MapperConfig& config) {
  CompileResult r = compile_model(config);
  std::error_code ec;
  std::filesystem::create_directories(config.working_dir, ec);
  if (ec) {
    throw Error(ExitCode::Io, "cannot create model_parameters.working_dir '" + config.working_dir + "': " + ec.message());
  }
  save_model(r.model, config.output_bin_path());
  return r;
}

}  // namespace bpu
