// The compile pipeline driver behind `bpu-mapper makertbin` and `bpu-mapper checker`.

#include "api/bpu_mapper.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <set>

#include "arch/bayes/perf_model.h"
#include "artifact/bin_format.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "report/staged_models.h"
#include "runtime/model_runner.h"
#include "runtime/qat_reference.h"
#include "lower/lower.h"
#include "onnx_import/onnx_import.h"
#include "passes/fold_bn.h"
#include "passes/fuse_activation.h"
#include "passes/shape_quant.h"
#include "passes/simplify.h"
#include "quant/int16_override.h"
#include "quant/qdq_extract.h"

namespace bpu {

const char* const kCompilerVersion = "0.3.0";

namespace {

struct PipelineInput {
  std::string onnx_path;
  std::string march = "bayes";
  std::string config_path;  // for messages; empty for the checker
  ImportOptions import;
  MapperConfig config;      // placement fields only matter when config_path is set
};

[[noreturn]] void config_error(const std::string& path, const std::string& field, const std::string& what) {
  throw Error(ExitCode::Config, "config '" + path + "': " + field + ": " + what);
}

// The user's placement requests, with every node name checked against the model.
PartitionOptions placement_options(const PipelineInput& in, const ir::Graph& g, const QuantSummary& qs,
                                   std::vector<std::string>* warnings) {
  PartitionOptions opts;
  std::vector<std::string> names;
  for (const auto& n : g.nodes) names.push_back(n.name);
  const std::set<std::string> fake_quant(qs.removed_nodes.begin(), qs.removed_nodes.end());
  auto check_name = [&](const std::string& field, const std::string& name) {
    if (std::find(names.begin(), names.end(), name) != names.end()) return;
    if (fake_quant.count(name)) {
      config_error(in.config_path, field, "'" + name + "' is a fake-quant node, which bpu-mapper folds into tensor "
                                          "scales; name the compute node it belongs to instead");
    }
    std::string near;
    for (const auto& c : closest_names(name, names)) near += (near.empty() ? "" : ", ") + std::string("'") + c + "'";
    config_error(in.config_path, field, "no node named '" + name + "' in the model; closest names: " + near);
  };
  auto request = [&](const std::string& field, const std::string& name, Device d) {
    check_name(field, name);
    auto it = opts.user_device.find(name);
    if (it != opts.user_device.end() && it->second != d) {
      if (field.find("node_info") == std::string::npos) {
        config_error(in.config_path, field, "'" + name + "' is also listed in " + opts.user_source[name]);
      }
      warnings->push_back(field + " overrides " + opts.user_source[name] + " for node '" + name + "'");
    }
    opts.user_device[name] = d;
    opts.user_source[name] = field;
  };
  const MapperConfig& c = in.config;
  for (const auto& n : c.run_on_cpu) request("calibration_parameters.run_on_cpu", n, Device::Cpu);
  for (const auto& n : c.run_on_bpu) request("calibration_parameters.run_on_bpu", n, Device::Bpu);
  for (const auto& [name, info] : c.node_info) {
    const std::string field = "model_parameters.node_info." + name;
    check_name(field, name);
    if (!info.on.empty()) request(field, name, info.on == "BPU" ? Device::Bpu : Device::Cpu);
  }
  return opts;
}

class PhaseTimer {
 public:
  explicit PhaseTimer(std::vector<std::pair<std::string, double>>* out) : out_(out), last_(std::chrono::steady_clock::now()) {}
  void done(const std::string& phase) {
    auto now = std::chrono::steady_clock::now();
    out_->emplace_back(phase, std::chrono::duration<double>(now - last_).count());
    last_ = now;
    report_progress(phase, static_cast<int>(out_->size()), 8);
  }

 private:
  std::vector<std::pair<std::string, double>>* out_;
  std::chrono::steady_clock::time_point last_;
};

CompileResult run_pipeline(const PipelineInput& in, bool with_user_placement) {
  auto start = std::chrono::steady_clock::now();
  CompileResult r;
  PhaseTimer timer(&r.phase_seconds);
  ImportOptions import = in.import;
  SimplifyStats simplified;
  import.simplify = [&simplified](ir::Graph& g) { simplified = simplify_graph(g); };
  r.graph = import_onnx(in.onnx_path, import);
  timer.done("import");
  spdlog::info("imported '{}': {} nodes, {} inputs, {} outputs, opset {}", in.onnx_path, r.graph.nodes.size(),
               r.graph.inputs.size(), r.graph.outputs.size(), r.graph.opset);
  spdlog::info("simplify: {}", simplified.summary());
  QuantSummary qs = extract_quantization(r.graph);
  spdlog::info("quantization: {} activation fake-quant pairs, {} weight fake-quant pairs (calibration_type load)",
               qs.activation_pairs, qs.weight_pairs);
  timer.done("quant");
  PartitionOptions options;
  if (with_user_placement) options = placement_options(in, r.graph, qs, &r.warnings);
  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  if (in.config.quantize_float_weights) {
    r.synthesized_weights = synthesize_weight_scales(r.graph);
    for (const auto& w : r.synthesized_weights) {
      spdlog::warn("weight '{}' had no fake quantization; quantized with synthesized per-channel scales max|w|/127", w);
    }
  }
  // Nodes the user named for placement or int16 are not fused away, so the request applies to them.
  std::set<std::string> keep;
  for (const auto& [name, device] : options.user_device) keep.insert(name);
  for (const auto& [name, info] : in.config.node_info) {
    if (!info.output_type.empty() || !info.input_types.empty()) keep.insert(name);
  }
  int folded = fold_affine_into_conv(r.graph);
  if (folded) spdlog::info("passes: {} BatchNormalization/affine ops folded into convolutions", folded);
  int fused = fuse_activations(r.graph, keep);
  std::map<std::string, Int16Request> int16;
  for (const auto& [name, info] : in.config.node_info) {
    Int16Request req;
    req.output = info.output_type == "int16";
    for (const auto& [idx, type] : info.input_types) {
      if (type != "int16") continue;
      if (idx < 0) req.all_inputs = true;
      else req.inputs.insert(idx);
    }
    if (req.output || req.all_inputs || !req.inputs.empty()) int16[name] = req;
  }
  for (const auto& t : apply_int16_requests(r.graph, int16)) spdlog::info("node_info: tensor '{}' widened to int16", t);
  int propagated = propagate_quant_through_shape_ops(r.graph);
  spdlog::info("passes: {} activations fused into their producers, quantization carried through {} shape ops", fused,
               propagated);
  timer.done("passes");
  r.partition = partition_graph(r.graph, options);
  r.placement = placement_rows(r.graph, r.partition);
  timer.done("partition");
  MemoryPlanOptions memory;
  memory.optimize_level = optimize_level_number(in.config.optimize_level);
  memory.compile_mode = in.config.compile_mode;
  memory.hardware = bayes::hardware_from_yaml(in.config.yaml_text);
  r.model = lower_model(r.graph, r.partition, memory);
  timer.done("lower");
  r.model.march = in.march;
  r.model.compiler_version = kCompilerVersion;
  r.model.source_model = std::filesystem::path(in.onnx_path).filename().string();
  r.model.config_yaml = in.config.yaml_text;
  r.model.config_hash = fnv1a64(in.config.yaml_text.data(), in.config.yaml_text.size());
  r.model.model_hash = r.graph.source_hash;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

CompileResult compile_model(const MapperConfig& config) {
  PipelineInput in;
  in.onnx_path = config.onnx_model;
  in.march = config.march;
  in.config_path = config.yaml_path;
  in.config = config;
  for (const auto& input : config.inputs) {
    if (input.shape.empty()) continue;
    if (input.name.empty()) {
      config_error(config.yaml_path, "input_parameters.input_shape", "needs input_parameters.input_name");
    }
    in.import.input_shapes[input.name] = input.shape;
  }
  CompileResult r = run_pipeline(in, true);
  for (const auto& input : config.inputs) {
    if (!input.name.empty() && std::find(r.graph.inputs.begin(), r.graph.inputs.end(), input.name) == r.graph.inputs.end()) {
      std::string names;
      for (const auto& n : r.graph.inputs) names += (names.empty() ? "" : ", ") + n;
      config_error(config.yaml_path, "input_parameters.input_name", "the model has no input '" + input.name + "' (inputs: " + names + ")");
    }
  }
  return r;
}

namespace {

nlohmann::json quantization_json(const ir::Graph& g) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& [name, t] : g.tensors) {
    if (!t.quant) continue;
    arr.push_back({{"tensor", name}, {"kind", t.is_constant ? "weight" : "activation"}, {"bits", t.quant->bits},
                   {"axis", t.quant->axis}, {"scales", t.quant->scales}, {"synthesized", t.quant->synthesized}});
  }
  return arr;
}

}  // namespace

CompileResult makertbin(const MapperConfig& config) {
  CompileResult r = compile_model(config);
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::create_directories(config.working_dir, ec);
  if (ec) {
    throw Error(ExitCode::Io, "cannot create model_parameters.working_dir '" + config.working_dir + "': " + ec.message());
  }
  const std::filesystem::path dir(config.working_dir);
  const std::string& prefix = config.output_model_file_prefix;
  auto write_text = [&](const std::string& name, const std::string& text) {
    write_file_atomic((dir / (prefix + name)).string(), text.data(), text.size());
  };
  // The three staged models are independent serializations of up to the ONNX file's size each: built and
  // written on their own threads while this one writes the .bin (each file is written atomically).
  auto original = std::async(std::launch::async, [&] {
    std::vector<uint8_t> onnx_bytes = read_file(config.onnx_model, kMaxOnnxBytes, "ONNX model");
    write_text("_original_float_model.onnx", strip_fake_quantization(std::string(onnx_bytes.begin(), onnx_bytes.end()), config.onnx_model));
  });
  auto optimized = std::async(std::launch::async, [&] { write_text("_optimized_float_model.onnx", optimized_float_model(r.graph)); });
  auto quantized = std::async(std::launch::async, [&] { write_text("_quantized_model.onnx", quantized_model(r.graph)); });
  save_model(r.model, config.output_bin_path());
  write_text("_placement.json", placement_json(r.graph, r.partition, r.placement, r.model.march).dump(2) + "\n");
  original.get();
  optimized.get();
  quantized.get();
  r.phase_seconds.emplace_back("write", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  report_progress("accuracy run", 7, 8);

  // Accuracy run on the .bin as written.
  t0 = std::chrono::steady_clock::now();
  ModelRunner runner = ModelRunner::from_file(config.output_bin_path());
  std::string sample_description;
  auto sample = accuracy_sample(runner.model().inputs, config.cal_data_dir, &sample_description);
  r.accuracy = accuracy_run(r.graph, r.partition, r.placement, runner, config.onnx_model, sample, sample_description);
  r.phase_seconds.emplace_back("accuracy", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  r.perf = estimate_model(runner.model(), runner.validated());
  end_progress();

  nlohmann::json report;
  report["tool"] = "bpu-mapper";
  report["version"] = kCompilerVersion;
  report["model"] = config.onnx_model;
  report["config"] = config.yaml_path;
  report["march"] = r.model.march;
  report["bin"] = config.output_bin_path();
  report["phases_seconds"] = nlohmann::json::object();
  for (const auto& [phase, seconds] : r.phase_seconds) report["phases_seconds"][phase] = seconds;
  report["placement"] = placement_json(r.graph, r.partition, r.placement, r.model.march);
  report["quantization"] = quantization_json(r.graph);
  report["accuracy"] = accuracy_json(r.accuracy);
  report["performance_estimate"] = perf_json(r.perf);
  write_text("_report.json", report.dump(2) + "\n");
  return r;
}

CompileResult check_model(const std::string& onnx_path, const std::string& march, const std::map<std::string, Shape>& input_shapes) {
  if (march != "bayes") {
    throw Error(ExitCode::Usage, "--march '" + march + "' is not supported; bpu-mapper targets bayes");
  }
  PipelineInput in;
  in.onnx_path = onnx_path;
  in.march = march;
  in.import.input_shapes = input_shapes;
  return run_pipeline(in, false);
}

}  // namespace bpu
