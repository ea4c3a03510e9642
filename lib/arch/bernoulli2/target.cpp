// The bernoulli2 target (RDK X3 / XJ3): int8 only; the bayes family table with X3's limits (D-Robotics/rdk_doc
// supported_op_list.md, section "RDK X3支持的ONNX算子列表", commit fde2a10), without the ops X3 runs on the CPU
// (Sub, Erf, Selu, Elu, HardSigmoid, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, ReduceMax, ReduceSum; HardSwish
// is not on X3's list) and with X3's own rules (rules.cpp). Two BPU cores.

#include "arch/bernoulli2/target.h"

#include "arch/bayes/family_target.h"

namespace bpu::bernoulli2 {

namespace {

constexpr const char* kMarch = "bernoulli2";

bayes::FamilyLimits limits() {
  bayes::FamilyLimits L;
  L.conv_max_kernel = 7;            // kernel [1,7] x [1,7]
  L.conv_max_kernel_volume = 32768;  // one kernel H*W*C <= 32768
  L.conv_max_channels_per_group = 4096;  // the tighter per-case bound is conv_channels()
  L.pool_max_kernel = 64;           // MaxPool kernel [1,64]; AveragePool [1,7] is avgpool_kernel()
  L.pool_max_stride = 185;
  L.global_max_pool_hw = 1024;
  L.gemm_max_k = 16384;             // InnerProduct/Gemm on a 1x1 plane: C <= 16384
  L.gemm_max_n = 4096;
  return L;
}

bayes::FamilyTargetSpec spec() {
  bayes::FamilyTargetSpec s{kMarch, bayes::family_op_table(limits()), {}, "", ""};
  bayes::remove_ops(&s.table, {"Sub", "Erf", "Selu", "Elu", "HardSigmoid", "HardSwish", "Reshape", "Flatten",
                              "Squeeze", "Unsqueeze", "Transpose", "ReduceMax", "ReduceSum"});
  bayes::add_constraints(&s.table, "Conv", {conv_channels(), conv_dilation()});
  bayes::add_constraints(&s.table, "ConvTranspose", {deconv_geometry()});
  bayes::add_constraints(&s.table, "AveragePool", {avgpool_kernel()});
  bayes::add_constraints(&s.table, "GlobalAveragePool", {global_avgpool_plane()});
  bayes::add_constraints(&s.table, "Add", {add_shapes()});
  bayes::add_constraints(&s.table, "Mul", {mul_shapes()});
  bayes::add_constraints(&s.table, "Sigmoid", {sigmoid_aligned_size()});
  bayes::add_constraints(&s.table, "Tanh", {plane_at_most_8192()});
  bayes::add_constraints(&s.table, "Softplus", {plane_at_most_8192()});
  bayes::add_constraints(&s.table, "Softmax", {softmax_output_axis1()});
  bayes::add_constraints(&s.table, "Concat", {concat_channels()});
  bayes::add_constraints(&s.table, "Split", {split_axis()});
  bayes::add_constraints(&s.table, "Pad", {pad_hw_only()});
  bayes::add_constraints(&s.table, "Resize", {resize_nearest_power_of_two()});
  bayes::add_constraints(&s.table, "ReduceMean", {reduce_mean_hw()});
  bayes::add_constraints(&s.table, "DepthToSpace", {blocksize_two()});
  bayes::add_constraints(&s.table, "SpaceToDepth", {blocksize_two()});
  // X3: two Bernoulli2 cores, 5 TOPS nominal in all (2.5 per core). The MAC rate is bayes's assumption scaled by
  // the nominal TOPS per core (2.5 against J5's 64): 4096 * 2.5 / 64 = 160. Clock, vector rate, DDR (LPDDR4-3200
  // x32) and SRAM are assumptions, documented in docs/performance.md.
  s.hardware.clock_mhz = 1000;
  s.hardware.cores = 2;
  s.hardware.int8_macs_per_cycle = 160;
  s.hardware.vector_elements_per_cycle = 64;
  s.hardware.ddr_gbytes_per_second = 12.8;
  s.hardware.sram_kib = 512;
  s.source = "the RDK X3 ONNX operator list, D-Robotics/rdk_doc "
             "docs/07_Advanced_development/04_toolchain_development/intermediate/supported_op_list.md (section "
             "\"RDK X3支持的ONNX算子列表\", commit fde2a10).";
  s.notes = "Differences from bayes: int8 only (a 16-bit activation keeps its node on the CPU; node_info int16 "
            "requests are refused by the config check); Sub, Erf, Selu, Elu, HardSigmoid, HardSwish, Reshape, "
            "Flatten, Squeeze, Unsqueeze, Transpose, ReduceMax and ReduceSum run on the CPU; conv kernels up to 7x7, "
            "H*W*C <= 32768, channels per group <= 2048 (4096 for a plain convolution), dilations powers of 2; "
            "ConvTranspose kernel >= 2 with strides 2 or 4; MaxPool kernel <= 64, AveragePool kernel <= 7, strides "
            "<= 185; Add and Mul 4-D with X3's shape pairs; Sigmoid, Tanh and Softplus on planes of at most 8192 "
            "elements; Softmax (run_on_bpu) only 4-D along axis 1 as a model output.";
  return s;
}

}  // namespace

const arch::Target& target() {
  static const bayes::FamilyTarget t(spec());
  return t;
}

}  // namespace bpu::bernoulli2
