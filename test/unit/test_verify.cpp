// verify: the .bin agrees with the QAT graph run literally on the fixtures; a model compiled from an ONNX
// whose weight scale was skewed departs, and verify names the node where it starts.

#include <onnx/onnx_pb.h>

#include <fstream>

#include "fixture_helpers.h"
#include "onnx_builder.h"
#include "report/verify.h"
#include "runtime/qat_reference.h"

using namespace bpu;

namespace {

std::map<std::string, FloatArray> input_of(const std::string& fixture, int i) {
  return {{"input", load_npy(bpu::test::data_path(fixture + "/input_" + std::to_string(i) + ".npy"))}};
}

}  // namespace

TEST_CASE("verify: compiled fixtures agree with their QAT graphs tensor by tensor", "[verify]") {
  // Against the float32 run within 1 LSB where no tie-prone layer amplifies torch's float32 noise; against the
  // exact run at 0 LSB on every fixture (mobilenet_v2's float32 run is 2 LSB off exact at a node).
  for (const char* fixture : {"nonhybrid", "hybrid", "resnet18", "mobilenet_v2", "resize_concat", "mixed_use",
                              "island_gelu"}) {
    auto compiled = bpu::test::compile_fixture(fixture);
    ModelRunner runner = ModelRunner::from_file(compiled->bin);
    const std::string onnx = bpu::test::data_path(std::string(fixture) + "/model.onnx");
    QatReference reference = QatReference::from_file(onnx);
    QatReference exact = QatReference::from_file(onnx, {}, false, cpu::Precision::Float64);
    VerifyReport e = verify_model(runner, reference, input_of(fixture, 1), 0.0, false, &exact);
    INFO(fixture << "\n" << format_verify_report(e));
    CHECK(e.passed());
    CHECK(e.nodes.size() >= 4);
    CHECK(!e.outputs.empty());
    if (std::string(fixture) == "mobilenet_v2") continue;
    VerifyReport r = verify_model(runner, reference, input_of(fixture, 1), 1.0);
    INFO(format_verify_report(r));
    CHECK(r.passed());
  }
}

TEST_CASE("verify: the QAT reference reproduces torch's QAT outputs", "[verify]") {
  for (const char* fixture : {"nonhybrid_int8_output", "resnet18", "horizon_int16"}) {
    QatReference reference = QatReference::from_file(bpu::test::data_path(std::string(fixture) + "/model.onnx"));
    auto out = reference.run(input_of(fixture, 0));
    FloatArray ref = load_npy(bpu::test::data_path(std::string(fixture) + "/qat_output_0.npy"));
    const FloatArray& got = out.begin()->second;
    INFO(fixture);
    CHECK(bpu::test::cosine(got.data, ref.data) >= 0.9999);
  }
}

TEST_CASE("verify: the QAT reference holds each weight once, folded to its fake-quantized value", "[verify]") {
  for (const char* fixture : {"resnet18", "mobilenet_v2", "hybrid"}) {
    INFO(fixture);
    const std::string path = bpu::test::data_path(std::string(fixture) + "/model.onnx");
    onnx::ModelProto m;
    std::ifstream f(path, std::ios::binary);
    REQUIRE(m.ParseFromIstream(&f));
    int64_t weights = 0;  // float initializer values in the file
    for (const auto& t : m.graph().initializer()) {
      if (t.data_type() != onnx::TensorProto::FLOAT) continue;
      int64_t n = 1;
      for (int64_t d : t.dims()) n *= d;
      weights += n;
    }
    REQUIRE(weights > 1000);
    QatReference qat = QatReference::from_file(path);
    // Folded at load, the DequantizeLinear output replaces W (plus scales and zero points), ...
    CHECK(qat.constant_elements() <= weights + weights / 20);
    CHECK(qat.constant_elements() >= weights / 2);
    // ... and a run computes no weight fake quantization (unfolded, the trace would hold two copies of W).
    std::set<std::string> initializers;
    for (const auto& t : m.graph().initializer()) initializers.insert(t.name());
    std::map<std::string, FloatArray> trace;
    qat.run(input_of(fixture, 0), &trace);
    int weight_fq = 0;
    for (const auto& n : m.graph().node()) {
      if (n.op_type() == "QuantizeLinear" && initializers.count(n.input(0)) && trace.count(n.output(0))) ++weight_fq;
    }
    CHECK(weight_fq == 0);
    CHECK(trace.size() > 10);
    std::ifstream again(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
    QatReference kept = QatReference::from_bytes(bytes, path, true, {}, true);
    int64_t in_graph = 0;  // keep_weights: the float model's graph still carries the weights (calibration reads them)
    for (const auto& [name, t] : kept.graph().tensors) in_graph += static_cast<int64_t>(t.float_data.size());
    CHECK(in_graph >= weights - weights / 20);
  }
}

TEST_CASE("verify: a skewed weight scale is caught at the node that uses it", "[verify]") {
  onnx::ModelProto m;
  {
    std::ifstream f(bpu::test::data_path("nonhybrid_int8_output/model.onnx"), std::ios::binary);
    REQUIRE(m.ParseFromIstream(&f));
  }
  bool skewed = false;
  for (auto& init : *m.mutable_graph()->mutable_initializer()) {
    if (init.name() != "layer2.conv.weight_fake_quant.scale") continue;
    for (auto& v : *init.mutable_float_data()) v *= 1.6f;
    if (init.has_raw_data()) {
      std::string raw = init.raw_data();
      for (size_t k = 0; k + 4 <= raw.size(); k += 4) {
        float v;
        std::memcpy(&v, raw.data() + k, 4);
        v *= 1.6f;
        std::memcpy(&raw[k], &v, 4);
      }
      init.set_raw_data(raw);
    }
    skewed = true;
  }
  REQUIRE(skewed);
  bpu::test::TempDir dir("skew");
  std::string bytes;
  m.SerializeToString(&bytes);
  bpu::test::write_text(dir.file("skewed.onnx"), bytes);
  bpu::test::write_text(dir.file("c.yaml"), bpu::test::fixture_yaml("skewed.onnx", "out"));
  MapperConfig cfg = load_config(dir.file("c.yaml"));
  makertbin(cfg);
  ModelRunner runner = ModelRunner::from_file(cfg.output_bin_path());
  QatReference original = QatReference::from_file(bpu::test::data_path("nonhybrid_int8_output/model.onnx"));
  VerifyReport r = verify_model(runner, original, input_of("nonhybrid_int8_output", 0), 1.0);
  INFO(format_verify_report(r));
  CHECK_FALSE(r.passed());
  CHECK(r.first_diverging_node == "/conv_1/Conv");
  // Isolated: every later node is fed the .bin's (skewed) values, so only the skewed conv itself departs.
  VerifyReport alone = verify_model(runner, original, input_of("nonhybrid_int8_output", 0), 1.0, true);
  INFO(format_verify_report(alone));
  CHECK(alone.first_diverging_node == "/conv_1/Conv");
  std::vector<std::string> beyond;
  for (const auto& a : alone.nodes) if (!a.within) beyond.push_back(a.node);
  CHECK(beyond == std::vector<std::string>{"/conv_1/Conv"});
}

TEST_CASE("verify: isolated mode passes the fixtures and counts whole codes", "[verify]") {
  for (const char* fixture : {"resnet18", "mobilenet_v2", "hybrid"}) {
    auto compiled = bpu::test::compile_fixture(fixture);
    ModelRunner runner = ModelRunner::from_file(compiled->bin);
    QatReference reference = QatReference::from_file(bpu::test::data_path(std::string(fixture) + "/model.onnx"));
    VerifyReport r = verify_model(runner, reference, input_of(fixture, 2), 1.0, true);
    INFO(fixture << "\n" << format_verify_report(r));
    CHECK(r.passed());
    for (const auto& a : r.nodes) CHECK(a.max_lsb == std::floor(a.max_lsb));
  }
}

TEST_CASE("verify: distances follow hb_mapper's definitions", "[verify]") {
  Distances d = distances({1, 2, 3}, {1, 2, 5});
  CHECK(d.chebyshev == 2);
  CHECK(d.l1 == Approx(2.0 / 3));
  CHECK(d.l2 == Approx(2.0));
  CHECK(d.cosine == Approx((1 + 4 + 15) / std::sqrt(14.0 * 30.0)));
}

TEST_CASE("verify: a run after release_scratch gives the same bytes", "[verify]") {
  auto compiled = bpu::test::compile_fixture("resnet18");
  ModelRunner runner = ModelRunner::from_file(compiled->bin);
  const auto first = runner.run(input_of("resnet18", 0));
  runner.release_scratch();
  const auto second = runner.run(input_of("resnet18", 0));
  REQUIRE(first.size() == second.size());
  for (const auto& [name, v] : first) CHECK(v.data == second.at(name).data);
}

TEST_CASE("verify: a node folded at load is still traced when its value is read", "[verify]") {
  // y = MatMul(x, Mul(W, 2)), W2 = Mul(W, 2) also a graph output (which the import's simplification keeps as a
  // node): the Mul reads constants only, so the CPU executor computes it once at load.
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  *g->add_initializer() = bpu::test::float_tensor("W", {3, 2}, {1, 2, 3, 4, 5, 6});
  *g->add_initializer() = bpu::test::float_tensor("two", {}, {2});
  bpu::test::add_node(g, "Mul", "scale", {"W", "two"}, {"W2"});
  bpu::test::add_node(g, "MatMul", "mm", {"x", "W2"}, {"y"});
  bpu::test::add_value_info(g->add_input(), "x", {1, 3});
  bpu::test::add_value_info(g->add_output(), "y", {1, 2});
  bpu::test::add_value_info(g->add_output(), "W2", {3, 2});
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  QatReference ref = QatReference::from_bytes(bytes, "folded.onnx");
  std::map<std::string, FloatArray> trace;
  auto out = ref.run({{"x", FloatArray{{1, 3}, {1, 1, 1}}}}, &trace);
  REQUIRE(trace.count("W2"));
  CHECK(trace.at("W2").data == std::vector<float>{2, 4, 6, 8, 10, 12});
  CHECK(out.at("y").data == std::vector<float>{18, 24});
  CHECK(out.at("W2").data == trace.at("W2").data);
}

TEST_CASE("verify: an observer sees what the trace would hold, and trace_only limits both", "[verify]") {
  QatReference reference = QatReference::from_file(bpu::test::data_path("hybrid/model.onnx"));
  std::map<std::string, FloatArray> trace;
  reference.run(input_of("hybrid", 0), &trace);
  REQUIRE(trace.size() > 10);
  std::map<std::string, std::vector<float>> seen;
  const cpu::CpuGraph::Observer keep = [&](const std::string& name, const std::vector<float>& v) { seen[name] = v; };
  reference.run(input_of("hybrid", 0), nullptr, nullptr, nullptr, &keep);
  CHECK(seen.size() == trace.size());
  for (const auto& [name, v] : trace) {
    INFO(name);
    REQUIRE(seen.count(name));
    CHECK(seen.at(name) == v.data);
  }
  const std::set<std::string> only = {trace.begin()->first};
  seen.clear();
  std::map<std::string, FloatArray> limited;
  reference.run(input_of("hybrid", 0), &limited, nullptr, &only, &keep);
  CHECK(seen.size() == 1);
  CHECK(limited.size() == 1);
}
