// Config stage: field parsing, `;` lists, YAML-relative paths, warnings and field-naming errors.

#include "config/config.h"
#include "config/config_schema.h"

#include <algorithm>
#include <fstream>
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

TEST_CASE("config: an unknown key is an error naming the closest known key", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "out");
  yaml += "  optimise_level: 'O3'\n";  // appended under compiler_parameters
  require_error([&] { parse_config(yaml, "/x/c.yaml"); }, ExitCode::Config,
                "compiler_parameters.optimise_level: unknown key; did you mean compiler_parameters.optimize_level?");
  std::string elsewhere = bpu::test::fixture_yaml(onnx_path(), "out") + "  working_dir: 'x'\n";
  require_error([&] { parse_config(elsewhere, "/x/c.yaml"); }, ExitCode::Config, "did you mean model_parameters.working_dir?");
}

TEST_CASE("config: every problem of a config is reported in one error", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "out", "bayes", "  cal_data_dir: '/nonexistent/cal'\n");
  yaml.replace(yaml.find("input_type_train: 'featuremap'"), 30, "input_type_train: ''");
  yaml.replace(yaml.find("norm_type: 'no_preprocess'"), 26, "norm_type: ''");
  yaml += "  optimise_level: 'O3'\n  core_num: 7\n  balance_factor: 101\n  max_time_per_fc: 500\n";
  try {
    parse_config(yaml, "/x/c.yaml");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string m = e.what();
    INFO(m);
    CHECK(e.code() == ExitCode::Config);
    CHECK(m.find("7 problems") != std::string::npos);
    for (const char* field : {"input_parameters.input_type_train: is empty", "input_parameters.norm_type: is empty",
                              "compiler_parameters.optimise_level: unknown key", "compiler_parameters.core_num: '7'",
                              "compiler_parameters.balance_factor: '101'", "compiler_parameters.max_time_per_fc: '500'",
                              "calibration_parameters.cal_data_dir: folder '/nonexistent/cal' does not exist"}) {
      CHECK(m.find(field) != std::string::npos);
    }
    CHECK(std::count(m.begin(), m.end(), '\n') == 7);  // one line per problem
  }
}

TEST_CASE("config: ignored hb_mapper keys are checked and warned about once, and defaults are listed", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "out");
  yaml += "  core_num: 2\n  balance_factor: 50\n  max_time_per_fc: 1000\n";
  yaml.replace(yaml.find("  norm_type"), 0, "  input_space_and_range: regular\n");  // acted on: no warning
  MapperConfig c = parse_config(yaml, "/x/c.yaml");
  REQUIRE(c.warnings.size() == 3);
  for (const char* key : {"compiler_parameters.core_num", "compiler_parameters.balance_factor",
                          "compiler_parameters.max_time_per_fc"}) {
    CHECK(std::count_if(c.warnings.begin(), c.warnings.end(),
                        [&](const std::string& w) { return w.rfind(key, 0) == 0; }) == 1);
  }
  MapperConfig minimal = parse_config("model_parameters:\n  onnx_model: '" + onnx_path() + "'\n  march: bayes\n", "/x/c.yaml");
  auto listed = [&](const std::string& d) {
    return std::find(minimal.defaults.begin(), minimal.defaults.end(), d) != minimal.defaults.end();
  };
  CHECK(listed("compiler_parameters.optimize_level = O0"));
  CHECK(listed("input_parameters.input_type_rt = featuremap"));
  CHECK(listed("model_parameters.working_dir = model_output"));
}

TEST_CASE("config: input_shape without input_name, input_batch range and single input", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "out");
  yaml.replace(yaml.find("  norm_type"), 0, "  input_shape: '1x3x64x64'\n  input_batch: 4\n");
  MapperConfig c = parse_config(yaml, "/x/c.yaml");
  REQUIRE(c.inputs.size() == 1);
  CHECK(c.inputs[0].name.empty());
  CHECK(c.inputs[0].shape == Shape{1, 3, 64, 64});
  CHECK(c.input_batch == 4);
  std::string big = bpu::test::fixture_yaml(onnx_path(), "out");
  big.replace(big.find("  norm_type"), 0, "  input_batch: 129\n");
  require_error([&] { parse_config(big, "c.yaml"); }, ExitCode::Config, "input_parameters.input_batch: '129'");
  std::string two = bpu::test::fixture_yaml(onnx_path(), "out");
  two.replace(two.find("  norm_type"), 0, "  input_name: 'a;b'\n  input_batch: 2\n");
  require_error([&] { parse_config(two, "c.yaml"); }, ExitCode::Config, "single input");
}

TEST_CASE("config: the canonical settings ignore paths, prefix, formatting and list order", "[config]") {
  bpu::test::TempDir a("canon_a"), b("canon_b");
  std::string one = bpu::test::fixture_yaml(onnx_path(), "out", "bayes", "  run_on_cpu: '/a;/b'\n");
  std::string other = "# another team's template\nmodel_parameters:\n  march: \"bayes\"\n  onnx_model: " + onnx_path() +
                      "\n  output_model_file_prefix: other\n  working_dir: elsewhere\ncalibration_parameters:\n"
                      "  run_on_cpu: '/b; /a'\n  calibration_type: load\ncompiler_parameters:\n"
                      "  optimize_level: O3   # tuned\n";
  const std::vector<std::pair<std::string, Shape>> shapes = {{"input", {1, 3, 64, 64}}};
  MapperConfig ca = parse_config(one, a.file("c.yaml")), cb = parse_config(other, b.file("d.yaml"));
  CHECK(canonical_settings_yaml(ca, shapes) == canonical_settings_yaml(cb, shapes));
  cb.optimize_level = "O2";
  CHECK(canonical_settings_yaml(ca, shapes) != canonical_settings_yaml(cb, shapes));
}

TEST_CASE("config: docs/cli.md lists every key with its status", "[config]") {
  std::ifstream in(std::string(BPU_SOURCE_DIR) + "/docs/cli.md");
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(!doc.empty());
  for (const auto& k : config_keys()) {
    const std::string row = std::string("| `") + (std::string(k.group).empty() ? "" : std::string(k.group) + ".") + k.key +
                            "` | " + key_status_name(k.status) + " |";
    INFO(row);
    CHECK(doc.find(row) != std::string::npos);
  }
}

TEST_CASE("config: wrong values name the field and the allowed values", "[config]") {
  const std::string onnx = onnx_path();
  for (const char* march : {"bayes", "bayes-e", "bernoulli2"}) {
    CHECK(parse_config(bpu::test::fixture_yaml(onnx, "o", march), "c.yaml").march == march);
  }
  require_error([&] { parse_config(bpu::test::fixture_yaml(onnx, "o", "xj9"), "c.yaml"); }, ExitCode::Config,
                "model_parameters.march: 'xj9' is invalid; allowed values: bayes, bayes-e, bernoulli2");
  std::string bad_level = bpu::test::fixture_yaml(onnx, "o");
  bad_level.replace(bad_level.find("'O3'"), 4, "'O7'");
  require_error([&] { parse_config(bad_level, "c.yaml"); }, ExitCode::Config, "compiler_parameters.optimize_level: 'O7'");
  std::string kl = bpu::test::fixture_yaml(onnx, "o");
  kl.replace(kl.find("'load'"), 6, "'kl'");  // a post-training method needs samples
  require_error([&] { parse_config(kl, "c.yaml"); }, ExitCode::Config, "cal_data_dir: missing; calibration_type 'kl' needs");
  std::string percentile = bpu::test::fixture_yaml(onnx, "o");
  percentile.replace(percentile.find("calibration_type: 'load'"), 24, "calibration_type: 'load'\n  max_percentile: 1.5");
  require_error([&] { parse_config(percentile, "c.yaml"); }, ExitCode::Config, "max_percentile: '1.5' is invalid");
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

TEST_CASE("config: an image runtime type for a featuremap-trained input is an illegal pair", "[config]") {
  std::string yaml = bpu::test::fixture_yaml(onnx_path(), "o");
  yaml.replace(yaml.find("input_type_rt: 'featuremap'"), 27, "input_type_rt: 'nv12'");
  require_error([&] { parse_config(yaml, "c.yaml"); }, ExitCode::Config,
                "input_type_train 'featuremap' cannot take input_type_rt 'nv12'; legal: featuremap");
}
