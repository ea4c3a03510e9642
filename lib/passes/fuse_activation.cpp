// Conv/Add + Relu/Clip fusion.

#include "passes/fuse_activation.h"

#include <map>
#include <set>

#include "ops/op_def.h"

namespace bpu {

namespace {

// Clamp bounds of an activation node in real units, or false if it is not a fusable activation (registry).
bool activation_bounds(const ir::Graph& g, const ir::Node& n, std::pair<float, float>* bounds) {
  const ops::OpDef* op = ops::find_op(n.op_type, n.domain);
  return op && op->has(ops::kFusableActivation) && op->clamp && op->clamp(g, n, bounds);
}

}  // namespace

int fuse_activations(ir::Graph& g, const std::set<std::string>& keep) {
  int fused = 0;
  std::vector<bool> remove(g.nodes.size(), false);
  const std::map<std::string, std::vector<int>> consumers = g.consumer_index();
  const std::set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (remove[i] || (n.op_type != "Conv" && n.op_type != "Add") || !n.domain.empty() || n.outputs.size() != 1) continue;
    const std::string& out = n.outputs[0];
    if (g.tensor(out).quant || graph_outputs.count(out)) continue;
    auto users_it = consumers.find(out);
    if (users_it == consumers.end() || users_it->second.size() != 1) continue;
    const std::vector<int>& users = users_it->second;
    ir::Node& act = g.nodes[users[0]];
    if (keep.count(act.name)) continue;
    std::pair<float, float> bounds;
    if (!activation_bounds(g, act, &bounds)) continue;
    n.fused_clamp = bounds;
    n.fused_nodes.push_back(act);
    n.outputs[0] = act.outputs[0];
    remove[users[0]] = true;
    ++fused;
  }
  g.remove_nodes(remove);
  return fused;
}

}  // namespace bpu
