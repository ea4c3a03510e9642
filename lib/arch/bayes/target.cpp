// The bayes target: the family table at its default limits (the RDK Ultra list), Softmax on the CPU unless
// run_on_bpu lists it, and the cost-model assumptions bpu-mapper started from.

#include "arch/bayes/target.h"

#include "arch/bayes/family_target.h"

namespace bpu::bayes {

const arch::Target& target() {
  static const FamilyTarget t({"bayes", family_op_table(FamilyLimits{}), arch::Hardware{},
                               "the RDK Ultra ONNX operator list, D-Robotics/rdk_doc "
                               "docs/07_Advanced_development/04_toolchain_development/intermediate/supported_op_list.md "
                               "(section \"RDK Ultra支持的ONNX算子列表\", commit fde2a10), as summarized in "
                               "../shared/reference/hb_mapper.md §8.",
                               "The reference march: int8 and int16 activations, conv kernels up to 31x31, Softmax on "
                               "the CPU unless run_on_bpu lists it. Its cost model is bpu-mapper's original "
                               "assumptions (docs/performance.md)."});
  return t;
}

}  // namespace bpu::bayes
