// Compiles a torch QAT fixture from test/data into a temporary folder (deleting the ONNX copy afterwards, so
// runs prove the .bin is self-contained) and checks its outputs against the saved torch QAT outputs.
#pragma once

#include <fstream>
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
inline std::unique_ptr<Compiled> compile_fixture(const std::string& fixture, const std::string& extra_calibration = "",
                                                 const std::string& march = "bayes") {
  auto c = std::make_unique<Compiled>();
  std::filesystem::copy_file(data_path(fixture + "/model.onnx"), c->dir.file("qat.onnx"));
  bpu::test::write_text(c->dir.file("config.yaml"), bpu::test::fixture_yaml("qat.onnx", "out", march, extra_calibration));
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

struct OutputAgreement {
  double cosine = 0, max_diff = 0, max_lsb = 0, identical = 0;  // identical: share of elements within half an LSB
  size_t elements = 0;
};

// Output names and their reference file stems: one output -> <kind>_output_<i>.npy, several ->
// <kind>_output_<name>_<i>.npy; kind "exact" (torch's float64 run, fixtures without float ops) where the
// generator wrote it, else "qat" (torch's float32 run).
inline std::string reference_file(const std::string& fixture, const std::string& output, size_t outputs, int i,
                                  bool* exact = nullptr) {
  auto path = [&](const std::string& kind) {
    const std::string stem = outputs == 1 ? kind + "_output" : kind + "_output_" + output;
    return data_path(fixture + "/" + stem + "_" + std::to_string(i) + ".npy");
  };
  const bool has_exact = std::ifstream(path("exact")).good();
  if (exact) *exact = has_exact;
  return path(has_exact ? "exact" : "qat");
}

// Checks every output on every saved input: against torch's float64 run (exact_output), every quantized
// element identical; against its float32 run (qat_output), cosine >= 0.9999 and at most one output LSB where the
// output is quantized, with >= 99.9 % of elements identical on outputs of 1000 elements or more; the int32
// high-precision tolerance otherwise. Also holds the reference conv kernel bit-identical to the fast one.
inline std::vector<OutputAgreement> check_fixture_accuracy(const std::string& fixture, const std::string& extra_calibration = "",
                                                           const std::string& march = "bayes") {
  auto compiled = compile_fixture(fixture, extra_calibration, march);
  ModelRunner runner = ModelRunner::from_file(compiled->bin, march);
  std::vector<OutputAgreement> all;
  for (int i = 0; i < 3; ++i) {
    FloatArray input = load_npy(bpu::test::data_path(fixture + "/input_" + std::to_string(i) + ".npy"));
    auto outputs = runner.run({{runner.model().inputs.at(0).name, input}});
    auto slow = runner.run({{runner.model().inputs.at(0).name, input}}, ConvKernel::Reference);
    for (const auto& out : runner.model().outputs) {
      bool exact = false;
      FloatArray ref = load_npy(reference_file(fixture, out.name, runner.model().outputs.size(), i, &exact));
      const FloatArray& got = outputs.at(out.name);
      REQUIRE(got.shape == ref.shape);
      OutputAgreement a;
      a.elements = ref.data.size();
      a.cosine = bpu::test::cosine(got.data, ref.data);
      a.max_diff = bpu::test::max_abs_diff(got.data, ref.data);
      const double lsb = output_lsb(runner.model(), out.name);
      size_t same = 0;
      for (size_t k = 0; k < got.data.size(); ++k) same += lsb > 0 && std::fabs(double(got.data[k]) - ref.data[k]) < lsb / 2;
      a.identical = lsb > 0 ? double(same) / a.elements : 0;
      a.max_lsb = lsb > 0 ? a.max_diff / lsb : 0;
      INFO(fixture << " output " << out.name << " input " << i << (exact ? " (vs exact)" : "") << ": cosine " << a.cosine
                   << ", max |diff| " << a.max_diff << ", lsb " << lsb << ", identical " << a.identical);
      if (exact && lsb > 0) CHECK(a.identical == 1.0);
      CHECK(a.cosine >= 0.9999);
      if (lsb > 0) {
        CHECK(a.max_diff <= lsb * 1.0001);  // at most one output LSB
        if (a.elements >= 1000) CHECK(a.identical >= 0.999);
      } else {
        CHECK(a.max_diff <= 1e-3 * bpu::test::max_abs(ref.data));  // int32 high-precision output
      }
      CHECK(slow.at(out.name).data == got.data);
      all.push_back(a);
    }
  }
  return all;
}

}  // namespace bpu::test
