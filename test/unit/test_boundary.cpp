// Integer model I/O (lib/lower/boundary.h): remove_node_type / remove_node_name in the config and the modifier's
// removal on an existing .bin give int8 inputs and outputs with their scales; the int8 output equals the float
// build's output quantized at that scale; names that are not boundary nodes are refused listing the ones that are.

#include "api/bpu_mapper.h"
#include "artifact/bin_format.h"
#include "fixture_helpers.h"
#include "lower/boundary.h"
#include "numerics/requant.h"
#include "report/model_info.h"
#include "report/verify.h"
#include "runtime/qat_reference.h"

using namespace bpu;

namespace {

std::string yaml_for(const std::string& extra_model_parameters, const std::string& fixture = "nonhybrid_int8_output") {
  std::string y = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "o");
  y.replace(y.find("model_parameters:\n"), 18, "model_parameters:\n" + extra_model_parameters);
  return y;
}

ModelRunner runner_of(CompiledModel m) {
  m.compiler_version = kCompilerVersion;
  return ModelRunner(deserialize_model(serialize_model(m), "b.bin"), "b.bin");
}

// The input quantized as the removed Quantize step would have (PyTorch's rounding at the input's scale).
FloatArray quantized_input(const TensorInfo& in, const FloatArray& x) {
  FloatArray q = x;
  for (auto& v : q.data) v = static_cast<float>(quantize_like_torch(v, in.scales[0], dtype_min(in.dtype), dtype_max(in.dtype)));
  return q;
}

}  // namespace

TEST_CASE("boundary: remove_node_type Quantize and Dequantize gives int8 I/O equal to the float build quantized", "[boundary]") {
  bpu::test::TempDir dir("boundary");
  CompileResult plain = compile_model(parse_config(yaml_for(""), dir.file("a.yaml")));
  CompileResult removed = compile_model(parse_config(yaml_for("  remove_node_type: 'Quantize;Dequantize'\n"), dir.file("b.yaml")));
  ModelRunner f = runner_of(plain.model), q = runner_of(removed.model);
  const TensorInfo& in = q.model().inputs.at(0);
  const TensorInfo& out = q.model().outputs.at(0);
  CHECK(in.dtype == DType::Int8);
  CHECK(out.dtype == DType::Int8);
  CHECK(in.scales.size() == 1);
  CHECK(out.scales.size() == 1);
  CHECK(q.model().removed_nodes == std::vector<std::string>{"input_HzQuantize", "output_HzDequantize"});
  const std::string info = format_model_info(q.model(), q.validated(), "b.bin");
  CHECK(info.find("removed boundary nodes: input_HzQuantize output_HzDequantize") != std::string::npos);
  CHECK(info.find("input  int8") != std::string::npos);
  for (int i = 0; i < 3; ++i) {
    const FloatArray x = load_npy(bpu::test::data_path("nonhybrid_int8_output/input_" + std::to_string(i) + ".npy"));
    const auto float_out = f.run({{"input", x}}).at("output").data;
    const auto int_out = q.run({{"input", quantized_input(in, x)}}).at("output").data;
    REQUIRE(int_out.size() == float_out.size());
    for (size_t k = 0; k < int_out.size(); ++k) {
      REQUIRE(int_out[k] == std::nearbyint(float_out[k] / out.scales[0]));  // the float build dequantized the same code
    }
  }
  // The modifier's removal on the float build's .bin gives the same program.
  CompiledModel m = deserialize_model(serialize_model(plain.model), "a.bin");
  CHECK(remove_boundary_nodes(m, {"Quantize", "Dequantize"}, {}, "a.bin", ExitCode::Usage).size() == 2);
  ModelRunner mod = runner_of(m);
  const FloatArray x = load_npy(bpu::test::data_path("nonhybrid_int8_output/input_0.npy"));
  CHECK(mod.run({{"input", quantized_input(in, x)}}).at("output").data == q.run({{"input", quantized_input(in, x)}}).at("output").data);
  // Only the output: the input stays float32.
  CompiledModel only_out = deserialize_model(serialize_model(plain.model), "a.bin");
  remove_boundary_nodes(only_out, {}, {"output_HzDequantize"}, "a.bin", ExitCode::Usage);
  ModelRunner o = runner_of(only_out);
  CHECK(o.model().inputs[0].dtype == DType::Float32);
  CHECK(o.model().outputs[0].dtype == DType::Int8);
  // An integer input outside its range, and a non-integer code, are refused.
  FloatArray bad = quantized_input(in, x);
  bad.data[0] = 200;
  bpu::test::require_error([&] { q.run({{"input", bad}}); }, ExitCode::Usage, "is int8 but holds 200");
}

TEST_CASE("boundary: unknown names and types are refused naming the removable nodes", "[boundary]") {
  bpu::test::TempDir dir("boundary_bad");
  bpu::test::require_error([&] { compile_model(parse_config(yaml_for("  remove_node_name: 'conv_HzQuantize'\n"), dir.file("c.yaml"))); },
                           ExitCode::Config, "remove_node_name 'conv_HzQuantize' is not a boundary node of the model (removable: input_HzQuantize, output_HzDequantize)");
  bpu::test::require_error([&] { parse_config(yaml_for("  remove_node_type: 'Concat'\n"), dir.file("d.yaml")); },
                           ExitCode::Config, "'Concat' is invalid; allowed values: Quantize, Dequantize");
  bpu::test::require_error([&] { parse_config(yaml_for("  remove_node_type: 'Quantise'\n"), dir.file("e.yaml")); },
                           ExitCode::Config, "'Quantise' is invalid; allowed values: Quantize, Dequantize");
  CompileResult plain = compile_model(parse_config(yaml_for(""), dir.file("a.yaml")));
  CompiledModel m = plain.model;
  remove_boundary_nodes(m, {"Quantize"}, {}, "a.bin", ExitCode::Usage);
  bpu::test::require_error([&] { remove_boundary_nodes(m, {}, {"input_HzQuantize"}, "a.bin", ExitCode::Usage); }, ExitCode::Usage,
                           "(removable: output_HzDequantize)");
}

TEST_CASE("boundary: integer outputs are written and read back as int8/int16/int32 .npy", "[boundary]") {
  bpu::test::TempDir dir("npy_int");
  const FloatArray a{{2, 3}, {-128, -1, 0, 1, 100, 127}};
  for (DType t : {DType::Int8, DType::Int16, DType::Int32, DType::UInt8}) {
    FloatArray v = a;
    if (t == DType::UInt8) v.data = {0, 1, 2, 128, 200, 255};
    save_npy(dir.file("x.npy"), v, t);
    const FloatArray back = load_npy(dir.file("x.npy"));
    CHECK(back.shape == v.shape);
    CHECK(back.data == v.data);
  }
}

TEST_CASE("boundary: output_nodes makes interior node outputs model outputs, the rest unchanged", "[boundary]") {
  bpu::test::TempDir dir("output_nodes");
  CompileResult plain = compile_model(parse_config(yaml_for(""), dir.file("a.yaml")));
  CompileResult more = compile_model(parse_config(yaml_for("  output_nodes: '/conv/Conv'\n"), dir.file("b.yaml")));
  ModelRunner p = runner_of(plain.model), m = runner_of(more.model);
  REQUIRE(m.model().outputs.size() == 2);
  CHECK(m.model().outputs[1].name == "/conv/Conv_output_0");
  const FloatArray x = load_npy(bpu::test::data_path("nonhybrid_int8_output/input_0.npy"));
  const auto a = p.run({{"input", x}});
  const auto b = m.run({{"input", x}});
  CHECK(a.at("output").data == b.at("output").data);
  // The interior output agrees with the QAT model's fake-quantized tensor (verify's comparison).
  const QatReference ref = QatReference::from_file(bpu::test::data_path("nonhybrid_int8_output/model.onnx"));
  const VerifyReport v = verify_model(m, ref, {{"input", x}}, 1.0, false);
  CHECK(v.passed());
  REQUIRE(v.outputs.size() == 2);
  CHECK(v.outputs[1].max_lsb <= 1.0);
  bpu::test::require_error([&] { compile_model(parse_config(yaml_for("  output_nodes: '/conv/Cnv'\n"), dir.file("c.yaml"))); },
                           ExitCode::Config, "model_parameters.output_nodes: the model has no node '/conv/Cnv' (closest: /conv/Conv");
}

TEST_CASE("boundary: optimization set_model_output_int8 / int16 give integer outputs, an int32 output is refused", "[boundary]") {
  bpu::test::TempDir dir("output_int");
  auto yaml = [](const std::string& fixture, const std::string& optimization) {
    return bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "o", "bayes", "  optimization: " + optimization + "\n");
  };
  CompileResult plain = compile_model(parse_config(yaml_for(""), dir.file("a.yaml")));
  CompileResult i8 = compile_model(parse_config(yaml("nonhybrid_int8_output", "set_model_output_int8"), dir.file("b.yaml")));
  CompileResult i16 = compile_model(parse_config(yaml("nonhybrid_int8_output", "set_model_output_int16"), dir.file("c.yaml")));
  ModelRunner f = runner_of(plain.model), q8 = runner_of(i8.model), q16 = runner_of(i16.model);
  const TensorInfo& o8 = q8.model().outputs.at(0);
  const TensorInfo& o16 = q16.model().outputs.at(0);
  CHECK(o8.dtype == DType::Int8);
  CHECK(o16.dtype == DType::Int16);
  CHECK(q8.model().inputs.at(0).dtype == DType::Float32);  // inputs stay float
  CHECK(q8.model().removed_nodes == std::vector<std::string>{"output_HzDequantize"});
  const double s8 = o8.scales.at(0), s16 = o16.scales.at(0);
  CHECK(s16 == Approx(s8 * 127 / 32767).epsilon(1e-6));  // node_info int16's grid: the QAT range on 16 bits
  for (int i = 0; i < 3; ++i) {
    const FloatArray x = load_npy(bpu::test::data_path("nonhybrid_int8_output/input_" + std::to_string(i) + ".npy"));
    const auto ref = f.run({{"input", x}}).at("output").data;
    const auto c8 = q8.run({{"input", x}}).at("output").data;
    const auto c16 = q16.run({{"input", x}}).at("output").data;
    REQUIRE(c8.size() == ref.size());
    for (size_t k = 0; k < ref.size(); ++k) {
      REQUIRE(c8[k] == std::nearbyint(ref[k] / s8));            // the float build's codes
      REQUIRE(std::fabs(c16[k] * s16 - ref[k]) <= s8 / 2 + s16);  // finer than the QAT int8 step
    }
  }
  bpu::test::require_error([&] { compile_model(parse_config(yaml("nonhybrid", "set_model_output_int8"), dir.file("d.yaml"))); },
                           ExitCode::Config, "output 'output' is the int32 high-precision output of its Conv");
  bpu::test::require_error([&] { parse_config(yaml("nonhybrid", "'set_model_output_int8;set_model_output_int16'"), dir.file("e.yaml")); },
                           ExitCode::Config, "set_model_output_int8 and set_model_output_int16 conflict");
}

TEST_CASE("boundary: remove_node_type Transpose and Softmax leave the Conv output, torch's own tensor there", "[boundary]") {
  // test/data/edge_softmax (scripts/gen_edge_fixtures.py): Conv -> permute -> Softmax; pre_edge_<i>.npy is torch's
  // fake-quantized head Conv output, NCHW.
  bpu::test::TempDir dir("edge_nodes");
  auto yaml = [](const std::string& extra) { return yaml_for(extra, "edge_softmax"); };
  CompileResult both = compile_model(parse_config(yaml("  remove_node_type: 'Transpose;Softmax'\n"), dir.file("a.yaml")));
  CompileResult soft = compile_model(parse_config(yaml("  remove_node_name: '/Softmax'\n"), dir.file("b.yaml")));
  CompileResult codes = compile_model(parse_config(yaml("  remove_node_type: 'Transpose;Softmax;Dequantize'\n"), dir.file("c.yaml")));
  CHECK(both.model.removed_nodes == std::vector<std::string>{"/Transpose", "/Softmax"});
  ModelRunner a = runner_of(both.model), b = runner_of(soft.model), c = runner_of(codes.model);
  const TensorInfo& oa = a.model().outputs.at(0);
  CHECK(oa.shape == Shape{1, 6, 16, 16});
  CHECK(b.model().outputs.at(0).shape == Shape{1, 16, 16, 6});
  CHECK(c.model().outputs.at(0).dtype == DType::Int8);
  const double lsb = bpu::test::output_lsb(a.model(), oa.name);
  REQUIRE(lsb > 0);
  for (int i = 0; i < 3; ++i) {
    const FloatArray x = load_npy(bpu::test::data_path("edge_softmax/input_" + std::to_string(i) + ".npy"));
    const FloatArray torch_pre = load_npy(bpu::test::data_path("edge_softmax/pre_edge_" + std::to_string(i) + ".npy"));
    const auto nchw = a.run({{"input", x}}).at(oa.name).data;
    const auto nhwc = b.run({{"input", x}}).at(b.model().outputs.at(0).name).data;
    const auto q = c.run({{"input", x}}).at(c.model().outputs.at(0).name).data;
    REQUIRE(nchw.size() == torch_pre.data.size());
    CHECK(bpu::test::max_abs_diff(nchw, torch_pre.data) <= lsb * 1.0001);  // within one LSB of torch
    CHECK(bpu::test::cosine(nchw, torch_pre.data) >= 0.9999);
    for (int64_t ch = 0; ch < 6; ++ch) {
      for (int64_t p = 0; p < 256; ++p) {
        REQUIRE(nhwc[p * 6 + ch] == nchw[ch * 256 + p]);                // the same values, transposed
        REQUIRE(q[ch * 256 + p] == std::nearbyint(nchw[ch * 256 + p] / lsb));  // and as int8 codes
      }
    }
  }
  const QatReference ref = QatReference::from_file(bpu::test::data_path("edge_softmax/model.onnx"));
  const FloatArray x0 = load_npy(bpu::test::data_path("edge_softmax/input_0.npy"));
  CHECK(verify_model(a, ref, {{"input", x0}}, 1.0, false).passed());
  bpu::test::require_error([&] { compile_model(parse_config(yaml("  remove_node_name: '/Transpose'\n"), dir.file("d.yaml"))); },
                           ExitCode::Config, "remove_node_name '/Transpose' cannot be removed: its output is not a model output");
  bpu::test::require_error([&] { compile_model(parse_config(yaml("  remove_node_name: '/head/Conv'\n"), dir.file("e.yaml"))); },
                           ExitCode::Config, "remove_node_name '/head/Conv' is a Conv");
}

TEST_CASE("boundary: remove_node_type Transpose drops an input layout Transpose, the QAT side still fed NHWC", "[boundary]") {
  // test/data/edge_input_nhwc: NHWC input -> permute(0, 3, 1, 2) -> convs. Without the Transpose the .bin takes NCHW;
  // its outputs on the transposed image equal the build with the Transpose (which runs it on the BPU) and torch.
  bpu::test::TempDir dir("edge_input");
  auto yaml = [](const std::string& extra) { return yaml_for(extra, "edge_input_nhwc"); };
  ModelRunner kept = runner_of(compile_model(parse_config(yaml(""), dir.file("a.yaml"))).model);
  CompileResult r = compile_model(parse_config(yaml("  remove_node_type: 'Transpose'\n"), dir.file("b.yaml")));
  ModelRunner gone = runner_of(r.model);
  CHECK(r.model.removed_nodes == std::vector<std::string>{"/Transpose"});
  CHECK(gone.model().inputs.at(0).shape == Shape{1, 3, 16, 16});
  CHECK(kept.model().inputs.at(0).shape == Shape{1, 16, 16, 3});
  CHECK(gone.model().input_formats.at(0).describe().find("NHWC") != std::string::npos);
  const QatReference ref = QatReference::from_file(bpu::test::data_path("edge_input_nhwc/model.onnx"));
  const double lsb = bpu::test::output_lsb(gone.model(), "output");
  REQUIRE(lsb > 0);
  for (int i = 0; i < 3; ++i) {
    const FloatArray nhwc = load_npy(bpu::test::data_path("edge_input_nhwc/input_" + std::to_string(i) + ".npy"));
    FloatArray nchw{{1, 3, 16, 16}, std::vector<float>(nhwc.data.size())};
    for (int c = 0; c < 3; ++c) {
      for (int p = 0; p < 256; ++p) nchw.data[c * 256 + p] = nhwc.data[p * 3 + c];
    }
    const auto a = kept.run({{"input", nhwc}}).at("output").data;
    const auto b = gone.run({{"input", nchw}}).at("output").data;
    CHECK(a == b);  // the Transpose is exact data movement: the same program otherwise
    const FloatArray golden = load_npy(bpu::test::data_path("edge_input_nhwc/qat_output_" + std::to_string(i) + ".npy"));
    CHECK(bpu::test::max_abs_diff(b, golden.data) <= lsb * 1.0001);  // torch's QAT output within one LSB
    // verify feeds the QAT model the NHWC image it was exported for (the recorded layout change).
    CHECK(verify_model(gone, ref, {{"input", nchw}}, 1.0, false).passed());
  }
}
