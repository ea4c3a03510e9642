// torch 1.13 QAT fixtures with shape arithmetic (scripts/gen_shape_fixtures.py): x.view(x.size(0), -1), channel
// shuffle with sizes from x.size(), FPN interpolate(size=c1.shape[-2:]) and expand(-1, -1, h, w). They compile only
// because passes/simplify folds the chains; the .bin agrees with torch within one LSB and the staged
// optimized float model holds no shape arithmetic any more.

#include <onnx/onnx_pb.h>

#include "fixture_helpers.h"
#include "report/staged_models.h"

using namespace bpu;

namespace {

const char* const kShapeOps[] = {"Shape", "Gather", "Cast", "Unsqueeze", "ConstantOfShape", "Equal", "Where", "Range"};

// cpu_segments: the fixture's expected CPU segment count once the shape arithmetic is folded.
void check_folded(const std::string& fixture, int cpu_segments) {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "out");
  CompileResult r = compile_model(parse_config(yaml, "/tmp/bpu_simplify/config.yaml"));
  onnx::ModelProto staged;
  const std::string bytes = optimized_float_model(r.graph);
  REQUIRE(staged.ParseFromString(bytes));
  REQUIRE(staged.graph().node_size() > 0);
  CHECK(r.partition.segment_count(Device::Cpu) == cpu_segments);
  CHECK(r.partition.segment_count(Device::Bpu) >= 1);
  for (const auto& n : staged.graph().node()) {
    INFO(fixture << ": staged node " << n.name() << " (" << n.op_type() << ")");
    for (const char* op : kShapeOps) CHECK(n.op_type() != op);
  }
}

}  // namespace

TEST_CASE("simplify fixtures: x.view(x.size(0), -1) flatten", "[simplify_fixtures]") {
  check_folded("shape_flatten", 0);
  bpu::test::check_fixture_accuracy("shape_flatten");
}

TEST_CASE("simplify fixtures: channel shuffle with sizes from x.size()", "[simplify_fixtures]") {
  check_folded("shape_shuffle", 0);
  bpu::test::check_fixture_accuracy("shape_shuffle");
}

TEST_CASE("simplify fixtures: FPN interpolate(size=c1.shape[-2:])", "[simplify_fixtures]") {
  check_folded("shape_fpn", 0);
  bpu::test::check_fixture_accuracy("shape_fpn");
}

TEST_CASE("simplify fixtures: expand(-1, -1, h, w) of a pooled vector", "[simplify_fixtures]") {
  check_folded("shape_expand", 1); // Expand has no BPU lowering
  bpu::test::check_fixture_accuracy("shape_expand");
}
