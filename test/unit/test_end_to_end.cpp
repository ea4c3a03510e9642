// End to end: compile the torch QAT fixtures, write the .bin, delete the ONNX, load and run the .bin, and
// compare with the torch fake-quant outputs saved by scripts/gen_fixtures.py.

#include "api/bpu_mapper.h"
#include "artifact/bin_format.h"
#include "runtime/model_runner.h"
#include "fixture_helpers.h"

using namespace bpu;


TEST_CASE("e2e: non-hybrid QAT model with int32 high-precision output matches torch", "[e2e]") {
  bpu::test::check_fixture_accuracy("nonhybrid");
}

TEST_CASE("e2e: non-hybrid QAT model with int8 output is within one LSB of torch", "[e2e]") {
  bpu::test::check_fixture_accuracy("nonhybrid_int8_output");
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
  for (const auto& row : r.placement) hp |= row.reason_code == Reason::BpuHighPrecisionOutput;
  CHECK(hp);
  CHECK_FALSE(std::filesystem::exists(dir.file("o")));  // compile_model writes nothing
}

TEST_CASE("e2e: run refuses wrong input names and shapes", "[e2e]") {
  auto compiled = bpu::test::compile_fixture("nonhybrid");
  ModelRunner runner = ModelRunner::from_file(compiled->bin);
  FloatArray input = load_npy(bpu::test::data_path("nonhybrid/input_0.npy"));
  bpu::test::require_error([&] { runner.run({{"data", input}}); }, ExitCode::Usage, "input 'input' is missing");
  FloatArray wrong{{1, 3, 8, 8}, std::vector<float>(192)};
  bpu::test::require_error([&] { runner.run({{"input", wrong}}); }, ExitCode::Usage, "expects 1x3x64x64");
}

TEST_CASE("e2e: every simulator thread count gives identical outputs", "[e2e]") {
  for (const std::string fixture : {"resnet18", "mobilenet_v2"}) {
    auto compiled = bpu::test::compile_fixture(fixture);
    ModelRunner runner = ModelRunner::from_file(compiled->bin);
    FloatArray input = load_npy(bpu::test::data_path(fixture + "/input_1.npy"));
    const std::string name = runner.model().inputs.at(0).name;
    const auto one = runner.run({{name, input}});
    for (int threads : {2, 3, 8}) {
      runner.set_threads(threads);
      for (int repeat = 0; repeat < 3; ++repeat) {  // the pool and the packed weights are reused across runs
        const auto many = runner.run({{name, input}});
        for (const auto& [out, value] : one) CHECK(many.at(out).data == value.data);
      }
    }
  }
}
