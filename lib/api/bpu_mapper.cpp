// The compile pipeline driver behind `bpu-mapper makertbin` and `bpu-mapper checker`.

#include "api/bpu_mapper.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <set>

#include <onnx/onnx_pb.h>

#include "api/output_transaction.h"
#include "bpu_mapper/version.h"
#include "arch/bayes/perf_model.h"
#include "arch/target.h"
#include "artifact/bin_format.h"
#include "common/crash_guard.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/memory.h"
#include "common/progress.h"
#include "report/staged_models.h"
#include "runtime/model_runner.h"
#include "runtime/qat_reference.h"
#include "lower/lower.h"
#include "onnx_import/onnx_import.h"
#include "lower/boundary.h"
#include "ops/preprocess.h"
#include "passes/edge_nodes.h"
#include "passes/input_preprocess.h"
#include "passes/fold_bn.h"
#include "passes/linear_gemm.h"
#include "passes/shape_quant.h"
#include "passes/simplify.h"
#include "quant/int16_override.h"
#include "quant/qdq_extract.h"

namespace bpu {

const char* const kCompilerVersion = BPU_MAPPER_VERSION;

namespace {

struct PipelineInput {
  std::string onnx_path;
  std::string onnx_bytes;   // set: the model to compile (the calibrated model), onnx_path names it in messages
  onnx::ModelProto* parsed = nullptr;  // set: onnx_path already parsed (its initializers are consumed by import)
  std::shared_future<uint64_t> parsed_hash;  // with `parsed`: the file's fingerprint, computed beside the compile
  std::string march = "bayes";
  std::string config_path;  // for messages; empty for the checker
  ImportOptions import;
  MapperConfig config;      // placement fields only matter when config_path is set
};

// The user's placement requests, with every node name checked against the model; every unknown or doubly
// listed name is reported in the same error.
PartitionOptions placement_options(const PipelineInput& in, const ir::Graph& g, const QuantSummary& qs,
                                   std::vector<std::string>* warnings) {
  PartitionOptions opts;
  ConfigProblems problems(in.config_path);
  std::vector<std::string> names;
  for (const auto& n : g.nodes) names.push_back(n.name);
  const std::set<std::string> fake_quant(qs.removed_nodes.begin(), qs.removed_nodes.end());
  auto check_name = [&](const std::string& field, const std::string& name) {
    if (std::find(names.begin(), names.end(), name) != names.end()) return true;
    if (fake_quant.count(name)) {
      problems.add(field, "'" + name + "' is a fake-quant node, which bpu-mapper folds into tensor "
                          "scales; name the compute node it belongs to instead");
      return false;
    }
    std::string near;
    for (const auto& c : closest_names(name, names)) near += (near.empty() ? "" : ", ") + std::string("'") + c + "'";
    problems.add(field, "no node named '" + name + "' in the model; closest names: " + near);
    return false;
  };
  auto request = [&](const std::string& field, const std::string& name, Device d) {
    if (!check_name(field, name)) return;
    auto it = opts.user_device.find(name);
    if (it != opts.user_device.end() && it->second != d) {
      if (field.find("node_info") == std::string::npos) {
        problems.add(field, "'" + name + "' is also listed in " + opts.user_source[name] + "; keep it in one list");
        return;
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
    if (check_name(field, name) && !info.on.empty()) request(field, name, info.on == "BPU" ? Device::Bpu : Device::Cpu);
  }
  problems.throw_if_any();
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

// calibration_parameters.optimization set_model_output_int8 / int16: the integer type of the model's outputs
// (their Dequantize nodes removed after lowering); Float32 when neither is given.
DType integer_output_option(const MapperConfig& config) {
  const auto& o = config.optimization;
  if (std::count(o.begin(), o.end(), "set_model_output_int16")) return DType::Int16;
  if (std::count(o.begin(), o.end(), "set_model_output_int8")) return DType::Int8;
  return DType::Float32;
}

// model_parameters.output_nodes: every output of each named node becomes a model output (after the existing ones).
void add_output_nodes(ir::Graph& g, const MapperConfig& config) {
  std::vector<std::string> names;
  for (const auto& n : g.nodes) names.push_back(n.name);
  for (const auto& want : config.output_nodes) {
    auto it = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) { return n.name == want; });
    if (it != g.nodes.end() && ops::is_preprocess(*it)) {
      throw Error(ExitCode::Config, "config '" + config.yaml_path + "': model_parameters.output_nodes: '" + want +
                                        "' is bpu-mapper's input preprocessing, not a node of the model; name a model node");
    }
    if (it == g.nodes.end()) {
      std::string near;
      for (const auto& c : closest_names(want, names)) near += (near.empty() ? "" : ", ") + c;
      throw Error(ExitCode::Config, "config '" + config.yaml_path + "': model_parameters.output_nodes: the model has no node '" +
                                        want + "' (closest: " + near + ")");
    }
    for (const auto& o : it->outputs) {
      if (!o.empty() && !g.is_graph_output(o)) g.outputs.push_back(o);
    }
    spdlog::info("output_nodes: the outputs of '{}' are model outputs", want);
  }
  if (!config.layer_out_dump) return;
  // layer_out_dump (hrt_bin_dump's layer outputs): every node output that carries a scale (the activations the
  // QAT model fake-quantizes) becomes a model output; `run` then writes each as .npy.
  size_t added = 0;
  for (const auto& n : g.nodes) {
    if (ops::is_preprocess(n)) continue;
    for (const auto& o : n.outputs) {
      if (o.empty() || !g.has_tensor(o) || g.is_graph_output(o)) continue;
      const ir::Tensor& t = g.tensor(o);
      if (!t.quant || t.is_constant) continue;
      g.outputs.push_back(o);
      ++added;
    }
  }
  spdlog::info("layer_out_dump: {} node outputs are model outputs", added);
}

CompileResult run_pipeline(const PipelineInput& in, bool with_user_placement) {
  auto start = std::chrono::steady_clock::now();
  CompileResult r;
  PhaseTimer timer(&r.phase_seconds);
  crash_guard_set_phase("import");
  ImportOptions import = in.import;
  SimplifyStats simplified;
  import.simplify = [&simplified](ir::Graph& g) { simplified = simplify_graph(g); };
  if (in.parsed) {
    r.graph = import_onnx_model(*in.parsed, in.onnx_path, import);
  } else {
    r.graph = in.onnx_bytes.empty() ? import_onnx(in.onnx_path, import) : import_onnx_bytes(in.onnx_bytes, in.onnx_path, import);
  }
  timer.done("import");
  release_free_memory();  // the parsed protobuf's pages
  spdlog::info("imported '{}': {} nodes, {} inputs, {} outputs, opset {}", in.onnx_path, r.graph.nodes.size(),
               r.graph.inputs.size(), r.graph.outputs.size(), r.graph.opset);
  spdlog::info("simplify: {}", simplified.summary());
  {  // image inputs: HzPreprocess after the input (input_type_rt, norm_type, layouts), before quant reads the scales
    std::map<std::string, InputFormat> formats;
    for (const auto& ci : in.config.inputs) {
      if (!ci.name.empty()) {
        formats[ci.name] = ci.format;
      } else if (r.graph.inputs.size() == 1) {
        formats[r.graph.inputs[0]] = ci.format;
      } else if (ci.format.needs_preprocess()) {
        throw Error(ExitCode::Config, "config '" + in.config.yaml_path + "': input_parameters.input_name: the model has " +
                                          std::to_string(r.graph.inputs.size()) + " inputs; name the input(s) that " +
                                          "input_type_rt / norm_type / input_layout_rt apply to");
      }
    }
    const int preprocessed = insert_input_preprocessing(r.graph, formats);
    if (preprocessed) spdlog::info("input preprocessing: {} HzPreprocess node(s) inserted", preprocessed);
  }
  crash_guard_set_phase("quantization");
  QuantSummary qs = extract_quantization(r.graph);
  spdlog::info("quantization: {} activation fake-quant pairs, {} weight fake-quant pairs (calibration_type {})",
               qs.activation_pairs, qs.weight_pairs, in.config.calibration_type.empty() ? "load" : in.config.calibration_type);
  timer.done("quant");
  PartitionOptions options;
  if (with_user_placement) options = placement_options(in, r.graph, qs, &r.warnings);
  options.march = in.march;
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
  crash_guard_set_phase("passes");
  int folded = fold_affine_into_conv(r.graph);
  if (folded) spdlog::info("passes: {} BatchNormalization/affine ops folded into convolutions", folded);
  const int depthwise = standalone_bn_to_depthwise(r.graph);
  if (depthwise) spdlog::info("passes: {} standalone BatchNormalization ops run as depthwise 1x1 convolutions", depthwise);
  const int linears = matmul_to_gemm(r.graph, keep);
  if (linears) spdlog::info("passes: {} MatMul ops with a constant weight (and their Transpose / bias Add) run as Gemm", linears);
  options.keep_unfused = keep;
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
  const DType output_option = integer_output_option(in.config);
  if (output_option == DType::Int16) {  // every quantized 8-bit graph output's producer computes it at int16
    for (const auto& o : r.graph.outputs) {
      const int p = r.graph.producer(o);
      if (p < 0 || !r.graph.tensor(o).quant || r.graph.tensor(o).quant->bits != 8) continue;
      int16[r.graph.nodes[p].name].output = true;
    }
  }
  for (const auto& t : apply_int16_requests(r.graph, int16)) spdlog::info("node_info: tensor '{}' widened to int16", t);
  int propagated = propagate_quant_through_shape_ops(r.graph);
  spdlog::info("passes: quantization carried through {} shape ops", propagated);
  // remove_node_type / remove_node_name: Transpose, Reshape, Cast, Softmax at model outputs leave the graph here;
  // the Quantize/Dequantize boundary nodes (and names not in the graph) after lowering.
  std::set<std::string> boundary_names;
  std::map<std::string, InputFormat> edge_formats;  // inputs whose layout Transpose was removed
  const std::set<std::string> remove_types(in.config.remove_node_types.begin(), in.config.remove_node_types.end());
  const std::vector<std::string> edge_removed = remove_edge_nodes(
      r.graph, remove_types, {in.config.remove_node_names.begin(), in.config.remove_node_names.end()},
      "config '" + in.config.yaml_path + "'", &boundary_names, &edge_formats);
  for (const auto& n : edge_removed) spdlog::info("removed edge node {}: the tensor it read is the model output", n);
  add_output_nodes(r.graph, in.config);  // after the quant stage and the folds, which keep graph outputs as they are
  timer.done("passes");
  crash_guard_set_phase("partition");
  r.partition = partition_graph(r.graph, options);
  r.placement = placement_rows(r.graph, r.partition);
  int fused = 0;
  for (const auto& p : r.partition.placements) fused += p.fused_into >= 0;
  if (fused) spdlog::info("partition: {} activations fused into their BPU producers (applied by the lowering)", fused);
  timer.done("partition");
  // The .bin records (and fingerprints) the canonical settings, never the YAML text: same model and settings,
  // same bytes, whatever the paths, prefix or formatting.
  std::vector<std::pair<std::string, Shape>> input_shapes;
  for (const auto& name : r.graph.inputs) input_shapes.emplace_back(name, r.graph.tensor(name).shape);
  const std::string settings = canonical_settings_yaml(in.config, input_shapes);
  crash_guard_set_phase("lowering");
  MemoryPlanOptions memory;
  memory.optimize_level = optimize_level_number(in.config.optimize_level);
  memory.compile_mode = in.config.compile_mode;
  memory.hardware = bayes::hardware_from_yaml(settings);
  r.model = lower_model(r.graph, r.partition, memory);
  r.model.removed_nodes = edge_removed;
  for (size_t i = 0; i < r.model.inputs.size(); ++i) {
    auto it = edge_formats.find(r.model.inputs[i].name);
    if (it != edge_formats.end()) r.model.input_formats.at(i) = it->second;
  }
  std::set<std::string> types;
  for (const auto& t : remove_types) {
    if (t == "Quantize" || t == "Dequantize") types.insert(t);
  }
  if (!types.empty() || !boundary_names.empty() || output_option != DType::Float32) {
    std::set<std::string> names = boundary_names;
    if (output_option != DType::Float32) {
      for (const auto& n : output_dequantize_nodes(r.model, output_option, "config '" + in.config.yaml_path + "'")) names.insert(n);
    }
    for (const auto& n : remove_boundary_nodes(r.model, types, names, "config '" + in.config.yaml_path + "'", ExitCode::Config)) {
      spdlog::info("removed boundary node {}", n);
    }
  }
  timer.done("lower");
  r.model.march = in.march;
  r.model.compiler_version = kCompilerVersion;
  r.model.source_model = std::filesystem::path(in.onnx_path).filename().string();
  r.model.config_yaml = settings;
  r.model.config_hash = fnv1a64(settings.data(), settings.size());
  if (in.parsed) r.graph.source_hash = in.parsed_hash.get();
  r.model.model_hash = r.graph.source_hash;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

ImportOptions import_options(const MapperConfig& config) {
  ImportOptions o;
  for (const auto& input : config.inputs) {
    if (!input.shape.empty()) o.input_shapes[input.name] = input.shape;  // "" = the model's only input
  }
  o.input_batch = config.input_batch;
  return o;
}

namespace {

// The config against the model's graph inputs, before any phase runs: input names, input_shape and
// input_batch against the declared shapes, one cal_data_dir folder per input; all problems in one error. Returns
// whether the model holds fake-quant nodes (a QAT export), which decides an unset calibration_type.
bool check_config_against_model(const MapperConfig& config, const ImportOptions& options, const onnx::ModelProto& model) {
  if (!model.has_graph()) return true;  // import says why
  ConfigProblems problems(config.yaml_path);
  try {
    onnx::ModelProto slim;  // what apply_input_shapes reads and rewrites, without the weights
    *slim.mutable_opset_import() = model.opset_import();
    *slim.mutable_graph()->mutable_input() = model.graph().input();
    *slim.mutable_graph()->mutable_output() = model.graph().output();
    for (const auto& init : model.graph().initializer()) slim.mutable_graph()->add_initializer()->set_name(init.name());
    apply_input_shapes(slim, options, config.onnx_model);
  } catch (const Error& e) {
    std::string msg = e.what();
    msg = msg.substr(msg.find("': ") + 3);
    if (msg.find(" input problems:\n  ") != std::string::npos) msg = msg.substr(msg.find("\n  ") + 3);
    size_t start = 0;
    while (start < msg.size()) {
      size_t end = msg.find("\n  ", start);
      std::string line = msg.substr(start, end == std::string::npos ? std::string::npos : end - start);
      size_t colon = line.find(": ");
      problems.add(line.substr(0, colon), colon == std::string::npos ? "" : line.substr(colon + 2));
      start = end == std::string::npos ? msg.size() : end + 3;
    }
  }
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::vector<std::string> inputs;
  for (const auto& in : model.graph().input()) {
    if (!initializers.count(in.name())) inputs.push_back(in.name());
  }
  std::string names;
  for (const auto& n : inputs) names += (names.empty() ? "" : ", ") + n;
  for (const auto& input : config.inputs) {
    if (input.name.empty() || !input.shape.empty()) continue;  // named with a shape: apply_input_shapes checked it
    if (std::find(inputs.begin(), inputs.end(), input.name) == inputs.end()) {
      problems.add("input_parameters.input_name", "the model has no input '" + input.name + "' (inputs: " + names + ")");
    }
  }
  if (!config.cal_data_dir.empty() && config.cal_data_dir.size() != inputs.size()) {
    problems.add("calibration_parameters.cal_data_dir", std::to_string(config.cal_data_dir.size()) + " folder(s) for " +
                                                            std::to_string(inputs.size()) + " model input(s) (" + names +
                                                            "); give one folder per input, in input order");
  }
  problems.throw_if_any();
  for (const auto& n : model.graph().node()) {
    const std::string& op = n.op_type();
    if (op == "QuantizeLinear" || op == "DequantizeLinear" || op == "HzQuantize" || op == "HzDequantize") return true;
  }
  return false;
}

}  // namespace

CompileResult compile_model(const MapperConfig& config) {
  PipelineInput in;
  in.onnx_path = config.onnx_model;
  in.march = config.march;
  in.config_path = config.yaml_path;
  in.config = config;
  in.import = import_options(config);
  crash_guard_set_phase("input check");
  onnx::ModelProto model;  // parsed once: the check reads it, then the import consumes it
  // The fingerprint (one serial pass over the bytes, longer than the parse) runs on another thread until the
  // lowering needs it.
  in.parsed_hash = std::async(std::launch::async, [path = config.onnx_model] { return fnv1a64_file(path, "ONNX model"); }).share();
  parse_onnx_file(config.onnx_model, &model);
  in.parsed = &model;
  const bool fake_quant = check_config_against_model(config, in.import, model);
  std::optional<CalibrationResult> calibration;
  if (wants_calibration(config) || (config.calibration_type.empty() && !fake_quant)) {
    if (config.calibration_type.empty()) {
      in.config.calibration_type = "default";
      spdlog::info("calibration_type not set and the model carries no fake quantization: calibrating with 'default' "
                   "(hb_mapper's default)");
    }
    crash_guard_set_phase("calibration");
    onnx::ModelProto().Swap(&model);  // calibration reads the file itself
    in.parsed = nullptr;
    calibration = calibrate_model(in.config, in.import);
    in.onnx_bytes = calibration->onnx;
  } else {
    in.config.calibration_type = "load";
  }
  CompileResult r = run_pipeline(in, true);
  if (calibration) {
    r.calibrated_onnx = std::move(calibration->onnx);
    r.calibration = std::move(calibration->report);
    std::map<std::string, std::string> node_of;  // output tensor -> node
    for (const auto& n : r.graph.nodes) {
      if (!n.outputs.empty()) node_of[n.outputs[0]] = n.name;
    }
    std::map<std::string, double> by_node;
    for (const auto& [tensor, cosine] : r.calibration->node_cosine) {
      if (node_of.count(tensor)) by_node[node_of[tensor]] = cosine;
    }
    for (auto& row : r.placement) {
      if (!by_node.count(row.node)) continue;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.6f", by_node[row.node]);
      row.cosine = buf;
    }
    for (const auto& w : r.calibration->warnings) {
      spdlog::warn("{}", w);
      r.warnings.push_back(w);
    }
  }
  return r;
}

namespace {

// docs/report_json.md, "calibration".
nlohmann::json calibration_json(const CalibrationReport& c) {
  nlohmann::json j;
  j["calibration_type"] = c.requested;
  j["method"] = c.chosen;
  j["samples"] = c.samples;
  j["data"] = c.data;
  j["seconds"] = c.seconds;
  j["candidate_scores"] = nlohmann::json::array();
  for (const auto& [m, s] : c.scores) j["candidate_scores"].push_back({{"method", m}, {"output_cosine", s}});
  j["tensors"] = nlohmann::json::array();
  for (const auto& t : c.tensors) {
    nlohmann::json e{{"tensor", t.tensor}, {"method", t.method}, {"scale", t.scale}, {"bits", t.bits}, {"absmax", t.absmax},
                     {"candidates", t.candidates}};
    auto cos = c.node_cosine.find(t.tensor);
    if (cos != c.node_cosine.end()) e["cosine"] = cos->second;
    j["tensors"].push_back(e);
  }
  j["weights"] = nlohmann::json::array();
  for (const auto& [w, channels] : c.weights) {
    j["weights"].push_back({{"initializer", w}, {"method", "max per channel"}, {"channels", channels}});
  }
  j["warnings"] = c.warnings;
  return j;
}

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
  // The accuracy sample is read (and checked against the compiled inputs) before anything is written.
  std::string sample_description;
  std::vector<calib::SampleFormat> formats;
  for (size_t i = 0; i < config.cal_data_dir.size(); ++i) formats.push_back(sample_format(config, i));
  // cal_data_dir folders follow input_name's order when the config names every input.
  std::vector<TensorInfo> sample_inputs = r.model.inputs;
  if (config.inputs.size() == sample_inputs.size()) {
    for (size_t i = 0; i < config.inputs.size(); ++i) {
      for (size_t k = i; k < sample_inputs.size(); ++k) {
        if (!config.inputs[i].name.empty() && sample_inputs[k].name == config.inputs[i].name) std::swap(sample_inputs[i], sample_inputs[k]);
      }
    }
  }
  auto sample = accuracy_sample(sample_inputs, config.cal_data_dir, formats, &sample_description);
  crash_guard_set_phase("writing outputs");
  auto t0 = std::chrono::steady_clock::now();
  const std::string& prefix = config.output_model_file_prefix;
  OutputTransaction tx(config.working_dir, prefix);
  const std::string bin_path = tx.staged(prefix + ".bin");
  const std::string original_path = tx.staged(prefix + "_original_float_model.onnx");
  const std::string optimized_path = tx.staged(prefix + "_optimized_float_model.onnx");
  const std::string quantized_path = tx.staged(prefix + "_quantized_model.onnx");
  const std::string placement_path = tx.staged(prefix + "_placement.json");
  const std::string report_path = tx.staged(prefix + "_report.json");
  // A calibrated float model: hb_mapper's <prefix>_calibrated_model.onnx, the fake-quant model that was compiled,
  // is also the accuracy run's reference (its float side is the model with that fake quantization stripped).
  const std::string calibrated_path = r.calibrated_onnx.empty() ? "" : tx.staged(prefix + "_calibrated_model.onnx");
  if (!calibrated_path.empty()) write_file_atomic(calibrated_path, r.calibrated_onnx.data(), r.calibrated_onnx.size());
  auto write_text = [](const std::string& path, const std::string& text) { write_file_atomic(path, text.data(), text.size()); };
  const ImportOptions shapes = import_options(config);
  // The .bin first, then the three staged models one at a time, each serialized straight into its file: a staged
  // model holds up to the ONNX file's size, so writing them side by side would multiply the peak memory.
  save_model(r.model, bin_path);
  write_text(placement_path, placement_json(r.graph, r.partition, r.placement, r.model.march).dump(2) + "\n");
  write_float_model(config.onnx_model, original_path, shapes);
  release_free_memory();
  write_optimized_float_model(r.graph, optimized_path);
  release_free_memory();
  write_quantized_model(r.graph, quantized_path);
  // From here on no stage reads a weight's values (the .bin and the staged models hold them): they go before the
  // accuracy run loads the reference models. Shapes, scales and small integer constants stay.
  for (auto& [name, t] : r.graph.tensors) {
    if (!t.is_constant || t.float_data.size() + t.quantized.size() < 4096) continue;
    std::vector<float>().swap(t.float_data);
    std::vector<int8_t>().swap(t.quantized);
  }
  release_free_memory();
  r.phase_seconds.emplace_back("write", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  report_progress("accuracy run", 7, 8);

  // Accuracy run on the .bin as written.
  crash_guard_set_phase("accuracy run");
  t0 = std::chrono::steady_clock::now();
  ModelRunner runner = ModelRunner::from_file(bin_path);
  r.accuracy = accuracy_run(r.graph, r.partition, r.placement, runner,
                            calibrated_path.empty() ? config.onnx_model : calibrated_path, sample, sample_description, shapes);
  r.phase_seconds.emplace_back("accuracy", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  r.perf = estimate_model(runner.model(), runner.validated());
  end_progress();

  crash_guard_set_phase("report");
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
  if (r.calibration) report["calibration"] = calibration_json(*r.calibration);
  report["performance_estimate"] = perf_json(r.perf);
  write_text(report_path, report.dump(2) + "\n");
  crash_guard_set_phase("commit");
  tx.commit();
  return r;
}

CompileResult check_model(const std::string& onnx_path, const std::string& march, const std::map<std::string, Shape>& input_shapes) {
  arch::target_for(march);  // Error(Usage) naming the known marches
  PipelineInput in;
  in.onnx_path = onnx_path;
  in.march = march;
  in.config.march = march;  // the canonical settings (and so the cost-model defaults) name the march
  in.import.input_shapes = input_shapes;
  return run_pipeline(in, false);
}

}  // namespace bpu
