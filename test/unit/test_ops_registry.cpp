// Walks the op registry and the bayes op table: every registered ai.onnx op has a shape rule (its CPU kernel's
// shapes-only mode) and a CPU kernel, formula-based ops have a formula, fusable activations a clamp rule; every op
// the bayes target accepts is a registry op with a CPU kernel (the fallback) and a lowering. Simulator kernels
// per opcode are enforced at compile time by the ISA table (test_isa_table). Canonicalization: an op whose
// opset forms differ has a canonicalize function, checked here on the ops the issue names.

#include <set>

#include "arch/bayes/constraints.h"
#include "arch/target.h"
#include "ops/op_def.h"
#include "test_helpers.h"

using namespace bpu;

TEST_CASE("op registry: every op has a shape rule, a CPU kernel and the entries its traits promise", "[ops]") {
  std::set<std::string> seen;
  for (const auto& op : ops::all_ops()) {
    INFO(op.type);
    CHECK(seen.insert(op.domain + "::" + op.type).second);  // one home per op
    CHECK(op.kernel != nullptr);
    CHECK_FALSE(op.forms.empty());
    if (op.has(ops::kLutable)) CHECK(op.formula != nullptr);
    if (op.has(ops::kFusableActivation)) CHECK(op.clamp != nullptr);
    CHECK(ops::find_op(op.type, op.domain) == &op);
  }
}

TEST_CASE("op registry: ops whose opset forms differ are canonicalized", "[ops]") {
  for (const char* type : {"Clip", "Pad", "Slice", "Squeeze", "Unsqueeze", "Split", "ReduceMean", "ReduceMax",
                           "ReduceSum", "Resize", "Softmax", "LogSoftmax", "Hardmax", "LeakyRelu", "HardSigmoid",
                           "Elu", "Selu", "Gemm", "Transpose", "Flatten", "DepthToSpace", "MaxPool", "AveragePool",
                           "Conv"}) {
    INFO(type);
    const ops::OpDef* op = ops::find_op(type);
    REQUIRE(op != nullptr);
    CHECK(op->canonicalize != nullptr);
  }
}

TEST_CASE("every march: each BPU op is a registry op with a CPU fallback and the family's lowering", "[ops]") {
  for (const arch::Target* target : arch::all_targets()) {
    for (const auto& support : target->op_table()) {
      INFO(target->march() << " " << support.op_type);
      const ops::OpDef* op = ops::find_op(support.op_type, support.domain);
      REQUIRE(op != nullptr);
      CHECK(op->kernel != nullptr);
      CHECK(support.lower != nullptr);
      CHECK_FALSE(support.lowering.empty());
      CHECK(target->find_op_support(support.op_type, support.domain) == &support);
      // The lowering is shared: every march's op is in the family table with the same lowering function.
      const bayes::OpSupport* family = bayes::family_op_support(support.op_type, support.domain);
      REQUIRE(family != nullptr);
      CHECK(family->lower == support.lower);
    }
  }
}
