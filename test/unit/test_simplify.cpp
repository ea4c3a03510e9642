// Shape-arithmetic CPU kernels (Shape, Size, Gather, Cast, Range, ConstantOfShape, Equal/Less/Greater/Not, Where,
// Expand, Pow and the float unary ops) against hand-computed ONNX results, and the constant-folding pass
// (passes/simplify) on in-memory models: Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds so the Reshape
// gets its shape, ConstantOfShape -> Equal -> Where -> Expand folds, a bad constant index is refused by name.

#include <onnx/onnx_pb.h>

#include <cmath>

#include "onnx_builder.h"
#include "onnx_import/onnx_import.h"
#include "ops/op_def.h"
#include "passes/simplify.h"
#include "test_helpers.h"

using namespace bpu;
using namespace bpu::cpu;

namespace {

CpuTensor floats(Shape shape, std::vector<float> data) {
  CpuTensor t;
  t.shape = std::move(shape);
  t.f = std::move(data);
  return t;
}

CpuTensor ints(Shape shape, std::vector<int64_t> v) {
  CpuTensor t;
  t.shape = std::move(shape);
  t.f.assign(v.begin(), v.end());
  t.i = std::move(v);
  t.integer = true;
  t.elem_type = ir::ElemType::Int64;
  return t;
}

ir::Node node(const std::string& op, ir::Attributes attrs = {}) {
  ir::Node n;
  n.name = "k";
  n.op_type = op;
  n.attributes = std::move(attrs);
  return n;
}

ir::Attribute int_attr(int64_t v) { return ir::Attribute::of_int(v); }

// Runs shapes-only first, then with data, and checks both agree on the shape.
CpuTensor run(const ir::Node& n, std::vector<const CpuTensor*> in, int64_t opset = 13) {
  std::vector<CpuTensor> out(1);
  KernelContext shapes{n, opset, true, nullptr};
  ops::find_op(n.op_type)->kernel(shapes, in, out);
  const Shape expected = out[0].shape;
  std::vector<CpuTensor> data(1);
  KernelContext ctx{n, opset, false, nullptr};
  ops::find_op(n.op_type)->kernel(ctx, in, data);
  CHECK(data[0].shape == expected);
  return data[0];
}

}  // namespace

TEST_CASE("shape kernels: Shape with opset-15 start/end and Size", "[cpu][simplify]") {
  CpuTensor x = floats({2, 3, 4, 5}, std::vector<float>(120, 0));
  CHECK(run(node("Shape"), {&x}).i == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(run(node("Shape", {{"start", int_attr(-2)}}), {&x}, 15).i == std::vector<int64_t>{4, 5});
  CHECK(run(node("Shape", {{"start", int_attr(1)}, {"end", int_attr(-1)}}), {&x}, 15).i == std::vector<int64_t>{3, 4});
  CHECK(run(node("Shape", {{"start", int_attr(9)}}), {&x}, 15).i.empty());  // clamped to the rank
  CpuTensor size = run(node("Size"), {&x});
  CHECK(size.shape.empty());
  CHECK(size.i == std::vector<int64_t>{120});
  // Shape's data is known in shapes-only mode too (the importer's shape rules read it).
  std::vector<CpuTensor> out(1);
  KernelContext shapes{node("Shape"), 13, true};
  x.has_data = false;
  ops::find_op("Shape")->kernel(shapes, {&x}, out);
  CHECK(out[0].has_data);
  CHECK(out[0].i == std::vector<int64_t>{2, 3, 4, 5});
}

TEST_CASE("shape kernels: Gather on any axis with negative indices, out of range refused", "[cpu][simplify]") {
  CpuTensor x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  CpuTensor idx = ints({2}, {-1, 0});
  CpuTensor y = run(node("Gather", {{"axis", int_attr(1)}}), {&x, &idx});
  CHECK(y.shape == Shape{2, 2});
  CHECK(y.f == std::vector<float>{3, 1, 6, 4});
  CpuTensor scalar = ints({}, {1});
  CpuTensor row = run(node("Gather"), {&x, &scalar});
  CHECK(row.shape == Shape{3});
  CHECK(row.f == std::vector<float>{4, 5, 6});
  CpuTensor shape = ints({4}, {1, 8, 4, 4});
  CpuTensor g = run(node("Gather"), {&shape, &scalar});
  CHECK(g.integer);
  CHECK(g.i == std::vector<int64_t>{8});
  CpuTensor bad = ints({1}, {3});
  bpu::test::require_error([&] { run(node("Gather", {{"axis", int_attr(1)}}), {&x, &bad}); }, ExitCode::Artifact,
                           "index 3 is out of range for axis 1 of length 3");
  CpuTensor bad_neg = ints({1}, {-3});
  bpu::test::require_error([&] { run(node("Gather"), {&x, &bad_neg}); }, ExitCode::Artifact, "out of range");
  bpu::test::require_error([&] { run(node("Gather", {{"axis", int_attr(2)}}), {&x, &idx}); }, ExitCode::Artifact,
                           "axis 2 is out of range");
}

TEST_CASE("shape kernels: Cast, Range, ConstantOfShape", "[cpu][simplify]") {
  CpuTensor x = floats({4}, {-1.7f, 2.5f, 0.0f, 3.9f});
  CpuTensor as_int = run(node("Cast", {{"to", int_attr(7)}}), {&x});
  CHECK(as_int.integer);
  CHECK(as_int.i == std::vector<int64_t>{-1, 2, 0, 3});  // truncation toward zero
  CHECK(as_int.elem_type == ir::ElemType::Int64);
  CpuTensor as_bool = run(node("Cast", {{"to", int_attr(9)}}), {&x});
  CHECK(as_bool.i == std::vector<int64_t>{1, 1, 0, 1});
  CpuTensor i = ints({2}, {300, -2});
  CpuTensor as_float = run(node("Cast", {{"to", int_attr(1)}}), {&i});
  CHECK_FALSE(as_float.integer);
  CHECK(as_float.f == std::vector<float>{300, -2});
  CHECK(run(node("Cast", {{"to", int_attr(6)}}), {&i}).elem_type == ir::ElemType::Int32);
  bpu::test::require_error([&] { run(node("Cast", {{"to", int_attr(8)}}), {&x}); }, ExitCode::Artifact, "not supported");

  CpuTensor s = ints({}, {2}), l = ints({}, {9}), d = ints({}, {3});
  CpuTensor r = run(node("Range"), {&s, &l, &d});
  CHECK(r.i == std::vector<int64_t>{2, 5, 8});
  CpuTensor fs = floats({}, {1.0f}), fl = floats({}, {0.0f}), fd = floats({}, {-0.25f});
  CHECK(run(node("Range"), {&fs, &fl, &fd}).f == std::vector<float>{1.0f, 0.75f, 0.5f, 0.25f});
  CpuTensor zero = ints({}, {0});
  bpu::test::require_error([&] { run(node("Range"), {&s, &l, &zero}); }, ExitCode::Artifact, "delta must be non-zero");

  CpuTensor shape = ints({2}, {2, 3});
  CpuTensor zeros = run(node("ConstantOfShape"), {&shape});
  CHECK(zeros.shape == Shape{2, 3});
  CHECK(zeros.f == std::vector<float>(6, 0.0f));
  ir::Attribute one;
  one.kind = ir::Attribute::Kind::Ints;
  one.ints = {1};
  one.s = "tensor";
  CpuTensor ones = run(node("ConstantOfShape", {{"value", one}}), {&shape});
  CHECK(ones.integer);
  CHECK(ones.i == std::vector<int64_t>(6, 1));
  CpuTensor huge = ints({3}, {1 << 20, 1 << 20, 1 << 20});
  bpu::test::require_error([&] { run(node("ConstantOfShape"), {&huge}); }, ExitCode::Artifact, "too large");
}

TEST_CASE("shape kernels: comparisons, Not, Where, Expand with broadcasting", "[cpu][simplify]") {
  CpuTensor a = ints({3}, {1, -1, 4});
  CpuTensor m1 = ints({}, {-1});
  CpuTensor eq = run(node("Equal"), {&a, &m1});
  CHECK(eq.i == std::vector<int64_t>{0, 1, 0});
  CHECK(eq.elem_type == ir::ElemType::Bool);
  CHECK(run(node("Not"), {&eq}).i == std::vector<int64_t>{1, 0, 1});
  CpuTensor b = floats({2, 1}, {0.5f, 3.0f});
  CHECK(run(node("Less"), {&a, &b}).i == std::vector<int64_t>{0, 1, 0, 1, 1, 0});
  CHECK(run(node("Greater"), {&a, &b}).i == std::vector<int64_t>{1, 0, 1, 0, 0, 1});
  // torch's expand(-1 -> keep): Where(Equal(shape, -1), ones, shape)
  CpuTensor ones = ints({3}, {1, 1, 1});
  CpuTensor w = run(node("Where"), {&eq, &ones, &a});
  CHECK(w.integer);
  CHECK(w.i == std::vector<int64_t>{1, 1, 4});
  CpuTensor cond = ints({2, 1}, {1, 0});
  CpuTensor x = floats({3}, {1, 2, 3});
  CpuTensor y = floats({}, {-5});
  CHECK(run(node("Where"), {&cond, &x, &y}).f == std::vector<float>{1, 2, 3, -5, -5, -5});
  CpuTensor col = floats({2, 1}, {7, 8});
  CpuTensor target = ints({3}, {2, 1, 3});
  CpuTensor e = run(node("Expand"), {&col, &target});
  CHECK(e.shape == Shape{2, 2, 3});
  CHECK(e.f == std::vector<float>{7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8});
  CpuTensor bad = ints({2}, {3, 3});
  bpu::test::require_error([&] { run(node("Expand"), {&col, &bad}); }, ExitCode::Artifact, "do not broadcast");
  CpuTensor x2 = floats({2}, {1, 2});
  bpu::test::require_error([&] { run(node("Where"), {&cond, &x2, &a}); }, ExitCode::Artifact, "do not broadcast");
}

TEST_CASE("shape kernels: Pow, Neg, Abs, Sqrt, Reciprocal and exact integer shape arithmetic", "[cpu][simplify]") {
  CpuTensor x = floats({3}, {-2, 0.5f, 4});
  CpuTensor two = floats({}, {2});
  CHECK(run(node("Pow"), {&x, &two}).f == std::vector<float>{4, 0.25f, 16});
  CHECK(run(node("Neg"), {&x}).f == std::vector<float>{2, -0.5f, -4});
  CHECK(run(node("Abs"), {&x}).f == std::vector<float>{2, 0.5f, 4});
  CpuTensor sq = run(node("Sqrt"), {&x});
  CHECK(std::isnan(sq.f[0]));
  CHECK(sq.f[2] == 2.0f);
  CHECK(run(node("Reciprocal"), {&x}).f == std::vector<float>{-0.5f, 2, 0.25f});
  // torch's channels // groups on int64 shape values: truncating integer division, kept in .i
  CpuTensor c = ints({1}, {7}), g = ints({}, {2});
  CpuTensor q = run(node("Div"), {&c, &g});
  CHECK(q.integer);
  CHECK(q.i == std::vector<int64_t>{3});
  CpuTensor big = ints({1}, {(int64_t(1) << 40) + 1}), one = ints({}, {1});
  CHECK(run(node("Add"), {&big, &one}).i == std::vector<int64_t>{(int64_t(1) << 40) + 2});
}

namespace {

onnx::ValueInfoProto* graph_input(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims) {
  auto* vi = g->add_input();
  bpu::test::add_value_info(vi, name, dims);
  return vi;
}

onnx::TensorProto i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t.add_dims(d);
  for (int64_t x : v) t.add_int64_data(x);
  return t;
}

// x [2,3,4,5] -> x.view(x.size(0), -1) as torch exports it, then Relu.
onnx::ModelProto flatten_model(int64_t gather_index) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("flatten");
  graph_input(g, "x", {2, 3, 4, 5});
  *g->add_initializer() = i64("idx0", {}, {gather_index});
  *g->add_initializer() = i64("axes0", {1}, {0});
  *g->add_initializer() = i64("minus1", {1}, {-1});
  bpu::test::add_node(g, "Shape", "shape", {"x"}, {"s"});
  bpu::test::add_node(g, "Gather", "gather", {"s", "idx0"}, {"n"});
  bpu::test::add_node(g, "Unsqueeze", "unsqueeze", {"n", "axes0"}, {"n1"});
  bpu::test::add_node(g, "Concat", "concat", {"n1", "minus1"}, {"target"});
  bpu::test::set_int_attr(g->mutable_node(3), "axis", 0);
  bpu::test::add_node(g, "Reshape", "reshape", {"x", "target"}, {"flat"});
  bpu::test::add_node(g, "Relu", "relu", {"flat"}, {"y"});
  bpu::test::add_node(g, "Relu", "unused_relu", {"x"}, {"dead"});  // reaches no output
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m;
}

ImportOptions with_simplify(SimplifyStats* stats) {
  ImportOptions o;
  o.simplify = [stats](ir::Graph& g) { *stats = simplify_graph(g); };
  return o;
}

}  // namespace

TEST_CASE("simplify: the x.view(x.size(0), -1) chain folds and the Reshape gets its shape", "[simplify]") {
  onnx::ModelProto plain = flatten_model(0);
  bpu::test::require_error([&] { import_onnx_model(plain, "flatten.onnx"); }, ExitCode::Model, "cannot infer the shape");
  onnx::ModelProto m = flatten_model(0);
  SimplifyStats stats;
  ir::Graph g = import_onnx_model(m, "flatten.onnx", with_simplify(&stats));
  CHECK(stats.folded == 4);
  CHECK(stats.folded_by_op.at("Shape") == 1);
  CHECK(stats.folded_by_op.at("Gather") == 1);
  CHECK(stats.dead_removed == 1);
  REQUIRE(g.nodes.size() == 2);
  CHECK(g.nodes[0].op_type == "Reshape");
  const ir::Tensor& target = g.tensor(g.nodes[0].inputs[1]);
  CHECK(target.is_constant);
  CHECK(target.elem_type == ir::ElemType::Int64);
  CHECK(target.int_data == std::vector<int64_t>{2, -1});
  CHECK(g.tensor("flat").shape == Shape{2, 60});
  CHECK(g.tensor("y").shape == Shape{2, 60});
  CHECK(stats.summary().find("Shape 1") != std::string::npos);
}

TEST_CASE("simplify: a constant Gather index out of range is refused naming the node", "[simplify]") {
  onnx::ModelProto m = flatten_model(7);
  SimplifyStats stats;
  bpu::test::require_error([&] { import_onnx_model(m, "flatten.onnx", with_simplify(&stats)); }, ExitCode::Model,
                           "node 'gather' (Gather) has only constant inputs but cannot be evaluated");
}

TEST_CASE("simplify: ConstantOfShape -> Equal -> Where -> Expand folds into the Expand's shape", "[simplify]") {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("expand");
  graph_input(g, "x", {1, 4, 1, 1});
  *g->add_initializer() = i64("shape_len", {1}, {4});
  *g->add_initializer() = i64("sizes", {4}, {-1, -1, 3, 2});
  *g->add_initializer() = i64("m1", {}, {-1});
  bpu::test::add_node(g, "ConstantOfShape", "cos", {"shape_len"}, {"ones"});
  auto* value = g->mutable_node(0)->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  *value->mutable_t() = i64("v", {1}, {1});
  bpu::test::add_node(g, "Equal", "eq", {"sizes", "m1"}, {"is_keep"});
  bpu::test::add_node(g, "Where", "where", {"is_keep", "ones", "sizes"}, {"target"});
  bpu::test::add_node(g, "Expand", "expand", {"x", "target"}, {"y"});
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  SimplifyStats stats;
  ir::Graph graph = import_onnx_model(m, "expand.onnx", with_simplify(&stats));
  CHECK(stats.folded == 3);
  REQUIRE(graph.nodes.size() == 1);
  CHECK(graph.tensor(graph.nodes[0].inputs[1]).int_data == std::vector<int64_t>{1, 1, 3, 2});
  CHECK(graph.tensor("y").shape == Shape{1, 4, 3, 2});
}

TEST_CASE("simplify: no-op nodes are bypassed, look-alikes and graph outputs stay", "[simplify]") {
  // x -> Pad(0) -> Transpose(identity) -> Reshape(same) -> Slice(full, step 1) -> Relu -> Slice(full, step -1)
  //   -> Transpose(swap) -> Pad(1) -> Identity -> y (the graph output's writer stays)
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("noops");
  graph_input(g, "x", {1, 2, 3, 3});
  *g->add_initializer() = i64("zero_pads", {8}, {0, 0, 0, 0, 0, 0, 0, 0});
  *g->add_initializer() = i64("one_pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
  *g->add_initializer() = i64("same", {4}, {1, 2, 3, 3});
  *g->add_initializer() = i64("starts", {1}, {0});
  *g->add_initializer() = i64("ends", {1}, {3});
  *g->add_initializer() = i64("rstarts", {1}, {-1});
  *g->add_initializer() = i64("rends", {1}, {-100});
  *g->add_initializer() = i64("axes", {1}, {3});
  *g->add_initializer() = i64("step1", {1}, {1});
  *g->add_initializer() = i64("stepm1", {1}, {-1});
  bpu::test::add_node(g, "Pad", "pad0", {"x", "zero_pads"}, {"a"});
  auto* t0 = bpu::test::add_node(g, "Transpose", "t_id", {"a"}, {"b"});
  auto* perm = t0->add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  for (int k : {0, 1, 2, 3}) perm->add_ints(k);
  bpu::test::add_node(g, "Reshape", "reshape_same", {"b", "same"}, {"c"});
  bpu::test::add_node(g, "Slice", "slice_full", {"c", "starts", "ends", "axes", "step1"}, {"d"});
  bpu::test::add_node(g, "Relu", "relu", {"d"}, {"e"});
  bpu::test::add_node(g, "Slice", "slice_reverse", {"e", "rstarts", "rends", "axes", "stepm1"}, {"f"});
  auto* t1 = bpu::test::add_node(g, "Transpose", "t_swap", {"f"}, {"h"});
  auto* perm1 = t1->add_attribute();
  perm1->set_name("perm");
  perm1->set_type(onnx::AttributeProto::INTS);
  for (int k : {0, 1, 3, 2}) perm1->add_ints(k);
  bpu::test::add_node(g, "Pad", "pad1", {"h", "one_pads"}, {"i"});
  bpu::test::add_node(g, "Identity", "out_identity", {"i"}, {"y"});
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  SimplifyStats stats;
  ir::Graph graph = import_onnx_model(m, "noops.onnx", with_simplify(&stats));
  CHECK(stats.noops_removed == 4);
  CHECK(stats.noops_by_op.at("Pad") == 1);
  CHECK(stats.noops_by_op.at("Transpose") == 1);
  CHECK(stats.noops_by_op.at("Reshape") == 1);
  CHECK(stats.noops_by_op.at("Slice") == 1);
  std::vector<std::string> left;
  for (const auto& n : graph.nodes) left.push_back(n.name);
  CHECK(left == std::vector<std::string>{"relu", "slice_reverse", "t_swap", "pad1", "out_identity"});
  CHECK(graph.nodes[0].inputs[0] == "x");
  CHECK(graph.tensor("y").shape == Shape{1, 2, 5, 5});
  CHECK(stats.summary().find("4 no-op nodes removed (Pad 1, Reshape 1, Slice 1, Transpose 1)") != std::string::npos);
}
