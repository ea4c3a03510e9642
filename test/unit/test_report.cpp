// The conversion report: staged ONNX models (checker-valid, computing what they claim), <prefix>_report.json
// following docs/report_json.md, and the accuracy tables on a cal_data_dir sample or seeded random data.

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "fixture_helpers.h"
#include "report/model_info.h"
#include "runtime/qat_reference.h"

using namespace bpu;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct Made {
  bpu::test::TempDir dir{"report"};
  MapperConfig cfg;
  CompileResult result;
  std::string file(const std::string& suffix) const { return cfg.working_dir + "/" + cfg.output_model_file_prefix + suffix; }
};

std::unique_ptr<Made> make(const std::string& fixture, const std::string& calibration = "") {
  auto m = std::make_unique<Made>();
  bpu::test::write_text(m->dir.file("c.yaml"), bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "out", "bayes", calibration));
  m->cfg = load_config(m->dir.file("c.yaml"));
  m->result = makertbin(m->cfg);
  return m;
}

}  // namespace

TEST_CASE("report: staged models pass the ONNX checker and compute what they claim", "[report]") {
  for (const char* fixture : {"nonhybrid", "nonhybrid_int8_output", "hybrid", "resnet18", "mobilenet_v2", "resize_concat",
                              "nonhybrid_unfolded_bn", "horizon_int16"}) {
    auto m = make(fixture);
    INFO(fixture);
    for (const char* stage : {"_original_float_model.onnx", "_optimized_float_model.onnx", "_quantized_model.onnx"}) {
      onnx::ModelProto model;
      std::string bytes = read_text(m->file(stage));
      REQUIRE(model.ParseFromString(bytes));
      INFO(stage);
      CHECK_NOTHROW(onnx::checker::check_model(model));
      for (const auto& t : model.graph().initializer()) {  // int8 weights as raw bytes, one per value
        if (t.data_type() != onnx::TensorProto::INT8 || t.dims_size() < 2) continue;
        int64_t n = 1;
        for (int64_t d : t.dims()) n *= d;
        INFO(t.name());
        CHECK(t.raw_data().size() == static_cast<size_t>(n));
        CHECK(t.int32_data_size() == 0);
      }
    }
    // int8 weights take a quarter of the float ones (they were varint int32_data, larger than the floats)
    if (std::string(fixture) == "resnet18") {
      CHECK(read_text(m->file("_quantized_model.onnx")).size() < read_text(m->file("_optimized_float_model.onnx")).size() / 2);
    }
    std::map<std::string, FloatArray> input = {{"input", load_npy(bpu::test::data_path(std::string(fixture) + "/input_0.npy"))}};
    auto original = QatReference::from_bytes(read_text(m->file("_original_float_model.onnx")), "original").run(input);
    auto optimized = QatReference::from_bytes(read_text(m->file("_optimized_float_model.onnx")), "optimized").run(input);
    // The quantized stage run exactly (float64): what the .bin computes, ties included (docs/numerics.md §10).
    auto quantized = QatReference::from_file(m->file("_quantized_model.onnx"), {}, false, cpu::Precision::Float64).run(input);
    auto bin = ModelRunner::from_file(m->cfg.output_bin_path()).run(input);
    for (const auto& [name, values] : original) {
      INFO("output " << name);
      CHECK(bpu::test::cosine(optimized.at(name).data, values.data) >= 0.9999);  // folding and fusion keep the float model
      CHECK(bpu::test::cosine(quantized.at(name).data, bin.at(name).data) >= 0.9999);  // the QDQ model is the integer one
    }
  }
}

namespace {

// The parts of docs/report_json.md every report has.
void check_schema(const nlohmann::json& j, const CompileResult& r) {
  CHECK(j.at("tool") == "bpu-mapper");
  CHECK(j.at("version") == kCompilerVersion);
  CHECK(j.at("march") == "bayes");
  for (const char* key : {"model", "config", "bin"}) CHECK(j.at(key).is_string());
  for (const char* phase : {"import", "quant", "passes", "partition", "lower", "write", "accuracy"}) CHECK(j.at("phases_seconds").at(phase).is_number());
  CHECK(j.at("placement").at("nodes").size() == r.placement.size());
  CHECK(j.at("placement").at("summary").at("bpu_nodes").is_number());
  CHECK(j.at("quantization").is_array());
  CHECK(j.at("accuracy").at("outputs").size() == r.model.outputs.size());
  for (const auto& out : j.at("accuracy").at("outputs")) {
    CHECK(out.at("vs_float").at("cosine").is_number());
    CHECK(out.at("vs_qat").at("identical").is_number());
  }
  const auto& perf = j.at("performance_estimate");
  CHECK(perf.at("compile_mode").is_string());
  CHECK(perf.at("segments").size() == r.model.bpu_segments.size());
  for (size_t i = 0; i < r.model.bpu_segments.size(); ++i) {
    const auto& plan = perf.at("segments").at(i).at("memory_plan");
    CHECK(plan.at("sram_window_bytes") == r.model.bpu_segments[i].sram_size);
    CHECK(plan.at("weight_staging_bytes") == r.model.bpu_segments[i].weight_staging_size);
  }
}

}  // namespace

TEST_CASE("report: every fixture's JSON report follows the schema", "[report]") {
  for (const char* fixture : {"nonhybrid", "nonhybrid_int8_output", "hybrid", "resnet18", "mobilenet_v2", "resize_concat",
                              "nonhybrid_unfolded_bn", "horizon_int16"}) {
    INFO(fixture);
    auto m = make(fixture);
    check_schema(nlohmann::json::parse(read_text(m->file("_report.json"))), m->result);
    // info and disasm describe every opcode the fixture uses (disasm once stopped at the first POOL or LUT).
    ModelRunner runner(m->result.model, "report.bin");
    const std::string listing = format_disassembly(runner.model(), runner.validated(), -1);
    size_t instructions = 0;
    for (const auto& p : runner.validated().programs) instructions += p.size();
    CHECK(static_cast<size_t>(std::count(listing.begin(), listing.end(), ';')) >= instructions);
    CHECK(format_model_info(runner.model(), runner.validated(), "report.bin").find("memory map") != std::string::npos);
  }
}

TEST_CASE("report: the JSON report follows its schema", "[report]") {
  auto m = make("hybrid", "  quantize_float_weights: True\n");
  nlohmann::json j = nlohmann::json::parse(read_text(m->file("_report.json")));
  check_schema(j, m->result);
  CHECK(j.at("tool") == "bpu-mapper");
  CHECK(j.at("version") == kCompilerVersion);
  CHECK(j.at("march") == "bayes");
  for (const char* phase : {"import", "quant", "passes", "partition", "lower", "write", "accuracy"}) CHECK(j.at("phases_seconds").at(phase).is_number());
  const auto& placement = j.at("placement");
  CHECK(placement.at("nodes").size() == m->result.placement.size());
  for (const auto& n : placement.at("nodes")) {
    for (const char* key : {"name", "op_type", "device", "subgraph", "reason_code", "reason"}) CHECK(n.at(key).is_string());
  }
  CHECK(placement.at("segments").is_array());
  bool synthesized = false;
  for (const auto& q : j.at("quantization")) {
    CHECK(q.at("tensor").is_string());
    CHECK((q.at("bits") == 8 || q.at("bits") == 16));
    CHECK(q.at("scales").is_array());
    synthesized |= q.at("synthesized").get<bool>();
  }
  CHECK(synthesized);  // conv0's weights
  const auto& acc = j.at("accuracy");
  CHECK(acc.at("sample").get<std::string>().find("seed 2024") != std::string::npos);
  CHECK(acc.at("nodes").size() == m->result.graph.nodes.size());
  // The BPU rows whose tensor the .bin computes (not fused away) are measured: against the float model and,
  // quantized, against the exact run.
  size_t measured = 0;
  for (const auto& n : acc.at("nodes")) {
    if (n.at("device") != "BPU" || !n.at("cosine").is_number()) continue;
    ++measured;
    INFO(n.at("node").get<std::string>());
    if (n.at("output_dtype") == "int8") CHECK(n.at("vs_exact").is_object());
  }
  CHECK(measured >= 3);
  REQUIRE(acc.at("outputs").size() == 1);
  const auto& out = acc.at("outputs")[0];
  for (const char* key : {"cosine", "l1", "l2", "chebyshev"}) CHECK(out.at("vs_float").at(key).is_number());
  for (const char* key : {"cosine", "identical", "max_lsb", "lsb"}) CHECK(out.at("vs_qat").at(key).is_number());
}

TEST_CASE("report: the accuracy sample comes from cal_data_dir when given", "[report]") {
  bpu::test::TempDir cal("cal");
  std::filesystem::copy_file(bpu::test::data_path("resnet18/input_1.npy"), cal.file("sample.npy"));
  auto m = make("resnet18", "  cal_data_dir: '" + cal.path().string() + "'\n");
  CHECK(m->result.accuracy.sample.find("sample.npy") != std::string::npos);
  REQUIRE(m->result.accuracy.outputs.size() == 1);
  CHECK(m->result.accuracy.outputs[0].exact_codes == 0);  // resnet18 is bit-exact with its exact QAT graph
  CHECK(m->result.accuracy.outputs[0].identical_vs_qat >= 0.5);  // torch's float32 ties leave most logits equal
  CHECK(m->result.accuracy.outputs[0].vs_float.cosine > 0.9);
  bpu::test::TempDir empty("cal_empty");
  bpu::test::require_error([&] { make("resnet18", "  cal_data_dir: '" + empty.path().string() + "'\n"); }, ExitCode::Config,
                           "holds no sample files");
}
