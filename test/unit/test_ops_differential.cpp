// Differential end-to-end test of the BPU lowering of every op without a torch fixture: one QDQ model with
// ConvTranspose, Transpose, Slice, Pad, Mul, Sub (broadcast), AveragePool, Split, Concat, GlobalMaxPool,
// Flatten, MatMul and Softmax (run_on_bpu) is compiled for the BPU and, as the reference, with every node on
// the CPU, whose float executor runs the QDQ graph literally. Outputs must agree within one output LSB.

#include "fixture_helpers.h"
#include "qdq_builder.h"

using namespace bpu;

namespace {

struct Stage {
  std::string output;  // fake-quantized tensor ending the stage
  std::vector<int64_t> shape;
  float scale;
};

// The chain cut after `stages` stages; returns the model and fills `last` with the final stage.
onnx::ModelProto kitchen_sink(int stages, Stage* last) {
  bpu::test::QdqModelBuilder b;
  std::vector<Stage> done;
  auto finish = [&]() {
    *last = done.back();
    b.output(last->output, last->shape);
    return b.model();
  };
  std::string x = b.input("x", {1, 4, 6, 6}, 0.0313f);
  std::string row = b.input("bias_row", {1, 4, 1, 10}, 0.0107f);  // the broadcast operand of Sub
  auto* deconv = b.node("ConvTranspose", "/deconv/ConvTranspose", {x, b.weight("wt", {4, 4, 3, 3}, 1, 1), b.floats("bt", {4}, {0.1f, -0.2f, 0.05f, 0.0f})}, {"d"});
  b.ints_attr(deconv, "strides", {2, 2});
  b.ints_attr(deconv, "pads", {1, 1, 1, 1});
  done.push_back({b.fq("d", 0.0517f), {1, 4, 11, 11}, 0.0517f});
  if (stages == 1) return finish();
  b.ints_attr(b.node("Transpose", "/t/Transpose", {done.back().output}, {"t"}), "perm", {0, 1, 3, 2});
  done.push_back({b.fq("t", 0.0517f), {1, 4, 11, 11}, 0.0517f});
  if (stages == 2) return finish();
  b.node("Slice", "/s/Slice", {done.back().output, b.ints("s_start", {1}), b.ints("s_end", {9}), b.ints("s_axes", {3})}, {"s"});
  done.push_back({b.fq("s", 0.0517f), {1, 4, 11, 8}, 0.0517f});
  if (stages == 3) return finish();
  b.node("Pad", "/p/Pad", {done.back().output, b.ints("pads", {0, 0, 1, 0, 0, 0, 0, 2})}, {"p"});
  done.push_back({b.fq("p", 0.0517f), {1, 4, 12, 10}, 0.0517f});
  if (stages == 4) return finish();
  b.node("Mul", "/m/Mul", {done.back().output, done.back().output}, {"m"});
  done.push_back({b.fq("m", 0.0231f), {1, 4, 12, 10}, 0.0231f});
  if (stages == 5) return finish();
  b.node("Sub", "/sub/Sub", {done.back().output, row}, {"u"});
  done.push_back({b.fq("u", 0.0219f), {1, 4, 12, 10}, 0.0219f});
  if (stages == 6) return finish();
  auto* avg = b.node("AveragePool", "/avg/AveragePool", {done.back().output}, {"a"});
  b.ints_attr(avg, "kernel_shape", {3, 3});
  b.ints_attr(avg, "pads", {1, 1, 1, 1});
  done.push_back({b.fq("a", 0.0113f), {1, 4, 12, 10}, 0.0113f});
  if (stages == 7) return finish();
  auto* split = b.node("Split", "/split/Split", {done.back().output, b.ints("split", {1, 3})}, {"a0", "a1"});
  auto* split_axis = split->add_attribute();
  split_axis->set_name("axis");
  split_axis->set_type(onnx::AttributeProto::INT);
  split_axis->set_i(1);
  std::string a0 = b.fq("a0", 0.0113f), a1 = b.fq("a1", 0.0113f);  // Split shares the scale
  auto* cat = b.node("Concat", "/cat/Concat", {a1, a0}, {"c"});
  auto* axis = cat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(1);
  done.push_back({b.fq("c", 0.0131f), {1, 4, 12, 10}, 0.0131f});
  if (stages == 8) return finish();
  b.node("GlobalMaxPool", "/gmp/GlobalMaxPool", {done.back().output}, {"g"});
  done.push_back({b.fq("g", 0.0131f), {1, 4, 1, 1}, 0.0131f});
  if (stages == 9) return finish();
  b.node("Flatten", "/flat/Flatten", {done.back().output}, {"f"});
  done.push_back({b.fq("f", 0.0131f), {1, 4}, 0.0131f});
  if (stages == 10) return finish();
  b.node("MatMul", "/mm/MatMul", {done.back().output, b.weight("wm", {4, 5}, 1, 2)}, {"mm"});
  done.push_back({b.fq("mm", 0.0097f), {1, 5}, 0.0097f});
  if (stages == 11) return finish();
  b.node("Softmax", "/softmax/Softmax", {done.back().output}, {"sm"});
  done.push_back({b.fq("sm", 1.0f / 128), {1, 5}, 1.0f / 128});
  return finish();
}

std::vector<float> run_model(const onnx::ModelProto& m, const std::string& output, const std::string& calibration,
                             CompileResult* result) {
  bpu::test::TempDir dir("diff");
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  bpu::test::write_text(dir.file("m.onnx"), bytes);
  bpu::test::write_text(dir.file("c.yaml"), bpu::test::fixture_yaml("m.onnx", "out", "bayes", calibration));
  MapperConfig cfg = load_config(dir.file("c.yaml"));
  *result = makertbin(cfg);
  ModelRunner runner = ModelRunner::from_file(cfg.output_bin_path());
  std::mt19937_64 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  FloatArray x{{1, 4, 6, 6}, {}}, row{{1, 4, 1, 10}, {}};
  for (int i = 0; i < 144; ++i) x.data.push_back(nd(rng));
  for (int i = 0; i < 40; ++i) row.data.push_back(0.3f * nd(rng));
  std::map<std::string, FloatArray> inputs = {{"x", x}};
  for (const auto& in : runner.model().inputs) if (in.name == "bias_row") inputs["bias_row"] = row;
  return runner.run(inputs).at(output).data;
}

}  // namespace

TEST_CASE("differential: every lowered op agrees with the float QDQ graph", "[coverage]") {
  const char* names[] = {"", "ConvTranspose", "Transpose", "Slice", "Pad", "Mul", "Sub (broadcast)", "AveragePool",
                         "Split + Concat", "GlobalMaxPool", "Flatten", "MatMul", "Softmax"};
  for (int stages = 1; stages <= 12; ++stages) {
    SECTION(names[stages]) {
      Stage last;
      onnx::ModelProto m = kitchen_sink(stages, &last);
      CompileResult bpu_result, cpu_result;
      std::vector<float> on_bpu = run_model(m, last.output, stages == 12 ? "  run_on_bpu: '/softmax/Softmax'\n" : "", &bpu_result);
      std::string all;
      for (const auto& row : bpu_result.placement) {
        INFO(row.node << ": " << row.reason_code << " " << row.reason);
        CHECK(row.device == "BPU");
        all += (all.empty() ? "" : "; ") + row.node;
      }
      std::vector<float> on_cpu = run_model(m, last.output, "  run_on_cpu: '" + all + "'\n", &cpu_result);
      CHECK(cpu_result.partition.count(Device::Bpu) == 0);
      REQUIRE(on_bpu.size() == on_cpu.size());
      size_t same = 0;
      double worst = 0;
      for (size_t k = 0; k < on_bpu.size(); ++k) {
        const double lsbs = std::fabs(double(on_bpu[k]) - on_cpu[k]) / last.scale;
        worst = std::max(worst, lsbs);
        same += lsbs < 0.5;
      }
      INFO(names[stages] << ": worst " << worst << " LSB, identical " << same << " of " << on_bpu.size());
      CHECK(worst <= 1.0001);
      CHECK(same >= on_bpu.size() * 99 / 100);
    }
  }
}
