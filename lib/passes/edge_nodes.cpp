// Output edge nodes removed on the graph (remove_node_type / remove_node_name for Transpose, Reshape, Cast, Softmax).

#include "passes/edge_nodes.h"

#include <algorithm>

#include "common/error.h"

namespace bpu {

namespace {

// Why node `n` cannot be removed as an output edge node ("" when it can).
std::string edge_problem(const ir::Graph& g, const ir::Node& n) {
  const std::string out = n.outputs.empty() ? "" : n.outputs[0];
  if (n.outputs.size() != 1 || out.empty() || !g.is_graph_output(out)) return "its output is not a model output";
  if (!g.consumers(out).empty()) return "its output is also read by another node";
  if (n.inputs.empty() || n.inputs[0].empty()) return "it has no data input";
  const std::string& x = n.inputs[0];
  if (std::count(g.inputs.begin(), g.inputs.end(), x)) return "it reads a model input (nothing would be left to run)";
  if (g.has_tensor(x) && g.tensor(x).is_constant) return "it reads a constant";
  if (g.is_graph_output(x)) return "its input is a model output already";
  if (g.consumers(x).size() != 1) return "its input is also read by another node";
  return "";
}

// For a Transpose NHWC->NCHW or NCHW->NHWC that is the only reader of a model input: true and the input's format
// (runtime layout = the Transpose's output, train layout = the input's own).
bool input_transpose(const ir::Graph& g, const ir::Node& n, InputFormat* f) {
  if (n.op_type != "Transpose" || n.inputs.empty() || n.outputs.size() != 1) return false;
  const std::string& x = n.inputs[0];
  if (!std::count(g.inputs.begin(), g.inputs.end(), x) || g.consumers(x).size() != 1 || g.is_graph_output(x)) return false;
  if (g.is_graph_output(n.outputs[0]) || g.tensor(x).shape.size() != 4) return false;
  const std::vector<int64_t> perm = n.attr_ints("perm", {});
  if (perm == std::vector<int64_t>{0, 3, 1, 2}) {
    f->train_nhwc = true;  // the model reads NHWC and transposes; the .bin takes NCHW
  } else if (perm == std::vector<int64_t>{0, 2, 3, 1}) {
    f->rt_nhwc = true;
  } else {
    return false;
  }
  return true;
}

// Drops input Transpose `i`: its output's readers read the model input, which takes the output's shape (and scale).
void drop_input_transpose(ir::Graph& g, int i) {
  const std::string x = g.nodes[i].inputs[0], y = g.nodes[i].outputs[0];
  ir::Tensor& in = g.tensor(x);
  in.shape = g.tensor(y).shape;
  if (g.tensor(y).quant) in.quant = g.tensor(y).quant;
  std::vector<bool> drop(g.nodes.size(), false);
  drop[i] = true;
  g.remove_nodes(drop);
  g.replace_uses_all({{y, x}});
}

}  // namespace

bool is_edge_node_type(const std::string& op_type) {
  return op_type == "Transpose" || op_type == "Reshape" || op_type == "Cast" || op_type == "Softmax";
}

std::vector<std::string> remove_edge_nodes(ir::Graph& g, const std::set<std::string>& types,
                                           const std::set<std::string>& names, const std::string& context,
                                           std::set<std::string>* unmatched,
                                           std::map<std::string, InputFormat>* input_formats) {
  std::set<std::string> pending;
  for (const auto& name : names) {
    auto it = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) { return n.name == name; });
    if (it == g.nodes.end()) {
      unmatched->insert(name);
    } else if (!is_edge_node_type(it->op_type)) {
      throw Error(ExitCode::Config, context + ": remove_node_name '" + name + "' is a " + it->op_type + "; the removable "
                                    "nodes are Transpose, Reshape, Cast and Softmax at a model output and the boundary "
                                    "Quantize/Dequantize nodes (<input>_HzQuantize, <output>_HzDequantize)");
    } else {
      pending.insert(name);
    }
  }
  std::vector<std::string> removed;
  // Last node first, and again until nothing changes: a Softmax before a removed Transpose becomes an edge too.
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = static_cast<int>(g.nodes.size()) - 1; i >= 0; --i) {
      const ir::Node& n = g.nodes[i];
      if (!pending.count(n.name) && !(types.count(n.op_type) && is_edge_node_type(n.op_type))) continue;
      InputFormat f;
      if (input_transpose(g, n, &f)) {
        (*input_formats)[n.inputs[0]] = f;
        removed.push_back(n.name);
        pending.erase(n.name);
        drop_input_transpose(g, i);
        changed = true;
        break;
      }
      const std::string problem = edge_problem(g, n);
      if (!problem.empty()) continue;
      const std::string out = n.outputs[0], x = n.inputs[0];
      std::replace(g.outputs.begin(), g.outputs.end(), out, x);
      removed.push_back(n.name);
      pending.erase(n.name);
      std::vector<bool> drop(g.nodes.size(), false);
      drop[i] = true;
      g.remove_nodes(drop);
      changed = true;
      break;
    }
  }
  for (const auto& name : pending) {
    auto it = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) { return n.name == name; });
    throw Error(ExitCode::Config, context + ": remove_node_name '" + name + "' cannot be removed: " + edge_problem(g, *it) +
                                  " (a " + it->op_type + " is removed as the last node before a model output" +
                                  (it->op_type == "Transpose" ? ", or as the NHWC<->NCHW only reader of a model input)" : ")"));
  }
  std::reverse(removed.begin(), removed.end());
  return removed;
}

}  // namespace bpu
