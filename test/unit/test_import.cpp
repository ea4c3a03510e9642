// ONNX import: shapes on every tensor, Identity/Constant resolution, and clear errors for bad files.

#include "onnx_builder.h"
#include "onnx_import/onnx_import.h"
#include "common/file_io.h"
#include "test_helpers.h"

using namespace bpu;
using bpu::test::require_error;

TEST_CASE("import: the torch QAT fixture gets a static shape on every tensor", "[import]") {
  ir::Graph g = import_onnx(bpu::test::data_path("nonhybrid/model.onnx"));
  CHECK(g.inputs == std::vector<std::string>{"input"});
  CHECK(g.outputs == std::vector<std::string>{"output"});
  CHECK(g.opset == 13);
  for (const auto& [name, t] : g.tensors) {
    INFO(name);
    CHECK(t.has_shape);
  }
  CHECK(g.tensor("output").shape == Shape{1, 8, 32, 32});
  for (const auto& n : g.nodes) {
    CHECK(n.op_type != "Identity");  // zero points shared through Identity are resolved to constants
    CHECK(n.op_type != "Constant");
  }
  int convs = 0;
  for (const auto& n : g.nodes) convs += n.op_type == "Conv";
  CHECK(convs == 4);
}

TEST_CASE("import: Identity-shared zero points become constants", "[import]") {
  onnx::ModelProto m = bpu::test::conv_model();
  ir::Graph g = import_onnx_model(m, "mem.onnx");
  REQUIRE(g.has_tensor("zp_shared"));
  CHECK(g.tensor("zp_shared").is_constant);
  CHECK(g.tensor("zp_shared").int_data == std::vector<int64_t>{0});
}

TEST_CASE("import: horizon ops get shapes from bpu-mapper's own rules", "[import]") {
  bpu::test::ConvModelOptions o;
  o.horizon = true;
  onnx::ModelProto m = bpu::test::conv_model(o);
  ir::Graph g = import_onnx_model(m, "hz.onnx");
  CHECK(g.tensor("x_dq").shape == Shape{1, 2, 4, 4});
  CHECK(g.tensor("y").shape == Shape{1, 3, 4, 4});
}

TEST_CASE("import: invalid bytes, missing files and bad content are model errors", "[import]") {
  bpu::test::TempDir dir("import");
  bpu::test::write_text(dir.file("garbage.onnx"), "this is not a protobuf \xff\xff\xff\xff");
  require_error([&] { import_onnx(dir.file("garbage.onnx")); }, ExitCode::Model, "is not a valid ONNX file");
  require_error([&] { import_onnx(dir.file("missing.onnx")); }, ExitCode::Io, "missing.onnx");

  onnx::ModelProto dynamic = bpu::test::conv_model({false, 8, 0, 0.02f, 0.05f, 0});
  require_error([&] { import_onnx_model(dynamic, "dyn.onnx"); }, ExitCode::Model, "set input_parameters.input_shape");

  onnx::ModelProto broken = bpu::test::conv_model();
  broken.mutable_graph()->mutable_initializer(0)->add_float_data(1.0f);  // one value too many for w
  require_error([&] { import_onnx_model(broken, "b.onnx"); }, ExitCode::Model, "initializer 'w' has 55 values");

  onnx::ModelProto dangling = bpu::test::conv_model();
  dangling.mutable_graph()->mutable_node(3)->set_input(0, "nowhere");
  require_error([&] { import_onnx_model(dangling, "d.onnx"); }, ExitCode::Model, "reads tensor 'nowhere'");
}

TEST_CASE("import: input_shape overrides a dynamic input, and must name a real input", "[import]") {
  onnx::ModelProto dynamic = bpu::test::conv_model({false, 8, 0, 0.02f, 0.05f, 0});
  ImportOptions opts;
  opts.input_shapes["x"] = {1, 2, 4, 4};
  ir::Graph g = import_onnx_model(dynamic, "dyn.onnx", opts);
  CHECK(g.tensor("x").shape == Shape{1, 2, 4, 4});
  ImportOptions wrong;
  wrong.input_shapes["data"] = {1, 2, 4, 4};
  onnx::ModelProto again = bpu::test::conv_model();
  require_error([&] { import_onnx_model(again, "m.onnx", wrong); }, ExitCode::Config, "has no input 'data'");
}

TEST_CASE("import: absurd shapes are refused before any allocation", "[import]") {
  onnx::ModelProto m = bpu::test::conv_model();
  auto* dims = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  dims->mutable_dim(2)->set_dim_value(int64_t(1) << 40);
  require_error([&] { import_onnx_model(m, "huge.onnx"); }, ExitCode::Model, "huge.onnx");
}

TEST_CASE("import: the model fingerprint is FNV-1a 64 of the file's bytes, read in pieces", "[import]") {
  CHECK(bpu::fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);  // the published FNV-1a 64 test vector
  CHECK(bpu::fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
  bpu::test::TempDir dir("fnv_file");
  std::string bytes(2621440 + 17, '\0');  // 2.5 MiB and a bit: three pieces, the last one short
  uint32_t v = 12345;
  for (auto& c : bytes) c = static_cast<char>((v = v * 1103515245u + 12345u) >> 24);
  const std::string path = dir.file("blob.bin");
  std::ofstream(path, std::ios::binary) << bytes;
  CHECK(bpu::fnv1a64_file(path, "blob") == bpu::fnv1a64(bytes.data(), bytes.size()));
  CHECK_THROWS_AS(bpu::fnv1a64_file(dir.file("missing.bin"), "blob"), bpu::Error);
}
