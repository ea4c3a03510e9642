// Operator coverage end to end: torchvision resnet18 (1/8 width) and mobilenet_v2 (0.35), a two-branch
// nearest/bilinear Resize + Concat + Sigmoid model with two outputs, the unfolded-BN export and the Horizon
// int16 dialect all run on the BPU and agree with the torch QAT outputs.

#include "fixture_helpers.h"

using namespace bpu;

namespace {

CompileResult compile_plain(const std::string& fixture) {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "out");
  return compile_model(parse_config(yaml, "/tmp/bpu_coverage/config.yaml"));
}

void check_all_on_bpu(const std::string& fixture) {
  CompileResult r = compile_plain(fixture);
  for (const auto& row : r.placement) {
    INFO(fixture << ": " << row.node << " " << row.reason_code << " " << row.reason);
    CHECK(row.device == "BPU");
  }
  CHECK(r.partition.segment_count(Device::Bpu) == 1);
}

}  // namespace

TEST_CASE("coverage: resnet18 runs on the BPU and matches torch", "[coverage]") {
  check_all_on_bpu("resnet18");
  bpu::test::check_fixture_accuracy("resnet18");
}

TEST_CASE("coverage: mobilenet_v2 runs on the BPU and matches torch", "[coverage]") {
  check_all_on_bpu("mobilenet_v2");
  bpu::test::check_fixture_accuracy("mobilenet_v2");
}

TEST_CASE("coverage: resize/concat/sigmoid with two outputs runs on the BPU and matches torch", "[coverage]") {
  check_all_on_bpu("resize_concat");
  auto agreement = bpu::test::check_fixture_accuracy("resize_concat");
  REQUIRE(agreement.size() == 6);  // 2 outputs x 3 inputs
}

TEST_CASE("coverage: the unfolded BN export folds into its convolutions", "[coverage]") {
  check_all_on_bpu("nonhybrid_unfolded_bn");
  CompileResult r = compile_plain("nonhybrid_unfolded_bn");
  int folded = 0;
  for (const auto& row : r.placement) folded += row.reason_code == Reason::Folded;
  CHECK(folded == 6);  // 2 x (Div, Add, BatchNormalization)
  bpu::test::check_fixture_accuracy("nonhybrid_unfolded_bn");
}

TEST_CASE("coverage: the Horizon dialect with int16 activations", "[coverage]") {
  check_all_on_bpu("horizon_int16");
  CompileResult r = compile_plain("horizon_int16");
  int int16_buffers = 0;
  for (const auto& b : r.model.bpu_segments.at(0).buffers) int16_buffers += b.info.dtype == DType::Int16;
  CHECK(int16_buffers >= 4);
  bpu::test::check_fixture_accuracy("horizon_int16");
}

TEST_CASE("coverage: node_info int16 widens the named tensors", "[coverage]") {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid_int8_output/model.onnx"), "out");
  yaml.replace(yaml.find("input_parameters:"), 0, "  node_info: {'/conv/Conv': {'OutputType': 'int16'}}\n");
  CompileResult r = compile_model(parse_config(yaml, "/tmp/bpu_coverage/config.yaml"));
  CHECK(r.graph.tensor("/conv/Conv_output_0").quant->bits == 16);
  bool int16_conv_output = false;
  for (const auto& b : r.model.bpu_segments.at(0).buffers) int16_conv_output |= b.info.name == "/conv/Conv_output_0" && b.info.dtype == DType::Int16;
  CHECK(int16_conv_output);
}

TEST_CASE("coverage: a standalone BatchNormalization (DenseNet's, after a Concat) runs on the BPU and matches torch",
          "[coverage]") {
  CompileResult r = compile_plain("standalone_bn");
  for (const auto& row : r.placement) {
    INFO(row.node << " " << row.reason);
    CHECK(row.device == "BPU");
  }
  CHECK(r.partition.segment_count(Device::Bpu) == 1);
  bpu::test::check_fixture_accuracy("standalone_bn");
}
