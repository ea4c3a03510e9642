// The three marches (lib/arch/<march>/): the same fixtures compiled for bayes, bayes-e and bernoulli2 agree with
// the torch QAT outputs on every march; placement differs exactly where the constraint tables differ, with a
// reason naming the march; the cost model takes each march's defaults; int16 requests on bernoulli2 are refused.

#include "arch/target.h"
#include "fixture_helpers.h"
#include "partition/partition.h"
#include "partition_graph_builder.h"
#include "report/perf_report.h"

using namespace bpu;

namespace {

const std::vector<std::string> kMarches = {"bayes", "bayes-e", "bernoulli2"};

CompileResult compile_for(const std::string& fixture, const std::string& march) {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "out", march);
  return compile_model(parse_config(yaml, "/tmp/bpu_marches/config.yaml"));
}

const PlacementRow& row_of(const CompileResult& r, const std::string& node) {
  for (const auto& row : r.placement) {
    if (row.node == node) return row;
  }
  FAIL("no node " << node);
  throw;
}

// A quantized 1xCxHxW activation and a Conv with a KxK kernel and `out` filters on it.
void conv_graph(bpu::test::GraphBuilder& b, int64_t c, int64_t k, int64_t out) {
  b.g.tensors["in"].shape = {1, c, 16, 16};
  ir::Tensor w;
  w.name = "c.w";
  w.shape = {out, c, k, k};
  w.has_shape = w.is_constant = true;
  w.elem_type = ir::ElemType::Int8;
  const size_t n = static_cast<size_t>(out * c * k * k);
  w.float_data.assign(n, 0.01f);
  w.quantized.assign(n, 1);
  w.quant = ir::QuantParams{std::vector<float>(static_cast<size_t>(out), 0.01f), 0, 8, false};
  b.g.tensors[w.name] = w;
  b.activation("y");
  b.g.tensors["y"].shape = {1, out, 16 - k + 1, 16 - k + 1};
  b.node("c", "Conv", {"in", w.name}, "y");
  b.g.outputs = {"y"};
}

Placement place(const ir::Graph& g, const std::string& march) {
  PartitionOptions o;
  o.march = march;
  return partition_graph(g, o).placements.at(0);
}

}  // namespace

TEST_CASE("marches: the same fixtures compile for every march and match torch", "[marches]") {
  for (const std::string fixture : {"nonhybrid", "resize_concat", "mobilenet_v2", "horizon_int16"}) {
    for (const auto& march : kMarches) {
      INFO(fixture << " on " << march);
      bpu::test::check_fixture_accuracy(fixture, "", march);
    }
  }
}

TEST_CASE("marches: where the tables agree, bayes and bayes-e compile the same program", "[marches]") {
  CompileResult a = compile_for("nonhybrid", "bayes");
  CompileResult e = compile_for("nonhybrid", "bayes-e");
  REQUIRE(a.model.bpu_segments.size() == e.model.bpu_segments.size());
  for (size_t i = 0; i < a.model.bpu_segments.size(); ++i) CHECK(a.model.bpu_segments[i].code == e.model.bpu_segments[i].code);
  CHECK(a.model.march == "bayes");
  CHECK(e.model.march == "bayes-e");
}

TEST_CASE("marches: placement differs where the constraint tables differ, naming the march", "[marches]") {
  SECTION("a 9x9 kernel fits bayes and bayes-e, not bernoulli2's 7x7") {
    bpu::test::GraphBuilder b;
    conv_graph(b, 4, 9, 4);
    CHECK(place(b.g, "bayes").device == Device::Bpu);
    CHECK(place(b.g, "bayes-e").device == Device::Bpu);
    Placement p = place(b.g, "bernoulli2");
    CHECK(p.device == Device::Cpu);
    CHECK(p.reason_code == Reason::MarchConstraint);
    CHECK(p.reason == "Kernel height and width are in [1, 7] (bernoulli2) — not met: kernel 9x9 exceeds 7x7");
  }
  SECTION("C*kh*kw = 1024*6*6 = 36864 fits bayes (65535), not bayes-e (32767) or bernoulli2 (32768)") {
    bpu::test::GraphBuilder b;
    conv_graph(b, 1024, 6, 8);
    CHECK(place(b.g, "bayes").device == Device::Bpu);
    Placement e = place(b.g, "bayes-e");
    CHECK(e.device == Device::Cpu);
    CHECK(e.reason.find("<= 32767 (bayes-e) — not met: C*kh*kw = 36864 exceeds 32767") != std::string::npos);
    CHECK(place(b.g, "bernoulli2").reason.find("(bernoulli2) — not met: C*kh*kw = 36864 exceeds 32768") != std::string::npos);
  }
  SECTION("Sub runs on the BPU on bayes and bayes-e, on the CPU on bernoulli2") {
    bpu::test::GraphBuilder b;
    b.activation("x2");
    b.g.inputs.push_back("x2");
    b.activation("d");
    b.node("sub", "Sub", {"in", "x2"}, "d");
    b.g.outputs = {"d"};
    CHECK(place(b.g, "bayes").device == Device::Bpu);
    CHECK(place(b.g, "bayes-e").device == Device::Bpu);
    Placement p = place(b.g, "bernoulli2");
    CHECK(p.reason_code == Reason::MarchUnsupportedOp);
    CHECK(p.reason == "Sub has no BPU implementation on bernoulli2");
  }
  SECTION("int16 activations: BPU on bayes, CPU on bernoulli2 (int8 only)") {
    CompileResult a = compile_for("horizon_int16", "bayes");
    CompileResult x3 = compile_for("horizon_int16", "bernoulli2");
    int cpu_int16 = 0;
    for (const auto& row : x3.placement) {
      if (row.reason.find("Activations are int8 (this BPU has no int16 path) (bernoulli2)") == std::string::npos) continue;
      ++cpu_int16;
      CHECK(row.device == "CPU");
      CHECK(row_of(a, row.node).device == "BPU");
    }
    CHECK(cpu_int16 > 0);
  }
  SECTION("mobilenet_v2: bernoulli2 runs the classifier's Flatten/Reshape on the CPU, bayes keeps one segment") {
    CompileResult a = compile_for("mobilenet_v2", "bayes");
    CompileResult x3 = compile_for("mobilenet_v2", "bernoulli2");
    CHECK(a.partition.segment_count(Device::Bpu) == 1);
    int moved = 0;
    for (const auto& row : x3.placement) {
      if (row.device != "CPU") continue;
      ++moved;
      CHECK(row.reason.find("bernoulli2") != std::string::npos);
    }
    CHECK(moved > 0);
  }
}

TEST_CASE("marches: each march's cost model defaults reach perf", "[marches]") {
  std::map<std::string, double> macs_per_cycle;
  for (const auto& march : kMarches) {
    CompileResult r = compile_for("nonhybrid", march);
    ValidatedModel v = validate_model(r.model, "m.bin", march);
    PerfReport p = estimate_model(r.model, v);
    CHECK(p.march == march);
    CHECK(p.hardware.int8_macs_per_cycle == arch::target_for(march).hardware().int8_macs_per_cycle);
    CHECK(format_perf_report(p).rfind(march + " estimate", 0) == 0);
    macs_per_cycle[march] = p.hardware.int8_macs_per_cycle;
  }
  CHECK(macs_per_cycle["bayes"] > macs_per_cycle["bayes-e"]);
  CHECK(macs_per_cycle["bayes-e"] > macs_per_cycle["bernoulli2"]);
}

TEST_CASE("marches: int16 requests are refused on bernoulli2 and accepted on bayes-e", "[marches]") {
  const std::string onnx = bpu::test::data_path("nonhybrid/model.onnx");
  const std::string node_info = "  node_info: {'/conv1/Conv': {'OutputType': 'int16'}}\n";
  auto yaml = [&](const std::string& march) {
    std::string y = bpu::test::fixture_yaml(onnx, "out", march);
    y.insert(y.find("input_parameters:"), node_info);
    return y;
  };
  CHECK(parse_config(yaml("bayes-e"), "c.yaml").node_info.size() == 1);
  bpu::test::require_error([&] { parse_config(yaml("bernoulli2"), "c.yaml"); }, ExitCode::Config,
                           "node_info./conv1/Conv.OutputType: 'int16': the bernoulli2 BPU is int8 only");
}

TEST_CASE("marches: every march's table generates its committed page", "[marches]") {
  for (const arch::Target* t : arch::all_targets()) {
    const std::string file = t->march() == "bayes" ? "supported_ops.md" : "supported_ops_" + t->march() + ".md";
    std::ifstream doc(std::string(BPU_SOURCE_DIR) + "/docs/" + file);
    REQUIRE(doc.good());
    std::string committed((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
    INFO(file << " is stale: regenerate with bpu-mapper --supported-ops " << t->march());
    CHECK(t->supported_ops_markdown() == committed);
    CHECK(committed.find("Source: ") != std::string::npos);
  }
}

TEST_CASE("marches: published bayes-e and bernoulli2 configs get past march", "[marches]") {
  // Shaped like the RDK model zoo's X5 YOLOv8 and the XJ3 toolchain samples' configs, paths changed: the camera
  // input (nv12, data_scale with an empty mean_value) is accepted; the empty calibration folder is the only problem.
  bpu::test::TempDir dir("real_configs");
  std::filesystem::create_directories(dir.path() / "calibration_data_rgb_f32");
  std::filesystem::copy_file(bpu::test::data_path("nonhybrid/model.onnx"), dir.file("model.onnx"));
  for (const std::string march : {"bayes-e", "bernoulli2"}) {
    const std::string yaml =
        "model_parameters:\n  onnx_model: 'model.onnx'\n  march: \"" + march + "\"\n  layer_out_dump: False\n"
        "  working_dir: 'model_output'\n  output_model_file_prefix: 'yolov8n_detect_640x640_nv12'\n"
        "input_parameters:\n  input_name: \"\"\n  input_type_rt: 'nv12'\n  input_type_train: 'rgb'\n"
        "  input_layout_train: 'NCHW'\n  norm_type: 'data_scale'\n  mean_value: ''\n  scale_value: 0.003921568627451\n"
        "calibration_parameters:\n  cal_data_dir: './calibration_data_rgb_f32'\n  cal_data_type: 'float32'\n"
        "  calibration_type: 'default'\n"
        "compiler_parameters:\n  compile_mode: 'latency'\n  debug: False\n  optimize_level: 'O3'\n";
    INFO(march);
    try {
      parse_config(yaml, dir.file("config.yaml"));
      FAIL("the calibration folder is empty: expected an error");
    } catch (const Error& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("march") == std::string::npos);
      CHECK(what.find("input_") == std::string::npos);
      CHECK(what.find("mean_value") == std::string::npos);
      CHECK(what.find("calibration_data_rgb_f32' holds no sample files") != std::string::npos);
    }
  }
}
