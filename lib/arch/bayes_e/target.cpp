// The bayes-e target (RDK X5): the bayes family table with the limits X5's ONNX operator list states differently
// from RDK Ultra's (D-Robotics/rdk_doc supported_op_list.md, section "RDK X5支持的ONNX算子列表", commit fde2a10):
// a smaller conv kernel volume, AveragePool's window and pad bounds, ConvTranspose's kernel-size formula and
// output padding, Softmax on the BPU only for the last axis of a 4-D input. One BPU core.

#include "arch/bayes_e/target.h"

#include "arch/bayes/family_target.h"

namespace bpu::bayes_e {

namespace {

using arch::Constraint;
using bayes::FamilyTargetSpec;
using bayes::shape_text;
constexpr const char* kMarch = "bayes-e";

bayes::FamilyLimits limits() {
  bayes::FamilyLimits L;
  L.conv_max_kernel_volume = 32767;  // X5: kernel C*H*W <= 32767 (Ultra: 65535)
  return L;
}

Constraint avgpool_window() {
  return {"AveragePool window H*W in [2, 8192] and pads in [0, 255]",
          [](const ir::Graph&, const ir::Node& n) -> std::string {
            const auto k = n.attr_ints("kernel_shape", {});
            if (k.size() == 2 && (k[0] * k[1] > 8192 || k[0] * k[1] < 2)) {
              return "window " + shape_text(k[0]) + "x" + shape_text(k[1]) + "";
            }
            for (int64_t v : n.attr_ints("pads", {0, 0, 0, 0})) if (v > 255) return "pad " + shape_text(v) + "";
            return "";
          }};
}

// X5's ConvTranspose kernel-size formula: with ps = pad % stride, ks = (k - 1 + ps) / stride + 1 per axis and
// ksc = input channels per group, ksh * ksw * ksc <= 32767; output_padding in {0, 1}.
Constraint deconv_kernel_size() {
  return {"ConvTranspose kernel size ksh*ksw*ksc <= 32767 (ks = (k-1+pad%stride)/stride+1) and output_padding in "
          "{0, 1}",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& w = g.tensor(n.inputs.at(1)).shape;
            const auto st = n.attr_ints("strides", {1, 1});
            const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
            if (w.size() != 4 || st.size() != 2 || pads.size() != 4 || st[0] < 1 || st[1] < 1) return "";
            const int64_t ksh = (w[2] - 1 + pads[0] % st[0]) / st[0] + 1;
            const int64_t ksw = (w[3] - 1 + pads[1] % st[1]) / st[1] + 1;
            const int64_t size = ksh * ksw * w[0] / std::max<int64_t>(n.attr_int("group", 1), 1);
            if (size > 32767) return "kernel size " + shape_text(size) + " exceeds 32767";
            for (int64_t v : n.attr_ints("output_padding", {0, 0})) if (v > 1) return "output_padding " + shape_text(v);
            return "";
          }};
}

Constraint softmax_last_axis() {
  return {"Softmax input is 4-D and reduced along axis 3",
          [](const ir::Graph& g, const ir::Node& n) -> std::string {
            const Shape& x = g.tensor(n.inputs.at(0)).shape;
            int64_t axis = n.attr_int("axis", -1);
            if (axis < 0) axis += static_cast<int64_t>(x.size());
            if (x.size() != 4 || axis != 3) return "rank " + shape_text(x.size()) + ", axis " + shape_text(axis);
            return "";
          }};
}

FamilyTargetSpec spec() {
  FamilyTargetSpec s{kMarch, bayes::family_op_table(limits()), {}, "", ""};
  bayes::add_constraints(&s.table, "AveragePool", {avgpool_window()});
  bayes::add_constraints(&s.table, "ConvTranspose", {deconv_kernel_size()});
  bayes::add_constraints(&s.table, "Softmax", {softmax_last_axis()});
  // X5: one Bayes-e core at 1 GHz, 10 TOPS nominal. The MAC rate is bayes's assumption scaled by the nominal TOPS
  // per core (10 against J5's 64): 4096 * 10 / 64 = 640. Vector rate, DDR (LPDDR4-4266 x32) and SRAM are
  // assumptions, documented in docs/performance.md.
  s.hardware.clock_mhz = 1000;
  s.hardware.cores = 1;
  s.hardware.int8_macs_per_cycle = 640;
  s.hardware.vector_elements_per_cycle = 128;
  s.hardware.ddr_gbytes_per_second = 17.0;
  s.hardware.sram_kib = 1024;
  s.source = "the RDK X5 ONNX operator list, D-Robotics/rdk_doc "
             "docs/07_Advanced_development/04_toolchain_development/intermediate/supported_op_list.md (section "
             "\"RDK X5支持的ONNX算子列表\", commit fde2a10).";
  s.notes = "Differences from bayes: conv kernel volume C*kh*kw <= 32767 (bayes 65535); AveragePool window H*W in "
            "[2, 8192] and pads <= 255; ConvTranspose kernel-size formula <= 32767 and output_padding <= 1; Softmax "
            "(CPU by default, unlike bayes) on the BPU only along axis 3 of a 4-D input. int8 and int16 as on bayes.";
  return s;
}

}  // namespace

const arch::Target& target() {
  static const bayes::FamilyTarget t(spec());
  return t;
}

}  // namespace bpu::bayes_e
