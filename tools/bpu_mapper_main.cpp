// bpu-mapper command line: a thin front end over lib/api. Subcommands follow hb_mapper's names
// (makertbin) and hrt_model_exec's role (run). Every failure prints one "ERROR ..." line and exits with the
// documented code of its class (lib/common/error.h, README.md).

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <thread>

#include "api/bpu_mapper.h"
#include "arch/bayes/constraints.h"
#include "common/crash_guard.h"
#include "common/error.h"
#include "common/log_file.h"
#include "common/npy.h"
#include "common/progress.h"
#include "artifact/bin_format.h"
#include "common/file_io.h"
#include "report/model_info.h"
#include "report/perf_report.h"
#include "report/verify.h"
#include "runtime/qat_reference.h"
#include "runtime/model_runner.h"

namespace {

using namespace bpu;

const char* kExitCodes =
    "Exit codes: 0 ok, 2 usage, 3 config, 4 model, 5 unsupported, 6 accuracy, 7 io, 8 artifact (.bin), 70 internal.";

double peak_rss_mib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports KiB
}

// "NAME=FILE" (or just FILE when the model has exactly one tensor of that kind) -> name and file.
std::pair<std::string, std::string> split_binding(const std::string& arg, const std::vector<TensorInfo>& tensors,
                                                  const char* flag) {
  size_t eq = arg.find('=');
  if (eq != std::string::npos) return {arg.substr(0, eq), arg.substr(eq + 1)};
  if (tensors.size() != 1) {
    throw Error(ExitCode::Usage, std::string(flag) + " '" + arg + "': the model has several; use NAME=FILE.npy");
  }
  return {tensors[0].name, arg};
}

void setup_logging(const std::string& log_file) {
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stdout_color_sink_mt>();
  console->set_level(spdlog::level::info);
  console->set_pattern("%^%L%$ %v");
  sinks.push_back(console);
  std::string log_path;
  if (!log_file.empty()) {
    try {
      auto file = std::make_shared<FlushedFileSink>(log_file);
      file->set_level(spdlog::level::debug);
      file->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
      log_path = file->path();
      sinks.push_back(file);
    } catch (const Error& e) {
      std::cerr << "W " << e.what() << "\n";
    }
  }
  auto logger = std::make_shared<spdlog::logger>("bpu-mapper", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  if (!log_path.empty() && log_path != log_file) {
    spdlog::warn("'{}' is in use by another bpu-mapper process; this run logs to '{}'", log_file, log_path);
  }
}

int cmd_makertbin(const std::string& config_path, const std::string& model_type) {
  setup_logging("bpu_mapper_makertbin.log");
  if (model_type != "onnx") {
    throw Error(ExitCode::Usage, "--model-type '" + model_type + "' is not supported; use --model-type onnx");
  }
  spdlog::info("bpu-mapper {} makertbin, config '{}'", kCompilerVersion, config_path);
  MapperConfig cfg = load_config(config_path);
  for (const auto& w : cfg.warnings) spdlog::warn("{}", w);
  for (const auto& d : cfg.defaults) spdlog::info("default: {}", d);
  spdlog::info("march {}, onnx_model '{}', working_dir '{}'", cfg.march, cfg.onnx_model, cfg.working_dir);
  enable_progress(true);
  CompileResult r = makertbin(cfg);
  spdlog::info("node placement:\n{}", format_placement_table(r.placement));
  spdlog::info("{}", format_placement_summary(r.placement, r.partition));
  spdlog::info("accuracy on one sample ({}):\n{}", r.accuracy.sample, format_node_accuracy_table(r.accuracy));
  spdlog::info("accuracy per output:\n{}", format_output_accuracy_tables(r.accuracy));
  std::string phases;
  for (const auto& [phase, seconds] : r.phase_seconds) phases += fmt::format("{} {:.3f} s, ", phase, seconds);
  spdlog::info("phases: {}", phases.substr(0, phases.size() - 2));
  spdlog::info("BPU estimate:\n{}", format_perf_report(r.perf));
  spdlog::info("wrote {0}_original_float_model.onnx, {0}_optimized_float_model.onnx, {0}_quantized_model.onnx, "
               "{0}_report.json in '{1}'", cfg.output_model_file_prefix, cfg.working_dir);
  spdlog::info("wrote '{}' and {}_placement.json in {:.3f} s, peak memory {:.1f} MiB", cfg.output_bin_path(),
               cfg.output_model_file_prefix, r.seconds, peak_rss_mib());
  return 0;
}

int cmd_checker(const std::string& model, const std::string& march, const std::vector<std::string>& shape_args) {
  setup_logging("bpu_mapper_checker.log");
  spdlog::info("bpu-mapper {} checker, model '{}'", kCompilerVersion, model);
  if (shape_args.size() % 2) throw Error(ExitCode::Usage, "--input-shape takes NAME SHAPE pairs, e.g. --input-shape input 1x3x224x224");
  std::map<std::string, Shape> shapes;
  for (size_t i = 0; i < shape_args.size(); i += 2) {
    try {
      shapes[shape_args[i]] = parse_shape(shape_args[i + 1], "--input-shape " + shape_args[i]);
    } catch (const Error& e) {
      throw Error(ExitCode::Usage, e.what());
    }
  }
  CompileResult r = check_model(model, march, shapes);
  spdlog::info("node placement:\n{}", format_placement_table(r.placement));
  spdlog::info("{}", format_placement_summary(r.placement, r.partition));
  return 0;
}

std::map<std::string, FloatArray> load_inputs(const std::vector<std::string>& args, const std::vector<TensorInfo>& model_inputs) {
  std::map<std::string, FloatArray> inputs;
  for (const auto& arg : args) {
    auto [name, file] = split_binding(arg, model_inputs, "--input");
    inputs[name] = load_npy(file);
  }
  return inputs;
}

// verify's shapes for the QAT model: the .bin's input shapes, or --input-shape NAME:SHAPE (SHAPE alone for a
// one-input model), which must then equal the .bin's.
ImportOptions verify_shapes(const std::vector<std::string>& args, const std::vector<TensorInfo>& inputs) {
  ImportOptions o;
  for (const auto& in : inputs) o.input_shapes[in.name] = in.shape;
  for (const auto& arg : args) {
    size_t colon = arg.rfind(':');
    std::string name = colon == std::string::npos ? "" : arg.substr(0, colon);
    if (name.empty()) {
      if (inputs.size() != 1) throw Error(ExitCode::Usage, "--input-shape '" + arg + "': the model has several inputs; use NAME:SHAPE");
      name = inputs[0].name;
    }
    Shape shape;
    try {
      shape = parse_shape(arg.substr(colon == std::string::npos ? 0 : colon + 1), "--input-shape " + name);
    } catch (const Error& e) {
      throw Error(ExitCode::Usage, e.what());
    }
    auto it = o.input_shapes.find(name);
    if (it == o.input_shapes.end()) throw Error(ExitCode::Usage, "--input-shape '" + arg + "': the .bin has no input '" + name + "'");
    if (it->second != shape) {
      throw Error(ExitCode::Usage, "--input-shape '" + arg + "': the .bin was compiled for " + name + " " +
                                       shape_to_string(it->second) + "; give that shape");
    }
  }
  return o;
}

int cmd_verify(const std::string& model_path, const std::string& onnx_path, const std::vector<std::string>& input_args,
               const std::vector<std::string>& shape_args, double tolerance, bool isolated) {
  if (tolerance < 0) throw Error(ExitCode::Usage, "--tolerance-lsb must be >= 0");
  ModelRunner runner = ModelRunner::from_file(model_path);
  const ImportOptions shapes = verify_shapes(shape_args, runner.model().inputs);
  QatReference reference = [&] {
    try {
      return QatReference::from_file(onnx_path, shapes);
    } catch (const Error& e) {
      // A .bin compiled with input_batch from a static batch-1 model: the batch is set like makertbin did.
      const auto& ins = runner.model().inputs;
      if (e.code() != ExitCode::Config || ins.size() != 1 || ins[0].shape.empty() || ins[0].shape[0] == 1) throw;
      ImportOptions batched;
      batched.input_shapes[ins[0].name] = ins[0].shape;
      batched.input_shapes[ins[0].name][0] = 1;
      batched.input_batch = ins[0].shape[0];
      return QatReference::from_file(onnx_path, batched);
    }
  }();
  VerifyReport report = verify_model(runner, reference, load_inputs(input_args, runner.model().inputs), tolerance, isolated);
  std::cout << format_verify_report(report);
  if (!report.passed()) {
    throw Error(ExitCode::Accuracy, "verify: '" + model_path + "' departs from '" + onnx_path + "' by more than " +
                                        std::to_string(tolerance) + " LSB, first at node " + report.first_diverging_node);
  }
  return 0;
}

int cmd_perf(const std::string& path, const std::string& output_dir) {
  ModelRunner runner = ModelRunner::from_file(path);
  PerfReport report = estimate_model(runner.model(), runner.validated());
  std::cout << format_perf_report(report);
  std::error_code ec;
  std::filesystem::create_directories(output_dir, ec);
  if (ec) throw Error(ExitCode::Io, "cannot create --output-dir '" + output_dir + "': " + ec.message());
  const std::string stem = std::filesystem::path(path).stem().string();
  const std::string svg = perf_svg(runner.model(), report);
  const std::string svg_path = (std::filesystem::path(output_dir) / (stem + "_perf.svg")).string();
  write_file_atomic(svg_path, svg.data(), svg.size());
  std::cout << "picture: " << svg_path << "\n";
  return 0;
}

int cmd_info(const std::string& path) {
  ModelRunner runner = ModelRunner::from_file(path);
  std::cout << format_model_info(runner.model(), runner.validated(), path);
  return 0;
}

int cmd_disasm(const std::string& path, int segment) {
  ModelRunner runner = ModelRunner::from_file(path);
  std::cout << format_disassembly(runner.model(), runner.validated(), segment);
  return 0;
}

std::string file_name_for(const std::string& tensor) {
  std::string s = tensor;
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

int cmd_run(const std::string& model_path, const std::vector<std::string>& input_args,
            const std::vector<std::string>& reference_args, const std::string& output_dir, int repeat, int threads) {
  if (repeat < 0) throw Error(ExitCode::Usage, "--repeat must be >= 0");
  if (threads < 0 || threads > 256) throw Error(ExitCode::Usage, "--threads must be in [0, 256] (0: all cores)");
  ModelRunner runner = ModelRunner::from_file(model_path);
  runner.set_threads(threads == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : threads);
  std::map<std::string, FloatArray> inputs;
  inputs = load_inputs(input_args, runner.model().inputs);
  std::map<std::string, FloatArray> references;
  for (const auto& arg : reference_args) {
    auto [name, file] = split_binding(arg, runner.model().outputs, "--reference");
    references[name] = load_npy(file);
  }
  auto outputs = runner.run(inputs);
  std::vector<double> times;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    outputs = runner.run(inputs);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::error_code ec;
  std::filesystem::create_directories(output_dir, ec);
  if (ec) throw Error(ExitCode::Io, "cannot create --output-dir '" + output_dir + "': " + ec.message());
  for (const auto& [name, array] : outputs) {
    std::string path = (std::filesystem::path(output_dir) / (file_name_for(name) + ".npy")).string();
    save_npy(path, array);
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    for (float v : array.data) {
      mn = std::min<double>(mn, v);
      mx = std::max<double>(mx, v);
      sum += v;
    }
    spdlog::info("output '{}' shape {} min {:.6f} max {:.6f} mean {:.6f} -> {}", name, shape_to_string(array.shape), mn,
                 mx, array.data.empty() ? 0.0 : sum / array.data.size(), path);
    auto ref = references.find(name);
    if (ref == references.end()) continue;
    if (ref->second.shape != array.shape) {
      throw Error(ExitCode::Usage, "--reference for '" + name + "' has shape " + shape_to_string(ref->second.shape) +
                                       ", the output is " + shape_to_string(array.shape));
    }
    double dot = 0, aa = 0, bb = 0, max_diff = 0;
    for (size_t i = 0; i < array.data.size(); ++i) {
      double a = array.data[i], b = ref->second.data[i];
      dot += a * b;
      aa += a * a;
      bb += b * b;
      max_diff = std::max(max_diff, std::fabs(a - b));
    }
    spdlog::info("output '{}' vs reference: cosine {:.8f}, max |diff| {:.3g}", name, dot / std::sqrt(aa * bb), max_diff);
  }
  if (!times.empty()) {
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                      : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
    spdlog::info("latency over {} runs: median {:.3f} ms, min {:.3f} ms, peak memory {:.1f} MiB", times.size(), median,
                 sorted.front(), peak_rss_mib());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bpu-mapper: compiles QAT ONNX models for the simulated bayes BPU and runs them"};
  app.footer(kExitCodes);
  app.require_subcommand(0, 1);
  bool supported_ops = false;
  app.add_flag("--supported-ops", supported_ops, "print the bayes BPU operator table (docs/supported_ops.md)");
  app.set_version_flag("--version", std::string("bpu-mapper ") + bpu::kCompilerVersion);

  auto* mk = app.add_subcommand("makertbin", "compile the model named by an hb_mapper-style YAML into a .bin");
  std::string config_path, model_type;
  mk->add_option("-c,--config", config_path, "YAML config (model_parameters, input_parameters, ...)")->required();
  mk->add_option("--model-type", model_type, "model format; only onnx")->required();

  auto* checker = app.add_subcommand("checker", "print where every node would run and why, without writing a .bin");
  std::string checker_model, checker_march = "bayes", checker_type = "onnx";
  std::vector<std::string> checker_shapes;
  checker->add_option("--model", checker_model, "QAT ONNX model")->required();
  checker->add_option("--march", checker_march, "target march; only bayes")->capture_default_str();
  checker->add_option("--model-type", checker_type, "model format; only onnx")->capture_default_str();
  checker->add_option("--input-shape", checker_shapes, "NAME SHAPE (e.g. input 1x3x224x224), repeat per input")
      ->expected(2, 1 << 20);

  auto* info = app.add_subcommand("info", "print what a .bin holds: versions, march, inputs/outputs, segments, YAML");
  std::string info_model;
  info->add_option("model", info_model, "compiled .bin")->required();
  auto* disasm = app.add_subcommand("disasm", "print a .bin's instructions, one per line, with their ONNX nodes");
  std::string disasm_model;
  int disasm_segment = -1;
  disasm->add_option("model", disasm_model, "compiled .bin")->required();
  disasm->add_option("--segment", disasm_segment, "only this BPU segment");

  auto* verify = app.add_subcommand("verify", "run a .bin and its QAT ONNX on the same inputs and compare tensor by tensor");
  std::string verify_model_path, verify_onnx;
  std::vector<std::string> verify_inputs;
  std::vector<std::string> verify_shapes_args;
  double tolerance_lsb = 1.0;
  verify->add_option("--model", verify_model_path, "compiled .bin")->required();
  verify->add_option("--onnx", verify_onnx, "the QAT ONNX model it was compiled from")->required();
  verify->add_option("--input", verify_inputs, "NAME=FILE.npy (float32), repeat per input")->required();
  verify->add_option("--input-shape", verify_shapes_args,
                     "NAME:SHAPE (e.g. input:1x3x224x224), the shape the .bin was compiled for; default: the .bin's");
  verify->add_option("--tolerance-lsb", tolerance_lsb, "allowed departure in output LSBs (exit 6 beyond)")->capture_default_str();
  bool verify_isolated = false;
  verify->add_flag("--isolated", verify_isolated,
                   "feed every reference node the .bin's own inputs, so each node is judged alone (rounding noise does "
                   "not accumulate; for full-size networks)");

  auto* perf = app.add_subcommand("perf", "static bayes estimate of a .bin: latency, FPS, DDR traffic, per segment; an SVG picture");
  std::string perf_model, perf_dir = "perf_result";
  perf->add_option("model", perf_model, "compiled .bin")->required();
  perf->add_option("--output-dir", perf_dir, "folder for <model>_perf.svg")->capture_default_str();

  auto* run = app.add_subcommand("run", "run a .bin on .npy inputs with the simulator");
  std::string model_path, output_dir = ".";
  std::vector<std::string> input_args;
  int repeat = 0;
  run->add_option("--model", model_path, "compiled .bin")->required();
  run->add_option("--input", input_args, "NAME=FILE.npy (float32), repeat per input")->required();
  run->add_option("--output-dir", output_dir, "folder for <output>.npy files")->capture_default_str();
  run->add_option("--repeat", repeat, "run N more inferences and print median and min latency");
  std::vector<std::string> reference_args;
  int threads = 0;
  run->add_option("--threads", threads, "simulator worker threads, 0 = all cores (results are identical for every count)")->capture_default_str();
  run->add_option("--reference", reference_args, "NAME=FILE.npy: print cosine and max |diff| of that output against it");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ERROR " << e.what() << " (see --help)\n";
    return static_cast<int>(bpu::ExitCode::Usage);
  }
  setup_logging("");  // makertbin and checker add their log files
  bpu::crash_guard_install();
  try {
    if (supported_ops) {
      std::cout << bpu::bayes::supported_ops_markdown();
      return 0;
    }
    if (mk->parsed()) return cmd_makertbin(config_path, model_type);
    if (checker->parsed()) {
      if (checker_type != "onnx") throw bpu::Error(bpu::ExitCode::Usage, "--model-type '" + checker_type + "' is not supported; use onnx");
      return cmd_checker(checker_model, checker_march, checker_shapes);
    }
    if (info->parsed()) return cmd_info(info_model);
    if (perf->parsed()) return cmd_perf(perf_model, perf_dir);
    if (verify->parsed()) return cmd_verify(verify_model_path, verify_onnx, verify_inputs, verify_shapes_args, tolerance_lsb, verify_isolated);
    if (disasm->parsed()) return cmd_disasm(disasm_model, disasm_segment);
    if (run->parsed()) return cmd_run(model_path, input_args, reference_args, output_dir, repeat, threads);
    std::cout << app.help();
    return static_cast<int>(bpu::ExitCode::Usage);
  } catch (const bpu::Error& e) {
    spdlog::error("{}", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "ERROR out of memory\n";
    return static_cast<int>(bpu::ExitCode::Internal);
  } catch (const std::exception& e) {
    std::cerr << "ERROR internal error: " << e.what() << "\n";
    return static_cast<int>(bpu::ExitCode::Internal);
  }
}
