// Float islands and mixed float/quantized use (issue 12, items 2 and 4), on the torch 1.13 QAT fixtures of
// scripts/gen_island_fixtures.py: torch's Hardswish (x * HardSigmoid(x)), SiLU (x * Sigmoid(x)) and GELU (Div,
// Erf, Add, Mul, Mul) between quantized convs run on the BPU as one lookup table (BPU_FLOAT_ISLAND, no CPU
// segment), the .bin agrees with torch's QAT output; run_on_cpu on an island node sends the island to the CPU;
// a SiLU output read both through a fake quant and by a float Resize compiles, each reader getting its form.
// Also the placement rules on synthetic graphs and the mixed-use split of quant extraction.

#include "fixture_helpers.h"
#include "onnx_import/onnx_import.h"
#include "ops/float_island.h"
#include "quant/qdq_extract.h"
#include "partition_graph_builder.h"

using namespace bpu;

namespace {

CompileResult compile(const std::string& fixture, const std::string& extra_calibration = "") {
  const std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "out", "bayes", extra_calibration);
  return compile_model(parse_config(yaml, "/tmp/bpu_islands/config.yaml"));
}

// Nodes of op `op` and their placement.
std::vector<const Placement*> placements_of(const CompileResult& r, const std::string& op) {
  std::vector<const Placement*> out;
  for (size_t i = 0; i < r.graph.nodes.size(); ++i) {
    if (r.graph.nodes[i].op_type == op) out.push_back(&r.partition.placements[i]);
  }
  return out;
}

// The island's nodes are all BPU_FLOAT_ISLAND on the BPU, the model has no CPU segment, and the .bin agrees with
// torch: at most one LSB anywhere and `min_identical` of the elements exactly torch's code.
void check_island(const std::string& fixture, const std::vector<std::string>& island_ops, double min_identical) {
  CompileResult r = compile(fixture);
  CHECK(r.partition.segment_count(Device::Cpu) == 0);
  for (const auto& op : island_ops) {
    const auto ps = placements_of(r, op);
    REQUIRE(!ps.empty());
    for (const Placement* p : ps) {
      INFO(fixture << ": " << op << ": " << p->reason);
      CHECK(p->device == Device::Bpu);
      CHECK(p->reason_code == Reason::BpuFloatIsland);
    }
  }
  for (const auto& a : bpu::test::check_fixture_accuracy(fixture)) CHECK(a.identical >= min_identical);
}

}  // namespace

TEST_CASE("float islands: torch Hardswish (x * HardSigmoid(x)) is one BPU lookup table", "[islands]") {
  check_island("island_hardswish", {"HardSigmoid", "Mul"}, 1.0);
}

TEST_CASE("float islands: SiLU (x * Sigmoid(x)) is one BPU lookup table", "[islands]") {
  check_island("island_silu", {"Sigmoid", "Mul"}, 1.0);
}

TEST_CASE("float islands: GELU (Div, Erf, Add, Mul, Mul) is one BPU lookup table", "[islands]") {
  check_island("island_gelu", {"Div", "Erf", "Add", "Mul"}, 1.0);
}

TEST_CASE("float islands: an int16 SiLU island is a 65536-entry table", "[islands]") {
  check_island("island_silu_int16", {"Sigmoid", "Mul"}, 1.0);
  CompileResult r = compile("island_silu_int16");
  for (const Placement* p : placements_of(r, "Mul")) CHECK(p->reason.find("65536-entry") != std::string::npos);
}

TEST_CASE("float islands: run_on_cpu on an island node sends the island to the CPU", "[islands]") {
  CompileResult r = compile("island_hardswish", "  run_on_cpu: '/act/Mul'\n");
  CHECK(r.partition.segment_count(Device::Cpu) == 1);
  for (const char* op : {"HardSigmoid", "Mul"}) {
    for (const Placement* p : placements_of(r, op)) {
      CHECK(p->device == Device::Cpu);
      CHECK(p->reason_code != Reason::BpuFloatIsland);
    }
  }
  bpu::test::check_fixture_accuracy("island_hardswish", "  run_on_cpu: '/act/Mul'\n");
}

TEST_CASE("mixed use: a tensor read through a fake quant and in float is split into its two forms", "[islands]") {
  CompileResult r = compile("mixed_use");
  // The float Resize reads the SiLU output as float (Sigmoid, Mul, Resize on the CPU); the quantizing Identity
  // that gives the conv its quantized form is the root of a float island: one BPU table from the stem's output.
  const auto ids = placements_of(r, "Identity");
  REQUIRE(ids.size() == 1);
  CHECK(ids[0]->device == Device::Bpu);
  CHECK(ids[0]->reason_code == Reason::BpuFloatIsland);
  for (const char* op : {"Sigmoid", "Mul", "Resize"}) {
    for (const Placement* p : placements_of(r, op)) CHECK(p->device == Device::Cpu);
  }
  CHECK(r.partition.segment_count(Device::Cpu) == 1);
  CHECK(placements_of(r, "Conv").size() == 2);
  for (const Placement* p : placements_of(r, "Conv")) CHECK(p->device == Device::Bpu);
  bpu::test::check_fixture_accuracy("mixed_use");
}

namespace {

// A node whose output tensor is created quantized or float.
void add(bpu::test::GraphBuilder& b, const std::string& name, const std::string& op, std::vector<std::string> in,
         const std::string& out, bool quantized_out) {
  b.activation(out, quantized_out);
  b.node(name, op, std::move(in), out);
}

const Placement& placed(const bpu::test::GraphBuilder& b, const PartitionResult& r, const std::string& node) {
  const int i = b.index_of(node);
  REQUIRE(i >= 0);
  return r.placements[static_cast<size_t>(i)];
}

}  // namespace

TEST_CASE("float islands: placement rules on synthetic graphs", "[islands]") {
  SECTION("Mul by a scalar constant, which the BPU Mul refuses, is a one-node island") {
    bpu::test::GraphBuilder b;
    b.scalar("half", 0.5f);
    add(b, "scale", "Mul", {"in", "half"}, "y", true);
    b.g.outputs = {"y"};
    PartitionResult r = partition_graph(b.g);
    CHECK(placed(b, r, "scale").reason_code == Reason::BpuFloatIsland);
    CHECK(r.segment_count(Device::Cpu) == 0);
  }
  SECTION("a quantized Sigmoid on its own stays an ordinary LUT op") {
    bpu::test::GraphBuilder b;
    add(b, "sig", "Sigmoid", {"in"}, "y", true);
    b.g.outputs = {"y"};
    CHECK(placed(b, partition_graph(b.g), "sig").reason_code == Reason::BpuQuantized);
  }
  SECTION("an intermediate value read by two islands' roots: both islands compute it from the source") {
    bpu::test::GraphBuilder b;
    add(b, "sig", "Sigmoid", {"in"}, "s", false);
    add(b, "mul", "Mul", {"in", "s"}, "y", true);
    add(b, "mul2", "Mul", {"s", "in"}, "z", true);
    b.g.outputs = {"y", "z"};
    PartitionResult r = partition_graph(b.g);
    for (const char* n : {"sig", "mul", "mul2"}) CHECK(placed(b, r, n).reason_code == Reason::BpuFloatIsland);
    CHECK(placed(b, r, "mul").island_nodes.size() == 2);
    CHECK(placed(b, r, "mul2").island_nodes.size() == 2);
    CHECK(r.segment_count(Device::Cpu) == 0);
  }
  SECTION("a shared member kept by one island is kept by the other") {
    // sig feeds island mul and, through t (read in float by a Softmax), island mul2: t keeps sig in float.
    bpu::test::GraphBuilder b;
    add(b, "sig", "Sigmoid", {"in"}, "s", false);
    add(b, "mul", "Mul", {"in", "s"}, "y", true);
    add(b, "tanh", "Tanh", {"s"}, "t", false);
    add(b, "mul2", "Mul", {"t", "in"}, "z", true);
    add(b, "soft", "Softmax", {"t"}, "w", false);
    b.g.outputs = {"y", "z", "w"};
    PartitionResult r = partition_graph(b.g);
    CHECK(placed(b, r, "mul").reason_code == Reason::BpuFloatIsland);
    CHECK(placed(b, r, "mul2").reason_code == Reason::BpuFloatIsland);
    CHECK(placed(b, r, "tanh").device == Device::Cpu);
    CHECK(placed(b, r, "sig").device == Device::Cpu);
  }
  SECTION("an intermediate value read in float elsewhere: the root is the table, the member stays on the CPU") {
    bpu::test::GraphBuilder b;
    add(b, "sig", "Sigmoid", {"in"}, "s", false);
    add(b, "mul", "Mul", {"in", "s"}, "y", true);
    add(b, "soft", "Softmax", {"s"}, "z", false);
    b.g.outputs = {"y", "z"};
    PartitionResult r = partition_graph(b.g);
    CHECK(placed(b, r, "mul").reason_code == Reason::BpuFloatIsland);
    CHECK(placed(b, r, "mul").island_nodes.size() == 2);
    CHECK(placed(b, r, "sig").device == Device::Cpu);
    CHECK(placed(b, r, "sig").island_root == -1);
  }
  SECTION("two run-time inputs: no island") {
    bpu::test::GraphBuilder b;
    b.activation("x2");
    b.g.inputs.push_back("x2");
    add(b, "sig", "Sigmoid", {"in"}, "s", false);
    add(b, "mul", "Mul", {"x2", "s"}, "y", true);
    b.g.outputs = {"y"};
    PartitionResult r = partition_graph(b.g);
    CHECK(placed(b, r, "mul").device == Device::Cpu);
    CHECK(placed(b, r, "sig").device == Device::Cpu);
  }
}

TEST_CASE("mixed use: quant extraction keeps the float tensor and adds a quantizing Identity", "[islands]") {
  ir::Graph g = import_onnx(bpu::test::data_path("mixed_use/model.onnx"));
  QuantSummary s = extract_quantization(g);
  CHECK(s.mixed_use_splits == 1);
  int identities = 0;
  for (const auto& n : g.nodes) {
    if (n.op_type != "Identity" || g.tensor(n.inputs[0]).is_constant) continue;  // torch's weight Identities
    ++identities;
    CHECK(!g.tensor(n.inputs[0]).quant);  // the SiLU output stays float for the Resize
    CHECK(g.tensor(n.outputs[0]).quant);  // the conv reads the fake-quantized form
    for (const auto& reader : g.nodes) {
      if (reader.op_type == "Resize") CHECK(reader.inputs[0] == n.inputs[0]);
      if (reader.op_type == "Conv" && reader.inputs[0] == n.outputs[0]) CHECK(g.tensor(reader.inputs[0]).quant);
    }
  }
  CHECK(identities == 1);
}

TEST_CASE("float islands: x * Relu6(x + 3) / 6 written out is one island with hardswish's values", "[islands]") {
  bpu::test::GraphBuilder b;
  b.scalar("three", 3.0f);
  b.scalar("zero", 0.0f);
  b.scalar("six", 6.0f);
  add(b, "add", "Add", {"in", "three"}, "a", false);
  add(b, "relu6", "Clip", {"a", "zero", "six"}, "c", false);
  ir::Attribute lo, hi;  // what canonicalization records from Clip's constant bounds
  lo.kind = hi.kind = ir::Attribute::Kind::Float;
  lo.f = 0.0f;
  hi.f = 6.0f;
  b.g.nodes.back().attributes["_bpu_clip_min"] = lo;
  b.g.nodes.back().attributes["_bpu_clip_max"] = hi;
  add(b, "mul", "Mul", {"in", "c"}, "m", false);
  add(b, "div", "Div", {"m", "six"}, "y", true);
  b.g.outputs = {"y"};
  PartitionResult r = partition_graph(b.g);
  CHECK(r.segment_count(Device::Cpu) == 0);
  const Placement& root = placed(b, r, "div");
  REQUIRE(root.island_nodes.size() == 4);
  CHECK(root.island_source == "in");
  std::vector<const ir::Node*> nodes;
  for (int k : root.island_nodes) nodes.push_back(&b.g.nodes[static_cast<size_t>(k)]);
  ops::FloatIsland island;
  std::string why;
  REQUIRE(island.compile(b.g, nodes, "in", &why));
  for (double x : {-5.0, -3.0, -1.25, 0.0, 0.7, 2.9, 3.0, 6.35}) {
    const double expected = x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;  // torch's hardswish, in float64
    CHECK(island.evaluate64(x) == expected);
  }
}

TEST_CASE("float islands: a SiLU split before its fake quant (YOLOv8 C2f) is a table after each Slice", "[islands]") {
  check_island("yolo_c2f_split", {"Sigmoid", "Mul", "Slice"}, 0.999);
}

TEST_CASE("float islands: a SiLU upsampled before its fake quant (YOLOv8 PAN) is a table after the Resize", "[islands]") {
  // The stem's SiLU is read by two quantized convs (members shared by islands); the Sigmoid * x after the pool
  // ends in the nearest Resize, which moves the pool's codes and applies the table to the moved values.
  check_island("yolo_pan_upsample", {"Sigmoid", "Mul", "Resize"}, 0.999);
}
