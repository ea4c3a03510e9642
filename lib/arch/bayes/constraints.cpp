// The bayes family's constraint table (bayes's limits from the public RDK Ultra / J5 operator list,
// ../shared/reference/hb_mapper.md §8; the other marches pass their own FamilyLimits).

#include "arch/bayes/constraints.h"

#include <algorithm>

#include "arch/bayes/lower/bpu_segment_builder.h"
#include "ops/op_def.h"
#include "common/error.h"

namespace bpu::bayes {

namespace {

std::string s(int64_t v) { return std::to_string(v); }

const ir::Tensor& in(const ir::Graph& g, const ir::Node& n, size_t i) { return g.tensor(n.inputs.at(i)); }

// Why constant input i cannot be brought in by a CONST instruction ("" when it can, or is not a constant): only
// per-tensor int8 codes the quant stage computed from the model's fake quant.
std::string constant_operand(const ir::Graph& g, const ir::Node& n, size_t i) {
  const ir::Tensor& t = in(g, n, i);
  if (!t.is_constant) return "";
  if (!t.quant || t.quantized.empty()) return "input '" + n.inputs[i] + "' is a constant without fake quantization";
  if (t.quant->per_channel()) return "input '" + n.inputs[i] + "' is a constant with per-channel scales";
  return "";
}

Constraint rank4_io(int64_t max_spatial) {
  return {"Input and output are 4-D (NCHW) with H, W, C in [1, " + s(max_spatial) + "]",
          [max_spatial](const ir::Graph& g, const ir::Node& n) -> std::string {
            for (const auto& name : {n.inputs[0], n.outputs[0]}) {
              const ir::Tensor& t = g.tensor(name);
              if (t.shape.size() != 4) return "tensor '" + name + "' has rank " + s(t.shape.size());
              for (size_t d = 1; d < 4; ++d) {
                if (t.shape[d] > max_spatial) return "tensor '" + name + "' has dimension " + s(t.shape[d]);
              }
            }
            return "";
          }};
}

}  // namespace

std::string shape_text(int64_t v) { return std::to_string(v); }

Constraint per_tensor_io() {
  return {"Activations are quantized per tensor",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            for (const auto& name : {n.inputs[0], n.outputs[0]}) {
              const ir::Tensor& t = g.tensor(name);
              if (t.quant && t.quant->scales.size() != 1) return "tensor '" + name + "' has per-channel scales";
            }
            return "";
          }};
}

namespace {

std::vector<Constraint> conv_constraints(const FamilyLimits& L) {
  return {
      rank4_io(L.max_spatial),
      {"Kernel height and width are in [1, " + s(L.conv_max_kernel) + "]",
       [k = L.conv_max_kernel](const ir::Graph& g, const ir::Node& n) -> std::string {
         const ir::Tensor& w = in(g, n, 1);
         if (w.shape.size() != 4) return "weight has rank " + s(w.shape.size());
         if (w.shape[2] > k || w.shape[3] > k) {
           return "kernel " + s(w.shape[2]) + "x" + s(w.shape[3]) + " exceeds " + s(k) + "x" + s(k);
         }
         return "";
       }},
      {"Input channels per group x kernel height x kernel width <= " + s(L.conv_max_kernel_volume),
       [v_max = L.conv_max_kernel_volume](const ir::Graph& g, const ir::Node& n) -> std::string {
         const ir::Tensor& w = in(g, n, 1);
         int64_t v = w.shape[1] * w.shape[2] * w.shape[3];
         return v > v_max ? "C*kh*kw = " + s(v) + " exceeds " + s(v_max) : "";
       }},
      {"Output channels per group <= " + s(L.conv_max_channels_per_group),
       [c_max = L.conv_max_channels_per_group](const ir::Graph& g, const ir::Node& n) -> std::string {
         int64_t groups = n.attr_int("group", 1);
         int64_t per_group = in(g, n, 1).shape[0] / std::max<int64_t>(groups, 1);
         return per_group > c_max ? s(per_group) + " output channels per group exceed " + s(c_max) : "";
       }},
      {"Strides are in [1, " + s(L.conv_max_stride) + "], dilations in [1, " + s(L.conv_max_dilation) + "], pads in [0, " +
           s(L.conv_max_pad) + "]",
       [L](const ir::Graph&, const ir::Node& n) -> std::string {
         for (int64_t v : n.attr_ints("strides", {1, 1})) if (v < 1 || v > L.conv_max_stride) return "stride " + s(v);
         for (int64_t v : n.attr_ints("dilations", {1, 1})) if (v < 1 || v > L.conv_max_dilation) return "dilation " + s(v);
         for (int64_t v : n.attr_ints("pads", {0, 0, 0, 0})) if (v < 0 || v > L.conv_max_pad) return "pad " + s(v);
         return "";
       }},
      {"auto_pad is NOTSET (explicit pads)",
       [](const ir::Graph&, const ir::Node& n) -> std::string {
         std::string ap = n.attr_string("auto_pad", "NOTSET");
         return ap == "NOTSET" ? "" : "auto_pad=" + ap;
       }},
  };
}

std::vector<Constraint> eltwise_constraints() {
  return {
      {"Inputs broadcast to the output (NumPy rules), ranks 1 to 5",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         const Shape& y = g.tensor(n.outputs[0]).shape;
         if (y.empty() || y.size() > 5) return "output rank " + s(y.size());
         for (size_t i = 0; i < 2; ++i) {
           const Shape& x = in(g, n, i).shape;
           if (x.size() > y.size()) return "input '" + n.inputs[i] + "' has a higher rank than the output";
           for (size_t k = 0; k < x.size(); ++k) {
             const int64_t a = x[x.size() - 1 - k], b = y[y.size() - 1 - k];
             if (a != b && a != 1) return "input shape " + shape_to_string(x) + " does not broadcast to " + shape_to_string(y);
           }
         }
         return "";
       }},
      per_tensor_io(),
      {"At most one input is a constant, fake-quantized per tensor (brought in by CONST)",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         if (in(g, n, 0).is_constant && in(g, n, 1).is_constant) return "both inputs are constants";
         for (size_t i = 0; i < 2; ++i) {
           const std::string why = constant_operand(g, n, i);
           if (!why.empty()) return why;
         }
         return "";
       }},
  };
}

std::vector<Constraint> reshape_constraints() {
  return {
      {"Shape inputs are constants",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         for (size_t i = 1; i < n.inputs.size(); ++i) {
           if (!n.inputs[i].empty() && !in(g, n, i).is_constant) return "input '" + n.inputs[i] + "' is computed at run time";
         }
         return "";
       }},
  };
}

Constraint same_scale_io() {
  return {"Every output carries the input's quantization scale (pure data movement)",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const ir::Tensor& x = in(g, n, 0);
            for (const auto& o : n.outputs) {
              const ir::Tensor& y = g.tensor(o);
              if (x.quant && y.quant && (x.quant->scales != y.quant->scales || x.quant->bits != y.quant->bits)) {
                return "output '" + o + "' scale " + std::to_string(y.quant->scales[0]) + " differs from input scale " +
                       std::to_string(x.quant->scales[0]);
              }
            }
            return "";
          }};
}

// Data movement: a differently scaled output is requantized after the move (SegmentBuilder::moved_buffer).
std::vector<Constraint> constant_axes(const std::vector<size_t>& inputs) {
  return {{"Shape, axis, start and pad inputs are constants",
           [inputs](const ir::Graph& g, const ir::Node& n) -> std::string {
             for (size_t i : inputs) {
               if (i < n.inputs.size() && !n.inputs[i].empty() && !in(g, n, i).is_constant) return "input '" + n.inputs[i] + "' is computed at run time";
             }
             return "";
           }},
          per_tensor_io()};
}

}  // namespace

bool gather_as_slice(const ir::Graph& g, const ir::Node& n, int64_t* axis, int64_t* start, int64_t* step, std::string* why) {
  const ir::Tensor& x = in(g, n, 0);
  const ir::Tensor& idx = in(g, n, 1);
  if (!idx.is_constant || idx.int_data.empty() || idx.shape.size() > 1) {
    *why = "indices '" + n.inputs[1] + "' are not a constant scalar or 1-D list";
    return false;
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  *axis = n.attr_int("axis", 0);
  if (*axis < 0) *axis += rank;
  if (*axis < 0 || *axis >= rank) {
    *why = "axis " + s(n.attr_int("axis", 0)) + " outside the data's rank " + s(rank);
    return false;
  }
  const int64_t dim = x.shape[*axis];
  std::vector<int64_t> v = idx.int_data;
  for (auto& i : v) i = i < 0 ? i + dim : i;
  *start = v[0];
  *step = v.size() > 1 ? v[1] - v[0] : 1;
  for (size_t k = 0; k < v.size(); ++k) {
    if (v[k] < 0 || v[k] >= dim) {
      *why = "index " + s(idx.int_data[k]) + " outside the axis of " + s(dim);
      return false;
    }
    if (*step < 1 || v[k] != *start + static_cast<int64_t>(k) * *step) {
      *why = "indices are not an increasing evenly spaced list";
      return false;
    }
  }
  return true;
}

namespace {

std::vector<Constraint> gather_constraints() {
  return {{"Indices are a constant scalar or an increasing evenly spaced 1-D list inside the axis",
           [](const ir::Graph& g, const ir::Node& n) -> std::string {
             int64_t axis = 0, start = 0, step = 0;
             std::string why;
             return gather_as_slice(g, n, &axis, &start, &step, &why) ? "" : why;
           }},
          per_tensor_io()};
}

std::vector<Constraint> deconv_constraints(const FamilyLimits& L) {
  return {
      rank4_io(L.max_spatial),
      {"Input channels <= " + s(L.deconv_max_channels) + ", kernel <= " + s(L.deconv_max_kernel) + ", strides <= " +
           s(L.deconv_max_stride) + " and not both 1, dilation 1, explicit pads",
       [L](const ir::Graph& g, const ir::Node& n) -> std::string {
         const Shape& w = in(g, n, 1).shape;
         if (w.size() != 4) return "weight rank " + s(w.size());
         if (w[0] > L.deconv_max_channels) return s(w[0]) + " input channels";
         if (w[2] > L.deconv_max_kernel || w[3] > L.deconv_max_kernel) return "kernel " + s(w[2]) + "x" + s(w[3]);
         auto st = n.attr_ints("strides", {1, 1});
         if (st.size() != 2 || st[0] > L.deconv_max_stride || st[1] > L.deconv_max_stride || (st[0] == 1 && st[1] == 1)) {
           return "strides " + s(st[0]) + "x" + s(st.size() > 1 ? st[1] : 0);
         }
         for (int64_t v : n.attr_ints("dilations", {1, 1})) if (v != 1) return "dilation " + s(v);
         if (n.attr_string("auto_pad", "NOTSET") != "NOTSET") return "auto_pad";
         return "";
       }},
  };
}

std::vector<Constraint> gemm_constraints(const FamilyLimits& L) {
  return {
      {"A is 2-D and not transposed; B is a constant",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         if (in(g, n, 0).shape.size() != 2) return "A has rank " + s(in(g, n, 0).shape.size());
         if (n.attr_int("transA", 0)) return "transA=1";
         if (!in(g, n, 1).is_constant || in(g, n, 1).shape.size() != 2) return "B is not a 2-D constant";
         return "";
       }},
      {"K <= " + s(L.gemm_max_k) + " and N <= " + s(L.gemm_max_n) + " (lowered to a 1x1 convolution)",
       [L](const ir::Graph& g, const ir::Node& n) -> std::string {
         const Shape& b = in(g, n, 1).shape;
         const bool tb = n.attr_int("transB", 0) != 0;
         const int64_t K = tb ? b[1] : b[0], N = tb ? b[0] : b[1];
         if (K > L.gemm_max_k) return "K = " + s(K);
         if (N > L.gemm_max_n) return "N = " + s(N);
         return "";
       }},
      {"alpha > 0 and C is a constant with 1 or N values",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         const ir::Attribute* a = n.attr("alpha");
         if (a && !(a->f > 0)) return "alpha = " + std::to_string(a->f);
         if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
           const ir::Tensor& c = in(g, n, 2);
           if (!c.is_constant) return "C is computed at run time";
           const Shape& b = in(g, n, 1).shape;
           const int64_t N = n.attr_int("transB", 0) ? b[0] : b[1];
           if (c.element_count() != 1 && c.element_count() != N) return "C has " + s(c.element_count()) + " values";
         }
         return "";
       }},
  };
}

// MatMul: B a constant 2-D matrix (the Gemm rules, a 1x1 CONV2D), or B a second quantized activation (MATMUL).
std::vector<Constraint> matmul_constraints(const FamilyLimits& L) {
  auto constant_b = [](const ir::Graph& g, const ir::Node& n) { return in(g, n, 1).is_constant; };
  std::vector<Constraint> rules;
  for (Constraint c : gemm_constraints(L)) {  // each Gemm rule holds trivially for an activation B
    auto check = c.check;
    c.rule = "B constant: " + c.rule;
    c.check = [check, constant_b](const ir::Graph& g, const ir::Node& n) { return constant_b(g, n) ? check(g, n) : ""; };
    rules.push_back(c);
  }
  rules.push_back(
      {"B an activation: both inputs quantized per tensor, ranks >= 2, batch axes broadcast, K <= " + s(L.gemm_max_k) +
           " (MATMUL, one requantization by s_a*s_b/s_out)",
       [L, constant_b](const ir::Graph& g, const ir::Node& n) -> std::string {
         if (constant_b(g, n)) return "";
         const ir::Tensor &a = in(g, n, 0), &b = in(g, n, 1);
         for (const ir::Tensor* t : {&a, &b}) {
           if (t->quant && t->quant->scales.size() != 1) return "tensor '" + t->name + "' has per-channel scales";
         }
         if (a.shape.size() < 2 || b.shape.size() < 2) return "an input has rank < 2";
         if (a.shape.back() > L.gemm_max_k) return "K = " + s(a.shape.back());
         const Shape& y = g.tensor(n.outputs[0]).shape;
         for (const Shape* x : {&a.shape, &b.shape}) {
           for (size_t k = 2; k < x->size(); ++k) {
             const int64_t e = (*x)[x->size() - 1 - k], want = y[y.size() - 1 - k];
             if (e != 1 && e != want) return "batch axes " + shape_to_string(*x) + " do not broadcast to " + shape_to_string(y);
           }
         }
         return "";
       }});
  return rules;
}

std::vector<Constraint> pool_constraints(const FamilyLimits& L) {
  return {
      rank4_io(L.max_spatial),
      per_tensor_io(),
      {"Kernel, strides and pads are in [1, " + s(L.pool_max_kernel) + "] / [1, " + s(L.pool_max_stride) + "] / [0, " +
           s(L.pool_max_pad) + "]; auto_pad NOTSET; one output",
       [L](const ir::Graph&, const ir::Node& n) -> std::string {
         if (n.op_type.rfind("Global", 0) == 0) return "";
         for (int64_t v : n.attr_ints("kernel_shape", {})) if (v < 1 || v > L.pool_max_kernel) return "kernel " + s(v);
         for (int64_t v : n.attr_ints("strides", {1, 1})) if (v < 1 || v > L.pool_max_stride) return "stride " + s(v);
         for (int64_t v : n.attr_ints("pads", {0, 0, 0, 0})) if (v < 0 || v > L.pool_max_pad) return "pad " + s(v);
         if (n.attr_string("auto_pad", "NOTSET") != "NOTSET") return "auto_pad=" + n.attr_string("auto_pad", "");
         if (n.outputs.size() > 1) return "MaxPool Indices output requested";
         return "";
       }},
      {"GlobalMaxPool input H, W <= " + s(L.global_max_pool_hw),
       [hw = L.global_max_pool_hw](const ir::Graph& g, const ir::Node& n) -> std::string {
         if (n.op_type != "GlobalMaxPool") return "";
         const Shape& x = in(g, n, 0).shape;
         return x[2] > hw || x[3] > hw ? "input " + s(x[2]) + "x" + s(x[3]) : "";
       }},
  };
}

std::vector<Constraint> concat_constraints() {
  return {
      per_tensor_io(),
      {"Concatenation is not along the batch axis; a constant input is fake-quantized per tensor (brought in by CONST)",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         int64_t axis = n.attr_int("axis", 0);
         if (axis < 0) axis += static_cast<int64_t>(g.tensor(n.outputs[0]).shape.size());
         if (axis == 0) return "axis 0 (batch)";
         for (size_t i = 0; i < n.inputs.size(); ++i) {
           const std::string why = constant_operand(g, n, i);
           if (!why.empty()) return why;
           const ir::Tensor& t = in(g, n, i);
           if (t.quant && t.quant->scales.size() != 1) return "input '" + n.inputs[i] + "' has per-channel scales";
         }
         return "";
       }},
  };
}

std::vector<Constraint> resize_constraints(const FamilyLimits& L) {
  return {
      rank4_io(L.max_spatial),
      per_tensor_io(),
      {"mode nearest or linear; coordinate_transformation_mode half_pixel, pytorch_half_pixel, asymmetric or "
       "align_corners",
       [](const ir::Graph&, const ir::Node& n) -> std::string {
         std::string mode = n.attr_string("mode", "nearest");
         if (mode != "nearest" && mode != "linear") return "mode " + mode;
         std::string ctm = n.attr_string("coordinate_transformation_mode", "half_pixel");
         if (ctm != "half_pixel" && ctm != "pytorch_half_pixel" && ctm != "asymmetric" && ctm != "align_corners") return "coordinate_transformation_mode " + ctm;
         return "";
       }},
      {"Only H and W change, and each scale equals output size / input size",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         const Shape& x = in(g, n, 0).shape;
         const Shape& y = g.tensor(n.outputs[0]).shape;
         if (x[0] != y[0] || x[1] != y[1]) return "N or C changes";
         if (n.inputs.size() > 2 && !n.inputs[2].empty() && in(g, n, 2).element_count() == 4) {
           const std::vector<float>& sc = in(g, n, 2).float_data;
           for (int d = 2; d < 4; ++d) {
             if (static_cast<double>(sc[d]) * x[d] != static_cast<double>(y[d])) {
               return "scale " + std::to_string(sc[d]) + " for " + s(x[d]) + " -> " + s(y[d]);
             }
           }
         }
         return "";
       }},
  };
}

std::vector<Constraint> reduce_constraints() {
  return {
      per_tensor_io(),
      {"Input rank 1 to 6; the reduced elements per output (the pooling window) number at most 65536",
       [](const ir::Graph& g, const ir::Node& n) -> std::string {
         const Shape& x = in(g, n, 0).shape;
         if (x.empty() || x.size() > 6) return "input rank " + s(x.size());
         int64_t window = 1;
         for (int64_t a : ops::reduce_axes(g, n)) window *= x.at(a);
         return window > 65536 ? s(window) + " elements per output" : "";
       }},
  };
}

std::vector<Constraint> depth_space_constraints() {
  return {per_tensor_io(),
          {"4-D NCHW input whose channels (DepthToSpace) or H and W (SpaceToDepth) the blocksize divides",
           [](const ir::Graph& g, const ir::Node& n) -> std::string {
             return ops::depth_space_plan(n, in(g, n, 0).shape).valid ? "" : "input " + shape_to_string(in(g, n, 0).shape);
           }}};
}

}  // namespace

int fusable_activation(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, int producer,
                       const std::set<std::string>& keep, std::pair<float, float>* bounds) {
  const ir::Node& n = g.nodes.at(producer);
  if ((n.op_type != "Conv" && n.op_type != "Add") || !n.domain.empty() || n.outputs.size() != 1) return -1;
  const std::string& out = n.outputs[0];
  if (g.tensor(out).quant || g.is_graph_output(out)) return -1;
  auto users = consumers.find(out);
  if (users == consumers.end() || users->second.size() != 1) return -1;
  const ir::Node& act = g.nodes.at(users->second[0]);
  if (keep.count(act.name) || act.inputs.empty() || act.inputs[0] != out) return -1;
  const ops::OpDef* op = ops::find_op(act.op_type, act.domain);
  if (!op || !op->has(ops::kFusableActivation) || !op->clamp || !op->clamp(g, act, bounds)) return -1;
  return users->second[0];
}

std::string softmax_cpu_by_default(const ir::Node& node, const std::string& march) {
  if (node.op_type != "Softmax" || !node.domain.empty()) return "";
  return "Softmax runs on the CPU on " + march + " unless calibration_parameters.run_on_bpu lists it";
}

bool allows_high_precision_output(const ir::Node& node) { return node.op_type == "Conv" && node.domain.empty(); }

bool is_lut_op(const std::string& op_type) {
  const ops::OpDef* op = ops::find_op(op_type);
  return op && op->has(ops::kLutable);
}

bool is_shape_only_op(const std::string& op_type) {
  const ops::OpDef* op = ops::find_op(op_type);
  return op && op->has(ops::kShapeOnly);
}

static std::vector<Constraint> preprocess_constraints(const FamilyLimits& L) {
  return {{"The input is an image (uint8 pixels; a featuremap layout change runs on the CPU)",
           [](const ir::Graph& g, const ir::Node& n) -> std::string {
             return g.tensor(n.inputs.at(0)).elem_type == ir::ElemType::Uint8 ? "" : "input '" + n.inputs[0] + "' is float";
           }},
          {"Height and width are in [1, " + s(L.max_spatial) + "]",
           [L](const ir::Graph& g, const ir::Node& n) -> std::string {
             const Shape& y = g.tensor(n.outputs.at(0)).shape;
             for (int64_t d : y) {
               if (d > L.max_spatial) return "output " + shape_to_string(y);
             }
             return "";
           }},
          per_tensor_io()};
}

std::vector<OpSupport> family_op_table(const FamilyLimits& L) {
  return {
      {"Conv", "CONV2D: int8/int16 x per-channel int8 weights, int32/int64 accumulation, per-channel requant with "
               "high-precision bias and fused ReLU/Clip; int32 accumulator output when the output is not quantized",
       conv_constraints(L), &SegmentBuilder::lower_conv},
      {"Add", "ADD: two differently scaled int8/int16 inputs, common-denominator rescale, one rounding, fused ReLU",
       eltwise_constraints(), &SegmentBuilder::lower_add},
      {"Gemm", "CONV2D (1x1) between RESHAPEs: per-output-feature int8 weights, bias and alpha/beta folded into the "
               "requantization", gemm_constraints(L), &SegmentBuilder::lower_gemm},
      {"MaxPool", "POOL (max): window maximum, then rescale to the output scale", pool_constraints(L), &SegmentBuilder::lower_pool},
      {"AveragePool", "POOL (average): exact window sum, then one requantization by s_in/(n*s_out)", pool_constraints(L), &SegmentBuilder::lower_pool},
      {"GlobalAveragePool", "POOL (average) over the whole plane", pool_constraints(L), &SegmentBuilder::lower_pool},
      {"GlobalMaxPool", "POOL (max) over the whole plane", pool_constraints(L), &SegmentBuilder::lower_pool},
      {"Concat", "CONCAT: each input rescaled to the output scale (a copy when scales are equal)", concat_constraints(), &SegmentBuilder::lower_concat},
      {"Resize", "RESIZE: nearest copy, or bilinear with 15-bit fixed-point weights and one requantization",
       resize_constraints(L), &SegmentBuilder::lower_resize},
      {"Identity", "RESCALE: a tensor fake-quantized twice in a row (e.g. around a removed Dropout) is requantized",
       {per_tensor_io()}, &SegmentBuilder::lower_requantize},
      {"Sigmoid", "LUT: 256-entry (int8) or 65536-entry (int16) table from the float formula", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"Tanh", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"HardSigmoid", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"HardSwish", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"Exp", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"Selu", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"Elu", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"LeakyRelu", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"Relu", "LUT (standalone; fused into Conv/Add as a clamp when it follows one)", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"Clip", "LUT (standalone; fused into Conv/Add as a clamp when it follows one)",
       {per_tensor_io(),
        {"min and max are constants",
         [](const ir::Graph& g, const ir::Node& n) -> std::string {
           for (size_t i = 1; i < n.inputs.size(); ++i) {
             if (!n.inputs[i].empty() && (!in(g, n, i).is_constant || in(g, n, i).float_data.size() != 1)) return "bound '" + n.inputs[i] + "' is not a scalar constant";
           }
           return "";
         }}}, &SegmentBuilder::lower_lut},
      {"Erf", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"Softplus", "LUT", {per_tensor_io()}, &SegmentBuilder::lower_lut},
      {"ReduceMean", "TRANSPOSE (kept axes first) + RESHAPE + POOL (average over a reduced x 1 window, float32 "
                     "emulation of the reference) + RESHAPE", reduce_constraints(), &SegmentBuilder::lower_reduce},
      {"ReduceMax", "TRANSPOSE + RESHAPE + POOL (max over a reduced x 1 window) + RESHAPE", reduce_constraints(), &SegmentBuilder::lower_reduce},
      {"ReduceSum", "TRANSPOSE + RESHAPE + POOL (exact integer window sum, one requantization by s_in/s_out) + "
                    "RESHAPE", reduce_constraints(), &SegmentBuilder::lower_reduce},
      {"DepthToSpace", "RESHAPE (6-D) + TRANSPOSE + RESHAPE, as the ONNX spec defines it (DCR and CRD)",
       depth_space_constraints(), &SegmentBuilder::lower_depth_space},
      {"SpaceToDepth", "RESHAPE (6-D) + TRANSPOSE + RESHAPE", depth_space_constraints(), &SegmentBuilder::lower_depth_space},
      {"Sub", "ADD with a negated second multiplier", eltwise_constraints(), &SegmentBuilder::lower_add},
      {"Mul", "MUL: product of two quantized inputs with broadcasting, one requantization by s_a*s_b/s_out", eltwise_constraints(), &SegmentBuilder::lower_mul},
      {"MatMul", "CONV2D (1x1) between RESHAPEs when B is a constant 2-D matrix; MATMUL when B is a second quantized "
                 "activation (attention)", matmul_constraints(L), &SegmentBuilder::lower_matmul},
      {"ConvTranspose", "DECONV2D: scatter of int8 x int8 products, per-channel requantization", deconv_constraints(L), &SegmentBuilder::lower_deconv},
      {"Transpose", "TRANSPOSE: axis permutation (then RESCALE when the output scale differs)", {per_tensor_io()},
       &SegmentBuilder::lower_transpose},
      {"Slice", "SLICE: strided copy (then RESCALE when the output scale differs)", constant_axes({1, 2, 3, 4}), &SegmentBuilder::lower_slice},
      {"Split", "SLICE per output (each then RESCALE when its scale differs)", constant_axes({1}), &SegmentBuilder::lower_split},
      {"Gather", "SLICE of the indexed rows (constant, evenly spaced), RESHAPE, then RESCALE when the output scale differs",
       gather_constraints(), &SegmentBuilder::lower_gather},
      {"Pad", "PAD: constant mode, value quantized to the output scale",
       {same_scale_io(), constant_axes({1, 2, 3})[0], per_tensor_io(),
        {"mode is constant",
         [](const ir::Graph&, const ir::Node& n) -> std::string {
           std::string mode = n.attr_string("mode", "constant");
           return mode == "constant" ? "" : "mode " + mode;
         }}}, &SegmentBuilder::lower_pad},
      {"Softmax", "SOFTMAX: computed in float64 and quantized by the model's definition (exact); on bayes-e and bernoulli2 only "
       "where run_on_bpu lists the node",
       {per_tensor_io()}, &SegmentBuilder::lower_softmax},
      {"HzPreprocess", "PREPROCESS: the image input stage (bpu-mapper inserts it for input_type_rt rgb, bgr, yuv444, gray, nv12): "
                       "chroma upsampling, colour conversion, normalization and quantization to the first activation as one "
                       "integer affine map per channel (docs/numerics.md §9)",
       preprocess_constraints(L), &SegmentBuilder::lower_preprocess, "horizon"},
      {"Reshape", "RESHAPE: data movement in NCHW order (then RESCALE when the output scale differs); placed with its BPU neighbours", reshape_constraints(), &SegmentBuilder::lower_reshape},
      {"Flatten", "RESHAPE: data movement in NCHW order (then RESCALE when the output scale differs); placed with its BPU neighbours", reshape_constraints(), &SegmentBuilder::lower_reshape},
      {"Squeeze", "RESHAPE: data movement in NCHW order (then RESCALE when the output scale differs); placed with its BPU neighbours", reshape_constraints(), &SegmentBuilder::lower_reshape},
      {"Unsqueeze", "RESHAPE: data movement in NCHW order (then RESCALE when the output scale differs); placed with its BPU neighbours", reshape_constraints(), &SegmentBuilder::lower_reshape},
  };
}

void remove_ops(std::vector<OpSupport>* table, const std::vector<std::string>& ops) {
  table->erase(std::remove_if(table->begin(), table->end(),
                              [&](const OpSupport& op) { return std::find(ops.begin(), ops.end(), op.op_type) != ops.end(); }),
               table->end());
}

namespace {
OpSupport& entry(std::vector<OpSupport>* table, const std::string& op) {
  for (auto& e : *table) {
    if (e.op_type == op) return e;
  }
  throw Error(ExitCode::Internal, "march table edit: op '" + op + "' is not in the bayes family table");
}
}  // namespace

void add_constraints(std::vector<OpSupport>* table, const std::string& op, std::vector<Constraint> rules) {
  OpSupport& e = entry(table, op);
  for (auto& r : rules) e.constraints.push_back(std::move(r));
}

void replace_constraint(std::vector<OpSupport>* table, const std::string& op, const std::string& prefix, Constraint rule) {
  for (auto& c : entry(table, op).constraints) {
    if (c.rule.rfind(prefix, 0) == 0) {
      c = std::move(rule);
      return;
    }
  }
  throw Error(ExitCode::Internal, "march table edit: " + op + " has no rule starting '" + prefix + "'");
}

const OpSupport* family_op_support(const std::string& op_type, const std::string& domain) {
  static const std::vector<OpSupport> table = family_op_table(FamilyLimits{});
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const auto& op : table) {
    if (op.op_type == op_type && op.domain == d) return &op;
  }
  return nullptr;
}

}  // namespace bpu::bayes
