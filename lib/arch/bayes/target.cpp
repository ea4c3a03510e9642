// The bayes target: the family table at its default limits (the RDK Ultra list), Softmax on the CPU unless
// run_on_bpu lists it, and the cost-model assumptions bpu-mapper started from.

#include "arch/bayes/target.h"

#include "arch/bayes/constraints.h"

namespace bpu::bayes {

namespace {

class Bayes final : public arch::Target {
 public:
  Bayes() : table_(family_op_table(FamilyLimits{})) {}
  const MarchFacts& facts() const override { return *find_march("bayes"); }
  const std::vector<OpSupport>& op_table() const override { return table_; }
  std::string cpu_by_default(const ir::Node& n) const override { return bayes::softmax_cpu_by_default(n, march()); }
  arch::Hardware hardware() const override { return arch::Hardware{}; }
  std::string source() const override {
    return "the RDK Ultra ONNX operator list, D-Robotics/rdk_doc "
           "docs/07_Advanced_development/04_toolchain_development/intermediate/supported_op_list.md (section "
           "\"RDK Ultra支持的ONNX算子列表\", commit fde2a10), as summarized in ../shared/reference/hb_mapper.md §8.";
  }
  std::string notes() const override {
    return "The reference march: int8 and int16 activations, conv kernels up to 31x31, Softmax on the CPU unless "
           "run_on_bpu lists it. Cost model: 1000 MHz, 4096 int8 MACs/cycle per core (2 cores, one per frame), 256 "
           "vector elements/cycle, 25.6 GB/s DDR, 2048 KiB SRAM (bpu-mapper's assumptions, docs/performance.md).";
  }

 private:
  std::vector<OpSupport> table_;
};

}  // namespace

const arch::Target& target() {
  static const Bayes t;
  return t;
}

}  // namespace bpu::bayes
