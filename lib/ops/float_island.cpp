// Float islands composed from the registry's per-op float formulas (see float_island.h).

#include "ops/float_island.h"

#include <map>

#include "ops/op_def.h"

namespace bpu::ops {

bool island_member_op(const ir::Node& n) {
  const OpDef* op = find_op(n.op_type, n.domain);
  return op && op->has(kElementwise) && !op->has(kFakeQuant) && (op->formula || op->binary) && n.outputs.size() == 1 &&
         !n.inputs.empty();
}

bool island_movement_op(const ir::Node& n) {
  const OpDef* op = find_op(n.op_type, n.domain);
  if (!op || n.inputs.empty() || n.outputs.empty()) return false;
  const std::string& t = n.op_type;
  if (t == "Resize") {
    if (n.attr_string("mode", "nearest") != "nearest") return false;
  } else if (!op->has(kDataMovement) || op->has(kElementwise) || t == "Pad" || t == "Concat" || t == "Gather" ||
             t == "Expand") {
    return false;
  }
  return true;
}

std::vector<const ir::Node*> island_formula_nodes(const ir::Graph& g, const std::vector<int>& nodes) {
  std::vector<const ir::Node*> out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& n = g.nodes[nodes[i]];
    if (i + 1 < nodes.size() || island_member_op(n)) out.push_back(&n);
  }
  return out;
}

ir::Node island_moved_root(const ir::Node& root, const std::string& source) {
  ir::Node moved = root;
  moved.inputs[0] = source;
  return moved;
}

bool FloatIsland::compile(const ir::Graph& g, const std::vector<const ir::Node*>& nodes, const std::string& source,
                          std::string* why) {
  steps_.clear();
  std::map<std::string, int> slots{{source, 0}};
  auto operand = [&](const ir::Node& n, size_t k, Operand* o) {
    auto it = slots.find(n.inputs[k]);
    if (it != slots.end()) {
      o->slot = it->second;
      return true;
    }
    const ir::Tensor& t = g.tensor(n.inputs[k]);
    if (!t.is_constant || t.element_count() != 1) {
      *why = "node '" + n.name + "' reads '" + n.inputs[k] + "', which is neither the island's input nor a scalar constant";
      return false;
    }
    o->constant = t.float_data.empty() ? static_cast<float>(t.int_data.at(0)) : t.float_data.at(0);
    return true;
  };
  for (const ir::Node* n : nodes) {
    if (!island_member_op(*n)) {
      *why = "node '" + n->name + "' (" + n->op_type + ") has no float formula";
      return false;
    }
    const OpDef* op = find_op(n->op_type, n->domain);
    Step s;
    s.node = n;
    if (op->binary) {
      if (n->inputs.size() != 2 || !operand(*n, 0, &s.a) || !operand(*n, 1, &s.b)) {
        if (why->empty()) *why = "node '" + n->name + "' does not have two inputs";
        return false;
      }
      s.binary64 = op->binary64;
    } else {
      if (!operand(*n, 0, &s.a)) return false;
      if (s.a.slot < 0) {
        *why = "node '" + n->name + "' applies its formula to a constant";
        return false;
      }
      for (size_t k = 1; k < n->inputs.size(); ++k) {  // Clip's bounds: constants recorded by canonicalization
        if (!n->inputs[k].empty() && !g.tensor(n->inputs[k]).is_constant) {
          *why = "node '" + n->name + "' reads the run-time input '" + n->inputs[k] + "'";
          return false;
        }
      }
      s.unary64 = op->formula64;
    }
    steps_.push_back(s);
    slots[n->outputs[0]] = static_cast<int>(steps_.size());
  }
  return !steps_.empty();
}

double FloatIsland::evaluate64(double x) const {
  std::vector<double> v(steps_.size() + 1);
  v[0] = x;
  auto get = [&](const Operand& o) { return o.slot >= 0 ? v[static_cast<size_t>(o.slot)] : static_cast<double>(o.constant); };
  for (size_t k = 0; k < steps_.size(); ++k) {
    const Step& s = steps_[k];
    v[k + 1] = s.binary64 ? s.binary64(get(s.a), get(s.b)) : s.unary64(*s.node, get(s.a));
  }
  return v.back();
}

}  // namespace bpu::ops
