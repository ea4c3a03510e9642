// Issue 13: inputs users really give and failures that leave nothing behind. Input shapes (static conflicts,
// dynamic dims, input_batch) at import and in the QAT reference; broken models (outputs, opset, Horizon bits);
// the transactional output folder; reproducible .bins; the fatal-signal guard and the log file.

#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fcntl.h>

#include "api/bpu_mapper.h"
#include "api/output_transaction.h"
#include "artifact/bin_format.h"
#include "common/crash_guard.h"
#include "common/file_io.h"
#include "onnx_builder.h"
#include "quant/qdq_extract.h"
#include "runtime/model_runner.h"
#include "runtime/qat_reference.h"
#include "test_helpers.h"

using namespace bpu;
using bpu::test::require_error;

namespace {

std::string serialized(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

void extract_quantization_of(onnx::ModelProto& m) {
  ir::Graph g = import_onnx_model(m, "hz.onnx");
  extract_quantization(g);
}

std::string read_text(const std::string& path) {
  std::vector<uint8_t> b = read_file(path, 1 << 26, "test");
  return std::string(b.begin(), b.end());
}

// Compiles test/data/<fixture> through makertbin with `input_lines` added under input_parameters.
struct Build {
  bpu::test::TempDir dir{"io"};
  MapperConfig cfg;
  CompileResult result;
};

std::unique_ptr<Build> build(const std::string& fixture, const std::string& input_lines, const std::string& prefix = "model") {
  auto b = std::make_unique<Build>();
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "out");
  yaml.replace(yaml.find("input_parameters:\n") + 18, 0, input_lines);
  yaml.replace(yaml.find("'model'"), 7, "'" + prefix + "'");
  bpu::test::write_text(b->dir.file("c.yaml"), yaml);
  b->cfg = load_config(b->dir.file("c.yaml"));
  b->result = makertbin(b->cfg);
  return b;
}

}  // namespace

TEST_CASE("inputs: input_shape must equal a static input and sets dynamic dimensions", "[inputs]") {
  for (const Shape& wrong : {Shape{1, 2, 2, 2}, Shape{1, 2, 8, 8}, Shape{1, 2, 4}}) {
    onnx::ModelProto m = bpu::test::conv_model();
    ImportOptions o;
    o.input_shapes[""] = wrong;  // input_name left out: the only input
    require_error([&] { import_onnx_model(m, "s.onnx", o); }, ExitCode::Config,
                  shape_to_string(wrong) + " for input 'x'");
    require_error([&] { import_onnx_model(m, "s.onnx", o); }, ExitCode::Config, "1x2x4x4");
  }
  onnx::ModelProto same = bpu::test::conv_model();
  ImportOptions equal;
  equal.input_shapes[""] = {1, 2, 4, 4};
  CHECK(import_onnx_model(same, "s.onnx", equal).tensor("y").shape == Shape{1, 3, 4, 4});
  onnx::ModelProto dynamic = bpu::test::conv_model({false, 8, 0, 0.02f, 0.05f, 0});
  ImportOptions batch3;
  batch3.input_shapes["x"] = {3, 2, 4, 4};
  CHECK(import_onnx_model(dynamic, "d.onnx", batch3).tensor("y").shape == Shape{3, 3, 4, 4});
  onnx::ModelProto dynamic2 = bpu::test::conv_model({false, 8, 0, 0.02f, 0.05f, 0});
  require_error([&] { import_onnx_model(dynamic2, "d.onnx"); }, ExitCode::Model, "dynamic or zero dimensions Nx2x4x4");
}

TEST_CASE("inputs: input_batch sets the batch of a batch-1 input and refuses another batch", "[inputs]") {
  onnx::ModelProto m = bpu::test::conv_model();
  ImportOptions o;
  o.input_batch = 4;
  CHECK(import_onnx_model(m, "b.onnx", o).tensor("x").shape == Shape{4, 2, 4, 4});
  onnx::ModelProto two = bpu::test::conv_model({false, 8, 0, 0.02f, 0.05f, 2});
  require_error([&] { import_onnx_model(two, "b2.onnx", o); }, ExitCode::Config, "needs a batch of 1");
}

TEST_CASE("inputs: the QAT reference and the CPU executor check their input buffers", "[inputs]") {
  onnx::ModelProto m = bpu::test::conv_model();
  QatReference ref = QatReference::from_bytes(serialized(m), "r.onnx");
  FloatArray small{{1, 2, 2, 2}, std::vector<float>(8, 0.5f)};
  FloatArray big{{1, 2, 8, 8}, std::vector<float>(128, 0.5f)};
  FloatArray lying{{1, 2, 4, 4}, std::vector<float>(8, 0.5f)};  // shape says 32 values, 8 given
  for (const auto* in : {&small, &big, &lying}) {
    require_error([&] { ref.run({{"x", *in}}); }, ExitCode::Usage, "input 'x' has shape");
  }
  // At a dynamic model's compiled shape the reference runs.
  onnx::ModelProto dynamic = bpu::test::conv_model({false, 8, 0, 0.02f, 0.05f, 0});
  ImportOptions o;
  o.input_shapes["x"] = {2, 2, 4, 4};
  QatReference at2 = QatReference::from_bytes(serialized(dynamic), "d.onnx", false, o);
  CHECK(at2.run({{"x", FloatArray{{2, 2, 4, 4}, std::vector<float>(64, 0.25f)}}}).at("y").shape == Shape{2, 3, 4, 4});
}

TEST_CASE("inputs: the dynamic export compiles at two shapes and equals its QAT goldens", "[inputs][e2e]") {
  const char* shapes[] = {"1x3x16x16", "2x3x24x20"};
  for (int k = 0; k < 2; ++k) {
    auto b = build("dynamic_shape", std::string("  input_shape: '") + shapes[k] + "'\n");
    ModelRunner runner = ModelRunner::from_file(b->cfg.output_bin_path());
    CHECK(shape_to_string(runner.model().inputs.at(0).shape) == shapes[k]);
    FloatArray input = load_npy(bpu::test::data_path("dynamic_shape/input_" + std::to_string(k) + ".npy"));
    FloatArray golden = load_npy(bpu::test::data_path("dynamic_shape/qat_output_" + std::to_string(k) + ".npy"));
    FloatArray got = runner.run({{"input", input}}).at("output");
    REQUIRE(got.shape == golden.shape);
    CHECK(bpu::test::max_abs_diff(got.data, golden.data) == 0.0);
    // The accuracy run ran the QAT reference at the same shape: identical to the .bin.
    REQUIRE(b->result.accuracy.outputs.size() == 1);
    CHECK(b->result.accuracy.outputs[0].identical_vs_qat == 1.0);
    // The staged float model carries the compiled shape.
    onnx::ModelProto original;
    REQUIRE(original.ParseFromString(read_text(b->dir.file("out/model_original_float_model.onnx"))));
    CHECK(original.graph().input(0).type().tensor_type().shape().dim(3).dim_value() == (k == 0 ? 16 : 20));
  }
}

TEST_CASE("broken models: outputs, opset and Horizon bits are refused naming the defect", "[inputs][import]") {
  onnx::ModelProto dup = bpu::test::conv_model();
  *dup.mutable_graph()->add_output() = dup.graph().output(0);
  require_error([&] { import_onnx_model(dup, "dup.onnx"); }, ExitCode::Model, "lists graph output 'y' twice");
  onnx::ModelProto none = bpu::test::conv_model();
  none.mutable_graph()->clear_output();
  require_error([&] { import_onnx_model(none, "none.onnx"); }, ExitCode::Model, "'none.onnx' has no graph outputs");
  for (int opset : {9, 18}) {
    onnx::ModelProto m = bpu::test::conv_model();
    m.mutable_opset_import(0)->set_version(opset);
    require_error([&] { import_onnx_model(m, "op.onnx"); }, ExitCode::Unsupported,
                  "uses ai.onnx opset " + std::to_string(opset) + ", which bpu-mapper does not support (opsets 10 to 17)");
  }
  bpu::test::ConvModelOptions hz;
  hz.horizon = true;
  onnx::ModelProto no_bits = bpu::test::conv_model(hz);
  no_bits.mutable_graph()->mutable_node(1)->clear_attribute();  // /in_fq/QuantizeLinear
  require_error([&] { extract_quantization_of(no_bits); }, ExitCode::Model, "has no 'bits' attribute");
  onnx::ModelProto wide = bpu::test::conv_model(hz);
  for (auto& n : *wide.mutable_graph()->mutable_node()) {
    for (auto& a : *n.mutable_attribute()) {
      if (a.name() == "bits" && n.input(2) == "zp_shared") a.set_i(16);  // zero point stays int8
    }
  }
  require_error([&] { extract_quantization_of(wide); }, ExitCode::Model, "bits=16 but its zero point");
}

TEST_CASE("outputs: a transaction leaves nothing without commit and moves every file with it", "[outputs]") {
  bpu::test::TempDir dir("tx");
  const std::string wd = dir.file("a/b/out");
  {
    OutputTransaction tx(wd, "model");
    bpu::test::write_text(tx.staged("model.bin"), "new");
  }
  CHECK(!std::filesystem::exists(dir.file("a")));  // created folders removed again
  std::filesystem::create_directories(wd);
  bpu::test::write_text(wd + "/model.bin", "old");
  {
    OutputTransaction tx(wd, "model");
    bpu::test::write_text(tx.staged("model.bin"), "new");
    bpu::test::write_text(tx.staged("model_report.json"), "{}");
  }
  CHECK(read_text(wd + "/model.bin") == "old");
  CHECK(!std::filesystem::exists(wd + "/model_report.json"));
  {
    OutputTransaction tx(wd, "model");
    bpu::test::write_text(tx.staged("model.bin"), "new");
    bpu::test::write_text(tx.staged("model_report.json"), "{}");
    tx.commit();
  }
  CHECK(read_text(wd + "/model.bin") == "new");
  CHECK(read_text(wd + "/model_report.json") == "{}");
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(wd)) entries += e.path().filename().string().rfind(".bpu_mapper_tmp", 0) == 0;
  CHECK(entries == 0);
}

TEST_CASE("outputs: a compile that fails after validation writes nothing into working_dir", "[outputs]") {
  bpu::test::TempDir dir("fail");
  bpu::test::TempDir cal("cal_bad");
  // A sample of the wrong shape: refused (exit 3) before any file is written, so working_dir is never created.
  FloatArray wrong{{1, 3, 8, 8}, std::vector<float>(192, 0.f)};
  save_npy(cal.file("a.npy"), wrong);
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid/model.onnx"), "out", "bayes",
                                             "  cal_data_dir: '" + cal.path().string() + "'\n");
  bpu::test::write_text(dir.file("c.yaml"), yaml);
  MapperConfig cfg = load_config(dir.file("c.yaml"));
  require_error([&] { makertbin(cfg); }, ExitCode::Config, "a.npy");
  CHECK(!std::filesystem::exists(dir.file("out")));
}

TEST_CASE("reproducible: the .bin does not depend on working_dir, prefix or YAML formatting", "[outputs]") {
  auto a = build("nonhybrid", "");
  auto b = build("nonhybrid", "  # a comment\n  input_shape: 1x3x64x64\n", "other_prefix");
  CHECK(read_text(a->cfg.output_bin_path()) == read_text(b->cfg.output_bin_path()));
  CHECK(a->result.model.config_yaml.find(a->dir.path().string()) == std::string::npos);
  auto c = build("nonhybrid", "  input_batch: 2\n");  // a setting that changes the program changes the .bin
  CHECK(read_text(a->cfg.output_bin_path()) != read_text(c->cfg.output_bin_path()));
  CHECK(c->result.model.inputs.at(0).shape == Shape{2, 3, 64, 64});
}

TEST_CASE("crash guard: a fatal signal leaves the phase and the last message in the log", "[outputs]") {
  bpu::test::TempDir dir("crash");
  const std::string log = dir.file("crash.log");
  std::filesystem::create_directories(dir.file("wd/stage"));
  bpu::test::write_text(dir.file("wd/stage/model.bin"), "partial");
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(::open("/dev/null", O_WRONLY), STDERR_FILENO);
    crash_guard_install();
    crash_guard_set_log_fd(fd);
    crash_guard_set_phase("lowering");
    crash_guard_note_message("passes: 3 activations fused");
    crash_guard_set_temp_dir(dir.file("wd/stage"), {dir.file("wd")});  // wd: made by this compile
    ::raise(SIGSEGV);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  const std::string text = read_text(log);
  CHECK(text.find("fatal SIGSEGV during phase 'lowering'; last message: passes: 3 activations fused") != std::string::npos);
  CHECK(!std::filesystem::exists(dir.file("wd")));
}

TEST_CASE("config: every unknown node name of the placement lists is reported at once", "[config][outputs]") {
  bpu::test::TempDir dir("names");
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid/model.onnx"), "out", "bayes",
                                             "  run_on_cpu: '/nope_a/Conv;/conv_1/Conv'\n  run_on_bpu: '/nope_b/Conv'\n");
  bpu::test::write_text(dir.file("c.yaml"), yaml);
  MapperConfig cfg = load_config(dir.file("c.yaml"));
  require_error([&] { compile_model(cfg); }, ExitCode::Config, "2 problems");
  require_error([&] { compile_model(cfg); }, ExitCode::Config, "run_on_cpu: no node named '/nope_a/Conv'");
  require_error([&] { compile_model(cfg); }, ExitCode::Config, "run_on_bpu: no node named '/nope_b/Conv'");
}

TEST_CASE("config: input names and cal_data_dir folders are checked against the model before compiling", "[config][inputs]") {
  bpu::test::TempDir dir("pre"), c1("pre_c1"), c2("pre_c2");
  for (const auto* c : {&c1, &c2}) std::filesystem::copy_file(bpu::test::data_path("nonhybrid/input_0.npy"), c->file("a.npy"));
  const std::string model = bpu::test::data_path("nonhybrid/model.onnx");
  std::string two = bpu::test::fixture_yaml(model, "out", "bayes",
                                            "  cal_data_dir: '" + c1.path().string() + ";" + c2.path().string() + "'\n");
  bpu::test::write_text(dir.file("two.yaml"), two);
  MapperConfig cfg = load_config(dir.file("two.yaml"));  // no input_name: the config alone cannot count inputs
  require_error([&] { makertbin(cfg); }, ExitCode::Config, "cal_data_dir: 2 folder(s) for 1 model input(s) (input)");
  std::string named = bpu::test::fixture_yaml(model, "out");
  named.replace(named.find("input_parameters:\n") + 18, 0, "  input_name: 'data'\n");
  bpu::test::write_text(dir.file("named.yaml"), named);
  MapperConfig cfg2 = load_config(dir.file("named.yaml"));
  require_error([&] { makertbin(cfg2); }, ExitCode::Config, "input_parameters.input_name: the model has no input 'data' (inputs: input)");
  CHECK(!std::filesystem::exists(dir.file("out")));
}

TEST_CASE("outputs: a cal_data_dir in hb_mapper's raw format gives the accuracy run of the same data as .npy", "[outputs]") {
  // The QAT model's accuracy sample from np.tofile float32 files (an _f32 folder, hb_mapper's layout) and from the
  // same values as .npy: the same sample, so the same figures.
  bpu::test::TempDir dir("cal_raw");
  const FloatArray x = load_npy(bpu::test::data_path("nonhybrid/input_1.npy"));
  std::filesystem::create_directories(dir.file("npy"));
  std::filesystem::create_directories(dir.file("cal_f32"));
  save_npy(dir.file("npy/s.npy"), x);
  write_file_atomic(dir.file("cal_f32/s.bin"), x.data.data(), x.data.size() * sizeof(float));
  auto run = [&](const std::string& folder, const std::string& wd) {
    std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid/model.onnx"), dir.file(wd), "bayes",
                                               "  cal_data_dir: '" + dir.file(folder) + "'\n");
    bpu::test::write_text(dir.file(wd + ".yaml"), yaml);
    return makertbin(load_config(dir.file(wd + ".yaml"))).accuracy;
  };
  const AccuracyReport from_npy = run("npy", "a"), from_raw = run("cal_f32", "b");
  CHECK(from_raw.sample.find("s.bin") != std::string::npos);
  CHECK(from_npy.sample.find("s.npy") != std::string::npos);
  REQUIRE(from_raw.outputs.size() == from_npy.outputs.size());
  for (size_t i = 0; i < from_raw.outputs.size(); ++i) {
    CHECK(from_raw.outputs[i].vs_float.cosine == from_npy.outputs[i].vs_float.cosine);
    CHECK(from_raw.outputs[i].cosine_vs_qat == from_npy.outputs[i].cosine_vs_qat);
  }
  // A raw file of the wrong size is refused naming it and the size it needs.
  write_file_atomic(dir.file("cal_f32/s.bin"), x.data.data(), 100);
  require_error([&] { run("cal_f32", "c"); }, ExitCode::Config, "s.bin");
}
