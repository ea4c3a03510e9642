// Tests of the installed API only (include/bpu_mapper/: compiler.hpp, model.hpp, runtime.h): this program sees
// no internal header. One ctest entry runs it all, so the hybrid fixture is compiled once per run.

#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "bpu_mapper/compiler.hpp"
#include "bpu_mapper/runtime.h"

namespace fs = std::filesystem;
using namespace bpu_mapper;

namespace {

const std::string kData = BPU_TEST_DATA;

// The hybrid fixture (BPU and CPU segments) compiled once into a temporary folder.
struct Compiled {
  fs::path dir;
  CompileResult result;
  Compiled() {
    dir = fs::temp_directory_path() / ("bpu_api_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "config.yaml") << "model_parameters:\n  onnx_model: '" << kData << "/hybrid/model.onnx'\n"
                                       << "  march: 'bayes'\n  output_model_file_prefix: 'model'\n  working_dir: 'out'\n"
                                       << "input_parameters:\n  input_type_rt: 'featuremap'\n  input_type_train: 'featuremap'\n"
                                       << "  input_layout_train: 'NCHW'\n  input_layout_rt: 'NCHW'\n  norm_type: 'no_preprocess'\n"
                                       << "calibration_parameters:\n  calibration_type: 'load'\n";
    result = compile((dir / "config.yaml").string());
  }
  ~Compiled() { fs::remove_all(dir); }
};

const Compiled& compiled() {
  static Compiled c;
  return c;
}

template <class F>
int error_code_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return 0;
}

}  // namespace

TEST_CASE("version is the project's") {
  CHECK(version() == BPU_MAPPER_VERSION);
  CHECK(std::string(bpu_version()) == BPU_MAPPER_VERSION);
}

TEST_CASE("compile writes the .bin and returns placement and accuracy") {
  const CompileResult& r = compiled().result;
  CHECK(fs::exists(r.bin_path));
  CHECK(fs::exists(r.report_json_path));
  REQUIRE(r.placement.size() == 12);
  int bpu = 0;
  for (const auto& p : r.placement) bpu += p.device == "BPU";
  CHECK(bpu == 5);
  CHECK(r.placement_summary.find("BPU nodes: 5 (41.7%), CPU nodes: 7 (58.3%)") != std::string::npos);
  CHECK(!r.node_accuracy.empty());
  REQUIRE(!r.output_accuracy.empty());
  for (const auto& o : r.output_accuracy) CHECK(o.cosine > 0.99);
  CHECK(r.accuracy_tables.find("Cosine Similarity") != std::string::npos);
  std::string message;
  CHECK(error_code_of([] { compile("/no/such/config.yaml"); }, &message) == 3);
  CHECK(message.find("/no/such/config.yaml") != std::string::npos);
}

TEST_CASE("check places without writing") {
  CompileResult r = check(kData + "/hybrid/model.onnx", {{"input", {1, 3, 64, 64}}});
  CHECK(r.bin_path.empty());
  CHECK(r.placement_summary.find("BPU nodes: 5 (41.7%), CPU nodes: 7 (58.3%), BPU segments: 3, CPU segments: 4") != std::string::npos);
  CHECK(error_code_of([] { check(kData + "/hybrid/model.onnx", {}, "nash"); }) == 2);
  CHECK(error_code_of([] { check(kData + "/hybrid/model.onnx", {{"input", {1, 3, 32, 32}}}); }) == 3);
}

TEST_CASE("Model loads, describes, runs, prints and estimates") {
  Model m = Model::load(compiled().result.bin_path);
  REQUIRE(m.inputs().size() == 1);
  CHECK(m.inputs()[0].name == "input");
  CHECK(m.inputs()[0].shape == std::vector<int64_t>{1, 3, 64, 64});
  CHECK(m.inputs()[0].dtype == "float32");
  CHECK(m.inputs()[0].layout == "NCHW");
  REQUIRE(!m.outputs().empty());
  Tensor x = load_npy(kData + "/hybrid/input_0.npy");
  TensorMap out = m.run({{"input", x}});
  REQUIRE(out.size() == m.outputs().size());
  for (const auto& d : m.outputs()) CHECK(out.at(d.name).shape == d.shape);
  m.set_threads(2);
  TensorMap again = m.run({{"input", x}});
  for (const auto& [name, t] : out) CHECK(again.at(name).data == t.data);  // identical for every thread count
  std::string message;
  CHECK(error_code_of([&] { m.run({}); }, &message) == 2);
  CHECK(message.find("input") != std::string::npos);
  CHECK(error_code_of([&] { m.set_threads(-1); }) == 2);
  CHECK(m.info().find("bayes") != std::string::npos);
  CHECK(m.disassembly().find("CONV2D") != std::string::npos);
  PerfEstimate e = m.estimate();
  CHECK(e.latency_ms > 0);
  CHECK(e.fps == Approx(1000.0 / e.latency_ms));
  CHECK(e.bpu_segments == 3);
  CHECK(e.cpu_segments == 4);
  CHECK(e.segments.size() == 3);
  CHECK(e.json.find("\"latency_ms\"") != std::string::npos);
  CHECK(e.svg.find("<svg") != std::string::npos);
  CHECK(error_code_of([] { Model::load("/no/such.bin"); }) == 7);
  CHECK(error_code_of([] { Model::load(kData + "/hybrid/model.onnx"); }) == 8);
}

TEST_CASE("verify agrees with the QAT model") {
  Tensor x = load_npy(kData + "/hybrid/input_0.npy");
  VerifyResult v = verify(compiled().result.bin_path, kData + "/hybrid/model.onnx", {{"input", x}});
  CHECK(v.passed);
  CHECK(v.first_diverging_node.empty());
  CHECK(!v.outputs.empty());
  CHECK(!v.nodes.empty());
  CHECK(error_code_of([&] { verify(compiled().result.bin_path, kData + "/hybrid/model.onnx", {{"input", x}}, -1); }) == 2);
  CHECK(error_code_of([&] {
          verify(compiled().result.bin_path, kData + "/hybrid/model.onnx", {{"input", x}}, 1, false, {{"input", {1, 3, 8, 8}}});
        }) == 2);
}

TEST_CASE("npy helpers round-trip") {
  fs::path p = fs::temp_directory_path() / ("bpu_api_npy_" + std::to_string(::getpid()) + ".npy");
  Tensor t{{2, 3}, {1, 2, 3, 4, 5, 6.5f}};
  save_npy(p.string(), t);
  Tensor back = load_npy(p.string());
  CHECK(back.shape == t.shape);
  CHECK(back.data == t.data);
  fs::remove(p);
  CHECK(error_code_of([&] { save_npy(p.string(), Tensor{{4}, {1, 2}}); }) == 2);
  CHECK(!fs::exists(p));
  CHECK(output_file_name("block/conv:0") == "block_conv:0.npy");
}

TEST_CASE("C runtime API: load, inspect, allocate, infer, release, errors") {
  const std::string bin = compiled().result.bin_path;
  bpu_model_t* model = nullptr;
  REQUIRE(bpu_model_load(bin.c_str(), &model) == BPU_OK);
  CHECK(std::string(bpu_get_last_error()).empty());
  int32_t n_in = 0, n_out = 0;
  REQUIRE(bpu_model_get_input_count(model, &n_in) == BPU_OK);
  REQUIRE(bpu_model_get_output_count(model, &n_out) == BPU_OK);
  CHECK(n_in == 1);
  Model cpp = Model::load(bin);
  CHECK(n_out == static_cast<int32_t>(cpp.outputs().size()));
  bpu_tensor_properties_t props;
  REQUIRE(bpu_model_get_input_properties(model, 0, &props) == BPU_OK);
  CHECK(std::string(props.name) == "input");
  CHECK(props.rank == 4);
  CHECK(props.dims[2] == 64);
  CHECK(props.element_count == 3 * 64 * 64);
  CHECK(props.dtype == BPU_DTYPE_FLOAT32);
  CHECK(props.layout == BPU_LAYOUT_NCHW);
  REQUIRE(bpu_model_get_output_properties(model, n_out - 1, &props) == BPU_OK);
  CHECK(std::string(props.name) == cpp.outputs().back().name);
  int32_t index = -1;
  CHECK(bpu_model_get_output_index(model, cpp.outputs().back().name.c_str(), &index) == BPU_OK);
  CHECK(index == n_out - 1);
  CHECK(bpu_model_get_input_index(model, "input", &index) == BPU_OK);
  CHECK(index == 0);
  CHECK(bpu_model_get_input_index(model, "nope", &index) == BPU_ERR_USAGE);
  CHECK(std::string(bpu_get_last_error()).find("no input 'nope' (input)") != std::string::npos);
  CHECK(bpu_model_get_input_properties(model, 1, &props) == BPU_ERR_USAGE);
  CHECK(std::string(bpu_get_last_error()).find("out of range") != std::string::npos);

  bpu_tensor_t input;
  REQUIRE(bpu_npy_load((kData + "/hybrid/input_0.npy").c_str(), &input) == BPU_OK);
  CHECK(input.count == 3 * 64 * 64);
  std::vector<bpu_tensor_t> outputs(n_out);
  for (int32_t j = 0; j < n_out; ++j) REQUIRE(bpu_tensor_alloc(model, 1, j, &outputs[j]) == BPU_OK);
  CHECK(bpu_model_set_threads(model, 2) == BPU_OK);
  REQUIRE(bpu_model_infer(model, &input, 1, outputs.data(), n_out) == BPU_OK);
  TensorMap want = cpp.run({{"input", load_npy(kData + "/hybrid/input_0.npy")}});
  for (int32_t j = 0; j < n_out; ++j) {
    const Tensor& w = want.at(outputs[j].properties.name);
    REQUIRE(w.data.size() == outputs[j].count);
    CHECK(std::memcmp(w.data.data(), outputs[j].data, w.data.size() * sizeof(float)) == 0);  // bit for bit
  }
  CHECK(bpu_model_infer(model, &input, 1, outputs.data(), n_out - 1) == BPU_ERR_USAGE);
  CHECK(std::string(bpu_get_last_error()).find("given 1 and") != std::string::npos);
  bpu_tensor_t small;
  REQUIRE(bpu_tensor_alloc(model, 1, 0, &small) == BPU_OK);
  small.properties.dims[0] = 2;  // shape no longer matches the buffer
  CHECK(bpu_model_infer(model, &small, 1, outputs.data(), n_out) == BPU_ERR_USAGE);
  bpu_tensor_free(&small);
  CHECK(small.data == nullptr);

  const std::string out_npy = (fs::temp_directory_path() / ("bpu_api_c_" + std::to_string(::getpid()) + ".npy")).string();
  REQUIRE(bpu_npy_save(out_npy.c_str(), &outputs[0]) == BPU_OK);
  Tensor saved = load_npy(out_npy);
  CHECK(std::memcmp(saved.data.data(), outputs[0].data, outputs[0].count * sizeof(float)) == 0);
  fs::remove(out_npy);
  CHECK(bpu_npy_load("/no/such.npy", &small) == BPU_ERR_IO);
  bpu_tensor_free(&input);
  for (auto& t : outputs) bpu_tensor_free(&t);

  CHECK(bpu_model_get_input_count(nullptr, &n_in) == BPU_ERR_USAGE);
  CHECK(std::string(bpu_get_last_error()) == "model is NULL");
  CHECK(bpu_model_set_threads(model, 1000) == BPU_ERR_USAGE);
  CHECK(bpu_model_release(model) == BPU_OK);
  CHECK(bpu_model_release(nullptr) == BPU_ERR_USAGE);
  bpu_model_t* bad = reinterpret_cast<bpu_model_t*>(1);
  CHECK(bpu_model_load((kData + "/hybrid/model.onnx").c_str(), &bad) == BPU_ERR_ARTIFACT);
  CHECK(bad == nullptr);
  CHECK(std::string(bpu_get_last_error()).find("model.onnx") != std::string::npos);
  CHECK(std::string(bpu_status_name(BPU_ERR_ARTIFACT)) == "artifact");
  CHECK(std::string(bpu_status_name(12345)) == "unknown");
}

TEST_CASE("pack_models, model_names, the named loads (C++ and C), infer and profile") {
  const std::string bin = compiled().result.bin_path;
  const fs::path dir = fs::temp_directory_path() / ("bpu_api_pack_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(bin, dir / "other.bin");
  const std::string packed = (dir / "both.bin").string();
  const std::string own = fs::path(bin).stem().string();
  CHECK(pack_models({bin, (dir / "other.bin").string()}, packed) == std::vector<std::string>{own, "other"});
  CHECK(model_names(packed) == std::vector<std::string>{own, "other"});
  const Tensor x = load_npy(kData + "/hybrid/input_0.npy");
  TensorMap want = Model::load(bin).run({{"input", x}});
  TensorMap got = Model::load(packed, "", "other").run({{"input", x}});
  for (const auto& [name, t] : want) CHECK(got.at(name).data == t.data);
  CHECK(error_code_of([&] { Model::load(packed); }) == 2);
  bpu_model_t* m = nullptr;
  REQUIRE(bpu_model_load_named(packed.c_str(), "other", &m) == BPU_OK);
  CHECK(bpu_model_release(m) == BPU_OK);
  CHECK(bpu_model_load_named(packed.c_str(), "nope", &m) == BPU_ERR_USAGE);
  CHECK(m == nullptr);
  CHECK(std::string(bpu_get_last_error()).find("no model named 'nope'") != std::string::npos);
  CHECK(error_code_of([&] { pack_models({packed, bin}, (dir / "again.bin").string()); }) == 2);
  CHECK(!fs::exists(dir / "again.bin"));
  InferResult r = infer(packed, kData + "/hybrid/model.onnx", {{"input", x}}, (dir / "dump").string(), "other");
  size_t compared = 0;
  for (const auto& row : r.rows) {
    compared += row.compared;
    if (!row.bin_file.empty()) CHECK(fs::exists(dir / "dump" / row.bin_file));
    if (!row.onnx_file.empty()) CHECK(fs::exists(dir / "dump" / row.onnx_file));
  }
  CHECK(compared >= 3);
  CHECK(fs::exists(r.index_path));
  CHECK(error_code_of([&] { infer("", "", {}, (dir / "none").string()); }) == 2);
  const ProfileResult prof = Model::load(packed, "", "other").profile({{"input", x}}, 3);
  CHECK(prof.runs == 3);
  CHECK(prof.total_ms > 0);
  CHECK(prof.csv.rfind("index,device,segment,op,node,time_ms,share\n", 0) == 0);
  CHECK(prof.summary.find("BPU 0") != std::string::npos);
  CHECK(error_code_of([&] { Model::load(bin).profile({{"input", x}}, 0); }) == 2);
  CHECK(!fs::exists(dir / "none"));
  fs::remove_all(dir);
}

TEST_CASE("Model path, one segment's disassembly, the HTML page with and without the report") {
  const CompileResult& r = compiled().result;
  Model m = Model::load(r.bin_path);
  CHECK(m.path() == r.bin_path);
  std::string one = m.disassembly(0), all = m.disassembly();
  CHECK(!one.empty());
  CHECK(one.size() < all.size());
  CHECK(error_code_of([&] { m.disassembly(99); }) == 2);
  PerfEstimate with = m.estimate(r.report_json_path);
  CHECK(with.html.find("<!DOCTYPE html>") == 0);
  CHECK(with.html.find("Accuracy per output") != std::string::npos);
  CHECK(with.html.find("/layer0.0/Conv") != std::string::npos);  // placement rows from the report
  PerfEstimate without = m.estimate();
  CHECK(without.html.find("No report JSON beside the .bin") != std::string::npos);
  PerfEstimate broken = m.estimate(kData + "/hybrid/input_0.npy");  // not JSON: a note, not a failure
  CHECK(broken.html.find("could not be read") != std::string::npos);
}

TEST_CASE("tool helpers: parse_shape, save_text, configure_logging, set_progress, supported_ops_markdown") {
  CHECK(parse_shape("1x3x224x224", "--input-shape input") == std::vector<int64_t>{1, 3, 224, 224});
  CHECK(parse_shape("2,8", "s") == std::vector<int64_t>{2, 8});
  std::string message;
  CHECK(error_code_of([] { parse_shape("1xAx3", "--input-shape input"); }, &message) == 2);
  CHECK(message.find("--input-shape input") != std::string::npos);
  CHECK(error_code_of([] { parse_shape("1x0", "s"); }) == 2);

  const fs::path dir = fs::temp_directory_path() / ("bpu_api_tools_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  save_text((dir / "a.txt").string(), "hello\n");
  std::ifstream in(dir / "a.txt");
  std::string line;
  std::getline(in, line);
  CHECK(line == "hello");
  CHECK(error_code_of([&] { save_text((dir / "no_dir" / "a.txt").string(), "x"); }) == 7);

  const std::string log = (dir / "api.log").string();
  CHECK(configure_logging(log) == log);
  set_progress(false);
  check(kData + "/hybrid/model.onnx", {{"input", {1, 3, 64, 64}}});  // logs through the configured logger
  configure_logging("");                                              // closes the file sink
  std::ifstream log_in(log);
  std::string text((std::istreambuf_iterator<char>(log_in)), std::istreambuf_iterator<char>());
  CHECK(text.find("imported '") != std::string::npos);
  fs::remove_all(dir);

  std::ifstream doc(std::string(BPU_SOURCE_DIR) + "/docs/supported_ops.md");
  std::string committed((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  CHECK(supported_ops_markdown() == committed);
}
