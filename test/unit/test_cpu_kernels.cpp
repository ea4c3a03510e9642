// CPU fallback kernels (op registry entries) agree with
// hand-computed ONNX results (broadcasting, pooling with padding, resize modes, softmax, slicing, padding).

#include <algorithm>
#include <cmath>
#include <cstring>
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

TEST_CASE("cpu kernels: Conv over strides, pads, dilations and 1x1 equals a direct sum in double", "[cpu]") {
  struct Case { int64_t cin, cout, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups; };
  const Case cases[] = {{3, 4, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {4, 6, 12, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},
                        {2, 3, 10, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1}, {5, 2, 7, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
                        {6, 4, 11, 8, 1, 1, 2, 3, 1, 1, 0, 0, 0, 0, 1}, {3, 3, 8, 9, 5, 3, 3, 2, 1, 2, 0, 3, 2, 1, 3},
                        {2, 2, 5, 6, 3, 3, 1, 1, 1, 1, 4, 0, 1, 5, 1}, {3, 5, 16, 20, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
                        {6, 4, 10, 9, 3, 3, 1, 1, 2, 1, 2, 1, 0, 2, 2},      // stride 1 (the padded-grid form), groups
                        {16, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}};  // the grid over several column blocks
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const Case& cs : cases) {
    CpuTensor x = tensor({1, cs.cin, cs.h, cs.w}, {});
    x.f.resize(static_cast<size_t>(x.count()));
    for (auto& v : x.f) v = nd(rng);
    const int64_t cin_g = cs.cin / cs.groups, cout_g = cs.cout / cs.groups;
    CpuTensor w = tensor({cs.cout, cin_g, cs.kh, cs.kw}, {});
    w.f.resize(static_cast<size_t>(w.count()));
    for (auto& v : w.f) v = nd(rng);
    ir::Node n = make_node("Conv", {{"kernel_shape", ints_attr({cs.kh, cs.kw})}, {"strides", ints_attr({cs.sh, cs.sw})},
                                    {"dilations", ints_attr({cs.dh, cs.dw})}, {"pads", ints_attr({cs.pt, cs.pl, cs.pb, cs.pr})},
                                    {"group", ir::Attribute::of_int(cs.groups)}});
    const CpuTensor y = run(n, {&x, &w});
    const int64_t oh = (cs.h + cs.pt + cs.pb - cs.dh * (cs.kh - 1) - 1) / cs.sh + 1;
    const int64_t ow = (cs.w + cs.pl + cs.pr - cs.dw * (cs.kw - 1) - 1) / cs.sw + 1;
    INFO(cs.cin << "->" << cs.cout << " " << cs.h << "x" << cs.w << " k" << cs.kh << "x" << cs.kw << " s" << cs.sh << "," << cs.sw
                << " d" << cs.dh << "," << cs.dw << " g" << cs.groups);
    REQUIRE(y.shape == Shape{1, cs.cout, oh, ow});
    for (int64_t co = 0; co < cs.cout; ++co) {
      for (int64_t oy = 0; oy < oh; ++oy) {
        for (int64_t ox = 0; ox < ow; ++ox) {
          double sum = 0;
          for (int64_t ci = 0; ci < cin_g; ++ci) {
            for (int64_t ky = 0; ky < cs.kh; ++ky) {
              for (int64_t kx = 0; kx < cs.kw; ++kx) {
                const int64_t iy = oy * cs.sh - cs.pt + ky * cs.dh, ix = ox * cs.sw - cs.pl + kx * cs.dw;
                if (iy < 0 || iy >= cs.h || ix < 0 || ix >= cs.w) continue;
                const int64_t c_in = (co / cout_g) * cin_g + ci;
                sum += static_cast<double>(x.f[static_cast<size_t>((c_in * cs.h + iy) * cs.w + ix)]) *
                       w.f[static_cast<size_t>(((co * cin_g + ci) * cs.kh + ky) * cs.kw + kx)];
              }
            }
          }
          CHECK(std::fabs(y.f[static_cast<size_t>((co * oh + oy) * ow + ox)] - sum) <= 1e-4 * (1 + std::fabs(sum)));
        }
      }
    }
  }
}

TEST_CASE("cpu kernels: every unary formula kernel gives the bits of its float32 formula, value by value", "[cpu]") {
  std::vector<float> values;
  for (int k = -60; k <= 60; ++k) values.push_back(0.37f * static_cast<float>(k));
  values.insert(values.end(), {0.0f, -0.0f, 25.0f, -25.0f, 1e-8f, 88.0f, -104.0f});  // 128 values: 16 groups of 8
  for (size_t count : {values.size(), size_t{5}, size_t{13}}) {  // also a partial last group
    const std::vector<float> part(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(count));
    for (const auto& op : ops::all_ops()) {
      if (!op.formula || !op.kernel || op.type == "Clip" || op.type == "Identity") continue;
      INFO(op.type << " over " << count << " values");
      CpuTensor x = tensor({static_cast<int64_t>(count)}, part);
      const CpuTensor y = run(make_node(op.type), {&x});
      for (size_t k = 0; k < count; ++k) {
        const float f = op.formula(make_node(op.type), part[k]);
        CHECK((std::memcmp(&f, &y.f[k], sizeof f) == 0 || (std::isnan(f) && std::isnan(y.f[k]))));
      }
    }
  }
}

TEST_CASE("cpu kernels: Resize linear and nearest in every coordinate mode equal the ONNX formula per element", "[cpu]") {
  std::vector<float> data(2 * 5 * 7);
  for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<float>((k * 37) % 23) - 11.0f;
  CpuTensor x = tensor({1, 2, 5, 7}, data);
  CpuTensor roi = tensor({0}, {});
  CpuTensor sizes = ints({1, 2, 9, 4});
  for (const char* ctm : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}) {
    for (const char* mode : {"linear", "nearest"}) {
      ir::Node n = make_node("Resize", {{"mode", str_attr(mode)}, {"coordinate_transformation_mode", str_attr(ctm)},
                                        {"nearest_mode", str_attr("floor")}});
      CpuTensor none = tensor({0}, {});
      const CpuTensor y = run(n, {&x, &roi, &none, &sizes});
      REQUIRE(y.shape == Shape{1, 2, 9, 4});
      auto source = [&](int64_t o, int64_t in_len, int64_t out_len) {
        const double scale = static_cast<double>(static_cast<float>(out_len) / static_cast<float>(in_len));
        const std::string m = ctm;
        if (m == "asymmetric") return o / scale;
        if (m == "align_corners") return out_len == 1 ? 0.0 : o * (in_len - 1.0) / (out_len - 1.0);
        if (m == "pytorch_half_pixel") return out_len > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
        return (o + 0.5) / scale - 0.5;
      };
      for (int64_t c = 0; c < 2; ++c) {
        for (int64_t oy = 0; oy < 9; ++oy) {
          for (int64_t ox = 0; ox < 4; ++ox) {
            const double sy = source(oy, 5, 9), sx = source(ox, 7, 4);
            auto at = [&](int64_t iy, int64_t ix) { return static_cast<double>(data[static_cast<size_t>((c * 5 + iy) * 7 + ix)]); };
            double want;
            if (std::string(mode) == "nearest") {
              want = at(std::clamp<int64_t>(static_cast<int64_t>(std::floor(sy)), 0, 4), std::clamp<int64_t>(static_cast<int64_t>(std::floor(sx)), 0, 6));
            } else {
              const double cy = std::clamp(sy, 0.0, 4.0), cx = std::clamp(sx, 0.0, 6.0);
              const int64_t y0 = static_cast<int64_t>(cy), x0 = static_cast<int64_t>(cx);
              const int64_t y1 = std::min<int64_t>(y0 + 1, 4), x1 = std::min<int64_t>(x0 + 1, 6);
              const double fy = cy - y0, fx = cx - x0;
              want = (at(y0, x0) * (1 - fx) + at(y0, x1) * fx) * (1 - fy) + (at(y1, x0) * (1 - fx) + at(y1, x1) * fx) * fy;
            }
            INFO(ctm << " " << mode << " c" << c << " y" << oy << " x" << ox);
            CHECK(std::fabs(y.f[static_cast<size_t>((c * 9 + oy) * 4 + ox)] - want) <= 1e-5 * (1 + std::fabs(want)));
          }
        }
      }
    }
  }
}

TEST_CASE("cpu kernels: Transpose, broadcasting Mul and ReduceSum equal index-by-index loops", "[cpu]") {
  std::vector<float> data(2 * 3 * 4 * 5);
  for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<float>(k) * 0.5f - 7.0f;
  CpuTensor x = tensor({2, 3, 4, 5}, data);
  auto at = [&](int64_t i, int64_t j, int64_t k, int64_t l) { return data[static_cast<size_t>(((i * 3 + j) * 4 + k) * 5 + l)]; };
  for (std::vector<int64_t> perm : {std::vector<int64_t>{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 2, 3, 1}, {1, 0, 3, 2}, {2, 3, 0, 1}}) {
    const CpuTensor y = run(make_node("Transpose", {{"perm", ints_attr(perm)}}), {&x});
    const Shape in{2, 3, 4, 5};
    int64_t o = 0, idx[4];
    for (idx[0] = 0; idx[0] < in[perm[0]]; ++idx[0])
      for (idx[1] = 0; idx[1] < in[perm[1]]; ++idx[1])
        for (idx[2] = 0; idx[2] < in[perm[2]]; ++idx[2])
          for (idx[3] = 0; idx[3] < in[perm[3]]; ++idx[3]) {
            int64_t src[4];
            for (int d = 0; d < 4; ++d) src[perm[d]] = idx[d];
            CHECK(y.f[static_cast<size_t>(o++)] == at(src[0], src[1], src[2], src[3]));
          }
  }
  for (Shape bshape : {Shape{5}, Shape{4, 1}, Shape{3, 1, 5}, Shape{2, 1, 1, 1}, Shape{1}, Shape{}, Shape{2, 3, 4, 1}}) {
    CpuTensor b = tensor(bshape, {});
    b.f.resize(static_cast<size_t>(b.count()));
    for (size_t k = 0; k < b.f.size(); ++k) b.f[k] = static_cast<float>(k) + 1.5f;
    const CpuTensor y = run(make_node("Mul"), {&x, &b});
    for (int64_t i = 0, o = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j)
        for (int64_t k = 0; k < 4; ++k)
          for (int64_t l = 0; l < 5; ++l, ++o) {
            const int64_t full[4] = {i, j, k, l};
            int64_t bi = 0;
            for (size_t d = 0; d < bshape.size(); ++d) {
              const int64_t v = bshape[d] == 1 ? 0 : full[4 - bshape.size() + d];
              bi = bi * bshape[d] + v;
            }
            CHECK(y.f[static_cast<size_t>(o)] == at(i, j, k, l) * b.f[static_cast<size_t>(bi)]);
          }
  }
  for (std::vector<int64_t> axes : {std::vector<int64_t>{3}, {2, 3}, {1}, {0, 2}, {1, 3}}) {
    const CpuTensor axes_input = ints(axes);
    const CpuTensor y = run(make_node("ReduceSum", {{"keepdims", ir::Attribute::of_int(0)}}), {&x, &axes_input});
    std::vector<double> want(static_cast<size_t>(y.count()), 0.0);
    bool red[4] = {false, false, false, false};
    for (int64_t a : axes) red[a] = true;
    const int64_t dims[4] = {2, 3, 4, 5};
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j)
        for (int64_t k = 0; k < 4; ++k)
          for (int64_t l = 0; l < 5; ++l) {
            const int64_t full[4] = {i, j, k, l};
            int64_t o = 0;
            for (int d = 0; d < 4; ++d) if (!red[d]) o = o * dims[d] + full[d];
            want[static_cast<size_t>(o)] += at(i, j, k, l);
          }
    for (size_t o = 0; o < want.size(); ++o) CHECK(y.f[o] == static_cast<float>(want[o]));
  }
}
