// Float-island detection (see float_island.h): backward closure from each node with a quantized output over
// float element-wise producers, closed (no intermediate value read elsewhere), one quantized source.

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

// The island ending at `root`, or an empty match.
FloatIslandMatch grow_island(const ir::Graph& g, const std::map<std::string, int>& producers,
                             const std::map<std::string, std::vector<int>>& consumers, int root) {
  FloatIslandMatch m;
  std::set<int> members{root};
  std::vector<std::string> pending(g.nodes[root].inputs.begin(), g.nodes[root].inputs.end());
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
  if (m.source.empty()) return {};
  const ir::Tensor& src = g.tensor(m.source);
  if (src.quant->per_channel() || src.elem_type != ir::ElemType::Float) return {};
  std::vector<int> read_outside;
  for (int k : members) {
    const std::string& out = g.nodes[k].outputs[0];
    if (g.tensor(out).shape != src.shape) return {};  // scalar constants only: the values keep the source's shape
    if (k == root) continue;
    auto users = consumers.find(out);
    if (users == consumers.end()) return {};
    bool outside = g.is_graph_output(out);
    for (int u : users->second) {
      if (members.count(u)) continue;
      // A reader that is an island op could be another island's member: leave both to the per-node rules.
      if (ops::island_member_op(g.nodes[u])) return {};
      outside = true;
    }
    if (outside) read_outside.push_back(k);
  }
  m.root = root;
  m.nodes.assign(members.begin(), members.end());  // node indices are in topological order
  m.kept = kept_members(g, producers, members, read_outside);
  return m;
}

}  // namespace

std::vector<FloatIslandMatch> find_float_islands(const ir::Graph& g, const PartitionOptions& options) {
  const std::map<std::string, int> producers = g.producer_index();
  const std::map<std::string, std::vector<int>> consumers = g.consumer_index();
  std::vector<FloatIslandMatch> found;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!ops::island_member_op(n)) continue;
    const ir::Tensor& out = g.tensor(n.outputs[0]);
    if (!out.quant || out.quant->per_channel()) continue;
    FloatIslandMatch m = grow_island(g, producers, consumers, static_cast<int>(i));
    if (m.root < 0) continue;
    const MarchFacts* march = find_march(options.march);
    const auto& source_quant = g.tensor(m.source).quant;
    if (march && !march->bpu_int16 && ((source_quant && source_quant->bits == 16) || out.quant->bits == 16)) continue;
    bool user_cpu = false;
    for (int k : m.nodes) user_cpu |= user_placed_on_cpu(options, g.nodes[k].name);
    if (user_cpu) continue;
    std::vector<const ir::Node*> nodes;
    for (int k : m.nodes) nodes.push_back(&g.nodes[k]);
    ops::FloatIsland island;
    std::string why;
    if (!island.compile(g, nodes, m.source, &why)) continue;
    found.push_back(std::move(m));
  }
  return found;
}

std::string island_root_sentence(const ir::Graph& g, const FloatIslandMatch& m) {
  std::string ops;
  for (int k : m.nodes) ops += (ops.empty() ? "" : ", ") + g.nodes[k].op_type;
  const int bits = g.tensor(m.source).quant->bits;
  return "float island of " + std::to_string(m.nodes.size()) + " node" + (m.nodes.size() == 1 ? "" : "s") + " (" +
         ops + ") reading '" + m.source + "', run as one " + (bits == 16 ? "65536" : "256") +
         "-entry lookup table from the float formulas" +
         (m.kept.empty() ? "" : " (" + std::to_string(m.kept.size()) + " also run on their own for their float readers)");
}

}  // namespace bpu
