// Image inputs (input_type_rt / input_type_train / norm_type, docs/numerics.md §9) against the independent witness of
// scripts/gen_preprocess_fixtures.py: QAT models trained on normalized RGB / gray, uint8 test images in every runtime
// format, and torch's outputs on the float-preprocessed images (numpy, from the documented formulas). Every case
// compiles with PREPROCESS on the BPU and agrees with torch; the C++ float preprocessing equals numpy's; illegal type
// pairs, bad normalization values and model mismatches are refused naming the field.

#include <nlohmann/json.hpp>
#include <stb_image.h>
#include <stb_image_write.h>

#include <fstream>

#include "api/bpu_mapper.h"
#include "artifact/bin_format.h"
#include "common/image_format.h"
#include "fixture_helpers.h"
#include "runtime/input_files.h"

using namespace bpu;

namespace {

nlohmann::json witness(const std::string& folder) {
  std::ifstream f(bpu::test::data_path(folder + "/witness.json"));
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

std::string values(const nlohmann::json& v) {
  if (v.is_null()) return "";
  std::string s;
  for (const auto& x : v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.10g", x.get<double>());
    s += (s.empty() ? "" : " ") + std::string(buf);
  }
  return s;
}

// The makertbin YAML of one witness case.
std::string case_yaml(const std::string& folder, const nlohmann::json& c) {
  std::string y = "model_parameters:\n  onnx_model: '" + bpu::test::data_path(folder + "/model.onnx") +
                  "'\n  march: 'bayes'\n  working_dir: 'out'\ninput_parameters:\n  input_type_rt: '" +
                  c["input_type_rt"].get<std::string>() + "'\n  input_type_train: '" + c["input_type_train"].get<std::string>() +
                  "'\n  input_layout_train: '" + c["input_layout_train"].get<std::string>() + "'\n  norm_type: '" +
                  c["norm_type"].get<std::string>() + "'\n  input_space_and_range: '" +
                  c["input_space_and_range"].get<std::string>() + "'\n";
  if (!c["input_layout_rt"].is_null()) y += "  input_layout_rt: '" + c["input_layout_rt"].get<std::string>() + "'\n";
  if (!c["mean_value"].is_null()) y += "  mean_value: '" + values(c["mean_value"]) + "'\n";
  if (!c["scale_value"].is_null()) y += "  scale_value: '" + values(c["scale_value"]) + "'\n";
  return y + "calibration_parameters:\n  calibration_type: 'load'\ncompiler_parameters:\n  optimize_level: 'O2'\n";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

// Compiles the case in memory and reads it back from its .bin bytes (the runner sees only the .bin).
ModelRunner compile_case(const std::string& folder, const nlohmann::json& c, CompileResult* result = nullptr) {
  bpu::test::TempDir dir("pre");
  CompileResult r = compile_model(parse_config(case_yaml(folder, c), dir.file("c.yaml")));
  r.model.compiler_version = kCompilerVersion;
  ModelRunner runner(deserialize_model(serialize_model(r.model), "case.bin"), "case.bin");
  if (result) *result = std::move(r);
  return runner;
}

bool is_yuv_case(const nlohmann::json& c) {
  const std::string rt = c["input_type_rt"];
  return rt == "yuv444" || rt == "nv12";
}

}  // namespace

TEST_CASE("preprocess: every witness case runs PREPROCESS on the BPU and agrees with torch", "[preprocess]") {
  for (const std::string folder : {"preprocess_rgb", "preprocess_gray", "preprocess_rgb_nhwc"}) {
    const nlohmann::json w = witness(folder);
    const double lsb = w["output_scale"];
    for (const auto& c : w["cases"]) {
      const std::string name = c["name"];
      INFO(folder << " case " << name);
      CompileResult r;
      ModelRunner runner = compile_case(folder, c, &r);
      // The preprocessing node is on the BPU and the model input is uint8 pixels in the runtime layout.
      bool preprocess_on_bpu = false;
      for (const auto& row : r.placement) preprocess_on_bpu |= row.op_type == "HzPreprocess" && row.device == "BPU";
      CHECK(preprocess_on_bpu);
      REQUIRE(runner.model().inputs.size() == 1);
      CHECK(runner.model().inputs[0].dtype == DType::UInt8);
      for (int k = 0; k < w["images"].get<int>(); ++k) {
        const std::string image = replace_all(c["image"], "{K}", std::to_string(k));
        const FloatArray x = load_npy(bpu::test::data_path(folder + "/" + image));
        CHECK(x.shape == runner.model().inputs[0].shape);
        const FloatArray golden = load_npy(bpu::test::data_path(folder + "/" + replace_all(c["golden"], "{K}", std::to_string(k))));
        const auto out = runner.run({{"input", x}});
        const std::vector<float>& y = out.at("output").data;
        const double cos = bpu::test::cosine(y, golden.data), lsbs = bpu::test::max_abs_diff(y, golden.data) / lsb;
        INFO("image " << k << ": cosine " << cos << ", max diff " << lsbs << " LSB");
        // The acceptance of issue 14: rgb/bgr/gray >= 0.9999 and <= 1 LSB; integer colour conversion >= 0.999, <= 3 LSB.
        CHECK(cos >= (is_yuv_case(c) ? 0.999 : 0.9999));
        CHECK(lsbs <= (is_yuv_case(c) ? 3.0 : 1.0) + 1e-3);
        if (k == 0) {  // the C++ float preprocessing (the reference side of verify) equals numpy's
          const FloatArray want = load_npy(bpu::test::data_path(folder + "/" + c["input"].get<std::string>()));
          const FloatArray got = runner.reference_inputs({{"input", x}}).at("input");
          CHECK(got.shape == want.shape);
          CHECK(bpu::test::max_abs_diff(got.data, want.data) <= 1e-5 * (1 + bpu::test::max_abs(want.data)));
        }
      }
    }
  }
}

TEST_CASE("preprocess: hb_mapper's table of legal type pairs, the rest refused naming the legal ones", "[preprocess]") {
  const nlohmann::json base = nlohmann::json(witness("preprocess_rgb")["cases"][0]);
  const std::vector<std::string> rt = {"rgb", "bgr", "yuv444", "gray", "nv12", "featuremap"};
  const std::vector<std::string> train = {"rgb", "bgr", "yuv444", "gray", "featuremap"};
  bpu::test::TempDir dir("pairs");
  for (const auto& t : train) {
    for (const auto& r : rt) {
      INFO(t << " <- " << r);
      nlohmann::json c = base;
      c["input_type_train"] = t;
      c["input_type_rt"] = r;
      if (t == "featuremap" || t == "gray") c["norm_type"] = "no_preprocess", c["mean_value"] = nullptr, c["scale_value"] = nullptr;
      ImageType tt, rr;
      REQUIRE(image_type_from_name(t, &tt));
      REQUIRE(image_type_from_name(r, &rr));
      const std::string yaml = case_yaml("preprocess_rgb", c);
      if (is_legal_pair(tt, rr)) {
        CHECK_NOTHROW(parse_config(yaml, dir.file("c.yaml")));
      } else {
        bpu::test::require_error([&] { parse_config(yaml, dir.file("c.yaml")); }, ExitCode::Config,
                                 "cannot take input_type_rt '" + r + "'; legal: ");
      }
    }
  }
  // The legal pairs hb_mapper documents, spelled out.
  for (auto [t, r] : std::vector<std::pair<ImageType, ImageType>>{{ImageType::Rgb, ImageType::Nv12},
                                                                  {ImageType::Bgr, ImageType::Yuv444},
                                                                  {ImageType::Yuv444, ImageType::Nv12},
                                                                  {ImageType::Gray, ImageType::Gray}}) {
    CHECK(is_legal_pair(t, r));
  }
  CHECK_FALSE(is_legal_pair(ImageType::Yuv444, ImageType::Rgb));
  CHECK_FALSE(is_legal_pair(ImageType::Gray, ImageType::Nv12));
  CHECK_FALSE(is_legal_pair(ImageType::Rgb, ImageType::Gray));
}

TEST_CASE("preprocess: normalization values checked for count, range and use", "[preprocess]") {
  const nlohmann::json base = nlohmann::json(witness("preprocess_rgb")["cases"][0]);
  bpu::test::TempDir dir("norm");
  auto refused = [&](const std::function<void(nlohmann::json&)>& change, const std::string& fragment) {
    nlohmann::json c = base;
    change(c);
    bpu::test::require_error([&] { parse_config(case_yaml("preprocess_rgb", c), dir.file("c.yaml")); }, ExitCode::Config, fragment);
  };
  refused([](auto& c) { c["mean_value"] = {1.0, 2.0}; }, "2 values for 3 channel(s)");
  refused([](auto& c) { c["scale_value"] = {0.1, 0.1, 0.1, 0.1}; }, "4 values for 3 channel(s)");
  refused([](auto& c) { c["scale_value"] = {0.0}; }, "is out of range; a scale is in (0, 1024]");
  refused([](auto& c) { c["scale_value"] = {-0.5}; }, "is out of range; a scale is in (0, 1024]");
  refused([](auto& c) { c["mean_value"] = {5000.0}; }, "is out of range; a mean is in [-1024, 1024]");
  refused([](auto& c) { c["mean_value"] = nullptr; }, "norm_type 'data_mean_and_scale' needs mean_value");
  refused([](auto& c) { c["norm_type"] = "data_mean"; }, "scale_value: input 0: is set but norm_type 'data_mean' does not use it");
  refused([](auto& c) { c["norm_type"] = "no_preprocess"; }, "does not use it");
  refused([](auto& c) { c["input_space_and_range"] = "bt601_video"; }, "'bt601_video' applies to input_type_rt nv12 only");
  refused([](auto& c) { c["input_type_rt"] = "featuremap"; c["input_type_train"] = "featuremap"; }, "a featuremap input takes no_preprocess");
  {  // a value that is not a number
    std::string yaml = case_yaml("preprocess_rgb", base);
    yaml = replace_all(yaml, "mean_value: '123.675 ", "mean_value: '123.675x ");
    bpu::test::require_error([&] { parse_config(yaml, dir.file("c.yaml")); }, ExitCode::Config, "'123.675x' is not a number");
  }
  // One value stands for every channel; 'None' for none.
  nlohmann::json one = base;
  one["scale_value"] = {0.0175};
  MapperConfig cfg = parse_config(case_yaml("preprocess_rgb", one), dir.file("c.yaml"));
  CHECK(cfg.inputs.at(0).format.scale == std::vector<float>(3, 0.0175f));
}

TEST_CASE("preprocess: a config that does not fit the model is refused naming the input", "[preprocess]") {
  nlohmann::json c = witness("preprocess_rgb")["cases"][0];
  c["input_type_train"] = "gray";
  c["input_type_rt"] = "gray";
  c["mean_value"] = {128.0};
  c["scale_value"] = {0.0078125};
  bpu::test::TempDir dir("fit");
  bpu::test::require_error([&] { compile_model(parse_config(case_yaml("preprocess_rgb", c), dir.file("c.yaml"))); },
                           ExitCode::Config, "input_type_train 'gray' needs 1 channel(s)");
  nlohmann::json nhwc = witness("preprocess_rgb")["cases"][0];
  nhwc["input_layout_train"] = "NHWC";  // the model's input is NCHW [1,3,32,32]: 32 channels in NHWC
  bpu::test::require_error([&] { compile_model(parse_config(case_yaml("preprocess_rgb", nhwc), dir.file("c.yaml"))); },
                           ExitCode::Config, "check input_layout_train");
}

TEST_CASE("preprocess: PREPROCESS integer coefficients stay within the documented bound of the float map", "[preprocess]") {
  // Normalized RGB from nv12 at the fixture's first-activation scale: every affine value of every pixel code
  // combination along a grid differs from its integer form by less than (3 * 255 / 2 + 1/2) / 2^shift codes.
  InputFormat f;
  f.type_rt = ImageType::Nv12;
  f.type_train = ImageType::Rgb;
  f.norm = NormType::MeanAndScale;
  f.mean = {123.675f, 116.28f, 103.53f};
  f.scale = {0.0171247538f, 0.0175070028f, 0.0174291939f};
  const float scale = 0.0207058825f;
  const PreprocessAffine a = preprocess_affine(f);
  double am[3][3], bm[3];
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < 3; ++k) am[c][k] = a.a[c][k];
    bm[c] = a.b[c];
  }
  PreprocessCoefficients pc;
  std::string why;
  REQUIRE(make_preprocess_coefficients(am, bm, 3, 3, scale, &pc, &why));
  CHECK(pc.shift >= 20);
  const double r = 1.0f / scale, bound = (3 * 255 / 2.0 + 0.5) / std::ldexp(1.0, pc.shift);
  for (int y = 0; y < 256; y += 15) {
    for (int u = 0; u < 256; u += 17) {
      for (int v = 0; v < 256; v += 51) {
        const int64_t s[3] = {y, u, v};
        for (int c = 0; c < 3; ++c) {
          double exact = bm[c];
          int64_t acc = pc.bias[c];
          for (int k = 0; k < 3; ++k) exact += am[c][k] * s[k], acc += int64_t(pc.m[c][k]) * s[k];
          CHECK(std::fabs(std::ldexp(double(acc), -pc.shift) - exact * r) <= bound);
        }
      }
    }
  }
  // An absurd scale cannot be represented and is refused with the reason.
  CHECK_FALSE(make_preprocess_coefficients(am, bm, 3, 3, 1e-12f, &pc, &why));
  CHECK(why.find("out of proportion") != std::string::npos);
}

namespace {

// The witness case of `folder` named `name`.
nlohmann::json find_case(const std::string& folder, const std::string& name) {
  const nlohmann::json w = witness(folder);
  for (const auto& c : w["cases"]) {
    if (c["name"] == name) return c;
  }
  FAIL("no case " << name);
  return {};
}

}  // namespace

TEST_CASE("preprocess: pictures and raw files become the runtime tensor, JPEG equals its decoded pixels", "[preprocess]") {
  // PNG (lossless) -> each runtime type by rgb_picture_to_runtime == numpy's forward conversion of the same pixels.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"rgb_from_rgb_nhwc", "rgb_nhwc"}, {"rgb_from_rgb_nchw", "rgb_nchw"}, {"rgb_from_bgr", "bgr_nhwc"},
      {"rgb_from_yuv444", "yuv444_nhwc"}, {"rgb_from_nv12", "nv12"}, {"rgb_from_nv12_video", "nv12_video"}};
  const std::string png = bpu::test::data_path("preprocess_rgb/image_0.png");
  for (const auto& [name, fmt] : cases) {
    INFO(name);
    const nlohmann::json c = find_case("preprocess_rgb", name);
    ModelRunner runner = compile_case("preprocess_rgb", c);
    const TensorInfo& in = runner.model().inputs.at(0);
    const InputFormat& f = runner.model().input_formats.at(0);
    const FloatArray want = load_npy(bpu::test::data_path("preprocess_rgb/image_0_" + fmt + ".npy"));
    const FloatArray got = read_input_file(png, in, f);
    REQUIRE(got.shape == want.shape);
    size_t same = 0;
    for (size_t k = 0; k < got.data.size(); ++k) same += got.data[k] == want.data[k];
    CHECK(bpu::test::max_abs_diff(got.data, want.data) <= 1.0);  // a float64 .5 tie may round either way
    CHECK(double(same) / got.data.size() >= 0.999);
    // Raw bytes (np.tofile of the uint8 image) read with the .bin's shape.
    bpu::test::TempDir dir("raw");
    std::vector<uint8_t> bytes(want.data.begin(), want.data.end());
    std::ofstream(dir.file("img.bin"), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    CHECK(read_input_file(dir.file("img.bin"), in, f).data == want.data);
    std::ofstream(dir.file("short.bin"), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size() - 1);
    bpu::test::require_error([&] { read_input_file(dir.file("short.bin"), in, f); }, ExitCode::Usage, "needs " + std::to_string(bytes.size()));
    if (fmt != "nv12") continue;
    // JPEG: the .bin's output on the .jpg equals its output on the JPEG's decoded pixels converted by numpy's rule.
    int w = 0, h = 0, ch = 0;
    unsigned char* px = stbi_load(png.c_str(), &w, &h, &ch, 3);
    REQUIRE(px);
    REQUIRE(stbi_write_jpg(dir.file("img.jpg").c_str(), w, h, 3, px, 90));
    stbi_image_free(px);
    unsigned char* decoded = stbi_load(dir.file("img.jpg").c_str(), &w, &h, &ch, 3);
    REQUIRE(decoded);
    std::vector<uint8_t> rgb(decoded, decoded + w * h * 3);
    stbi_image_free(decoded);
    const FloatArray from_jpg = read_input_file(dir.file("img.jpg"), in, f);
    const FloatArray from_pixels{in.shape, rgb_picture_to_runtime(f, h, w, rgb)};
    CHECK(from_jpg.data == from_pixels.data);
    CHECK(runner.run({{"input", from_jpg}}).at("output").data == runner.run({{"input", from_pixels}}).at("output").data);
  }
  // Wrong picture size, a picture for a featuremap input, pixels out of range.
  const nlohmann::json c = find_case("preprocess_rgb", "rgb_from_rgb_nhwc");
  ModelRunner runner = compile_case("preprocess_rgb", c);
  TensorInfo bigger = runner.model().inputs.at(0);
  bigger.shape = {1, 64, 64, 3};
  bpu::test::require_error([&] { read_input_file(png, bigger, runner.model().input_formats[0]); }, ExitCode::Usage,
                           "is 32x32 (WxH), the input takes 64x64; resize it first");
  TensorInfo feature;
  feature.name = "x";
  feature.shape = {1, 3, 32, 32};
  bpu::test::require_error([&] { read_input_file(png, feature, InputFormat{}); }, ExitCode::Usage, "the input is a featuremap");
  FloatArray bad = load_npy(bpu::test::data_path("preprocess_rgb/image_0_rgb_nhwc.npy"));
  bad.data[5] = 256;
  bpu::test::require_error([&] { runner.run({{"input", bad}}); }, ExitCode::Usage, "is uint8 but holds 256");
}

TEST_CASE("preprocess: on the CPU (run_on_cpu) and for a featuremap layout change, the float kernel runs", "[preprocess]") {
  bpu::test::TempDir dir("cpu_pre");
  {  // run_on_cpu: the CPU segment reads the uint8 pixels and computes the documented float preprocessing.
    const nlohmann::json c = find_case("preprocess_rgb", "rgb_from_nv12");
    std::string yaml = replace_all(case_yaml("preprocess_rgb", c), "calibration_type: 'load'\n",
                                   "calibration_type: 'load'\n  run_on_cpu: 'input_HzPreprocess'\n");
    CompileResult r = compile_model(parse_config(yaml, dir.file("c.yaml")));
    bool on_cpu = false;
    for (const auto& row : r.placement) on_cpu |= row.op_type == "HzPreprocess" && row.device == "CPU";
    CHECK(on_cpu);
    r.model.compiler_version = kCompilerVersion;
    ModelRunner runner(deserialize_model(serialize_model(r.model), "cpu.bin"), "cpu.bin");
    const FloatArray x = load_npy(bpu::test::data_path("preprocess_rgb/image_0_nv12.npy"));
    const FloatArray golden = load_npy(bpu::test::data_path("preprocess_rgb/golden_rgb_from_nv12_0.npy"));
    const double lsb = witness("preprocess_rgb")["output_scale"];
    CHECK(bpu::test::max_abs_diff(runner.run({{"input", x}}).at("output").data, golden.data) <= lsb * 1.001);
  }
  {  // featuremap NHWC at runtime, NCHW in training: an HzPreprocess transpose on the CPU, then the model.
    std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid/model.onnx"), "o");
    yaml.replace(yaml.find("input_parameters:\n"), 18, "input_parameters:\n  input_layout_rt: 'NHWC'\n");
    CompileResult r = compile_model(parse_config(yaml, dir.file("f.yaml")));
    r.model.compiler_version = kCompilerVersion;
    ModelRunner runner(deserialize_model(serialize_model(r.model), "f.bin"), "f.bin");
    const FloatArray x = load_npy(bpu::test::data_path("nonhybrid/input_0.npy"));
    REQUIRE(x.shape.size() == 4);
    const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3];
    FloatArray nhwc{{1, H, W, C}, std::vector<float>(x.data.size())};
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t q = 0; q < W; ++q) nhwc.data[(y * W + q) * C + c] = x.data[(c * H + y) * W + q];
    CHECK(runner.model().inputs.at(0).shape == nhwc.shape);
    const FloatArray want = load_npy(bpu::test::data_path("nonhybrid/qat_output_0.npy"));
    const std::vector<float> got = runner.run({{runner.model().inputs[0].name, nhwc}}).begin()->second.data;
    CHECK(bpu::test::cosine(got, want.data) >= 0.9999);
  }
}

TEST_CASE("preprocess: nv12 shapes round-trip for every even size, and run checks the data against the shape", "[preprocess]") {
  InputFormat f;
  f.type_rt = ImageType::Nv12;
  f.type_train = ImageType::Rgb;
  for (int64_t h : {2, 30, 32, 478}) {  // H = 2 (mod 4) gives an odd number of chroma rows
    const Shape rt = runtime_shape(f, {1, 3, h, 64}, "x");
    CHECK(rt == Shape{1, h * 3 / 2, 64});
    CHECK(train_shape_of(f, rt, "x", ExitCode::Artifact) == Shape{1, 3, h, 64});
  }
  bpu::test::require_error([&] { runtime_shape(f, {1, 3, 31, 64}, "x"); }, ExitCode::Config, "odd size");
  bpu::test::require_error([&] { train_shape_of(f, {1, 46, 64}, "x", ExitCode::Artifact); }, ExitCode::Artifact, "H*3/2");
  ModelRunner runner = compile_case("preprocess_rgb", find_case("preprocess_rgb", "rgb_from_nv12"));
  FloatArray x = load_npy(bpu::test::data_path("preprocess_rgb/image_0_nv12.npy"));
  x.data.push_back(0);  // one value more than the shape holds
  bpu::test::require_error([&] { runner.run({{"input", x}}); }, ExitCode::Usage, "needs 1536");
}

TEST_CASE("preprocess: format_problem is the one consistency check of a format", "[preprocess]") {
  InputFormat good;
  good.type_rt = ImageType::Nv12;
  good.type_train = ImageType::Rgb;
  good.norm = NormType::MeanAndScale;
  good.mean = {123.675f, 116.28f, 103.53f};
  good.scale = {0.017f, 0.0175f, 0.0174f};
  CHECK(format_problem(good).empty());
  CHECK(format_problem(InputFormat{}).empty());  // a plain featuremap
  auto bad = [&](const std::function<void(InputFormat&)>& change, const std::string& fragment) {
    InputFormat f = good;
    change(f);
    INFO(fragment);
    CHECK(format_problem(f).find(fragment) != std::string::npos);
  };
  bad([](InputFormat& f) { f.type_train = ImageType::Nv12; }, "cannot be converted");
  bad([](InputFormat& f) { f.type_rt = ImageType::Rgb; f.video_range = true; }, "bt601_video needs input_type_rt nv12");
  bad([](InputFormat& f) { f.type_rt = f.type_train = ImageType::Featuremap; f.mean.clear(); f.scale.clear(); }, "takes no norm_type");
  bad([](InputFormat& f) { f.mean.pop_back(); }, "2 mean values do not fit");
  bad([](InputFormat& f) { f.norm = NormType::Scale; }, "3 mean values do not fit");
  bad([](InputFormat& f) { f.scale[1] = 0; }, "scale value is not positive");
  bad([](InputFormat& f) { f.mean[0] = std::numeric_limits<float>::infinity(); }, "mean value is not finite");
  bad([](InputFormat& f) { f.scale[2] = 2e6f; }, "at most 1e6");
}
