// Compiles a torch QAT fixture from test/data into a temporary folder (deleting the ONNX copy afterwards, so
// runs prove the .bin is self-contained) and checks its outputs against the saved torch QAT outputs.
#pragma once

#include <memory>

#include "api/bpu_mapper.h"
#include "runtime/model_runner.h"
#include "test_helpers.h"

namespace bpu::test {

struct Compiled {
  bpu::test::TempDir dir{"e2e"};
  std::string bin;
};

// Copies the fixture's ONNX into a temp folder, compiles it there, then deletes the ONNX copy.
inline std::unique_ptr<Compiled> compile_fixture(const std::string& fixture, const std::string& extra_calibration = "") {
  auto c = std::make_unique<Compiled>();
  std::filesystem::copy_file(data_path(fixture + "/model.onnx"), c->dir.file("qat.onnx"));
  bpu::test::write_text(c->dir.file("config.yaml"), bpu::test::fixture_yaml("qat.onnx", "out", "bayes", extra_calibration));
  MapperConfig cfg = load_config(c->dir.file("config.yaml"));
  makertbin(cfg);
  c->bin = cfg.output_bin_path();
  REQUIRE(std::filesystem::exists(c->bin));
  std::filesystem::remove(c->dir.file("qat.onnx"));
  return c;
}

// The output's quantization step (LSB) if the .bin dequantizes it from a per-tensor int8/int16 value.
inline double output_lsb(const CompiledModel& m, const std::string& output) {
  for (const auto& s : m.steps) {
    if (s.kind != StepKind::Dequantize || s.target != output) continue;
    for (const auto& v : m.values) {
      if (v.name == s.source && v.dtype != DType::Int32 && v.scales.size() == 1) return v.scales[0];
    }
  }
  return 0;
}

inline void check_fixture_accuracy(const std::string& fixture, const std::string& extra_calibration = "") {
  auto compiled = compile_fixture(fixture, extra_calibration);
  ModelRunner runner = ModelRunner::from_file(compiled->bin);
  const std::string out_name = runner.model().outputs.at(0).name;
  for (int i = 0; i < 3; ++i) {
    FloatArray input = load_npy(bpu::test::data_path(fixture + "/input_" + std::to_string(i) + ".npy"));
    FloatArray ref = load_npy(bpu::test::data_path(fixture + "/qat_output_" + std::to_string(i) + ".npy"));
    auto outputs = runner.run({{runner.model().inputs.at(0).name, input}});
    const FloatArray& got = outputs.at(out_name);
    REQUIRE(got.shape == ref.shape);
    double cos = bpu::test::cosine(got.data, ref.data);
    double diff = bpu::test::max_abs_diff(got.data, ref.data);
    double lsb = output_lsb(runner.model(), out_name);
    INFO(fixture << " input " << i << ": cosine " << cos << ", max |diff| " << diff << ", lsb " << lsb);
    CHECK(cos >= 0.9999);
    if (lsb > 0) {
      CHECK(diff <= lsb * 1.0001);  // at most one output LSB
    } else {
      CHECK(diff <= 1e-3 * bpu::test::max_abs(ref.data));  // int32 high-precision output
    }
    // The reference conv kernel gives bit-identical results to the fast one on the whole model.
    auto slow = runner.run({{runner.model().inputs.at(0).name, input}}, ConvKernel::Reference);
    CHECK(slow.at(out_name).data == got.data);
  }
}

}  // namespace bpu::test
