// Post-training calibration of float models (lib/calib, lib/api/calibration): the float versions of four fixtures
// (scripts/gen_calib_fixtures.py: the QAT models with fake quantization stripped, 16 raw float32 samples in
// hb_mapper's np.tofile format, held-back inputs with float outputs from a numpy interpreter) compile with every
// method and agree with the float model; every max scale equals the numpy witness's absmax/127; the KL threshold
// of a committed histogram equals the witness's; bad calibration data is refused naming the file.

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <nlohmann/json.hpp>
#include <stb_image_write.h>

#include "api/calibration.h"
#include "calib/cal_data.h"
#include "calib/stats.h"
#include "artifact/bin_format.h"
#include "fixture_helpers.h"

using namespace bpu;

namespace {

const std::vector<std::string> kFixtures = {"nonhybrid", "resize_concat", "mobilenet_v2", "resnet18"};

std::string calib_yaml(const std::string& fixture, const std::string& working_dir, const std::string& calibration) {
  const std::string dir = bpu::test::data_path("calib_" + fixture);
  return "model_parameters:\n  onnx_model: '" + dir + "/float_model.onnx'\n  march: 'bayes'\n  working_dir: '" +
         working_dir + "'\n  output_model_file_prefix: 'model'\n"
         "input_parameters:\n  input_type_rt: 'featuremap'\n  input_type_train: 'featuremap'\n  norm_type: 'no_preprocess'\n"
         "calibration_parameters:\n  cal_data_dir: '" + dir + "/calibration_data_f32'\n" + calibration +
         "compiler_parameters:\n  optimize_level: 'O3'\n";
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

// The lowest output cosine of the .bin against the numpy float outputs over the three held-back inputs.
double heldout_cosine(const std::string& fixture, const std::string& bin) {
  ModelRunner runner = ModelRunner::from_file(bin);
  double worst = 1;
  for (int i = 0; i < 3; ++i) {
    const std::string dir = "calib_" + fixture + "/";
    FloatArray x = load_npy(bpu::test::data_path(dir + "heldout_input_" + std::to_string(i) + ".npy"));
    auto out = runner.run({{runner.model().inputs.at(0).name, x}});
    for (const auto& o : runner.model().outputs) {
      const std::string stem = runner.model().outputs.size() == 1 ? "heldout_float_output_" : "heldout_float_output_" + o.name + "_";
      FloatArray ref = load_npy(bpu::test::data_path(dir + stem + std::to_string(i) + ".npy"));
      worst = std::min(worst, bpu::test::cosine(out.at(o.name).data, ref.data));
    }
  }
  return worst;
}

}  // namespace

// Every method on one fixture: compiles, the calibrated model passes the ONNX checker, the report lists every
// tensor, and the .bin agrees with the float model on the held-back inputs.
static void check_every_method(const std::string& fixture) {
  {
    std::map<std::string, double> cosine;
    for (const auto& [name, calibration] : std::vector<std::pair<std::string, std::string>>{
             {"max", "  calibration_type: 'max'\n"},
             {"max_percentile", "  calibration_type: 'max'\n  max_percentile: 0.99995\n"},
             {"kl", "  calibration_type: 'kl'\n"},
             {"mix", "  calibration_type: 'mix'\n"},
             {"default", "  calibration_type: 'default'\n"},
             {"unset", ""}}) {
      if (name == "unset" && fixture != "nonhybrid") continue;  // the same run as default
      // The two full-size networks run the two methods the acceptance compares (default never below max); their
      // other methods are covered by the two smaller fixtures and by the bench (this keeps the ASan suite short).
      if ((fixture == "mobilenet_v2" || fixture == "resnet18") && name != "max" && name != "default") continue;
      INFO(fixture << " " << name);
      bpu::test::TempDir dir("calib");
      bpu::test::write_text(dir.file("config.yaml"), calib_yaml(fixture, dir.file("out"), calibration));
      CompileResult r = makertbin(load_config(dir.file("config.yaml")));
      REQUIRE(r.calibration);
      {
        // The calibrated model is a valid ONNX model (hb_mapper's <prefix>_calibrated_model.onnx).
        std::ifstream in(dir.file("out/model_calibrated_model.onnx"), std::ios::binary);
        onnx::ModelProto model;
        REQUIRE(model.ParseFromIstream(&in));
        CHECK_NOTHROW(onnx::checker::check_model(model));
      }
      const nlohmann::json report = read_json(dir.file("out/model_report.json"));
      REQUIRE(report.contains("calibration"));
      CHECK(report["calibration"]["tensors"].size() == r.calibration->tensors.size());
      cosine[name] = heldout_cosine(fixture, dir.file("out/model.bin"));
      CHECK(cosine[name] >= 0.98);
      if (name == "unset") CHECK(r.calibration->requested == "default");  // hb_mapper's default for a float model
      if (name == "default") {
        CHECK(r.calibration->scores.size() == 3);
        CHECK(cosine[name] >= 0.99);
      }
    }
    INFO(fixture << ": max " << cosine["max"] << ", default " << cosine["default"]);
    CHECK(cosine["default"] >= cosine["max"] - 1e-4);
  }
}

TEST_CASE("calibration: every method compiles nonhybrid and agrees with the float model", "[calibration]") {
  check_every_method("nonhybrid");
}
TEST_CASE("calibration: every method compiles resize_concat and agrees with the float model", "[calibration]") {
  check_every_method("resize_concat");
}
TEST_CASE("calibration: every method compiles mobilenet_v2 and agrees with the float model", "[calibration]") {
  check_every_method("mobilenet_v2");
}
TEST_CASE("calibration: every method compiles resnet18 and agrees with the float model", "[calibration]") {
  check_every_method("resnet18");
}

TEST_CASE("calibration: every max scale equals the numpy witness's absmax / 127", "[calibration]") {
  for (const auto& fixture : kFixtures) {
    bpu::test::TempDir dir("calib_witness");
    MapperConfig cfg = parse_config(calib_yaml(fixture, dir.file("out"), "  calibration_type: 'max'\n"), dir.file("c.yaml"));
    CalibrationResult c = calibrate_model(cfg, import_options(cfg));
    const nlohmann::json witness = read_json(bpu::test::data_path("calib_" + fixture + "/witness_absmax.json"));
    REQUIRE(!c.report.tensors.empty());
    for (const auto& t : c.report.tensors) {
      INFO(fixture << " " << t.tensor);
      REQUIRE(witness["__scales__"].contains(t.tensor));
      const double expected = witness["__scales__"][t.tensor].get<double>();
      CHECK(t.method == "max");
      CHECK(std::fabs(t.scale - expected) <= 2e-6 * expected);  // float32 sums in another order
    }
  }
}

TEST_CASE("calibration: the KL threshold of the committed histogram equals the numpy procedure's", "[calibration]") {
  FloatArray h = load_npy(bpu::test::data_path("calib_kl/histogram_f64.npy"));
  const nlohmann::json meta = read_json(bpu::test::data_path("calib_kl/meta.json"));
  std::vector<int64_t> counts(h.data.begin(), h.data.end());
  REQUIRE(counts.size() == calib::kHistogramBins);
  const double width = meta["absmax"].get<double>() / calib::kHistogramBins;
  int best = 0;
  const double t = calib::kl_threshold(counts, width, &best);
  CHECK(best == meta["best_i"].get<int>());
  CHECK(std::fabs(t - meta["threshold"].get<double>()) <= 1e-9 * t);
}

TEST_CASE("calibration: percentile and streamed histograms", "[calibration]") {
  calib::TensorStats a, b, all;
  std::vector<float> x(1000), y(1000);
  for (int i = 0; i < 1000; ++i) {
    x[i] = static_cast<float>(i) / 1000.0f;
    y[i] = -static_cast<float>(i) / 500.0f;
  }
  for (auto* s : {&a, &all}) s->add_absmax(x.data(), x.size());
  for (auto* s : {&b, &all}) s->add_absmax(y.data(), y.size());
  a.absmax = b.absmax = all.absmax;
  a.add_histogram(x.data(), x.size());
  b.add_histogram(y.data(), y.size());
  all.add_histogram(x.data(), x.size());
  all.add_histogram(y.data(), y.size());
  a.merge(b);
  CHECK(a.histogram == all.histogram);  // the order samples arrive in does not matter
  CHECK(calib::percentile_threshold(all.histogram, all.bin_width(), 1.0) == Approx(all.absmax));
  // All of x and half of y lie below 1.0: 1500 of the 1999 nonzero values (x[0] = 0 and y[0] = 0 are left out).
  CHECK(calib::percentile_threshold(all.histogram, all.bin_width(), 1500.0 / 1998.0) == Approx(1.0).epsilon(4e-3));
}

TEST_CASE("calibration: bad calibration data is refused naming the file", "[calibration]") {
  bpu::test::TempDir dir("calib_bad");
  const std::string data = dir.file("samples_f32");
  std::filesystem::create_directories(data);
  std::vector<float> sample(3 * 64 * 64, 0.5f);
  {
    std::ofstream(data + "/a.bin", std::ios::binary).write(reinterpret_cast<const char*>(sample.data()), sample.size() * 4);
    std::ofstream(data + "/b.bin", std::ios::binary).write(reinterpret_cast<const char*>(sample.data()), 100);
  }
  std::string yaml = calib_yaml("nonhybrid", dir.file("out"), "  calibration_type: 'max'\n");
  yaml.replace(yaml.find(bpu::test::data_path("calib_nonhybrid/calibration_data_f32")),
               bpu::test::data_path("calib_nonhybrid/calibration_data_f32").size(), data);
  MapperConfig cfg = parse_config(yaml, dir.file("c.yaml"));
  bpu::test::require_error([&] { compile_model(cfg); }, ExitCode::Config,
                           "'" + data + "/b.bin' has 100 bytes; input 'input' of shape 1x3x64x64 as float32 needs 49152");
  // The folder name decides the dtype when cal_data_type is absent: without _f32 the samples are uint8.
  calib::SampleFolder f = calib::list_samples("input", {1, 3, 64, 64}, data, calib::SampleFormat{}, nullptr);
  CHECK(f.dtype == "float32");
  CHECK(calib::raw_dtype(dir.file("images"), "", nullptr) == "uint8");
  std::string warning;
  CHECK(calib::raw_dtype(data, "uint8", &warning) == "uint8");
  CHECK(warning.find("wins over the '_f32' suffix") != std::string::npos);
  // A QAT model is not calibrated again.
  std::string qat = bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid/model.onnx"), dir.file("out2"));
  qat.replace(qat.find("calibration_type: 'load'"), 24,
              "calibration_type: 'max'\n  cal_data_dir: '" + bpu::test::data_path("calib_nonhybrid/calibration_data_f32") + "'");
  bpu::test::require_error([&] { compile_model(parse_config(qat, dir.file("c2.yaml"))); }, ExitCode::Config,
                           "already carries fake quantization");
  // max and the other data-driven methods need samples.
  std::string no_data = calib_yaml("nonhybrid", dir.file("out3"), "  calibration_type: 'kl'\n");
  no_data.erase(no_data.find("  cal_data_dir:"), no_data.find("\n", no_data.find("  cal_data_dir:")) - no_data.find("  cal_data_dir:") + 1);
  bpu::test::require_error([&] { parse_config(no_data, dir.file("c3.yaml")); }, ExitCode::Config,
                           "calibration_parameters.cal_data_dir: missing; calibration_type 'kl' needs");
}

TEST_CASE("calibration: skip compiles on generated data with its warning", "[calibration]") {
  bpu::test::TempDir dir("calib_skip");
  std::string yaml = calib_yaml("resnet18", dir.file("out"), "  calibration_type: 'skip'\n");
  yaml.erase(yaml.find("  cal_data_dir:"), yaml.find("\n", yaml.find("  cal_data_dir:")) - yaml.find("  cal_data_dir:") + 1);
  CompileResult r = compile_model(parse_config(yaml, dir.file("c.yaml")));
  REQUIRE(r.calibration);
  bool warned = false;
  for (const auto& w : r.warnings) warned |= w.find("accuracy is meaningless") != std::string::npos;
  CHECK(warned);
  CHECK(r.partition.segment_count(Device::Bpu) == 1);
}

TEST_CASE("calibration: the same data gives the same scales and .bin", "[calibration]") {
  bpu::test::TempDir dir("calib_det");
  MapperConfig cfg = parse_config(calib_yaml("resize_concat", dir.file("out"), "  calibration_type: 'default'\n"), dir.file("c.yaml"));
  CompileResult a = compile_model(cfg);
  CompileResult b = compile_model(cfg);
  CHECK(a.calibrated_onnx == b.calibrated_onnx);
  CHECK(serialize_model(a.model) == serialize_model(b.model));
}

TEST_CASE("calibration: a published-style float-model config compiles with only its paths changed", "[calibration]") {
  // The layout of the RDK model zoo's configs (relative paths, a *_f32 raw folder, cal_data_type, per_channel,
  // optimization, the compiler keys), with a featuremap input until camera inputs land.
  bpu::test::TempDir dir("calib_real");
  std::filesystem::copy_file(bpu::test::data_path("calib_nonhybrid/float_model.onnx"), dir.file("resnet18.onnx"));
  std::filesystem::copy(bpu::test::data_path("calib_nonhybrid/calibration_data_f32"), dir.file("calibration_data_rgb_f32"));
  bpu::test::write_text(dir.file("config.yaml"),
                        "model_parameters:\n  onnx_model: './resnet18.onnx'\n  march: \"bayes-e\"\n  layer_out_dump: False\n"
                        "  working_dir: 'model_output'\n  output_model_file_prefix: 'resnet18_224x224_featuremap'\n"
                        "input_parameters:\n  input_name: \"\"\n  input_type_rt: 'featuremap'\n  input_type_train: 'featuremap'\n"
                        "  input_layout_train: 'NCHW'\n  input_layout_rt: 'NCHW'\n  norm_type: 'no_preprocess'\n"
                        "calibration_parameters:\n  cal_data_dir: './calibration_data_rgb_f32'\n  cal_data_type: 'float32'\n"
                        "  calibration_type: 'default'\n  per_channel: False\n  optimization: set_model_output_int8\n"
                        "compiler_parameters:\n  compile_mode: 'latency'\n  debug: False\n  optimize_level: 'O3'\n"
                        "  core_num: 1\n  jobs: 4\n");
  CompileResult r = makertbin(load_config(dir.file("config.yaml")));
  REQUIRE(r.calibration);
  CHECK(std::filesystem::exists(dir.file("model_output/resnet18_224x224_featuremap.bin")));
  CHECK(heldout_cosine("nonhybrid", dir.file("model_output/resnet18_224x224_featuremap.bin")) >= 0.99);
  // set_model_output_int8: the Conv output of the model is quantized too (without it, the int32 high-precision
  // output).
  bool output_quantized = false;
  for (const auto& t : r.calibration->tensors) output_quantized |= t.tensor == "output";
  CHECK(output_quantized);
}

TEST_CASE("calibration: preprocess_on decodes and resizes images", "[calibration]") {
  bpu::test::TempDir dir("calib_images");
  const std::string folder = dir.file("images");
  std::filesystem::create_directories(folder);
  // A 2x1 RGB image [black, white]: resized to 4 wide with half-pixel centres the row is 0, 63.75, 191.25, 255
  // (sources -0.25 -> 0, 0.25, 0.75, 1.25 -> 1).
  const unsigned char two[6] = {0, 0, 0, 255, 255, 255};
  REQUIRE(stbi_write_png((folder + "/a.png").c_str(), 2, 1, 3, two, 6));
  calib::SampleFormat format;
  format.images = true;
  calib::SampleFolder f = calib::list_samples("input", {1, 3, 1, 4}, folder, format, nullptr);
  FloatArray a = calib::read_sample(f, 0);
  REQUIRE(a.data.size() == 12);
  for (int c = 0; c < 3; ++c) {
    CHECK(a.data[c * 4 + 0] == 0.0f);
    CHECK(a.data[c * 4 + 1] == Approx(63.75f));
    CHECK(a.data[c * 4 + 2] == Approx(191.25f));
    CHECK(a.data[c * 4 + 3] == 255.0f);
  }
  // Channel order and layout: a uniform (10, 20, 30) image as NHWC BGR.
  std::vector<unsigned char> rgb(5 * 3 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<unsigned char>(10 * (1 + i % 3));
  std::filesystem::remove(folder + "/a.png");
  REQUIRE(stbi_write_png((folder + "/b.png").c_str(), 5, 3, 3, rgb.data(), 15));
  format.layout = "NHWC";
  format.bgr = true;
  FloatArray b = calib::read_sample(calib::list_samples("input", {1, 6, 4, 3}, folder, format, nullptr), 0);
  for (size_t i = 0; i < b.data.size(); ++i) CHECK(b.data[i] == Approx(30.0f - 10.0f * (i % 3)));
  // Not an image: the error names the file.
  bpu::test::write_text(folder + "/c.png", "not a png");
  bpu::test::require_error([&] { calib::read_sample(calib::list_samples("input", {1, 4, 4, 3}, folder, format, nullptr), 1); },
                           ExitCode::Config, "'" + folder + "/c.png' is not an image");
}

TEST_CASE("calibration: cal_data_dir folders follow input_name's order", "[calibration]") {
  // The model's inputs are img, depth; the config lists them the other way round, as hb_mapper allows.
  const std::string dir = bpu::test::data_path("calib_two_inputs");
  bpu::test::TempDir out("calib_two");
  const std::string yaml =
      "model_parameters:\n  onnx_model: '" + dir + "/float_model.onnx'\n  march: 'bayes'\n  working_dir: '" +
      out.file("o") + "'\ninput_parameters:\n  input_name: 'depth;img'\n  input_type_rt: 'featuremap;featuremap'\n"
      "  input_type_train: 'featuremap;featuremap'\n  norm_type: 'no_preprocess;no_preprocess'\n"
      "calibration_parameters:\n  cal_data_dir: '" + dir + "/depth_f32;" + dir + "/img_f32'\n  calibration_type: 'max'\n";
  MapperConfig cfg = parse_config(yaml, out.file("c.yaml"));
  CalibrationResult c = calibrate_model(cfg, import_options(cfg));
  const nlohmann::json witness = read_json(dir + "/witness.json");
  int checked = 0;
  for (const auto& t : c.report.tensors) {
    if (t.tensor != "img" && t.tensor != "depth") continue;
    INFO(t.tensor);
    CHECK(t.absmax == Approx(witness["absmax"][t.tensor].get<double>()).epsilon(1e-7));
    ++checked;
  }
  CHECK(checked == 2);
}
