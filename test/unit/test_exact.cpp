// The exact (float64) reference of `verify --exact` (docs/numerics.md §10): the executor's float64 path agrees
// with its float32 path except where float32 rounding shows; at real-number .5 ties it picks the code NumPy's
// float64 arithmetic gives (test/data/exact_tie, goldens from scripts/gen_exact_fixtures.py), where torch's float32
// picks another; verify --exact finds the .bin equal to the exact run, tie-prone layers included, and
// makertbin's accuracy tables carry the "vs exact" counts.

#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <tuple>

#include "fixture_helpers.h"
#include "qdq_builder.h"
#include "report/accuracy.h"
#include "ops/op_def.h"
#include "report/verify.h"
#include "runtime/qat_reference.h"

using namespace bpu;

namespace {

std::map<std::string, FloatArray> input_of(const std::string& fixture, int i) {
  return {{"input", load_npy(bpu::test::data_path(fixture + "/input_" + std::to_string(i) + ".npy"))}};
}

// A small QDQ network with every kind of arithmetic the exact path computes: Conv, Relu, Add, a float Sigmoid
// and Mul (a SiLU), average pooling, Gemm after Flatten.
std::string write_small_network(const bpu::test::TempDir& dir) {
  bpu::test::QdqModelBuilder b;
  const std::string x = b.input("input", {1, 4, 8, 8}, 0.03f);
  auto* conv = b.node("Conv", "/conv", {x, b.weight("w", {8, 4, 3, 3}, 0, 11),
                                        b.floats("bias", {8}, {0.1f, -0.2f, 0.05f, 0, 0.3f, -0.1f, 0.2f, 0})}, {"conv"});
  b.ints_attr(conv, "pads", {1, 1, 1, 1});
  b.node("Relu", "/relu", {"conv"}, {"relu"});
  const std::string r = b.fq("relu", 0.02f);
  b.node("Sigmoid", "/sig", {r}, {"sig"});
  b.node("Mul", "/silu", {r, "sig"}, {"silu"});
  const std::string s = b.fq("silu", 0.015f);
  b.node("Add", "/add", {s, r}, {"sum"});
  const std::string a = b.fq("sum", 0.03f);
  auto* pool = b.node("AveragePool", "/pool", {a}, {"pooled"});
  b.ints_attr(pool, "kernel_shape", {2, 2});
  b.ints_attr(pool, "strides", {2, 2});
  const std::string p = b.fq("pooled", 0.03f);
  b.node("Flatten", "/flatten", {p}, {"flat"});
  bpu::test::set_int_attr(b.node("Gemm", "/fc", {"flat", b.weight("fc_w", {10, 128}, 0, 12)}, {"logits"}), "transB", 1);
  const std::string out = b.fq("logits", 0.05f);
  b.node("Identity", "/out", {out}, {"output"});
  b.output("output", {1, 10});
  const std::string path = dir.file("small.onnx");
  std::ofstream(path, std::ios::binary) << b.model().SerializeAsString();
  return path;
}

}  // namespace

TEST_CASE("exact: the float64 and float32 executors agree on a small network except where float32 rounding shows", "[exact]") {
  bpu::test::TempDir dir("exact_small");
  const std::string path = write_small_network(dir);
  QatReference f32 = QatReference::from_file(path);
  QatReference f64 = QatReference::from_file(path, {}, false, cpu::Precision::Float64);
  FloatArray x{{1, 4, 8, 8}, std::vector<float>(256)};
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& v : x.data) v = nd(rng);
  std::map<std::string, FloatArray> t32, t64;
  f32.run({{"input", x}}, &t32);
  f64.run({{"input", x}}, &t64);
  // In graph order: each fake-quantized tensor, the float tensor it quantizes, its scale. Where no code upstream
  // differs, every differing code must sit at an exact .5 tie of the float64 value (float32 noise settled it);
  // below a difference, a flipped input moves an output by at most one code.
  const std::vector<std::tuple<std::string, std::string, double>> fq = {
      {"input_fq", "input", 0.03}, {"relu_fq", "relu", 0.02}, {"silu_fq", "silu", 0.015},
      {"sum_fq", "sum", 0.03}, {"pooled_fq", "pooled", 0.03}, {"logits_fq", "logits", 0.05}};
  size_t differ = 0, at_ties = 0;
  for (const auto& [name, raw, step] : fq) {
    REQUIRE(t32.count(name));
    REQUIRE(t64.count(name));
    const auto& a = t32.at(name).data;
    const auto& b = t64.at(name).data;
    const CodeDifference d = code_difference(a, b, step);
    INFO(name << ": " << d.differ << " of " << a.size() << " codes differ");
    CHECK(d.max_lsb <= 1);
    if (differ == 0 && d.differ > 0) {
      const auto& v = raw == "input" ? x.data : t64.at(raw).data;
      for (size_t k = 0; k < a.size(); ++k) {
        if (std::nearbyint(std::fabs(a[k] - b[k]) / step) == 0) continue;
        const double codes = double(v[k]) / step;
        CHECK(std::fabs(codes - std::floor(codes) - 0.5) < 1e-6);
        ++at_ties;
      }
    }
    differ += d.differ;
  }
  CHECK(at_ties > 0);  // the network's equal scales make Add ties: float32 rounding does show
  // The conv's float output (its input codes agree: random inputs land on no tie) differs by float32 noise only.
  REQUIRE(code_difference(t32.at("input_fq").data, t64.at("input_fq").data, 0.03).differ == 0);
  CHECK(bpu::test::max_abs_diff(t32.at("conv").data, t64.at("conv").data) <= 1e-5 * bpu::test::max_abs(t64.at("conv").data));
  CHECK(t32.at("conv").data != t64.at("conv").data);  // ... which does show: the run is not float32 in disguise
}

TEST_CASE("exact: at real-number ties the float64 run picks NumPy's float64 codes where torch's float32 picks others", "[exact]") {
  const std::string dir = bpu::test::data_path("exact_tie/");
  const FloatArray x = load_npy(dir + "input_0.npy");
  for (bool exact : {false, true}) {
    QatReference r = QatReference::from_file(dir + "model.onnx", {}, false,
                                             exact ? cpu::Precision::Float64 : cpu::Precision::Float32);
    std::map<std::string, FloatArray> trace;
    r.run({{"input", x}}, &trace);
    const std::string prefix = exact ? "exact" : "float32";
    for (const auto& [tensor, golden] : {std::pair<std::string, std::string>{"input_q", "_input_codes.npy"},
                                         {"pooled_q", "_output_codes.npy"}}) {
      INFO(prefix << " " << tensor);
      REQUIRE(trace.count(tensor));
      CHECK(trace.at(tensor).data == load_npy(dir + prefix + golden).data);  // codes, exactly
    }
  }
  // The fixture is a real disagreement: float32 and exact part on inputs and outputs.
  CHECK(load_npy(dir + "exact_input_codes.npy").data != load_npy(dir + "float32_input_codes.npy").data);
  CHECK(load_npy(dir + "exact_output_codes.npy").data != load_npy(dir + "float32_output_codes.npy").data);
}

TEST_CASE("exact: verify --exact finds 0 LSB between the .bin and the exact run, tie-prone layers included", "[exact]") {
  // resnet18 and mobilenet_v2 end in a 2x2 global average pool, resize_concat has a bilinear x2 upsample: both put
  // results at ties, where torch's float32 run departs from exact and the .bin does not (docs/numerics.md §10).
  size_t qat_departures = 0;
  for (const auto& [fixture, input] : std::vector<std::pair<std::string, int>>{
           {"nonhybrid_int8_output", 0}, {"resnet18", 0}, {"resnet18", 2}, {"mobilenet_v2", 1}, {"resize_concat", 0},
           {"island_silu", 1}, {"yolo_c2f_split", 2}, {"hybrid", 0}, {"edge_softmax", 0}}) {
    auto compiled = bpu::test::compile_fixture(fixture);
    ModelRunner runner = ModelRunner::from_file(compiled->bin);
    const std::string onnx = bpu::test::data_path(fixture + "/model.onnx");
    QatReference reference = QatReference::from_file(onnx);
    QatReference exact = QatReference::from_file(onnx, {}, false, cpu::Precision::Float64);
    VerifyReport r = verify_model(runner, reference, input_of(fixture, input), 0.0, false, &exact);
    INFO(fixture << " input " << input << "\n" << format_verify_report(r));
    CHECK(r.passed());
    size_t compared = 0;
    for (const auto& a : r.nodes) {
      if (!a.exact) continue;
      ++compared;
      CHECK(a.bin_codes_vs_exact == 0);
      qat_departures += a.qat_codes_vs_exact;
    }
    CHECK(compared >= 3);
    CHECK(format_verify_report(r).find(".bin vs exact: 0 of ") != std::string::npos);
    const std::map<std::string, FloatArray> sample = input_of(fixture, input);  // (a lambda cannot capture a binding in C++17)
    bpu::test::require_error([&] { verify_model(runner, reference, sample, 1.0, true, &exact); },
                  ExitCode::Usage, "--exact and --isolated do not combine");
  }
  CHECK(qat_departures > 0);  // torch's float32 run is the side that is off
}

TEST_CASE("exact: at real-number ties the .bin gives the exact codes where torch's float32 picks others", "[exact]") {
  auto compiled = bpu::test::compile_fixture("exact_tie");
  ModelRunner runner = ModelRunner::from_file(compiled->bin);
  const std::string onnx = bpu::test::data_path("exact_tie/model.onnx");
  QatReference reference = QatReference::from_file(onnx);
  QatReference exact = QatReference::from_file(onnx, {}, false, cpu::Precision::Float64);
  VerifyReport r = verify_model(runner, reference, input_of("exact_tie", 0), 0.0, false, &exact);
  INFO(format_verify_report(r));
  REQUIRE(r.outputs.size() == 1);
  const TensorAgreement& out = r.outputs[0];
  CHECK(out.exact);
  CHECK(r.passed());
  const std::string dir = bpu::test::data_path("exact_tie/");
  const auto& e = load_npy(dir + "exact_output_codes.npy").data;
  const auto& f = load_npy(dir + "float32_output_codes.npy").data;
  size_t golden_departures = 0;
  for (size_t k = 0; k < e.size(); ++k) golden_departures += e[k] != f[k];
  CHECK(out.qat_codes_vs_exact == golden_departures);  // NumPy's count of float32 departures
  CHECK(out.bin_codes_vs_exact == 0);
  // The .bin's output codes are NumPy's exact ones.
  const FloatArray got = runner.run({{"input", load_npy(dir + "input_0.npy")}}).at("output");
  REQUIRE(got.data.size() == e.size());
  for (size_t k = 0; k < e.size(); ++k) CHECK(std::nearbyint(got.data[k] / 0.02978515625) == e[k]);
}

TEST_CASE("exact: makertbin's accuracy tables and report JSON carry the vs exact counts", "[exact]") {
  bpu::test::TempDir dir("exact_report");
  std::filesystem::copy_file(bpu::test::data_path("nonhybrid_int8_output/model.onnx"), dir.file("qat.onnx"));
  bpu::test::write_text(dir.file("config.yaml"), bpu::test::fixture_yaml("qat.onnx", "out", "bayes", ""));
  MapperConfig cfg = load_config(dir.file("config.yaml"));
  CompileResult result = makertbin(cfg);
  const AccuracyReport& acc = result.accuracy;
  CHECK(acc.exact_note.empty());
  size_t counted = 0;
  for (const auto& n : acc.nodes) counted += n.exact_codes >= 0;
  CHECK(counted >= 3);
  REQUIRE(acc.outputs.size() == 1);
  CHECK(acc.outputs[0].exact_codes >= 0);
  CHECK(acc.outputs[0].qat_exact_codes >= 0);
  CHECK(format_node_accuracy_table(acc).find("vs exact") != std::string::npos);
  CHECK(format_output_accuracy_tables(acc).find(".bin vs exact") != std::string::npos);
  const nlohmann::json j = accuracy_json(acc);
  CHECK(j["outputs"][0]["vs_exact"].contains("codes_differ"));
  bool node_with_counts = false;
  for (const auto& n : j["nodes"]) node_with_counts |= n["vs_exact"].is_object();
  CHECK(node_with_counts);
}

TEST_CASE("exact: every registry op with a CPU kernel has its float64 kernel and formulas", "[exact]") {
  for (const auto& op : ops::all_ops()) {
    INFO(op.type);
    if (op.kernel) CHECK(op.kernel64 != nullptr);
    if (op.formula) CHECK(op.formula64 != nullptr);
    if (op.binary) CHECK(op.binary64 != nullptr);
  }
  // The two instantiations are one formula: at float32-representable points they agree to float32 rounding.
  for (const auto& op : ops::all_ops()) {
    if (!op.formula || !op.formula64 || !op.has(ops::kLutable)) continue;
    ir::Node n;
    n.op_type = op.type;
    for (float x : {-3.5f, -0.75f, 0.0f, 0.5f, 2.25f}) {
      INFO(op.type << " at " << x);
      CHECK(std::fabs(op.formula(n, x) - static_cast<float>(op.formula64(n, x))) <= 2e-6f * std::max(1.0f, std::fabs(op.formula(n, x))));
    }
  }
}

TEST_CASE("exact: a weight's fake quantization rounds in float32 as torch does, also in the float64 run", "[exact]") {
  // 0.35f * float32(1 / 0.1f) is 3.49999994 in real numbers but 3.5 in float32, which rounds to even: code 4; 0.05f
  // gives 0.500000007 (code 1 in double) but 0.5 in float32: code 0. The codes torch trained with are 4, -4, 2, 0.
  bpu::test::TempDir dir("exact_weight_rounding");
  bpu::test::QdqModelBuilder b;
  const std::string x = b.input("input", {4}, 1.0f / 64);
  const std::string w = b.fq(b.floats("w", {4}, {0.35f, -0.35f, 0.25f, 0.05f}), 0.1f);
  b.node("Mul", "/mul", {x, w}, {"product"});
  b.node("Identity", "/out", {"product"}, {"output"});
  b.output("output", {4});
  const std::string path = dir.file("weight_rounding.onnx");
  std::ofstream(path, std::ios::binary) << b.model().SerializeAsString();
  const std::vector<double> codes = {4, -4, 2, 0};
  for (bool exact : {false, true}) {
    QatReference r = QatReference::from_file(path, {}, false, exact ? cpu::Precision::Float64 : cpu::Precision::Float32);
    const auto out = r.run({{"input", FloatArray{{4}, {1.0f, 1.0f, 1.0f, 1.0f}}}});
    REQUIRE(out.count("output"));
    for (size_t k = 0; k < codes.size(); ++k) {
      INFO((exact ? "float64" : "float32") << " element " << k);
      CHECK(out.at("output").data[k] == static_cast<float>(codes[k] * static_cast<double>(0.1f)));
    }
  }
}
