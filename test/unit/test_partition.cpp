// Partition: placement reasons, user overrides, and convex segments on synthetic graphs — diamonds, residual
// branches with a CPU node, CPU nodes at the input and the output, two CPU islands.

#include <set>

#include "partition/partition.h"
#include "partition_graph_builder.h"
#include "test_helpers.h"

using namespace bpu;
using bpu::test::GraphBuilder;
using bpu::test::require_error;

namespace {

int index_of(const ir::Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i) if (g.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

// Independent checks: each segment is single-device and convex, and every segment only reads from earlier ones.
void check_segments(const ir::Graph& g, const PartitionResult& r) {
  const size_t n = g.nodes.size();
  std::vector<std::vector<int>> succ(n);
  for (size_t i = 0; i < n; ++i) {
    for (const auto& in : g.nodes[i].inputs) {
      int p = g.producer(in);
      if (p >= 0) {
        succ[p].push_back(static_cast<int>(i));
        CHECK(r.placements[p].segment <= r.placements[i].segment);  // execution order
      }
    }
  }
  for (size_t s = 0; s < r.segments.size(); ++s) {
    std::set<int> members(r.segments[s].nodes.begin(), r.segments[s].nodes.end());
    for (int m : members) CHECK(r.placements[m].device == r.segments[s].device);
    // Nodes reachable from the segment through a node outside it must not be in it.
    std::vector<int> stack;
    std::set<int> seen;
    for (int m : members) for (int x : succ[m]) if (!members.count(x)) stack.push_back(x);
    while (!stack.empty()) {
      int x = stack.back();
      stack.pop_back();
      if (!seen.insert(x).second) continue;
      INFO("segment " << s << " re-entered at " << g.nodes[x].name);
      CHECK_FALSE(members.count(x));
      for (int y : succ[x]) stack.push_back(y);
    }
  }
}

std::vector<Device> devices(const PartitionResult& r) {
  std::vector<Device> d;
  for (const auto& s : r.segments) d.push_back(s.device);
  return d;
}

constexpr Device B = Device::Bpu;
constexpr Device C = Device::Cpu;

}  // namespace

TEST_CASE("partition: a diamond with a CPU node on one side splits after the join", "[partition]") {
  GraphBuilder b;
  b.conv("A", "in", "a");
  b.conv("B", "a", "b");
  b.cpu_op("S", "a", "s");
  b.add("D", "b", "s", "d");
  b.g.outputs = {"d"};
  PartitionResult r = partition_graph(b.g);
  check_segments(b.g, r);
  CHECK(devices(r) == std::vector<Device>{B, C, B});
  CHECK(r.placements[index_of(b.g, "A")].segment == r.placements[index_of(b.g, "B")].segment);
  CHECK(r.placements[index_of(b.g, "S")].reason_code == Reason::MarchUnsupportedOp);
}

TEST_CASE("partition: a residual branch with a CPU node keeps the other branch in one segment", "[partition]") {
  GraphBuilder b;
  b.conv("A", "in", "a");
  b.cpu_op("S", "a", "s");   // listed early: the model order interleaves the branches
  b.conv("B", "a", "b");
  b.conv("T", "s", "t");
  b.conv("C", "b", "c");
  b.add("D", "c", "t", "d");
  b.g.outputs = {"d"};
  PartitionResult r = partition_graph(b.g);
  check_segments(b.g, r);
  CHECK(devices(r) == std::vector<Device>{B, C, B});
  const int seg_a = r.placements[index_of(b.g, "A")].segment;
  CHECK(r.placements[index_of(b.g, "B")].segment == seg_a);
  CHECK(r.placements[index_of(b.g, "C")].segment == seg_a);
  CHECK(r.placements[index_of(b.g, "T")].segment == r.placements[index_of(b.g, "D")].segment);
}

TEST_CASE("partition: CPU nodes at the input and at the output", "[partition]") {
  GraphBuilder b;
  b.cpu_op("S0", "in", "s0");
  b.conv("A", "s0", "a");
  b.conv("B", "a", "b");
  b.cpu_op("S1", "b", "s1");
  b.g.outputs = {"s1"};
  PartitionResult r = partition_graph(b.g);
  check_segments(b.g, r);
  CHECK(devices(r) == std::vector<Device>{C, B, C});
}

TEST_CASE("partition: two CPU islands give five segments", "[partition]") {
  GraphBuilder b;
  b.conv("A", "in", "a");
  b.cpu_op("S0", "a", "s0");
  b.conv("B", "s0", "b");
  b.cpu_op("S1", "b", "s1");
  b.conv("C", "s1", "c");
  b.g.outputs = {"c"};
  PartitionResult r = partition_graph(b.g);
  check_segments(b.g, r);
  CHECK(devices(r) == std::vector<Device>{B, C, B, C, B});
  CHECK(r.segment_count(Device::Bpu) == 3);
}

TEST_CASE("partition: independent CPU nodes between BPU nodes merge when convex", "[partition]") {
  GraphBuilder b;
  b.conv("A", "in", "a");
  b.cpu_op("S0", "a", "s0");
  b.cpu_op("S1", "a", "s1");
  b.add("D", "s0", "s1", "d");
  b.g.outputs = {"d"};
  PartitionResult r = partition_graph(b.g);
  check_segments(b.g, r);
  CHECK(devices(r) == std::vector<Device>{B, C, B});
}

TEST_CASE("partition: quantization context decides before the march", "[partition]") {
  GraphBuilder b;
  b.activation("f", false);
  b.node("F", "Selu", {"in"}, "f");  // float output
  b.conv("A", "f", "a");             // float input -> CPU
  b.g.outputs = {"a"};
  PartitionResult r = partition_graph(b.g);
  CHECK(r.placements[index_of(b.g, "A")].device == Device::Cpu);
  CHECK(r.placements[index_of(b.g, "A")].reason_code == Reason::NoQuantInput);
}

TEST_CASE("partition: the user moves nodes, and impossible requests are refused with the reason", "[partition]") {
  GraphBuilder b;
  b.conv("A", "in", "a");
  b.conv("B", "a", "b");
  b.conv("C", "b", "c");
  b.g.outputs = {"c"};
  PartitionOptions cpu;
  cpu.user_device["B"] = Device::Cpu;
  cpu.user_source["B"] = "calibration_parameters.run_on_cpu";
  PartitionResult r = partition_graph(b.g, cpu);
  check_segments(b.g, r);
  CHECK(devices(r) == std::vector<Device>{B, C, B});
  CHECK(r.placements[1].reason_code == Reason::UserRunOnCpu);

  GraphBuilder f;
  f.activation("s");
  f.node("S", "Softmax", {"in"}, "s");
  f.g.outputs = {"s"};
  CHECK(partition_graph(f.g, PartitionOptions{}).placements[0].device == Device::Bpu);  // by default on bayes
  PartitionOptions on_bayes_e;
  on_bayes_e.march = "bayes-e";
  CHECK(partition_graph(f.g, on_bayes_e).placements[0].reason_code == Reason::MarchCpuByDefault);
  PartitionOptions bpu;
  bpu.user_device["S"] = Device::Bpu;
  bpu.user_source["S"] = "calibration_parameters.run_on_bpu";
  PartitionResult forced = partition_graph(f.g, bpu);
  CHECK(forced.placements[0].device == Device::Bpu);
  CHECK(forced.placements[0].reason_code == Reason::UserRunOnBpu);
  f.g.tensor("s").quant.reset();  // without quantization context the request is refused
  require_error([&] { partition_graph(f.g, bpu); }, ExitCode::Unsupported, "cannot run there: NO_QUANT_OUTPUT");
}

TEST_CASE("partition: an op neither device can run is a compile-time error", "[partition]") {
  GraphBuilder b;
  b.node("N", "LRN", {"in"}, "n");
  b.activation("n");
  b.g.outputs = {"n"};
  require_error([&] { partition_graph(b.g); }, ExitCode::Unsupported, "the CPU executor has no kernel for LRN");
  GraphBuilder c;
  c.node("X", "MyOp", {"in"}, "x");
  c.g.nodes.back().domain = "com.example";
  c.activation("x");
  c.g.outputs = {"x"};
  require_error([&] { partition_graph(c.g); }, ExitCode::Unsupported, "node 'X' (com.example::MyOp)");
}

TEST_CASE("partition: closest_names ranks by edit distance", "[partition]") {
  std::vector<std::string> names = {"/conv/Conv", "/conv_1/Conv", "/Add", "/conv1/Conv"};
  auto near = closest_names("/conv_2/Conv", names, 2);
  REQUIRE(near.size() == 2);
  CHECK(near[0] == "/conv_1/Conv");
}

TEST_CASE("partition: shape-only ops join BPU neighbours and stay with CPU neighbours", "[partition]") {
  GraphBuilder b;
  b.conv("A", "in", "a");
  b.node("R", "Flatten", {"a"}, "r");
  b.activation("r");
  b.cpu_op("S", "r", "s");
  b.node("R2", "Flatten", {"s"}, "r2");
  b.activation("r2");
  b.cpu_op("S2", "r2", "s2");
  b.g.outputs = {"s2"};
  PartitionResult r = partition_graph(b.g);
  check_segments(b.g, r);
  CHECK(r.placements[index_of(b.g, "R")].device == Device::Bpu);
  CHECK(r.placements[index_of(b.g, "R")].segment == r.placements[index_of(b.g, "A")].segment);
  CHECK(r.placements[index_of(b.g, "R2")].device == Device::Cpu);
  CHECK(r.placements[index_of(b.g, "R2")].reason_code == Reason::ShapeOpWithCpuNeighbours);
  CHECK(devices(r) == std::vector<Device>{B, C});
}
