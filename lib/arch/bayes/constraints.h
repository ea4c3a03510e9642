// The operator support table of the bayes family: one builder, parametrized by the limits in which the three
// marches differ, that every target (lib/arch/<march>/target.cpp) starts from before it removes the ops its BPU
// lacks and adds its own rules. Each constraint is one function with a user-facing rule text and an instance detail
// ("kernel 33x33 exceeds 31x31"); the partitioner prints them as placement reasons and docs/supported_ops*.md is
// generated from them. Also the family's fusion legality and op classes, which the lowering shares.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "arch/target.h"
#include "ir/graph.h"

namespace bpu::bayes {

using arch::Constraint;
using arch::ConstraintVerdict;
using arch::LowerFn;
using arch::OpSupport;

// The numbers of the family table. The defaults are bayes's (the RDK Ultra / J5 list); a march overrides the
// ones its list states differently.
struct FamilyLimits {
  int64_t max_spatial = 65536;          // H, W, C of 4-D BPU tensors
  int64_t conv_max_kernel = 31;         // kernel height and width
  int64_t conv_max_kernel_volume = 65535;  // input channels per group x kh x kw
  int64_t conv_max_channels_per_group = 8192;
  int64_t conv_max_stride = 256, conv_max_dilation = 16, conv_max_pad = 256;
  int64_t deconv_max_channels = 2048, deconv_max_kernel = 14, deconv_max_stride = 14;
  int64_t pool_max_kernel = 256, pool_max_stride = 256, pool_max_pad = 256;
  int64_t global_max_pool_hw = 256;     // GlobalMaxPool input H and W
  int64_t gemm_max_k = 65535, gemm_max_n = 8192;
};

std::vector<OpSupport> family_op_table(const FamilyLimits& limits);

// Table editing for the targets: drops the named ops; appends rules to one op (which must be in the table).
void remove_ops(std::vector<OpSupport>* table, const std::vector<std::string>& ops);
void add_constraints(std::vector<OpSupport>* table, const std::string& op, std::vector<Constraint> rules);
// Replaces the op's rule whose text starts with `prefix` (which must exist) by `rule`.
void replace_constraint(std::vector<OpSupport>* table, const std::string& op, const std::string& prefix, Constraint rule);

// The lowering of an op in the family table (every march's table is a subset of it), or nullptr.
const OpSupport* family_op_support(const std::string& op_type, const std::string& domain);

// Activations the BPU runs as a lookup table.
bool is_lut_op(const std::string& op_type);

// Reshape, Flatten, Squeeze, Unsqueeze: pure data movement that follows its neighbours' placement.
bool is_shape_only_op(const std::string& op_type);

// Fusion legality in the family (applied by the BPU lowering after placement, so the graph itself is never
// rewritten and CPU segments and staged models keep the nodes as exported): the activation node that `producer`
// (a Conv or an Add whose only reader is the activation, output not fake-quantized, not a graph output) absorbs as
// its output clamp, with the clamp bounds in real units; -1 when there is none or the activation is in `keep`.
int fusable_activation(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, int producer,
                       const std::set<std::string>& keep, std::pair<float, float>* bounds);

// The family's CPU default where a march keeps it (bayes-e and bernoulli2 keep Softmax on the CPU unless run_on_bpu lists it): the reason
// sentence naming `march` for a Softmax node, else "".
std::string softmax_cpu_by_default(const ir::Node& node, const std::string& march);

// Gather's indices as SLICE starts and step (shared by the Gather rule and its lowering): a constant scalar or
// 1-D list i0, i0+d, i0+2d, ... (d >= 1), every index inside the axis (negative ones counted from its end). False
// with `why` otherwise.
bool gather_as_slice(const ir::Graph& g, const ir::Node& n, int64_t* axis, int64_t* start, int64_t* step, std::string* why);

// Ops whose output may stay the int32 accumulator when it carries no fake quantization (Conv).
bool allows_high_precision_output(const ir::Node& node);

// Shared rule builders the targets reuse in their own rules.
Constraint per_tensor_io();
std::string shape_text(int64_t v);

}  // namespace bpu::bayes
