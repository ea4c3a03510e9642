// Quant stage: Q/DQ and HzQuantize/HzDequantize pairs become tensor parameters; weights become int8.

#include "onnx_builder.h"
#include "onnx_import/onnx_import.h"
#include "quant/qdq_extract.h"
#include "test_helpers.h"

using namespace bpu;
using bpu::test::require_error;

TEST_CASE("quant: the torch fixture loses every Q/DQ node and keeps its scales", "[quant]") {
  ir::Graph g = import_onnx(bpu::test::data_path("nonhybrid/model.onnx"));
  QuantSummary s = extract_quantization(g);
  CHECK(s.activation_pairs == 6);
  CHECK(s.weight_pairs == 4);
  for (const auto& n : g.nodes) {
    CHECK_FALSE(is_quantize_node(n));
    CHECK_FALSE(is_dequantize_node(n));
  }
  // The model input is quantized by activation_post_process_0.
  REQUIRE(g.tensor("input").quant);
  CHECK(g.tensor("input").quant->scales.size() == 1);
  CHECK(g.tensor("input").quant->bits == 8);
  // The high-precision output carries no quantization.
  CHECK_FALSE(g.tensor("output").quant);
  // Every conv weight is an int8 constant with one scale per output channel.
  for (const auto& n : g.nodes) {
    if (n.op_type != "Conv") continue;
    const ir::Tensor& w = g.tensor(n.inputs[1]);
    REQUIRE(w.quant);
    CHECK(w.quant->axis == 0);
    CHECK(static_cast<int64_t>(w.quant->scales.size()) == w.shape[0]);
    CHECK(w.quantized.size() == w.float_data.size());
  }
}

TEST_CASE("quant: weights are quantized with PyTorch's rounding", "[quant]") {
  onnx::ModelProto m = bpu::test::conv_model();
  ir::Graph g = import_onnx_model(m, "m.onnx");
  extract_quantization(g);
  const ir::Tensor& w = g.tensor("w_dq");
  REQUIRE(w.quantized.size() == 54);
  for (size_t i = 0; i < w.quantized.size(); ++i) {
    float s = w.quant->scales[i / 18];
    float expected = std::nearbyint(w.float_data[i] * (1.0f / s));
    expected = std::min(127.0f, std::max(-128.0f, expected));
    CHECK(w.quantized[i] == static_cast<int8_t>(expected));
  }
  CHECK(g.tensor("x").quant->scales == std::vector<float>{0.02f});
  CHECK(g.tensor("y").quant);  // the Relu output took the graph output's name
  CHECK_FALSE(g.has_tensor("r"));
}

TEST_CASE("quant: Horizon HzQuantize pairs with bits=16 give int16 tensors", "[quant]") {
  bpu::test::ConvModelOptions o;
  o.horizon = true;
  o.activation_bits = 16;
  onnx::ModelProto m = bpu::test::conv_model(o);
  ir::Graph g = import_onnx_model(m, "hz.onnx");
  QuantSummary s = extract_quantization(g);
  CHECK(s.activation_pairs == 2);
  CHECK(s.weight_pairs == 1);
  CHECK(g.tensor("x").quant->bits == 16);
  CHECK(g.tensor("x").quant->dtype() == DType::Int16);
  CHECK(g.tensor("w_dq").quant->bits == 8);
}

TEST_CASE("quant: asymmetric, insane or mismatched quantization is refused with the node named", "[quant]") {
  bpu::test::ConvModelOptions asym;
  asym.zero_point = 3;
  onnx::ModelProto m1 = bpu::test::conv_model(asym);
  ir::Graph g1 = import_onnx_model(m1, "a.onnx");
  require_error([&] { extract_quantization(g1); }, ExitCode::Unsupported, "zero point 3");

  bpu::test::ConvModelOptions nan_scale;
  nan_scale.input_scale = -1.0f;
  onnx::ModelProto m2 = bpu::test::conv_model(nan_scale);
  ir::Graph g2 = import_onnx_model(m2, "s.onnx");
  require_error([&] { extract_quantization(g2); }, ExitCode::Model, "node '/in_fq/QuantizeLinear'");

  onnx::ModelProto m3 = bpu::test::conv_model();
  m3.mutable_graph()->mutable_node(2)->set_input(1, "s_out");  // DQ of the input uses another scale than its Q
  ir::Graph g3 = import_onnx_model(m3, "mm.onnx");
  require_error([&] { extract_quantization(g3); }, ExitCode::Unsupported, "uses other scales");
}
