// Float-island detection (see float_island.h): backward closure from each node with a quantized output (or each
// data movement writing quantized outputs from a float value) over float element-wise producers, one quantized
// source; members also needed in float elsewhere are marked kept once every island is known.

#include "partition/float_island.h"

#include <algorithm>
#include <set>

#include "common/march.h"
#include "ops/float_island.h"

namespace bpu {

namespace {

bool user_placed_on_cpu(const PartitionOptions& options, const std::string& node) {
  auto it = options.user_device.find(node);
  return it != options.user_device.end() && it->second == Device::Cpu;
}

// Members needed in float outside the island: those read outside and, transitively, their producers in the
// island. Sorted.
std::vector<int> kept_members(const ir::Graph& g, const std::map<std::string, int>& producers, const std::set<int>& members,
                              std::vector<int> pending) {
  std::set<int> kept;
  while (!pending.empty()) {
    const int k = pending.back();
    pending.pop_back();
    if (!kept.insert(k).second) continue;
    for (const auto& in : g.nodes[k].inputs) {
      auto p = producers.find(in);
      if (p != producers.end() && members.count(p->second)) pending.push_back(p->second);
    }
  }
  return {kept.begin(), kept.end()};
}

// True when `root` can end an island: an element-wise op with a quantized output, or a data movement
// (ops::island_movement_op) reading a float value and writing only quantized outputs.
bool island_root_candidate(const ir::Graph& g, const ir::Node& n) {
  if (ops::island_member_op(n)) {
    const ir::Tensor& out = g.tensor(n.outputs[0]);
    return out.quant && !out.quant->per_channel();
  }
  if (!ops::island_movement_op(n) || g.tensor(n.inputs[0]).quant) return false;
  for (size_t k = 1; k < n.inputs.size(); ++k) {
    if (!n.inputs[k].empty() && !g.tensor(n.inputs[k]).is_constant) return false;
  }
  for (const auto& o : n.outputs) {
    if (o.empty()) continue;
    const ir::Tensor& t = g.tensor(o);
    if (!t.quant || t.quant->per_channel()) return false;
  }
  return true;
}

// The island ending at `root` (members and source; `kept` is filled once every island is known), or an empty
// match.
FloatIslandMatch grow_island(const ir::Graph& g, const std::map<std::string, int>& producers, int root) {
  FloatIslandMatch m;
  std::set<int> members{root};
  const ir::Node& r = g.nodes[root];
  const bool movement = !ops::island_member_op(r);
  std::vector<std::string> pending = movement ? std::vector<std::string>{r.inputs[0]} : r.inputs;
  std::set<std::string> seen;
  while (!pending.empty()) {
    const std::string t = pending.back();
    pending.pop_back();
    if (t.empty() || !seen.insert(t).second) continue;
    const ir::Tensor& tensor = g.tensor(t);
    if (tensor.is_constant) continue;  // FloatIsland::compile accepts scalar constants only
    if (tensor.quant) {
      if (!m.source.empty() && m.source != t) return {};  // two run-time inputs
      m.source = t;
      continue;
    }
    auto p = producers.find(t);
    if (p == producers.end() || !ops::island_member_op(g.nodes[p->second])) return {};
    members.insert(p->second);
    for (const auto& in : g.nodes[p->second].inputs) pending.push_back(in);
  }
  if (m.source.empty() || (movement && members.size() < 2)) return {};
  const ir::Tensor& src = g.tensor(m.source);
  if (src.quant->per_channel() || src.elem_type != ir::ElemType::Float) return {};
  for (int k : members) {
    if (movement && k == root) continue;
    // scalar constants only: the values keep the source's shape
    if (g.tensor(g.nodes[k].outputs[0]).shape != src.shape) return {};
  }
  m.root = root;
  m.nodes.assign(members.begin(), members.end());  // node indices are in topological order
  return m;
}

// Fills each island's `kept`: a member whose value is a graph output or is read by a node outside every island's
// BPU part is needed in float, with its producers in the island. Islands may share members (YOLO's SiLU read by
// the next conv's quantizing Identity and by nn.Upsample): each table computes from the source on its own. A
// member kept in one island is kept in all (it runs once, on its own placement), which can keep more members
// elsewhere: repeated until nothing changes.
void mark_kept(const ir::Graph& g, const std::map<std::string, int>& producers,
               const std::map<std::string, std::vector<int>>& consumers, std::vector<FloatIslandMatch>* islands) {
  std::set<int> kept_any;
  for (bool changed = true; changed;) {
    std::set<int> on_bpu;
    for (const auto& m : *islands) {
      for (int k : m.nodes) {
        if (k == m.root || !kept_any.count(k)) on_bpu.insert(k);
      }
    }
    changed = false;
    for (auto& m : *islands) {
      const std::set<int> members(m.nodes.begin(), m.nodes.end());
      std::vector<int> read_outside;
      for (int k : m.nodes) {
        if (k == m.root) continue;
        const std::string& out = g.nodes[k].outputs[0];
        bool outside = g.is_graph_output(out) || kept_any.count(k);
        auto users = consumers.find(out);
        if (users != consumers.end()) {
          for (int u : users->second) outside |= !on_bpu.count(u);
        }
        if (outside) read_outside.push_back(k);
      }
      m.kept = kept_members(g, producers, members, read_outside);
      for (int k : m.kept) changed |= kept_any.insert(k).second;
    }
  }
}

}  // namespace

std::vector<FloatIslandMatch> find_float_islands(const ir::Graph& g, const PartitionOptions& options,
                                                const std::function<bool(const FloatIslandMatch&)>& accept) {
  const std::map<std::string, int> producers = g.producer_index();
  const std::map<std::string, std::vector<int>> consumers = g.consumer_index();
  std::vector<FloatIslandMatch> found;
  const MarchFacts* march = find_march(options.march);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!island_root_candidate(g, n)) continue;
    FloatIslandMatch m = grow_island(g, producers, static_cast<int>(i));
    if (m.root < 0) continue;
    bool wide = g.tensor(m.source).quant->bits == 16;
    for (const auto& o : n.outputs) wide |= !o.empty() && g.tensor(o).quant->bits == 16;
    if (march && !march->bpu_int16 && wide) continue;
    bool user_cpu = false;
    for (int k : m.nodes) user_cpu |= user_placed_on_cpu(options, g.nodes[k].name);
    if (user_cpu) continue;
    ops::FloatIsland island;
    std::string why;
    if (!island.compile(g, ops::island_formula_nodes(g, m.nodes), m.source, &why)) continue;
    if (accept && !accept(m)) continue;
    found.push_back(std::move(m));
  }
  mark_kept(g, producers, consumers, &found);
  return found;
}

std::string island_root_sentence(const ir::Graph& g, const FloatIslandMatch& m) {
  std::string ops;
  for (int k : m.nodes) ops += (ops.empty() ? "" : ", ") + g.nodes[k].op_type;
  const int bits = g.tensor(m.source).quant->bits;
  return "float island of " + std::to_string(m.nodes.size()) + " node" + (m.nodes.size() == 1 ? "" : "s") + " (" +
         ops + ") reading '" + m.source + "', run as one " + (bits == 16 ? "65536" : "256") +
         "-entry lookup table from the float formulas" +
         (ops::island_member_op(g.nodes[m.root]) ? "" : ", applied to each output after the " + g.nodes[m.root].op_type + " moves the codes") +
         (m.kept.empty() ? "" : " (" + std::to_string(m.kept.size()) + " also run on their own for their float readers)");
}

}  // namespace bpu
