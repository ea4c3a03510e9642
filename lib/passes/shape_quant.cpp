// Propagation of quantization parameters through shape-only ops, in topological order so chains work.

#include "passes/shape_quant.h"

#include "arch/bayes/constraints.h"

namespace bpu {

int propagate_quant_through_shape_ops(ir::Graph& g) {
  int count = 0;
  for (const auto& n : g.nodes) {
    if (!n.domain.empty() || !bayes::is_shape_only_op(n.op_type) || n.inputs.empty() || n.outputs.size() != 1) continue;
    const ir::Tensor& x = g.tensor(n.inputs[0]);
    ir::Tensor& y = g.tensor(n.outputs[0]);
    if (x.is_constant || !x.quant || y.quant || x.quant->per_channel()) continue;
    y.quant = x.quant;
    ++count;
  }
  return count;
}

}  // namespace bpu
