// The bayes target: the family table at its default limits (the RDK Ultra list), Softmax on the BPU by default
// (unlike the list: SOFTMAX computes the exact value), and the cost-model assumptions bpu-mapper started from.

#include "arch/bayes/target.h"

#include "arch/bayes/family_target.h"

namespace bpu::bayes {

const arch::Target& target() {
  static const FamilyTarget t({"bayes", family_op_table(FamilyLimits{}), arch::Hardware{},
                               "the RDK Ultra ONNX operator list, D-Robotics/rdk_doc "
                               "docs/07_Advanced_development/04_toolchain_development/intermediate/supported_op_list.md "
                               "(section \"RDK Ultra支持的ONNX算子列表\", commit fde2a10), as summarized in "
                               "../shared/reference/hb_mapper.md §8.",
                               "The reference march: int8 and int16 activations, conv kernels up to 31x31. Softmax with "
                               "quantized input and output runs on the BPU by default (the RDK Ultra list puts it "
                               "on the CPU): its SOFTMAX computes the QAT model's value in float64 and rounds it by "
                               "the model's own definition, equal to verify --exact (docs/numerics.md §3c); "
                               "run_on_cpu keeps it on the CPU. Its cost model is bpu-mapper's original "
                               "assumptions (docs/performance.md).",
                               false});
  return t;
}

}  // namespace bpu::bayes
