// The bayes march's operator support table: which ONNX ops the BPU runs and each op's constraints.
// Each constraint is one function with a user-facing rule text and an instance detail ("kernel 33x33 exceeds
// 31x31"); the partitioner prints them as placement reasons and docs/supported_ops.md is generated from them.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace bpu {
class SegmentBuilder;
}

namespace bpu::bayes {

struct Constraint {
  std::string rule;  // static text, limits filled in
  // Returns "" when the node satisfies the rule, else a description of this instance.
  std::function<std::string(const ir::Graph&, const ir::Node&)> check;
};

// The per-op lowering (lib/arch/bayes/lower/): a SegmentBuilder method that emits the op's instructions.
using LowerFn = void (SegmentBuilder::*)(const ir::Node&);

struct OpSupport {
  std::string op_type;
  std::string lowering;  // what the BPU does with it, for the docs
  std::vector<Constraint> constraints;
  LowerFn lower = nullptr;
};

const std::vector<OpSupport>& bpu_op_table();
const OpSupport* find_op_support(const std::string& op_type, const std::string& domain);

struct ConstraintVerdict {
  bool supported = true;
  std::string rule;    // the violated rule, or empty
  std::string detail;  // the instance detail, or empty
};

// Checks op support and every constraint of the op, stopping at the first violation.
ConstraintVerdict check_bpu_constraints(const ir::Graph& graph, const ir::Node& node);

// Activations the BPU runs as a lookup table.
bool is_lut_op(const std::string& op_type);

// Reshape, Flatten, Squeeze, Unsqueeze: pure data movement that follows its neighbours' placement.
bool is_shape_only_op(const std::string& op_type);

// Fusion legality on bayes (applied by the BPU lowering after placement, so the graph itself is never rewritten
// and CPU segments and staged models keep the nodes as exported): the activation node that `producer` (a Conv or
// an Add whose only reader is the activation, output not fake-quantized, not a graph output) absorbs as its
// output clamp, with the clamp bounds in real units; -1 when there is none or the activation is in `keep`.
int fusable_activation(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, int producer,
                       const std::set<std::string>& keep, std::pair<float, float>* bounds);

// Ops the bayes BPU runs only when the user lists them in run_on_bpu (Softmax, as on the real toolchain).
bool cpu_by_default(const ir::Node& node);
// Ops whose output may stay the int32 accumulator when it carries no fake quantization (Conv).
bool allows_high_precision_output(const ir::Node& node);

// Markdown listing of the table (docs/supported_ops.md).
std::string supported_ops_markdown();

}  // namespace bpu::bayes
