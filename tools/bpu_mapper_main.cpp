// bpu-mapper command line: a thin front end over the public API (include/bpu_mapper/, docs/api.md) and nothing
// else of the library. Subcommands follow hb_mapper's names (makertbin) and hrt_model_exec's role (run). Every
// failure prints one "ERROR ..." / "E ..." line and exits with the documented code of its class (docs/cli.md).

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <thread>

#include "bpu_mapper/compiler.hpp"

namespace {

using namespace bpu_mapper;

// --march of info, disasm, verify, perf and run: the march the .bin must have been compiled for ("" = any).
std::string g_bin_march;
// -m/--model-name of the same commands: the model of a packed file (`bpu-mapper pack`); "" for a plain .bin.
std::string g_model_name;

Model load_model(const std::string& path) { return Model::load(path, g_bin_march, g_model_name); }

// `info`: one model, or every model of a packed file when no --model-name chose one.
std::string info_text(const std::string& path) {
  if (!g_model_name.empty()) return load_model(path).info();
  std::vector<std::string> names = model_names(path);
  if (names.size() == 1) return Model::load(path, g_bin_march).info();
  std::string text = "packed file '" + path + "': " + std::to_string(names.size()) + " models:";
  for (const auto& n : names) text += " " + n;
  text += "\n";
  for (const auto& n : names) text += "\n== model " + n + " ==\n" + Model::load(path, g_bin_march, n).info();
  return text;
}

const char* kExitCodes =
    "Exit codes: 0 ok, 2 usage, 3 config, 4 model, 5 unsupported, 6 accuracy, 7 io, 8 artifact (.bin), 70 internal.";

double peak_rss_mib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports KiB
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

// "NAME=FILE" (or just FILE when the model has exactly one tensor of that kind) -> name and file.
std::pair<std::string, std::string> split_binding(const std::string& arg, const std::vector<TensorDesc>& tensors,
                                                  const char* flag) {
  size_t eq = arg.find('=');
  if (eq != std::string::npos) return {arg.substr(0, eq), arg.substr(eq + 1)};
  if (tensors.size() != 1) {
    throw Error(BPU_ERR_USAGE, std::string(flag) + " '" + arg + "': the model has several; use NAME=FILE.npy");
  }
  return {tensors[0].name, arg};
}

int cmd_makertbin(const std::string& config_path, const std::string& model_type) {
  configure_logging("bpu_mapper_makertbin.log");
  if (model_type != "onnx") {
    throw Error(BPU_ERR_USAGE, "--model-type '" + model_type + "' is not supported; use --model-type onnx");
  }
  spdlog::info("bpu-mapper {} makertbin, config '{}'", version(), config_path);
  set_progress(true);
  CompileResult r = compile(config_path);
  spdlog::info("node placement:\n{}", r.placement_table);
  spdlog::info("{}", r.placement_summary);
  spdlog::info("accuracy on one sample ({}):\n{}", r.accuracy_sample, r.accuracy_node_table);
  spdlog::info("accuracy per output:\n{}", r.accuracy_output_tables);
  std::string phases;
  for (const auto& [phase, seconds] : r.phase_seconds) phases += fmt::format("{} {:.3f} s, ", phase, seconds);
  spdlog::info("phases: {}", phases.substr(0, phases.size() - 2));
  spdlog::info("BPU estimate:\n{}", r.perf_text);
  const std::string dir = std::filesystem::path(r.bin_path).parent_path().string();
  const std::string prefix = std::filesystem::path(r.bin_path).stem().string();
  spdlog::info("wrote {0}_original_float_model.onnx, {0}_optimized_float_model.onnx, {0}_quantized_model.onnx, "
               "{2}{0}_report.json in '{1}'", prefix, dir,
               r.calibration_method.empty() ? "" : prefix + "_calibrated_model.onnx (calibration " + r.calibration_method + "), ");
  spdlog::info("wrote '{}' and {}_placement.json in {:.3f} s, peak memory {:.1f} MiB", r.bin_path, prefix, r.seconds,
               peak_rss_mib());
  return 0;
}

int cmd_checker(const std::string& model, const std::string& march, const std::vector<std::string>& shape_args) {
  configure_logging("bpu_mapper_checker.log");
  spdlog::info("bpu-mapper {} checker, model '{}'", version(), model);
  if (shape_args.size() % 2) throw Error(BPU_ERR_USAGE, "--input-shape takes NAME SHAPE pairs, e.g. --input-shape input 1x3x224x224");
  std::map<std::string, std::vector<int64_t>> shapes;
  for (size_t i = 0; i < shape_args.size(); i += 2) {
    shapes[shape_args[i]] = parse_shape(shape_args[i + 1], "--input-shape " + shape_args[i]);
  }
  CompileResult r = check(model, shapes, march);
  spdlog::info("node placement:\n{}", r.placement_table);
  spdlog::info("{}", r.placement_summary);
  return 0;
}

// --input NAME=FILE: .npy, a JPEG/PNG/BMP picture (image inputs) or raw bytes (Model::read_input).
TensorMap load_inputs(const std::vector<std::string>& args, const Model& model) {
  TensorMap inputs;
  for (const auto& arg : args) {
    auto [name, file] = split_binding(arg, model.inputs(), "--input");
    inputs[name] = model.read_input(name, file);
  }
  return inputs;
}

// verify's --input-shape NAME:SHAPE (SHAPE alone for a one-input model); each must equal the .bin's.
std::map<std::string, std::vector<int64_t>> verify_shapes(const std::vector<std::string>& args, const std::vector<TensorDesc>& inputs) {
  std::map<std::string, std::vector<int64_t>> given;
  for (const auto& arg : args) {
    size_t colon = arg.rfind(':');
    std::string name = colon == std::string::npos ? "" : arg.substr(0, colon);
    if (name.empty()) {
      if (inputs.size() != 1) throw Error(BPU_ERR_USAGE, "--input-shape '" + arg + "': the model has several inputs; use NAME:SHAPE");
      name = inputs[0].name;
    }
    std::vector<int64_t> shape = parse_shape(arg.substr(colon == std::string::npos ? 0 : colon + 1), "--input-shape " + name);
    auto it = std::find_if(inputs.begin(), inputs.end(), [&](const TensorDesc& d) { return d.name == name; });
    if (it == inputs.end()) throw Error(BPU_ERR_USAGE, "--input-shape '" + arg + "': the .bin has no input '" + name + "'");
    if (it->shape != shape) {
      throw Error(BPU_ERR_USAGE, "--input-shape '" + arg + "': the .bin was compiled for " + name + " " +
                                     shape_text(it->shape) + "; give that shape");
    }
    given[name] = shape;
  }
  return given;
}

int cmd_verify(const std::string& model_path, const std::string& onnx_path, const std::vector<std::string>& input_args,
               const std::vector<std::string>& shape_args, double tolerance, bool isolated, bool exact) {
  if (tolerance < 0) throw Error(BPU_ERR_USAGE, "--tolerance-lsb must be >= 0");
  if (exact && isolated) {
    throw Error(BPU_ERR_USAGE, "--exact and --isolated do not combine: the .bin's values are float32 and would not "
                               "feed the float64 reference exactly; run them separately");
  }
  const Model model = load_model(model_path);
  const auto shapes = verify_shapes(shape_args, model.inputs());
  VerifyResult report = verify(model_path, onnx_path, load_inputs(input_args, model), tolerance, isolated, shapes,
                               g_model_name, exact);
  std::cout << report.text;
  if (!report.passed) {
    throw Error(BPU_ERR_ACCURACY, "verify: '" + model_path + "' departs from " +
                                      (exact ? "the exact float64 run of '" : "'") + onnx_path + "' by more than " +
                                      std::to_string(tolerance) + " LSB, first at node " + report.first_diverging_node +
                                      (exact ? "" : "; verify --exact shows whether the .bin or torch's float32 "
                                                    "run is off (the .bin computes the exact value, docs/numerics.md §10)"));
  }
  return 0;
}

std::string create_output_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(BPU_ERR_IO, "cannot create --output-dir '" + dir + "': " + ec.message());
  return dir;
}

// The estimate table on stdout; <model>_perf.svg and the self-contained <model>_perf.html in output_dir, the page
// with placement and accuracy tables when makertbin's <model>_report.json is beside the .bin.
int cmd_perf(const std::string& path, const std::string& output_dir, int measure) {
  Model model = load_model(path);
  const std::filesystem::path bin(path);
  const std::string stem = g_model_name.empty() ? bin.stem().string() : g_model_name;
  const std::filesystem::path report = bin.parent_path() / (stem + "_report.json");
  PerfEstimate e = model.estimate(std::filesystem::exists(report) ? report.string() : "", measure);
  std::cout << e.text;
  const std::filesystem::path dir(create_output_dir(output_dir));
  save_text((dir / (stem + "_perf.svg")).string(), e.svg);
  save_text((dir / (stem + "_perf.html")).string(), e.html);
  std::cout << "picture: " << (dir / (stem + "_perf.svg")).string() << "\n";
  std::cout << "page: " << (dir / (stem + "_perf.html")).string() << "\n";
  return 0;
}

// Cosine and max |diff| of an output against a reference .npy.
void compare_to_reference(const std::string& name, const Tensor& out, const Tensor& ref) {
  if (ref.shape != out.shape) {
    throw Error(BPU_ERR_USAGE, "--reference for '" + name + "' has shape " + shape_text(ref.shape) + ", the output is " +
                                   shape_text(out.shape));
  }
  double dot = 0, aa = 0, bb = 0, max_diff = 0;
  for (size_t i = 0; i < out.data.size(); ++i) {
    double a = out.data[i], b = ref.data[i];
    dot += a * b;
    aa += a * a;
    bb += b * b;
    max_diff = std::max(max_diff, std::fabs(a - b));
  }
  spdlog::info("output '{}' vs reference: cosine {:.8f}, max |diff| {:.3g}", name, dot / std::sqrt(aa * bb), max_diff);
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

// hrt_model_exec perf: `frames` inferences shared by `thread_num` threads, each with its own Model (one inference
// at a time per Model); prints the running condition, FPS and latency percentiles.
void run_frames(const std::string& path, const TensorMap& inputs, int frames, int thread_num, int threads) {
  std::vector<Model> models;
  for (int t = 0; t < thread_num; ++t) {
    models.push_back(load_model(path));
    models.back().set_threads(thread_num > 1 && threads == 0 ? 1 : threads);
    models.back().run(inputs);  // warm-up, outside the timed frames
  }
  std::atomic<int> next{0};
  std::vector<std::vector<double>> latencies(thread_num);
  std::vector<std::exception_ptr> failures(thread_num);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < thread_num; ++t) {
    pool.emplace_back([&, t] {
      try {
        while (next.fetch_add(1) < frames) {
          const auto t0 = std::chrono::steady_clock::now();
          models[t].run(inputs);
          latencies[t].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
      } catch (...) {
        failures[t] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (const auto& f : failures) if (f) std::rethrow_exception(f);
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  double sum = 0;
  for (double v : all) sum += v;
  spdlog::info("Running condition: thread number {}, frame count {}, run time {:.3f} ms", thread_num, frames, wall_ms);
  spdlog::info("Perf result: frame latency average {:.3f} ms, p50 {:.3f} ms, p90 {:.3f} ms, p99 {:.3f} ms; frame rate {:.2f} FPS",
               all.empty() ? 0.0 : sum / all.size(), percentile(all, 0.5), percentile(all, 0.9), percentile(all, 0.99),
               wall_ms > 0 ? 1000.0 * frames / wall_ms : 0.0);
}

// --profile-path: profiler.csv and profiler.json of `runs` timed inferences (Model::profile) and the summary.
void write_profile(const Model& model, const TensorMap& inputs, const std::string& dir, int runs) {
  ProfileResult p = model.profile(inputs, runs);
  create_output_dir(dir);
  save_text((std::filesystem::path(dir) / "profiler.csv").string(), p.csv);
  save_text((std::filesystem::path(dir) / "profiler.json").string(), p.json);
  spdlog::info("profile over {} runs: {:.3f} ms per inference -> {}/profiler.csv, profiler.json\n{}", p.runs, p.total_ms, dir, p.summary);
}

int cmd_run(const std::string& model_path, const std::vector<std::string>& input_args,
            const std::vector<std::string>& reference_args, const std::string& output_dir, int repeat, int threads,
            int frame_count, int thread_num, const std::string& profile_path) {
  if (repeat < 0) throw Error(BPU_ERR_USAGE, "--repeat must be >= 0");
  if (frame_count < 0 || frame_count > 1000000) throw Error(BPU_ERR_USAGE, "--frame-count must be in [0, 1000000]");
  if (thread_num < 1 || thread_num > 8) throw Error(BPU_ERR_USAGE, "--thread-num must be in [1, 8] (hrt_model_exec's range)");
  if (threads < 0 || threads > 256) throw Error(BPU_ERR_USAGE, "--threads must be in [0, 256] (0: all cores)");
  Model model = load_model(model_path);
  model.set_threads(threads);
  TensorMap inputs = load_inputs(input_args, model);
  TensorMap references;
  for (const auto& arg : reference_args) {
    auto [name, file] = split_binding(arg, model.outputs(), "--reference");
    references[name] = load_npy(file);
  }
  TensorMap outputs = model.run(inputs);
  std::vector<double> times;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    outputs = model.run(inputs);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  create_output_dir(output_dir);
  for (const auto& [name, array] : outputs) {
    std::string path = (std::filesystem::path(output_dir) / output_file_name(name)).string();
    std::string dtype = "float32";  // an integer output (removed Dequantize) is written as its int8/int16/int32 codes
    for (const auto& o : model.outputs()) dtype = o.name == name ? o.dtype : dtype;
    save_npy(path, array, dtype);
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    for (float v : array.data) {
      mn = std::min<double>(mn, v);
      mx = std::max<double>(mx, v);
      sum += v;
    }
    spdlog::info("output '{}' shape {} min {:.6f} max {:.6f} mean {:.6f} -> {}", name, shape_text(array.shape), mn,
                 mx, array.data.empty() ? 0.0 : sum / array.data.size(), path);
    auto ref = references.find(name);
    if (ref != references.end()) compare_to_reference(name, array, ref->second);
  }
  if (!times.empty()) {
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                      : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
    spdlog::info("latency over {} runs: median {:.3f} ms, min {:.3f} ms, peak memory {:.1f} MiB", times.size(), median,
                 sorted.front(), peak_rss_mib());
  }
  if (frame_count > 0) run_frames(model_path, inputs, frame_count, thread_num, threads);
  if (!profile_path.empty()) write_profile(model, inputs, profile_path, frame_count > 0 ? std::min(frame_count, 100) : 5);
  return 0;
}

// `infer`: every tensor of the .bin and/or the QAT ONNX run as .npy, paired by name, and layer_index.csv.
int cmd_infer(const std::string& bin_path, const std::string& onnx_path, const std::vector<std::string>& input_args,
              const std::string& output_dir) {
  if (bin_path.empty() && onnx_path.empty()) throw Error(BPU_ERR_USAGE, "infer: give a .bin (--model), a QAT ONNX (--onnx) or both");
  TensorMap inputs;
  if (!bin_path.empty()) {
    inputs = load_inputs(input_args, load_model(bin_path));
  } else {
    for (const auto& arg : input_args) {
      size_t eq = arg.find('=');
      if (eq == std::string::npos) throw Error(BPU_ERR_USAGE, "--input '" + arg + "': without --model give NAME=FILE.npy");
      inputs[arg.substr(0, eq)] = load_npy(arg.substr(eq + 1));
    }
  }
  InferResult r = infer(bin_path, onnx_path, inputs, output_dir, g_model_name);
  size_t both = 0, bin = 0, onnx = 0;
  double worst = 1;
  std::string worst_tensor;
  for (const auto& row : r.rows) {
    bin += !row.bin_file.empty();
    onnx += !row.onnx_file.empty();
    both += row.compared;
    if (row.compared && row.cosine < worst) worst = row.cosine, worst_tensor = row.tensor;
  }
  spdlog::info("infer: {} tensors of the .bin, {} of the QAT model, {} paired -> '{}'", bin, onnx, both, r.index_path);
  if (both) spdlog::info("infer: lowest cosine {:.8f} at '{}'", worst, worst_tensor);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bpu-mapper: compiles QAT ONNX models for the simulated bayes BPU and runs them"};
  app.footer(kExitCodes);
  app.require_subcommand(0, 1);
  std::string supported_ops_march;
  auto* supported_ops = app.add_option("--supported-ops", supported_ops_march,
                                       "print a march's BPU operator table (default bayes: docs/supported_ops.md; "
                                       "bayes-e, bernoulli2: docs/supported_ops_<march>.md)")
                            ->expected(0, 1);
  app.set_version_flag("--version", std::string("bpu-mapper ") + bpu_mapper::version());

  auto* mk = app.add_subcommand("makertbin", "compile the model named by an hb_mapper-style YAML into a .bin");
  std::string config_path, model_type;
  mk->add_option("-c,--config", config_path, "YAML config (model_parameters, input_parameters, ...)")->required();
  mk->add_option("--model-type", model_type, "model format; only onnx")->required();

  auto* checker = app.add_subcommand("checker", "print where every node would run and why, without writing a .bin");
  std::string checker_model, checker_march = "bayes", checker_type = "onnx";
  std::vector<std::string> checker_shapes;
  checker->add_option("--model", checker_model, "QAT ONNX model")->required();
  checker->add_option("--march", checker_march, "target march: bayes, bayes-e or bernoulli2")->capture_default_str();
  checker->add_option("--model-type", checker_type, "model format; only onnx")->capture_default_str();
  checker->add_option("--input-shape", checker_shapes, "NAME SHAPE (e.g. input 1x3x224x224), repeat per input")
      ->expected(2, 1 << 20);

  auto* info = app.add_subcommand("info", "print what a .bin holds: versions, march, inputs/outputs, segments, YAML");
  std::string info_model;
  info->add_option("model", info_model, "compiled .bin")->required();
  const char* march_help = "refuse (exit 8) a .bin compiled for another march than this one";
  info->add_option("--march", g_bin_march, march_help);
  const char* name_help = "the model of a packed file (bpu-mapper pack) to use";
  info->add_option("-m,--model-name", g_model_name, "only this model of a packed file (default: every one)");
  auto* disasm = app.add_subcommand("disasm", "print a .bin's instructions, one per line, with their ONNX nodes");
  std::string disasm_model;
  int disasm_segment = -1;
  disasm->add_option("model", disasm_model, "compiled .bin")->required();
  disasm->add_option("--segment", disasm_segment, "only this BPU segment");
  disasm->add_option("--march", g_bin_march, march_help);
  disasm->add_option("-m,--model-name", g_model_name, name_help);

  auto* modifier = app.add_subcommand("modifier", "remove boundary nodes of a .bin (hb_model_modifier): integer inputs/outputs");
  std::string modifier_model, modifier_out;
  std::vector<std::string> modifier_names, modifier_types;
  modifier->add_option("model", modifier_model, "compiled .bin")->required();
  modifier->add_option("-r,--remove", modifier_names, "boundary node to remove: <input>_HzQuantize or <output>_HzDequantize (repeat)");
  modifier->add_option("-a,--remove-type", modifier_types, "remove every boundary node of this type: Quantize or Dequantize (repeat)");
  modifier->add_option("-o,--output", modifier_out, "the modified .bin (default: <model>_modified.bin beside it)");

  auto* pack = app.add_subcommand("pack", "put several .bin files into one packed file (hb_pack); run/info/perf pick one with --model-name");
  std::vector<std::string> pack_inputs;
  std::string pack_out;
  pack->add_option("models", pack_inputs, "compiled .bin files (2 to 64); each is named by its file name without .bin")->required();
  pack->add_option("-o,--output", pack_out, "the packed file")->required();

  auto* infer_cmd = app.add_subcommand("infer", "dump every tensor of a .bin run and of its QAT ONNX run as .npy, paired by name (hb_mapper infer)");
  std::string infer_bin, infer_onnx, infer_dir = "infer_output";
  std::vector<std::string> infer_inputs;
  infer_cmd->add_option("--model", infer_bin, "compiled .bin (or a packed file with --model-name)");
  infer_cmd->add_option("--onnx", infer_onnx, "the QAT ONNX model");
  infer_cmd->add_option("--input", infer_inputs, "NAME=FILE per input (the .bin's runtime inputs; .npy only without --model)")->required();
  infer_cmd->add_option("-m,--model-name", g_model_name, "the model of a packed file");
  infer_cmd->add_option("--output-dir", infer_dir, "folder for bin/, onnx/ and layer_index.csv")->capture_default_str();

  auto* verify = app.add_subcommand("verify", "run a .bin and its QAT ONNX on the same inputs and compare tensor by tensor");
  std::string verify_model_path, verify_onnx;
  std::vector<std::string> verify_inputs;
  std::vector<std::string> verify_shapes_args;
  double tolerance_lsb = 1.0;
  verify->add_option("--model", verify_model_path, "compiled .bin")->required();
  verify->add_option("--onnx", verify_onnx, "the QAT ONNX model it was compiled from")->required();
  verify->add_option("--input", verify_inputs, "NAME=FILE per input: .npy, JPEG/PNG/BMP (image inputs) or raw bytes (uint8 pixels / float32)")->required();
  verify->add_option("--input-shape", verify_shapes_args,
                     "NAME:SHAPE (e.g. input:1x3x224x224), the shape the .bin was compiled for; default: the .bin's");
  verify->add_option("--march", g_bin_march, march_help);
  verify->add_option("-m,--model-name", g_model_name, name_help);
  verify->add_option("--tolerance-lsb", tolerance_lsb, "allowed departure in output LSBs (exit 6 beyond)")->capture_default_str();
  bool verify_isolated = false;
  verify->add_flag("--isolated", verify_isolated,
                   "feed every reference node the .bin's own inputs, so each node is judged alone (rounding noise does "
                   "not accumulate; for full-size networks)");
  bool verify_exact = false;
  verify->add_flag("--exact", verify_exact,
                   "also run the QAT graph in float64 (exact fake quantization) and judge the .bin against it; reports "
                   "how many codes the .bin and the float32 QAT reference each differ from exact (not with --isolated)");

  auto* perf = app.add_subcommand("perf", "static bayes estimate of a .bin: latency, FPS, DDR traffic, per segment; an SVG picture and an HTML page");
  std::string perf_model, perf_dir = "perf_result";
  perf->add_option("model", perf_model, "compiled .bin")->required();
  perf->add_option("--march", g_bin_march, march_help);
  perf->add_option("-m,--model-name", g_model_name, name_help);
  perf->add_option("--output-dir", perf_dir, "folder for <model>_perf.svg and <model>_perf.html")->capture_default_str();
  int perf_measure = 0;
  perf->add_option("--measure", perf_measure, "also run N inferences on zero inputs and print the host time per segment");

  auto* run = app.add_subcommand("run", "run a .bin on .npy inputs with the simulator");
  std::string model_path, output_dir = ".";
  std::vector<std::string> input_args;
  int repeat = 0;
  run->add_option("--model", model_path, "compiled .bin")->required();
  run->add_option("--input", input_args, "NAME=FILE per input: .npy, JPEG/PNG/BMP (image inputs) or raw bytes (uint8 pixels / float32)")->required();
  run->add_option("--march", g_bin_march, march_help);
  run->add_option("-m,--model-name", g_model_name, name_help);
  run->add_option("--output-dir", output_dir, "folder for <output>.npy files")->capture_default_str();
  run->add_option("--repeat", repeat, "run N more inferences and print median and min latency");
  std::vector<std::string> reference_args;
  int threads = 0;
  run->add_option("--threads", threads, "simulator worker threads, 0 = all cores (results are identical for every count)")->capture_default_str();
  run->add_option("--reference", reference_args, "NAME=FILE.npy: print cosine and max |diff| of that output against it");
  int frame_count = 0, thread_num = 1;
  std::string profile_path;
  run->add_option("--frame-count", frame_count, "hrt_model_exec perf: run N frames and print FPS and latency p50/p90/p99");
  run->add_option("--thread-num", thread_num, "frames in flight for --frame-count (1..8), one model per thread")->capture_default_str();
  run->add_option("--profile-path", profile_path, "write profiler.csv and profiler.json (time per BPU instruction, CPU node, host step) into DIR");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ERROR " << e.what() << " (see --help)\n";
    return BPU_ERR_USAGE;
  }
  bpu_mapper::configure_logging("");  // makertbin and checker add their log files
  bpu_mapper::install_crash_guard();
  try {
    if (supported_ops->count()) {
      std::cout << bpu_mapper::supported_ops_markdown(supported_ops_march.empty() ? "bayes" : supported_ops_march);
      return 0;
    }
    if (mk->parsed()) return cmd_makertbin(config_path, model_type);
    if (checker->parsed()) {
      if (checker_type != "onnx") throw bpu_mapper::Error(BPU_ERR_USAGE, "--model-type '" + checker_type + "' is not supported; use onnx");
      return cmd_checker(checker_model, checker_march, checker_shapes);
    }
    if (info->parsed()) {
      std::cout << info_text(info_model);
      return 0;
    }
    if (perf->parsed()) return cmd_perf(perf_model, perf_dir, perf_measure);
    if (verify->parsed()) return cmd_verify(verify_model_path, verify_onnx, verify_inputs, verify_shapes_args, tolerance_lsb, verify_isolated,
                                         verify_exact);
    if (disasm->parsed()) {
      std::cout << load_model(disasm_model).disassembly(disasm_segment);
      return 0;
    }
    if (run->parsed()) {
      return cmd_run(model_path, input_args, reference_args, output_dir, repeat, threads, frame_count, thread_num, profile_path);
    }
    if (modifier->parsed()) {
      std::filesystem::path in(modifier_model);
      const std::string out = !modifier_out.empty() ? modifier_out
                                                    : (in.parent_path() / (in.stem().string() + "_modified.bin")).string();
      for (const auto& n : bpu_mapper::modify_model(modifier_model, modifier_names, modifier_types, out)) {
        spdlog::info("removed {}", n);
      }
      spdlog::info("wrote '{}'", out);
      return 0;
    }
    if (infer_cmd->parsed()) return cmd_infer(infer_bin, infer_onnx, infer_inputs, infer_dir);
    if (pack->parsed()) {
      std::vector<std::string> names = bpu_mapper::pack_models(pack_inputs, pack_out);
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      spdlog::info("wrote '{}' with {} models: {}", pack_out, names.size(), list);
      return 0;
    }
    std::cout << app.help();
    return BPU_ERR_USAGE;
  } catch (const bpu_mapper::Error& e) {
    spdlog::error("{}", e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    std::cerr << "ERROR out of memory\n";
    return BPU_ERR_INTERNAL;
  } catch (const std::exception& e) {
    std::cerr << "ERROR internal error: " << e.what() << "\n";
    return BPU_ERR_INTERNAL;
  }
}
