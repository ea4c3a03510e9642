// Propagation of quantization parameters through shape-only ops (registry trait kShapeOnly): forward in
// topological order so chains work, then backward, so a shape op that canonicalization put between a float op
// and its fake quantization (Softmax coerced to 2-D: op -> Reshape -> Q) hands the scale to the op's output.
// Both are exact: reshaping does not change values, so quantizing before or after it gives the same codes.

#include "passes/shape_quant.h"

#include "ops/op_def.h"

namespace bpu {

namespace {

bool shape_only(const ir::Node& n) {
  return ops::has_trait(n, ops::kShapeOnly) && !n.inputs.empty() && n.outputs.size() == 1;
}

}  // namespace

int propagate_quant_through_shape_ops(ir::Graph& g) {
  int count = 0;
  for (const auto& n : g.nodes) {
    if (!shape_only(n)) continue;
    const ir::Tensor& x = g.tensor(n.inputs[0]);
    ir::Tensor& y = g.tensor(n.outputs[0]);
    if (x.is_constant || !x.quant || y.quant || x.quant->per_channel()) continue;
    y.quant = x.quant;
    ++count;
  }
  const auto consumers = g.consumer_index();
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    const ir::Node& n = *it;
    if (!shape_only(n)) continue;
    ir::Tensor& x = g.tensor(n.inputs[0]);
    const ir::Tensor& y = g.tensor(n.outputs[0]);
    if (x.is_constant || x.quant || !y.quant || y.quant->per_channel() || g.is_graph_output(x.name)) continue;
    if (g.producer(x.name) < 0) continue;  // a graph input stays as the user feeds it
    auto users = consumers.find(x.name);
    if (users == consumers.end() || users->second.size() != 1) continue;  // read in float elsewhere too
    x.quant = y.quant;
    ++count;
  }
  return count;
}

}  // namespace bpu
