// Placement decisions (user, quantization context, march constraints) and convex segment formation.

#include "partition/partition.h"

#include <algorithm>
#include <set>

#include "arch/target.h"
#include "ops/op_def.h"
#include "common/edit_distance.h"
#include "common/error.h"
#include "ops/float_island.h"
#include "partition/float_island.h"

namespace bpu {

const char* device_name(Device d) { return d == Device::Bpu ? "BPU" : "CPU"; }

int PartitionResult::count(Device d) const {
  int n = 0;
  for (const auto& p : placements) n += p.device == d;
  return n;
}

int PartitionResult::segment_count(Device d) const {
  int n = 0;
  for (const auto& s : segments) n += s.device == d;
  return n;
}

namespace {

bool quantized(const ir::Graph& g, const std::string& name) { return !name.empty() && g.tensor(name).quant.has_value(); }

// Quantization context (tier 2): every activation input quantized, weights fake-quantized constants, output
// quantized or a legal int32 high-precision Conv output. Fills `p` and returns false when it fails.
bool quant_context(const arch::Target& target, const ir::Graph& g, const ir::Node& n, Placement* p) {
  // A weighted op reads a weight at input 1; MatMul may read a second activation there instead (attention).
  const bool weighted = ops::has_trait(n, ops::kWeighted) &&
                        !(ops::has_trait(n, ops::kActivationB) && !g.tensor(n.inputs.at(1)).is_constant);
  size_t activation_inputs = weighted ? 1 : n.inputs.size();
  for (size_t i = 0; i < activation_inputs; ++i) {
    if (n.inputs[i].empty() || g.tensor(n.inputs[i]).is_constant) continue;
    if (g.tensor(n.inputs[i]).elem_type == ir::ElemType::Uint8) continue;  // image pixels: HzPreprocess's input
    if (!quantized(g, n.inputs[i])) {
      p->reason_code = Reason::NoQuantInput;
      p->reason = "input '" + n.inputs[i] + "' carries no fake quantization, so the node computes in float";
      return false;
    }
  }
  if (weighted) {
    const ir::Tensor& w = g.tensor(n.inputs.at(1));
    if (!w.is_constant) {
      p->reason_code = Reason::NonConstantWeight;
      p->reason = "weight '" + n.inputs[1] + "' is computed at run time";
      return false;
    }
    if (!w.quant) {
      p->reason_code = Reason::NoQuantWeight;
      p->reason = "weight '" + n.inputs[1] + "' had no fake quantization in the QAT model, so the node was left "
                  "float on purpose (set calibration_parameters.quantize_float_weights: True to quantize it)";
      return false;
    }
    if (n.inputs.size() > 2 && !n.inputs[2].empty() && !g.tensor(n.inputs[2]).is_constant) {
      p->reason_code = Reason::NonConstantBias;
      p->reason = "bias '" + n.inputs[2] + "' is not a constant";
      return false;
    }
  }
  if (!quantized(g, n.outputs[0])) {
    if (target.allows_high_precision_output(n)) {
      p->high_precision_output = true;
      return true;
    }
    p->reason_code = Reason::NoQuantOutput;
    p->reason = "output '" + n.outputs[0] + "' carries no fake quantization";
    return false;
  }
  return true;
}

// BPU verdict without the user: fills reason and returns whether the node can run on the BPU.
bool bpu_capable(const arch::Target& target, const ir::Graph& g, const ir::Node& n, Placement* p) {
  arch::ConstraintVerdict verdict = target.check(g, n);
  if (!verdict.supported && !target.find_op_support(n.op_type, n.domain)) {
    p->reason_code = Reason::MarchUnsupportedOp;
    p->reason = verdict.detail;
    return false;
  }
  if (!quant_context(target, g, n, p)) return false;
  if (!verdict.supported) {
    p->reason_code = Reason::MarchConstraint;
    // The rule text and the march, then what this instance has.
    p->reason = verdict.rule + " (" + target.march() + ") — not met: " + verdict.detail;
    return false;
  }
  return true;
}

// Second phase: two same-device segments that touch (one feeds the other) or share a neighbour merge when their
// union stays convex, i.e. no path between them passes through a third segment. Segment ids are compacted.
void merge_related_segments(const std::vector<std::vector<int>>& preds, std::vector<int>& seg, std::vector<Device>& seg_device) {
  for (bool merged = true; merged;) {
    merged = false;
    const size_t ns = seg_device.size();
    std::vector<std::set<int>> succ(ns), pred(ns);
    for (size_t i = 0; i < seg.size(); ++i) {
      for (int p : preds[i]) {
        if (seg[p] != seg[i]) {
          succ[seg[p]].insert(seg[i]);
          pred[seg[i]].insert(seg[p]);
        }
      }
    }
    // Is `to` reachable from `from` through at least one other segment?
    auto indirect = [&](int from, int to) {
      std::vector<int> stack;
      std::vector<bool> seen(ns, false);
      for (int x : succ[from]) if (x != to) stack.push_back(x);
      while (!stack.empty()) {
        int x = stack.back();
        stack.pop_back();
        if (x == to) return true;
        if (seen[x]) continue;
        seen[x] = true;
        for (int y : succ[x]) stack.push_back(y);
      }
      return false;
    };
    auto related = [&](int a, int b) {
      if (succ[a].count(b) || succ[b].count(a)) return true;
      for (int p : pred[a]) if (pred[b].count(p)) return true;
      for (int q : succ[a]) if (succ[b].count(q)) return true;
      return false;
    };
    for (size_t a = 0; a < ns && !merged; ++a) {
      for (size_t b = a + 1; b < ns && !merged; ++b) {
        if (seg_device[a] != seg_device[b] || !related(a, b) || indirect(a, b) || indirect(b, a)) continue;
        for (int& s : seg) {
          if (s == static_cast<int>(b)) s = static_cast<int>(a);
          else if (s > static_cast<int>(b)) --s;
        }
        seg_device.erase(seg_device.begin() + b);
        merged = true;
      }
    }
  }
}

// A shape-only op placed on the BPU without a BPU producer or consumer would be a segment of its own with a
// quantize/dequantize round trip: it follows its CPU neighbours instead (repeated so chains settle).
void keep_shape_ops_with_neighbours(const ir::Graph& g, const PartitionOptions& options, PartitionResult* result) {
  const arch::Target& target = arch::target_for(options.march);
  const std::map<std::string, int> producers = g.producer_index();
  const std::map<std::string, std::vector<int>> consumers = g.consumer_index();
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const ir::Node& n = g.nodes[i];
      Placement& p = result->placements[i];
      if (p.device != Device::Bpu || !target.is_shape_only_op(n.op_type) || options.user_device.count(n.name)) continue;
      bool bpu_neighbour = false;
      for (const auto& in : n.inputs) {
        auto prod = producers.find(in);
        bpu_neighbour |= prod != producers.end() && result->placements[prod->second].device == Device::Bpu;
      }
      auto users = consumers.find(n.outputs[0]);
      if (users != consumers.end()) {
        for (int c : users->second) bpu_neighbour |= result->placements[c].device == Device::Bpu;
      }
      if (bpu_neighbour) continue;
      p.device = Device::Cpu;
      p.reason_code = Reason::ShapeOpWithCpuNeighbours;
      p.reason = "data movement stays with its producer and consumers, none of which runs on the BPU";
      changed = true;
    }
  }
}

// The node as the BPU would run it when it absorbs its activation: the activation's output is its output.
ir::Node fused_view(const ir::Graph& g, const ir::Node& n, const Placement& p) {
  if (p.fused_activation < 0) return n;
  ir::Node v = n;
  v.outputs[0] = g.nodes[p.fused_activation].outputs[0];
  v.fused_clamp = p.fused_bounds;
  return v;
}

// Fusion follows placement: an activation absorbed by a BPU producer runs inside it; otherwise (the producer on
// the CPU) the activation is placed on its own.
bool place_fused(const ir::Graph& g, int i, PartitionResult* result) {
  Placement& p = result->placements[i];
  if (p.fused_into < 0) return false;
  if (result->placements[p.fused_into].device != Device::Bpu) {
    result->placements[p.fused_into].fused_activation = -1;
    p.fused_into = -1;
    return false;
  }
  p.device = Device::Bpu;
  p.reason_code = Reason::Fused;
  p.reason = "fused into '" + g.nodes[p.fused_into].name + "' as an output clamp";
  return true;
}

// Float islands become one lookup table on the BPU: the root carries the members and the source, the members
// point at the root. A single-node island is kept only when the node cannot run on the BPU by itself. Returns
// the nodes placed this way.
std::vector<bool> place_float_islands(const ir::Graph& g, const PartitionOptions& options, PartitionResult* result) {
  std::vector<bool> placed(g.nodes.size(), false);
  const arch::Target& target = arch::target_for(options.march);
  auto accept = [&](const FloatIslandMatch& m) {
    Placement probe;
    if (m.nodes.size() == 1) return !bpu_capable(target, g, g.nodes[m.root], &probe);
    if (ops::island_member_op(g.nodes[m.root])) return true;
    // A data-movement root moves the source's codes: can the BPU do that?
    return bpu_capable(target, g, ops::island_moved_root(g.nodes[m.root], m.source), &probe);
  };
  for (FloatIslandMatch& m : find_float_islands(g, options, accept)) {
    const std::string sentence = island_root_sentence(g, m);
    for (int k : m.nodes) {
      if (std::binary_search(m.kept.begin(), m.kept.end(), k)) continue;  // needed in float: placed on its own
      Placement& p = result->placements[k];
      p.device = Device::Bpu;
      p.reason_code = Reason::BpuFloatIsland;
      if (k == m.root) {
        p.reason = sentence;
      } else if (p.island_root >= 0) {  // shared with an earlier island
        p.reason += ", and by '" + g.nodes[m.root].name + "'";
      } else {
        p.reason = "member of the float island run as one lookup table by '" + g.nodes[m.root].name + "'";
      }
      if (k != m.root && p.island_root < 0) p.island_root = m.root;  // the first island that reads it
      placed[k] = true;
    }
    Placement& root = result->placements[m.root];
    root.island_nodes = m.nodes;
    root.island_source = m.source;
  }
  return placed;
}

}  // namespace

std::vector<std::string> closest_names(const std::string& name, const std::vector<std::string>& candidates, size_t count) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& c : candidates) scored.emplace_back(edit_distance(name, c), c);
  std::stable_sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < count; ++i) out.push_back(scored[i].second);
  return out;
}

void form_segments(const ir::Graph& g, PartitionResult* result) {
  const size_t n = g.nodes.size();
  std::map<std::string, int> producer;
  for (size_t i = 0; i < n; ++i) {
    for (const auto& o : g.nodes[i].outputs) producer[o] = static_cast<int>(i);
  }
  std::vector<std::vector<int>> preds(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> ps;
    for (const auto& in : g.nodes[i].inputs) {
      auto it = producer.find(in);
      if (it != producer.end()) ps.insert(it->second);
    }
    preds[i].assign(ps.begin(), ps.end());
  }
  // Greedy convex grouping in topological order: a node joins the segment of a same-device predecessor unless
  // another predecessor outside that segment already depends on it (joining would close a cycle).
  std::vector<int> seg(n, -1);
  std::vector<Device> seg_device;
  std::vector<std::set<int>> depends(n);  // segments each node depends on, transitively
  for (size_t i = 0; i < n; ++i) {
    const Device d = result->placements[i].device;
    std::set<int> deps;
    for (int p : preds[i]) {
      deps.insert(depends[p].begin(), depends[p].end());
      deps.insert(seg[p]);
    }
    int chosen = -1;
    for (int p : preds[i]) {
      int s = seg[p];
      if (seg_device[s] != d) continue;
      bool convex = true;
      for (int q : preds[i]) convex &= seg[q] == s || !depends[q].count(s);
      if (convex) {
        chosen = s;
        break;
      }
    }
    if (chosen < 0) {
      chosen = static_cast<int>(seg_device.size());
      seg_device.push_back(d);
    }
    seg[i] = chosen;
    deps.erase(chosen);
    depends[i] = std::move(deps);
  }
  merge_related_segments(preds, seg, seg_device);
  // Order segments: Kahn's algorithm over segment dependencies, earliest first node first.
  const size_t ns = seg_device.size();
  std::vector<std::set<int>> seg_users(ns);
  std::vector<int> pending(ns, 0), first_node(ns, static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) {
    first_node[seg[i]] = std::min(first_node[seg[i]], static_cast<int>(i));
    for (int p : preds[i]) {
      if (seg[p] != seg[i] && seg_users[seg[p]].insert(seg[i]).second) ++pending[seg[i]];
    }
  }
  std::set<std::pair<int, int>> ready;
  for (size_t s = 0; s < ns; ++s) {
    if (pending[s] == 0) ready.insert({first_node[s], static_cast<int>(s)});
  }
  std::vector<int> new_index(ns, -1);
  result->segments.clear();
  while (!ready.empty()) {
    int s = ready.begin()->second;
    ready.erase(ready.begin());
    new_index[s] = static_cast<int>(result->segments.size());
    result->segments.push_back({seg_device[s], {}});
    for (int u : seg_users[s]) {
      if (--pending[u] == 0) ready.insert({first_node[u], u});
    }
  }
  if (result->segments.size() != ns) throw Error(ExitCode::Internal, "segment graph has a cycle");
  for (size_t i = 0; i < n; ++i) {
    result->placements[i].segment = new_index[seg[i]];
    result->segments[new_index[seg[i]]].nodes.push_back(static_cast<int>(i));
  }
}

PartitionResult partition_graph(const ir::Graph& g, const PartitionOptions& options) {
  const arch::Target& target = arch::target_for(options.march);
  PartitionResult result;
  result.placements.resize(g.nodes.size());
  const auto consumers = g.consumer_index();
  const std::vector<bool> in_island = place_float_islands(g, options, &result);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    std::pair<float, float> bounds;
    if (in_island[i]) continue;
    const int act = target.fusable_activation(g, consumers, static_cast<int>(i), options.keep_unfused, &bounds);
    if (act < 0 || in_island[act]) continue;
    result.placements[i].fused_activation = act;
    result.placements[i].fused_bounds = bounds;
    result.placements[act].fused_into = static_cast<int>(i);
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (in_island[i] || place_fused(g, static_cast<int>(i), &result)) continue;
    const ir::Node view = fused_view(g, g.nodes[i], result.placements[i]);
    const ir::Node& n = view;
    Placement& p = result.placements[i];
    auto user = options.user_device.find(n.name);
    const std::string source = user == options.user_device.end() ? "" : options.user_source.at(n.name);
    if (user != options.user_device.end() && user->second == Device::Cpu) {
      p.device = Device::Cpu;
      p.reason_code = Reason::UserRunOnCpu;
      p.reason = "placed on the CPU by " + source;
    } else if (user == options.user_device.end() && !target.cpu_by_default(n).empty()) {
      p.device = Device::Cpu;
      p.reason_code = Reason::MarchCpuByDefault;
      p.reason = target.cpu_by_default(n);
    } else if (bpu_capable(target, g, n, &p)) {
      p.device = Device::Bpu;
      if (user != options.user_device.end()) {
        p.reason_code = Reason::UserRunOnBpu;
        p.reason = "placed on the BPU by " + source;
      } else if (p.high_precision_output) {
        p.reason_code = Reason::BpuHighPrecisionOutput;
        p.reason = "quantized inputs; output has no fake quantization, so the BPU emits the int32 accumulator";
      } else {
        p.reason_code = Reason::BpuQuantized;
        p.reason = "quantized inputs and output; meets the " + target.march() + " constraints";
      }
    } else if (user != options.user_device.end()) {
      throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type +
                                             ") is placed on the BPU by " + source + " but cannot run there: " +
                                             reason_name(p.reason_code) + ": " + p.reason);
    } else {
      p.device = Device::Cpu;
      p.high_precision_output = false;
    }
    if (p.device == Device::Cpu && p.fused_activation >= 0) {
      result.placements[p.fused_activation].fused_into = -1;
      p.fused_activation = -1;
    }
    if (p.device == Device::Cpu && !ops::cpu_supports(n.op_type, n.domain)) {
      throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': node '" + n.name + "' (" +
                                             (n.domain.empty() ? "" : n.domain + "::") + n.op_type +
                                             ") cannot run on the BPU (" + reason_name(p.reason_code) + ": " + p.reason +
                                             ") and the CPU executor has no kernel for " + n.op_type);
    }
  }
  keep_shape_ops_with_neighbours(g, options, &result);
  form_segments(g, &result);
  return result;
}

}  // namespace bpu
