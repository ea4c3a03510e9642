// The MatMul -> Gemm pass (lib/passes/linear_gemm.h): torch's quantized Linear on a 3-D tensor (MatMul of the
// transposed fake-quantized weight, bias Add, then the fake quant) becomes Reshape -> Gemm -> Reshape, the
// Transpose and the Add folded; look-alikes that are not one rounding of x·Wᵀ + b stay as they are. The
// numbers are held by the zoo_vit case (its four MLP Linears run this way on the BPU and its logits equal
// torch's QAT golden).

#include <catch2/catch.hpp>

#include "passes/linear_gemm.h"
#include "partition_graph_builder.h"

using namespace bpu;

namespace {

// x [1, 5, 8] quantized -> MatMul(x, Transpose(W [6, 8])) -> Add(b [6]) -> y [1, 5, 6] quantized.
struct Mlp {
  bpu::test::GraphBuilder b;
  Mlp(bool per_channel_weight = true, Shape bias_shape = {6}) {
    ir::Tensor& x = b.g.tensor("in");
    x.shape = {1, 5, 8};
    ir::Tensor w;
    w.name = "W";
    w.shape = {6, 8};
    w.has_shape = w.is_constant = true;
    w.float_data.assign(48, 0.02f);
    w.quantized.assign(48, 2);
    w.quant = per_channel_weight ? ir::QuantParams{std::vector<float>(6, 0.01f), 0, 8, false}
                                 : ir::QuantParams{{0.01f}, -1, 8, false};
    b.g.tensors["W"] = w;
    ir::Tensor c;
    c.name = "bias";
    c.shape = bias_shape;
    c.has_shape = c.is_constant = true;
    int64_t n = 1;
    for (int64_t d : bias_shape) n *= d;
    c.float_data.assign(static_cast<size_t>(n), 0.5f);
    b.g.tensors["bias"] = c;
    for (const char* t : {"wt", "mm", "y"}) {
      b.activation(t, std::string(t) == "y");
    }
    b.g.tensor("wt").shape = {8, 6};
    b.g.tensor("mm").shape = b.g.tensor("y").shape = {1, 5, 6};
    b.node("tr", "Transpose", {"W"}, "wt");
    b.g.nodes.back().attributes["perm"].kind = ir::Attribute::Kind::Ints;
    b.g.nodes.back().attributes["perm"].ints = {1, 0};
    b.node("mm", "MatMul", {"in", "wt"}, "mm");
    b.node("add", "Add", {"bias", "mm"}, "y");
    b.g.outputs = {"y"};
  }
};

}  // namespace

TEST_CASE("linear gemm: MatMul of a transposed quantized weight plus a bias Add becomes one Gemm", "[passes]") {
  Mlp m;
  REQUIRE(matmul_to_gemm(m.b.g) == 1);
  std::vector<std::string> ops;
  for (const auto& n : m.b.g.nodes) ops.push_back(n.op_type);
  CHECK(ops == std::vector<std::string>{"Reshape", "Gemm", "Reshape"});
  const ir::Node& gemm = m.b.g.nodes[1];
  CHECK(gemm.name == "mm");
  CHECK(gemm.inputs[1] == "W");
  CHECK(gemm.attr_int("transB", 0) == 1);
  CHECK(m.b.g.tensor(gemm.inputs[2]).float_data == std::vector<float>(6, 0.5f));
  CHECK(m.b.g.tensor(gemm.inputs[0]).shape == Shape{5, 8});
  CHECK(m.b.g.tensor(gemm.outputs[0]).shape == Shape{5, 6});
  CHECK(m.b.g.tensor(gemm.outputs[0]).quant->scales == m.b.g.tensor("y").quant->scales);
  CHECK(m.b.g.nodes[2].outputs[0] == "y");
  REQUIRE(gemm.folded_nodes.size() == 2);
  CHECK(gemm.folded_nodes[0].name == "add");
  CHECK(gemm.folded_nodes[1].name == "tr");
}

TEST_CASE("linear gemm: look-alikes stay as they are", "[passes]") {
  SECTION("a bias along another axis than the output features") {
    Mlp m(true, {6, 1});  // six values, but along the tokens
    CHECK(matmul_to_gemm(m.b.g) == 0);
  }
  SECTION("a float activation input") {
    Mlp m;
    m.b.g.tensor("in").quant.reset();
    CHECK(matmul_to_gemm(m.b.g) == 0);
  }
  SECTION("a MatMul output read by a second node") {
    Mlp m;
    m.b.activation("z", false);
    m.b.node("neg", "Neg", {"mm"}, "z");
    m.b.g.outputs.push_back("z");
    CHECK(matmul_to_gemm(m.b.g) == 0);
  }
  SECTION("a float bias Add result (no fake quant after it)") {
    Mlp m;
    m.b.g.tensor("y").quant.reset();
    CHECK(matmul_to_gemm(m.b.g) == 0);
  }
  SECTION("an Add the user named (run_on_cpu, node_info) keeps its node") {
    Mlp m;
    CHECK(matmul_to_gemm(m.b.g, {"add"}) == 0);
  }
  SECTION("a per-tensor weight is rewritten too") {
    Mlp m(false);
    CHECK(matmul_to_gemm(m.b.g) == 1);
  }
}
