// CPU fallback kernels (op registry entries) agree with
// hand-computed ONNX results (broadcasting, pooling with padding, resize modes, softmax, slicing, padding).

#include <random>
#include <set>

#include "common/thread_pool.h"
#include "ops/op_def.h"
#include "test_helpers.h"

using namespace bpu;
using namespace bpu::cpu;

namespace {

CpuTensor tensor(Shape shape, std::vector<float> data) {
  CpuTensor t;
  t.shape = std::move(shape);
  t.f = std::move(data);
  return t;
}

CpuTensor ints(std::vector<int64_t> v) {
  CpuTensor t;
  t.shape = {static_cast<int64_t>(v.size())};
  t.i = std::move(v);
  t.integer = true;
  t.elem_type = ir::ElemType::Int64;
  return t;
}

ir::Node make_node(const std::string& op, ir::Attributes attrs = {}) {
  ir::Node n;
  n.name = "test";
  n.op_type = op;
  n.attributes = std::move(attrs);
  return n;
}

ir::Attribute ints_attr(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::Ints;
  a.ints = std::move(v);
  return a;
}

ir::Attribute str_attr(const std::string& s) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::String;
  a.s = s;
  return a;
}

CpuTensor run(const ir::Node& n, std::vector<const CpuTensor*> in, int64_t opset = 13, size_t outputs = 1) {
  std::vector<CpuTensor> out(outputs);
  KernelContext shapes{n, opset, true, nullptr};
  ops::find_op(n.op_type)->kernel(shapes, in, out);
  Shape expected = out[0].shape;
  KernelContext ctx{n, opset, false, nullptr};
  ops::find_op(n.op_type)->kernel(ctx, in, out);
  CHECK(out[0].shape == expected);  // the shape-only pass predicts the real shape
  return out[0];
}

}  // namespace

TEST_CASE("cpu kernels: broadcasting Add and Div", "[cpu]") {
  CpuTensor a = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  CpuTensor b = tensor({3}, {10, 20, 30});
  CHECK(run(make_node("Add"), {&a, &b}).f == std::vector<float>{11, 22, 33, 14, 25, 36});
  CpuTensor c = tensor({2, 1}, {1, 2});
  CpuTensor d = run(make_node("Div"), {&a, &c});
  CHECK(d.f == std::vector<float>{1, 2, 3, 2, 2.5f, 3});
  CpuTensor bad = tensor({4}, {1, 2, 3, 4});
  bpu::test::require_error([&] { run(make_node("Add"), {&a, &bad}); }, ExitCode::Artifact, "do not broadcast");
}

TEST_CASE("cpu kernels: conv with padding equals a direct sum", "[cpu]") {
  CpuTensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  CpuTensor w = tensor({1, 1, 3, 3}, {0, 1, 0, 1, 1, 1, 0, 1, 0});
  CpuTensor b = tensor({1}, {0.5f});
  CpuTensor y = run(make_node("Conv", {{"pads", ints_attr({1, 1, 1, 1})}}), {&x, &w, &b});
  CHECK(y.f == std::vector<float>{7.5f, 11.5f, 11.5f, 17.5f, 25.5f, 23.5f, 19.5f, 29.5f, 23.5f});
}

TEST_CASE("cpu kernels: average pooling excludes padding unless asked", "[cpu]") {
  CpuTensor x = tensor({1, 1, 2, 2}, {1, 2, 3, 4});
  auto attrs = ir::Attributes{{"kernel_shape", ints_attr({2, 2})}, {"pads", ints_attr({1, 1, 1, 1})},
                                                     {"strides", ints_attr({2, 2})}};
  CHECK(run(make_node("AveragePool", attrs), {&x}).f == std::vector<float>{1, 2, 3, 4});
  attrs["count_include_pad"] = ir::Attribute::of_int(1);
  CHECK(run(make_node("AveragePool", attrs), {&x}).f == std::vector<float>{0.25f, 0.5f, 0.75f, 1.0f});
  CHECK(run(make_node("MaxPool", {{"kernel_shape", ints_attr({2, 2})}}), {&x}).f == std::vector<float>{4});
  CHECK(run(make_node("GlobalAveragePool"), {&x}).f == std::vector<float>{2.5f});
}

TEST_CASE("cpu kernels: resize nearest asymmetric/floor and bilinear half_pixel", "[cpu]") {
  CpuTensor x = tensor({1, 1, 2, 2}, {1, 2, 3, 4});
  CpuTensor scales = tensor({4}, {1, 1, 2, 2});
  CpuTensor nn = run(make_node("Resize", {{"mode", str_attr("nearest")}, {"coordinate_transformation_mode", str_attr("asymmetric")},
                                          {"nearest_mode", str_attr("floor")}}),
                     {&x, nullptr, &scales});
  CHECK(nn.f == std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  CpuTensor lin = run(make_node("Resize", {{"mode", str_attr("linear")}}), {&x, nullptr, &scales});
  // half_pixel: output 1 maps to 0.25, output 2 to 0.75 (edges clamp).
  CHECK(lin.f[0] == 1.0f);
  CHECK(lin.f[1] == Approx(1.25f));
  CHECK(lin.f[2] == Approx(1.75f));
  CHECK(lin.f[5] == Approx(1.0f * 0.5625f + 2 * 0.1875f + 3 * 0.1875f + 4 * 0.0625f));
}

TEST_CASE("cpu kernels: softmax along the last axis", "[cpu]") {
  CpuTensor x = tensor({1, 3}, {0, std::log(2.0f), std::log(5.0f)});
  CpuTensor y = run(make_node("Softmax"), {&x});
  CHECK(y.f[0] == Approx(0.125f));
  CHECK(y.f[1] == Approx(0.25f));
  CHECK(y.f[2] == Approx(0.625f));
}

TEST_CASE("cpu kernels: data movement", "[cpu]") {
  CpuTensor x = tensor({1, 2, 3}, {0, 1, 2, 3, 4, 5});
  CpuTensor shape = ints({0, -1});
  CHECK(run(make_node("Reshape"), {&x, &shape}).shape == Shape{1, 6});
  CHECK(run(make_node("Transpose", {{"perm", ints_attr({0, 2, 1})}}), {&x}).f == std::vector<float>{0, 3, 1, 4, 2, 5});
  CpuTensor starts = ints({1}), ends = ints({100}), axes = ints({2});
  CpuTensor sliced = run(make_node("Slice"), {&x, &starts, &ends, &axes});
  CHECK(sliced.shape == Shape{1, 2, 2});
  CHECK(sliced.f == std::vector<float>{1, 2, 4, 5});
  CpuTensor pads = ints({0, 0, 1, 0, 0, 0});
  CpuTensor padded = run(make_node("Pad"), {&x, &pads});
  CHECK(padded.shape == Shape{1, 2, 4});
  CHECK(padded.f == std::vector<float>{0, 0, 1, 2, 0, 3, 4, 5});
  CpuTensor cat = run(make_node("Concat", {{"axis", ir::Attribute::of_int(1)}}), {&x, &x});
  CHECK(cat.shape == Shape{1, 4, 3});
  CpuTensor flat = run(make_node("Flatten"), {&x});
  CHECK(flat.shape == Shape{1, 6});
}

TEST_CASE("cpu kernels: QuantizeLinear rounds like torch and respects the zero point type", "[cpu]") {
  CpuTensor x = tensor({4}, {0.25f, 0.75f, 100.0f, -100.0f});
  CpuTensor s = tensor({1}, {0.5f});
  CpuTensor z8 = ints({0});
  z8.elem_type = ir::ElemType::Int8;
  CHECK(run(make_node("QuantizeLinear"), {&x, &s, &z8}).f == std::vector<float>{0, 2, 127, -128});
  CpuTensor z16 = ints({0});
  z16.elem_type = ir::ElemType::Int16;
  CHECK(run(make_node("QuantizeLinear"), {&x, &s, &z16}).f == std::vector<float>{0, 2, 200, -200});
  CpuTensor q = tensor({2}, {3, -4});
  CHECK(run(make_node("DequantizeLinear"), {&q, &s, &z8}).f == std::vector<float>{1.5f, -2.0f});
}

TEST_CASE("cpu kernels: Conv split over workers gives the same bits for every thread count", "[cpu]") {
  struct Case { int64_t cin, cout, h, w, k, stride, pad, groups; };
  const Case cases[] = {{3, 16, 40, 40, 3, 1, 1, 1}, {64, 64, 28, 28, 3, 1, 1, 1}, {32, 48, 33, 35, 1, 1, 0, 1},
                        {16, 32, 45, 47, 3, 2, 1, 1}, {8, 8, 30, 30, 3, 1, 1, 2}, {5, 7, 23, 29, 5, 1, 2, 1},
                        {256, 2, 17, 31, 3, 1, 1, 1}, {4, 1, 40, 40, 3, 1, 1, 1}};
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const Case& cs : cases) {
    CpuTensor x = tensor({1, cs.cin, cs.h, cs.w}, {});
    x.f.resize(static_cast<size_t>(x.count()));
    for (auto& v : x.f) v = nd(rng);
    CpuTensor w = tensor({cs.cout, cs.cin / cs.groups, cs.k, cs.k}, {});
    w.f.resize(static_cast<size_t>(w.count()));
    for (auto& v : w.f) v = nd(rng);
    CpuTensor b = tensor({cs.cout}, std::vector<float>(static_cast<size_t>(cs.cout), 0.25f));
    ir::Node n = make_node("Conv", {{"kernel_shape", ints_attr({cs.k, cs.k})}, {"strides", ints_attr({cs.stride, cs.stride})},
                                    {"pads", ints_attr({cs.pad, cs.pad, cs.pad, cs.pad})}, {"group", ir::Attribute::of_int(cs.groups)}});
    const CpuTensor single = run(n, {&x, &w, &b});
    INFO(cs.cin << "->" << cs.cout << " " << cs.h << "x" << cs.w << " k" << cs.k << " s" << cs.stride << " g" << cs.groups);
    for (int threads : {2, 3, 8}) {
      ThreadPool pool(threads);
      std::vector<CpuTensor> out(1);
      KernelContext ctx{n, 13, false, &pool};
      ops::find_op("Conv")->kernel(ctx, {&x, &w, &b}, out);
      CHECK(out[0].f == single.f);
    }
  }
}
