// bernoulli2's own constraints, one function each, from the RDK X3 ONNX operator list (D-Robotics/rdk_doc
// supported_op_list.md, section "RDK X3支持的ONNX算子列表", commit fde2a10). The partitioner names the march in
// every constraint reason, so a node that fits bayes and not bernoulli2 says which march refused it.

#include <algorithm>

#include "arch/bernoulli2/target.h"
#include "common/dtype.h"
#include "ops/op_def.h"

namespace bpu::bernoulli2 {

namespace {

using arch::Constraint;

std::string s(int64_t v) { return std::to_string(v); }
const Shape& shape_of(const ir::Graph& g, const std::string& name) { return g.tensor(name).shape; }
bool is_pow2(int64_t v) { return v >= 1 && (v & (v - 1)) == 0; }
int64_t ceil_to(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

}  // namespace

Constraint conv_channels() {
  return {"Input and output channels per group <= 2048, or <= 4096 for a plain convolution (group 1, no dilation)",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& w = shape_of(g, n.inputs.at(1));
            if (w.size() != 4) return "";
            const int64_t groups = std::max<int64_t>(n.attr_int("group", 1), 1);
            bool dilated = false;
            for (int64_t d : n.attr_ints("dilations", {1, 1})) dilated |= d != 1;
            const int64_t limit = groups == 1 && !dilated ? 4096 : 2048;
            const int64_t out_per_group = w[0] / groups, in_per_group = w[1];
            if (out_per_group > limit) return s(out_per_group) + " output channels per group exceed " + s(limit) + "";
            if (in_per_group > limit) return s(in_per_group) + " input channels per group exceed " + s(limit) + "";
            return "";
          }};
}

Constraint conv_dilation() {
  return {"Dilations are powers of 2 with height dilation <= width dilation",
          [](const ir::Graph&, const ir::Node& n) -> std::string {
            const auto d = n.attr_ints("dilations", {1, 1});
            if (d.size() != 2) return "";
            if (!is_pow2(d[0]) || !is_pow2(d[1])) return "dilations " + s(d[0]) + "x" + s(d[1]) + "";
            if (d[0] > d[1]) return "height dilation " + s(d[0]) + " > width dilation " + s(d[1]) + "";
            return "";
          }};
}

Constraint deconv_geometry() {
  return {"ConvTranspose kernel in [2, 14], strides in {2, 4} with stride_h <= stride_w, pads <= (kernel - 1) / 2",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& w = shape_of(g, n.inputs.at(1));
            const auto st = n.attr_ints("strides", {1, 1});
            const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
            if (w.size() != 4 || st.size() != 2 || pads.size() != 4) return "";
            if (w[2] < 2 || w[3] < 2) return "kernel " + s(w[2]) + "x" + s(w[3]) + "";
            for (int64_t v : st) if (v != 2 && v != 4) return "stride " + s(v) + "";
            if (st[0] > st[1]) return "stride_h " + s(st[0]) + " > stride_w " + s(st[1]) + "";
            for (int i = 0; i < 4; ++i) {
              const int64_t k = w[2 + i % 2];
              if (pads[i] > (k - 1) / 2) return "pad " + s(pads[i]) + " exceeds (" + s(k) + " - 1) / 2";
            }
            return "";
          }};
}

Constraint avgpool_kernel() {
  return {"AveragePool kernel in [1, 7] x [1, 7]",
          [](const ir::Graph&, const ir::Node& n) -> std::string {
            for (int64_t v : n.attr_ints("kernel_shape", {})) if (v > 7) return "kernel " + s(v) + "";
            return "";
          }};
}

Constraint global_avgpool_plane() {
  return {"GlobalAveragePool input H*W <= 8192",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& x = shape_of(g, n.inputs.at(0));
            if (x.size() == 4 && x[2] * x[3] > 8192) return "input plane " + s(x[2]) + "x" + s(x[3]) + "";
            return "";
          }};
}

namespace {

// A 4-D (N, C, H, W) Add/Mul check: both inputs 4-D, C <= 2048, and the second shape (in either order) one of
// `allowed`: "same" (equal shapes), "c11" (N C 1 1), "1111".
std::string eltwise_shapes(const ir::Graph& g, const ir::Node& n, bool allow_scalar) {
  const Shape& a = shape_of(g, n.inputs.at(0));
  const Shape& b = shape_of(g, n.inputs.at(1));
  if (a.size() != 4 || b.size() != 4) return "input ranks " + s(a.size()) + " and " + s(b.size()) + "";
  const Shape& big = a[2] * a[3] >= b[2] * b[3] ? a : b;
  const Shape& small = &big == &a ? b : a;
  if (big[1] > 2048) return s(big[1]) + " channels";
  if (small == big) return "";
  if (small[0] == big[0] && small[1] == big[1] && small[2] == 1 && small[3] == 1) return "";
  if (allow_scalar && small == Shape{1, 1, 1, 1}) return "";
  return "shapes " + shape_to_string(a) + " and " + shape_to_string(b) + "";
}

}  // namespace

Constraint add_shapes() {
  return {"Add inputs are 4-D with C <= 2048, shaped NCHW + NCHW or NCHW + NC11",
          [](const ir::Graph& g, const ir::Node& n) { return eltwise_shapes(g, n, false); }};
}

Constraint mul_shapes() {
  return {"Mul inputs are 4-D with C <= 2048, shaped 1CHW with 1CHW, 1C11 or 1111",
          [](const ir::Graph& g, const ir::Node& n) { return eltwise_shapes(g, n, true); }};
}

Constraint sigmoid_aligned_size() {
  return {"Sigmoid input 1CHW with min(H*align8(W)*align4(C), H*W*align32(C)) <= 8192",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& x = shape_of(g, n.inputs.at(0));
            if (x.size() != 4 || x[0] != 1) return "input " + shape_to_string(x) + "";
            const int64_t a = x[2] * ceil_to(x[3], 8) * ceil_to(x[1], 4), b = x[2] * x[3] * ceil_to(x[1], 32);
            if (std::min(a, b) > 8192) return "aligned size " + s(std::min(a, b)) + " exceeds 8192";
            return "";
          }};
}

Constraint plane_at_most_8192() {
  return {"Input 1CHW with C*H*W <= 8192",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& x = shape_of(g, n.inputs.at(0));
            if (x.size() != 4 || x[0] != 1) return "input " + shape_to_string(x) + "";
            if (x[1] * x[2] * x[3] > 8192) return "C*H*W = " + s(x[1] * x[2] * x[3]) + " exceeds 8192";
            return "";
          }};
}

Constraint softmax_output_axis1() {
  return {"Softmax input is 4-D, reduced along axis 1, and its output is a model output",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& x = shape_of(g, n.inputs.at(0));
            int64_t axis = n.attr_int("axis", -1);
            if (axis < 0) axis += static_cast<int64_t>(x.size());
            if (x.size() != 4 || axis != 1) return "rank " + s(x.size()) + ", axis " + s(axis) + "";
            if (!g.is_graph_output(n.outputs.at(0))) return "output '" + n.outputs[0] + "' is not a model output";
            return "";
          }};
}

Constraint concat_channels() {
  return {"Concat output channels <= 2048",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& y = shape_of(g, n.outputs.at(0));
            if (y.size() >= 2 && y[1] > 2048) return s(y[1]) + " output channels";
            return "";
          }};
}

Constraint split_axis() {
  return {"Split input is 4-D, split along C, H or W into parts whose lengths divide the input length",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& x = shape_of(g, n.inputs.at(0));
            int64_t axis = n.attr_int("axis", 0);
            if (axis < 0) axis += static_cast<int64_t>(x.size());
            if (x.size() != 4 || axis < 1 || axis > 3) return "rank " + s(x.size()) + ", axis " + s(axis) + "";
            for (const auto& o : n.outputs) {
              const Shape& y = shape_of(g, o);
              if (y.size() != 4 || y[axis] < 1 || x[axis] % y[axis] != 0) return "part '" + o + "'";
            }
            return "";
          }};
}

Constraint pad_hw_only() {
  return {"Pad only pads H and W",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            if (n.inputs.size() < 2 || n.inputs[1].empty()) return "";
            const ir::Tensor& p = g.tensor(n.inputs[1]);
            const Shape& x = shape_of(g, n.inputs.at(0));
            if (x.size() != 4 || p.int_data.size() != 8) return "input rank " + s(x.size()) + "";
            for (int i : {0, 1, 4, 5}) if (p.int_data[i] != 0) return "pads on N or C";
            return "";
          }};
}

Constraint resize_nearest_power_of_two() {
  return {"Nearest Resize scales H and W by powers of 2 with the H factor <= the W factor",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            if (n.attr_string("mode", "nearest") != "nearest") return "";
            const Shape& x = shape_of(g, n.inputs.at(0));
            const Shape& y = shape_of(g, n.outputs.at(0));
            if (x.size() != 4 || y.size() != 4) return "";
            int64_t f[2];
            for (int d = 0; d < 2; ++d) {
              if (x[2 + d] < 1 || y[2 + d] % x[2 + d] != 0 || !is_pow2(y[2 + d] / x[2 + d])) {
                return "scale " + s(x[2 + d]) + " -> " + s(y[2 + d]) + "";
              }
              f[d] = y[2 + d] / x[2 + d];
            }
            if (f[0] > f[1]) return "H factor " + s(f[0]) + " > W factor " + s(f[1]) + "";
            return "";
          }};
}

Constraint reduce_mean_hw() {
  return {"ReduceMean input is 4-D and reduced along axes [2, 3]",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& x = shape_of(g, n.inputs.at(0));
            const std::vector<int64_t> axes = ops::reduce_axes(g, n);
            if (x.size() != 4 || axes != std::vector<int64_t>{2, 3}) return "input rank " + s(x.size()) + ", " + s(axes.size()) + " axes";
            return "";
          }};
}

Constraint blocksize_two() {
  return {"blocksize is 2",
          [](const ir::Graph&, const ir::Node& n) -> std::string {
            const int64_t b = n.attr_int("blocksize", 0);
            return b == 2 ? "" : "blocksize " + s(b) + "";
          }};
}

}  // namespace bpu::bernoulli2
