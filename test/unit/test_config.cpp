// Config stage: field parsing, `;` lists, YAML-relative paths, warnings and field-naming errors.

#include "config/config.h"
#include "test_helpers.h"

using namespace bpu;
using bpu::test::require_error;

namespace {

std::string onnx_path() { return bpu::test::data_path("nonhybrid/model.onnx"); }

}  // namespace

TEST_CASE("config: a complete hb_mapper YAML parses with its values", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "out", "bayes", "  run_on_cpu: '/conv/Conv; /Add ;'\n");
  MapperConfig c = parse_config(yaml, "/some/dir/cfg.yaml");
  CHECK(c.march == "bayes");
  CHECK(c.onnx_model == onnx_path());
  CHECK(c.working_dir == "/some/dir/out");  // relative to the YAML file's folder
  CHECK(c.output_model_file_prefix == "model");
  CHECK(c.output_bin_path() == "/some/dir/out/model.bin");
  REQUIRE(c.inputs.size() == 1);
  CHECK(c.inputs[0].type_rt == "featuremap");
  CHECK(c.run_on_cpu == std::vector<std::string>{"/conv/Conv", "/Add"});
  CHECK(c.optimize_level == "O3");
  CHECK(c.warnings.empty());
}

TEST_CASE("config: relative onnx_model resolves against the YAML folder", "[config]") {
  bpu::test::TempDir dir("cfg");
  std::filesystem::copy_file(onnx_path(), dir.file("m.onnx"));
  std::string yaml = bpu::test::fixture_yaml("m.onnx", "wd");
  MapperConfig c = parse_config(yaml, dir.file("c.yaml"));
  CHECK(c.onnx_model == dir.file("m.onnx"));
}

TEST_CASE("config: split_list and parse_shape follow hb_mapper's conventions", "[config]") {
  CHECK(split_list("a; b ;c;") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_list("") .empty());
  CHECK(parse_shape("1x3x224x224", "f") == Shape{1, 3, 224, 224});
  require_error([] { parse_shape("1x3xabc", "input_shape"); }, ExitCode::Config, "input_shape");
  require_error([] { parse_shape("0x3x4x4", "input_shape"); }, ExitCode::Config, "dimension 0");
  require_error([] { parse_shape("100000x100000x100000", "input_shape"); }, ExitCode::Config, "input_shape");
}

TEST_CASE("config: unknown keys warn, known-but-inert keys say so", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "out");
  yaml += "  frobnicate: 3\n  core_num: 2\n";  // appended under compiler_parameters
  MapperConfig c = parse_config(yaml, "/x/c.yaml");
  REQUIRE(c.warnings.size() == 2);
  CHECK(c.warnings[0].find("compiler_parameters.frobnicate") != std::string::npos);
  CHECK(c.warnings[1].find("compiler_parameters.core_num") != std::string::npos);
}

TEST_CASE("config: wrong values name the field and the allowed values", "[config]") {
  const std::string onnx = onnx_path();
  require_error([&] { parse_config(bpu::test::fixture_yaml(onnx, "o", "bernoulli2"), "c.yaml"); }, ExitCode::Config,
                "model_parameters.march: 'bernoulli2'");
  require_error([&] { parse_config(bpu::test::fixture_yaml(onnx, "o", "xj9"), "c.yaml"); }, ExitCode::Config,
                "allowed values: bernoulli2, bayes, bayes-e");
  std::string bad_level = bpu::test::fixture_yaml(onnx, "o");
  bad_level.replace(bad_level.find("'O3'"), 4, "'O7'");
  require_error([&] { parse_config(bad_level, "c.yaml"); }, ExitCode::Config, "compiler_parameters.optimize_level: 'O7'");
  std::string kl = bpu::test::fixture_yaml(onnx, "o");
  kl.replace(kl.find("'load'"), 6, "'kl'");
  require_error([&] { parse_config(kl, "c.yaml"); }, ExitCode::Unsupported, "calibration_type: 'kl'");
  std::string missing = "model_parameters:\n  march: bayes\n";
  require_error([&] { parse_config(missing, "c.yaml"); }, ExitCode::Config, "model_parameters.onnx_model: missing");
}

TEST_CASE("config: missing ONNX file and YAML syntax errors are config errors naming the file", "[config]") {
  require_error([] { parse_config(bpu::test::fixture_yaml("/nonexistent/m.onnx", "o"), "c.yaml"); }, ExitCode::Config,
                "'/nonexistent/m.onnx' does not exist");
  require_error([] { parse_config("model_parameters: [unclosed\n", "broken.yaml"); }, ExitCode::Config,
                "config 'broken.yaml': YAML syntax error at line");
  require_error([] { load_config("/nonexistent/config.yaml"); }, ExitCode::Config, "/nonexistent/config.yaml");
}

TEST_CASE("config: inputs that need preprocessing are refused as unsupported", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "o");
  yaml.replace(yaml.find("input_type_rt: 'featuremap'"), 27, "input_type_rt: 'nv12'");
  require_error([&] { parse_config(yaml, "c.yaml"); }, ExitCode::Unsupported, "preprocessing");
}
