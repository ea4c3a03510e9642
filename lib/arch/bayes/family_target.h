// The one Target class of the bayes family: bayes, bayes-e and bernoulli2 differ only in data (their op table,
// cost-model parameters, cited source and notes), which each march's target.cpp builds. Softmax runs on the BPU
// by default on bayes (its SOFTMAX computes the QAT model's exact value, docs/numerics.md §3c); bayes-e and
// bernoulli2 keep it on the CPU unless run_on_bpu lists it, as their public operator lists say.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "arch/bayes/constraints.h"
#include "arch/target.h"

namespace bpu::bayes {

struct FamilyTargetSpec {
  std::string march;  // a name of lib/common/march.h
  std::vector<OpSupport> table;
  arch::Hardware hardware;
  std::string source, notes;
  bool softmax_cpu_by_default = true;
};

class FamilyTarget final : public arch::Target {
 public:
  explicit FamilyTarget(FamilyTargetSpec spec) : spec_(std::move(spec)), facts_(*find_march(spec_.march)) {}
  const MarchFacts& facts() const override { return facts_; }
  const std::vector<OpSupport>& op_table() const override { return spec_.table; }
  std::string cpu_by_default(const ir::Node& n) const override {
    return spec_.softmax_cpu_by_default ? softmax_cpu_by_default(n, march()) : "";
  }
  arch::Hardware hardware() const override { return spec_.hardware; }
  std::string source() const override { return spec_.source; }
  std::string notes() const override { return spec_.notes; }
  bool allows_high_precision_output(const ir::Node& n) const override { return bayes::allows_high_precision_output(n); }
  bool is_shape_only_op(const std::string& op_type) const override { return bayes::is_shape_only_op(op_type); }
  int fusable_activation(const ir::Graph& g, const std::map<std::string, std::vector<int>>& consumers, int producer,
                         const std::set<std::string>& keep, std::pair<float, float>* bounds) const override {
    return bayes::fusable_activation(g, consumers, producer, keep, bounds);
  }

 private:
  FamilyTargetSpec spec_;
  const MarchFacts& facts_;
};

}  // namespace bpu::bayes
