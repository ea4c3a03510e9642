// The target interface: what bpu-mapper knows about one Horizon march, behind one class, as Arm Vela's Regor keeps
// architecture/<target>/ behind IArchitectureConstraints. Each march lives in its folder (lib/arch/bayes/,
// lib/arch/bayes_e/, lib/arch/bernoulli2/) and gives its operator support table (each constraint one function with
// a user-facing rule text and an instance detail), the ops it keeps on the CPU unless run_on_bpu lists them, its
// cost-model defaults and the public list its table follows. What the three share: the bayes ISA, its encoder,
// decoder and disassembler (lib/arch/bayes/isa*), the lowering (lib/arch/bayes/lower/), the simulator
// (lib/arch/bayes/sim/) and lib/numerics; a march's table may only hold ops that lowering implements.
// The partitioner asks the target for placement verdicts; the same tables print the placement reasons and
// generate docs/supported_ops*.md.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "arch/hardware.h"
#include "common/march.h"
#include "ir/graph.h"

namespace bpu {
class SegmentBuilder;
}

namespace bpu::arch {

struct Constraint {
  std::string rule;  // static text, limits filled in
  // Returns "" when the node satisfies the rule, else a description of this instance.
  std::function<std::string(const ir::Graph&, const ir::Node&)> check;
};

// The per-op lowering (lib/arch/bayes/lower/): a SegmentBuilder method that emits the op's instructions.
using LowerFn = void (SegmentBuilder::*)(const ir::Node&);

struct OpSupport {
  OpSupport(std::string op, std::string what, std::vector<Constraint> rules, LowerFn fn, std::string op_domain = "")
      : op_type(std::move(op)), lowering(std::move(what)), constraints(std::move(rules)), lower(fn), domain(std::move(op_domain)) {}
  std::string op_type;
  std::string lowering;  // what the BPU does with it, for the docs
  std::vector<Constraint> constraints;
  LowerFn lower = nullptr;
  std::string domain;    // "" for ai.onnx; "horizon" for HzPreprocess
};

struct ConstraintVerdict {
  bool supported = true;
  std::string rule;    // the violated rule, or empty
  std::string detail;  // the instance detail, or empty
};

class Target {
 public:
  virtual ~Target() = default;
  virtual const MarchFacts& facts() const = 0;
  const std::string& march() const { return facts().name; }
  // The ops this march's BPU runs, each with its constraints, in documentation order.
  virtual const std::vector<OpSupport>& op_table() const = 0;
  // The sentence explaining why `node` runs on the CPU unless calibration_parameters.run_on_bpu lists it, or ""
  // when the march has no such default for it.
  virtual std::string cpu_by_default(const ir::Node& node) const = 0;
  // Cost-model defaults, documented in docs/performance.md.
  virtual Hardware hardware() const = 0;
  // The public operator list the table follows, and what this march changes against the others (docs).
  virtual std::string source() const = 0;
  virtual std::string notes() const = 0;
  // Placement facts the partitioner asks: ops whose output may stay the int32 accumulator when it carries no fake
  // quantization; pure data movement that follows its neighbours' placement; and fusion legality, the activation
  // node that `producer` absorbs as its output clamp (bounds in real units), -1 for none or one in `keep`.
  virtual bool allows_high_precision_output(const ir::Node& node) const = 0;
  virtual bool is_shape_only_op(const std::string& op_type) const = 0;
  virtual int fusable_activation(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, int producer,
                                 const std::set<std::string>& keep, std::pair<float, float>* bounds) const = 0;

  const OpSupport* find_op_support(const std::string& op_type, const std::string& domain) const;
  // Op support, then (on an int8-only march) the int8 rule, then every constraint of the op, stopping at the first
  // violation. Rules and details name the march where the op or the limit is march-specific.
  ConstraintVerdict check(const ir::Graph& graph, const ir::Node& node) const;
  // Markdown page of the table (docs/supported_ops.md for bayes, docs/supported_ops_<march>.md for the others).
  std::string supported_ops_markdown() const;
};

// Every target, bayes first.
const std::vector<const Target*>& all_targets();
// nullptr for an unknown name.
const Target* find_target(const std::string& march);
// Throws Error(Usage) naming the known marches for an unknown name.
const Target& target_for(const std::string& march);

}  // namespace bpu::arch
