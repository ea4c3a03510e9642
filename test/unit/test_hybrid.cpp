// Hybrid models end to end: the seed's HybridModel with CPU fallback segments, run_on_cpu / run_on_bpu /
// node_info, synthesized weight scales, unknown names, the checker, and CPU segments standard tools can open.

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "artifact/bin_format.h"
#include "fixture_helpers.h"
#include "onnx_builder.h"

using namespace bpu;
using bpu::test::require_error;

namespace {

CompileResult compile_with(const std::string& fixture, const std::string& calibration_lines,
                           const std::string& model_lines = "") {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "out", "bayes", calibration_lines);
  yaml.replace(yaml.find("input_parameters:"), 0, model_lines);
  return compile_model(parse_config(yaml, "/tmp/bpu_hybrid_test/config.yaml"));
}

const PlacementRow& row(const CompileResult& r, const std::string& node) {
  for (const auto& x : r.placement) if (x.node == node) return x;
  FAIL("no placement row for " << node);
  throw;
}

}  // namespace

TEST_CASE("hybrid: the seed's HybridModel places float parts on the CPU with their reasons", "[hybrid]") {
  CompileResult r = compile_with("hybrid", "");
  CHECK(r.partition.segment_count(Device::Bpu) == 3);
  CHECK(r.partition.segment_count(Device::Cpu) == 4);
  CHECK(row(r, "/selu/Selu").reason_code == Reason::NoQuantInput);    // SELU kept float (qconfig None)
  CHECK(row(r, "/selu_1/Selu").reason_code == Reason::NoQuantOutput);
  CHECK(row(r, "/stem/Conv").reason_code == Reason::NoQuantInput);                 // conv on the float input
  CHECK(row(r, "/layer1.0/layer1.0.0/Conv").reason_code == Reason::NoQuantInput);  // ConvBNReLU with float input
  CHECK(row(r, "/conv0/Conv").reason_code == Reason::NoQuantWeight);               // the seed's Conv_32 case
  CHECK(row(r, "/conv0/Conv").device == "CPU");
  CHECK(row(r, "/conv1/Conv").reason_code == Reason::BpuHighPrecisionOutput);
  CHECK(row(r, "/layer2.0/Conv").device == "BPU");
  CHECK(r.model.cpu_segments.size() == 4);
  CHECK(r.model.bpu_segments.size() == 3);
}

TEST_CASE("hybrid: the compiled HybridModel matches torch QAT", "[hybrid]") {
  bpu::test::check_fixture_accuracy("hybrid");
}

TEST_CASE("hybrid: CPU segments are valid ONNX models", "[hybrid]") {
  CompileResult r = compile_with("hybrid", "");
  for (const auto& seg : r.model.cpu_segments) {
    onnx::ModelProto m;
    REQUIRE(m.ParseFromArray(seg.onnx.data(), static_cast<int>(seg.onnx.size())));
    CHECK_NOTHROW(onnx::checker::check_model(m));
    CHECK(m.graph().input_size() == static_cast<int>(seg.input_values.size()));
  }
}

TEST_CASE("hybrid: run_on_cpu of a quantized conv splits the BPU segment and keeps accuracy", "[hybrid]") {
  CompileResult r = compile_with("nonhybrid", "  run_on_cpu: '/conv_1/Conv'\n");
  CHECK(row(r, "/conv_1/Conv").device == "CPU");
  CHECK(row(r, "/conv_1/Conv").reason_code == Reason::UserRunOnCpu);
  CHECK(r.partition.segment_count(Device::Bpu) == 2);
  CHECK(r.partition.segment_count(Device::Cpu) == 1);
  bpu::test::check_fixture_accuracy("nonhybrid", "  run_on_cpu: '/conv_1/Conv'\n");
  bpu::test::check_fixture_accuracy("nonhybrid_int8_output", "  run_on_cpu: '/conv/Conv; /Add_1'\n");
}

TEST_CASE("hybrid: run_on_bpu of a float node is refused with its reason", "[hybrid]") {
  require_error([] { compile_with("hybrid", "  run_on_bpu: '/conv0/Conv'\n"); }, ExitCode::Unsupported,
                "'/conv0/Conv' (Conv) is placed on the BPU by calibration_parameters.run_on_bpu but cannot run there: NO_QUANT_WEIGHT");
  require_error([] { compile_with("hybrid", "  run_on_bpu: '/stem/Conv'\n"); }, ExitCode::Unsupported, "NO_QUANT_INPUT");
}

TEST_CASE("hybrid: node_info overrides the lists with a warning", "[hybrid]") {
  CompileResult r = compile_with("nonhybrid", "  run_on_cpu: '/conv/Conv'\n",
                                 "  node_info: {'/conv/Conv': {'ON': 'BPU'}, '/Add': {'ON': 'CPU'}}\n");
  CHECK(row(r, "/conv/Conv").device == "BPU");
  CHECK(row(r, "/conv/Conv").reason_code == Reason::UserRunOnBpu);
  CHECK(row(r, "/Add").device == "CPU");
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("overrides calibration_parameters.run_on_cpu") != std::string::npos);
  require_error([] { compile_with("nonhybrid", "", "  node_info: {'/conv1/Conv': {'OutputType': 'int16'}}\n"); }, ExitCode::Unsupported,
                "node_info asks int16 for tensor 'output' of node '/conv1/Conv', which carries no fake quantization");
}

TEST_CASE("hybrid: unknown node names are config errors listing the closest names", "[hybrid]") {
  require_error([] { compile_with("hybrid", "  run_on_cpu: 'Conv_32'\n"); }, ExitCode::Config,
                "run_on_cpu: no node named 'Conv_32' in the model; closest names:");
  require_error([] { compile_with("hybrid", "  run_on_cpu: '/conv_0/Conv'\n"); }, ExitCode::Config,
                "closest names: '/conv0/Conv'");
  require_error([] { compile_with("hybrid", "  run_on_cpu: '/activation_post_process_0/QuantizeLinear'\n"); },
                ExitCode::Config, "is a fake-quant node");
  require_error([] { compile_with("nonhybrid", "  run_on_cpu: '/Add'\n  run_on_bpu: '/Add'\n"); }, ExitCode::Config,
                "also listed in calibration_parameters.run_on_cpu");
}

TEST_CASE("hybrid: quantize_float_weights restores hb_mapper's behaviour and lists the invented scales", "[hybrid]") {
  CompileResult r = compile_with("hybrid", "  quantize_float_weights: True\n");
  CHECK(row(r, "/conv0/Conv").device == "BPU");
  CHECK(r.synthesized_weights == std::vector<std::string>{"conv0.weight"});
  CHECK(r.partition.segment_count(Device::Bpu) == 2);  // layer2, conv0 and conv1 now form one segment
  nlohmann::json j = placement_json(r.graph, r.partition, r.placement, "bayes");
  REQUIRE(j["synthesized_scales"].size() == 1);
  CHECK(j["synthesized_scales"][0]["tensor"] == "conv0.weight");
  CHECK(j["synthesized_scales"][0]["scales"].size() == 16);
}

TEST_CASE("hybrid: the checker gives the makertbin placement without a config", "[hybrid]") {
  CompileResult r = check_model(bpu::test::data_path("hybrid/model.onnx"), "bayes", {});
  CHECK(r.partition.segment_count(Device::Bpu) == 3);
  // The model's input is static 1x3x64x64: another shape is refused (it used to be taken and read out of bounds).
  require_error([] { check_model(bpu::test::data_path("hybrid/model.onnx"), "bayes", {{"input", {1, 3, 32, 32}}}); },
                ExitCode::Config, "1x3x32x32 for input 'input' conflicts with the model's static shape 1x3x64x64");
  CHECK(check_model(bpu::test::data_path("hybrid/model.onnx"), "bernoulli2", {}).model.march == "bernoulli2");
  require_error([] { check_model(bpu::test::data_path("hybrid/model.onnx"), "x3", {}); }, ExitCode::Usage,
                "march 'x3' is not known; allowed values: bayes, bayes-e, bernoulli2");
}

TEST_CASE("hybrid: a corrupted CPU segment is refused at load", "[hybrid]") {
  CompileResult r = compile_with("hybrid", "");
  CompiledModel m = r.model;
  m.cpu_segments[1].onnx.resize(m.cpu_segments[1].onnx.size() / 2);
  require_error([&] { ModelRunner(deserialize_model(serialize_model(m), "cut.bin"), "cut.bin"); }, ExitCode::Artifact,
                "CPU segment 1");
}

namespace {

// Writes an in-memory model to `dir`, compiles it there and runs it on a fixed input.
std::vector<float> compile_and_run(const onnx::ModelProto& model, const bpu::test::TempDir& dir, CompileResult* result) {
  std::string bytes;
  REQUIRE(model.SerializeToString(&bytes));
  bpu::test::write_text(dir.file("m.onnx"), bytes);
  bpu::test::write_text(dir.file("c.yaml"), bpu::test::fixture_yaml("m.onnx", "out"));
  *result = makertbin(load_config(dir.file("c.yaml")));
  ModelRunner runner = ModelRunner::from_file(dir.file("out/model.bin"));
  FloatArray x{{1, 2, 4, 4}, {}};
  for (int i = 0; i < 32; ++i) x.data.push_back(0.037f * static_cast<float>(i % 11) - 0.15f);
  return runner.run({{"x", x}}).at("y").data;
}

}  // namespace

TEST_CASE("hybrid: a Flatten after a BPU conv runs on the BPU as data movement", "[hybrid]") {
  bpu::test::TempDir plain_dir("plain"), flat_dir("flat");
  CompileResult plain, flat;
  std::vector<float> expected = compile_and_run(bpu::test::conv_model(), plain_dir, &plain);
  bpu::test::ConvModelOptions o;
  o.flatten_output = true;
  std::vector<float> got = compile_and_run(bpu::test::conv_model(o), flat_dir, &flat);
  CHECK(got == expected);  // the same values, only the shape differs
  CHECK(flat.partition.count(Device::Cpu) == 0);
  CHECK(flat.partition.segment_count(Device::Bpu) == 1);
  CHECK(row(flat, "/flatten/Flatten").device == "BPU");
}

TEST_CASE("hybrid: ops that are not ONNX operators are refused at import", "[hybrid]") {
  onnx::ModelProto m = bpu::test::conv_model();
  m.mutable_graph()->mutable_node(6)->set_op_type("FancyRelu");
  bpu::test::TempDir dir("unknown_op");
  CompileResult r;
  require_error([&] { compile_and_run(m, dir, &r); }, ExitCode::Unsupported,
                "node '/relu/Relu' has op type 'FancyRelu', which is neither an ONNX operator");
  onnx::ModelProto custom = bpu::test::conv_model();
  custom.mutable_graph()->mutable_node(6)->set_domain("com.example");
  require_error([&] { compile_and_run(custom, dir, &r); }, ExitCode::Unsupported, "'com.example::Relu'");
}
