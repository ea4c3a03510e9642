// End to end: compile the torch QAT fixtures, write the .bin, delete the ONNX, load and run the .bin, and
// compare with the torch fake-quant outputs saved by scripts/gen_fixtures.py.

#include "api/bpu_mapper.h"
#include "artifact/bin_format.h"
#include "runtime/model_runner.h"
#include "test_helpers.h"

using namespace bpu;

namespace {

struct Compiled {
  bpu::test::TempDir dir{"e2e"};
  std::string bin;
};

// Copies the fixture's ONNX into a temp folder, compiles it there, then deletes the ONNX copy.
std::unique_ptr<Compiled> compile_fixture(const std::string& fixture) {
  auto c = std::make_unique<Compiled>();
  std::filesystem::copy_file(bpu::test::data_path(fixture + "/model.onnx"), c->dir.file("qat.onnx"));
  bpu::test::write_text(c->dir.file("config.yaml"), bpu::test::fixture_yaml("qat.onnx", "out"));
  MapperConfig cfg = load_config(c->dir.file("config.yaml"));
  makertbin(cfg);
  c->bin = cfg.output_bin_path();
  REQUIRE(std::filesystem::exists(c->bin));
  std::filesystem::remove(c->dir.file("qat.onnx"));
  return c;
}

// The output's quantization step (LSB) if the .bin dequantizes it from a per-tensor int8/int16 value.
double output_lsb(const CompiledModel& m, const std::string& output) {
  for (const auto& s : m.steps) {
    if (s.kind != StepKind::Dequantize || s.target != output) continue;
    for (const auto& v : m.values) {
      if (v.name == s.source && v.dtype != DType::Int32 && v.scales.size() == 1) return v.scales[0];
    }
  }
  return 0;
}

void check_fixture_accuracy(const std::string& fixture) {
  auto compiled = compile_fixture(fixture);
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

}  // namespace

TEST_CASE("e2e: non-hybrid QAT model with int32 high-precision output matches torch", "[e2e]") {
  check_fixture_accuracy("nonhybrid");
}

TEST_CASE("e2e: non-hybrid QAT model with int8 output is within one LSB of torch", "[e2e]") {
  check_fixture_accuracy("nonhybrid_int8_output");
}

TEST_CASE("e2e: the compiled model places every node on one BPU segment", "[e2e]") {
  bpu::test::TempDir dir("place");
  bpu::test::write_text(dir.file("c.yaml"), bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid/model.onnx"), dir.file("o")));
  CompileResult r = compile_model(load_config(dir.file("c.yaml")));
  CHECK(r.partition.count(Device::Cpu) == 0);
  CHECK(r.partition.segment_count(Device::Bpu) == 1);
  CHECK(r.model.bpu_segments.size() == 1);
  CHECK(r.placement.size() == 9);  // 4 Conv, 2 Add, 3 fused Relu
  bool hp = false;
  for (const auto& row : r.placement) hp |= row.reason_code == "BPU_HIGH_PRECISION_OUTPUT";
  CHECK(hp);
  CHECK_FALSE(std::filesystem::exists(dir.file("o")));  // compile_model writes nothing
}

TEST_CASE("e2e: run refuses wrong input names and shapes", "[e2e]") {
  auto compiled = compile_fixture("nonhybrid");
  ModelRunner runner = ModelRunner::from_file(compiled->bin);
  FloatArray input = load_npy(bpu::test::data_path("nonhybrid/input_0.npy"));
  bpu::test::require_error([&] { runner.run({{"data", input}}); }, ExitCode::Usage, "input 'input' is missing");
  FloatArray wrong{{1, 3, 8, 8}, std::vector<float>(192)};
  bpu::test::require_error([&] { runner.run({{"input", wrong}}); }, ExitCode::Usage, "expects 1x3x64x64");
}
