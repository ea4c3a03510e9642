// Partition stage: decides for every compute node whether it runs on the BPU or the CPU, records a stable
// reason code and a sentence for the decision, and groups nodes into convex segments.
// Order of decisions: the user (run_on_cpu / run_on_bpu / node_info), then quantization context, then the
// march's constraint table (lib/arch/target.h). A node on neither device is a compile-time error.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "partition/reason.h"

namespace bpu {

enum class Device { Bpu, Cpu };
const char* device_name(Device d);

struct Placement {
  Device device = Device::Cpu;
  int segment = -1;         // index into PartitionResult::segments
  Reason reason_code{};     // the stable code (lib/partition/reason.h), set by every placement decision
  std::string reason;       // the sentence users read
  bool high_precision_output = false;  // Conv whose output stays int32 (no output fake quant)
  // Fusion, decided with placement and applied by the BPU lowering: on the producer, the activation node it
  // absorbs and that activation's clamp in real units; on the activation, the producer it is fused into.
  int fused_activation = -1;
  int fused_into = -1;
  std::pair<float, float> fused_bounds{0.0f, 0.0f};
  // Float islands (lib/partition/float_island.h), run on the BPU as one lookup table: on the island's last node
  // (its root) the member nodes in topological order (the root last) and the quantized tensor the table reads;
  // on every other member the root it belongs to.
  std::vector<int> island_nodes;
  std::string island_source;
  int island_root = -1;
};

struct Segment {
  Device device = Device::Bpu;
  std::vector<int> nodes;  // indices into graph.nodes, topological order
};

struct PartitionResult {
  std::vector<Placement> placements;  // parallel to graph.nodes
  std::vector<Segment> segments;      // in execution order
  int count(Device d) const;
  int segment_count(Device d) const;
};

struct PartitionOptions {
  std::map<std::string, Device> user_device;       // node name -> device the user asked for
  std::map<std::string, std::string> user_source;  // node name -> the config field that asked
  std::set<std::string> keep_unfused;              // activations the user named: never fused away
  std::string march = "bayes";                     // the target whose table decides (lib/arch/<march>/)
};

// Throws Error(Unsupported) naming the node when run_on_bpu asks for the impossible, or when a node can run
// neither on the BPU nor on the CPU executor.
PartitionResult partition_graph(const ir::Graph& graph, const PartitionOptions& options = {});

// Groups placed nodes into convex segments (no path leaves a segment and re-enters it): a greedy pass in
// topological order, then merging of related same-device segments while the union stays convex; then orders
// the segments for execution. Exposed for tests.
void form_segments(const ir::Graph& graph, PartitionResult* result);

// Up to `count` node names closest to `name` (edit distance), for "did you mean" messages.
std::vector<std::string> closest_names(const std::string& name, const std::vector<std::string>& candidates, size_t count = 3);

}  // namespace bpu
