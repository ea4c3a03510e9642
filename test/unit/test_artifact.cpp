// .bin format: round trip, determinism, and the loader refusing every corrupted or truncated variant with a
// clear Artifact error (never a crash). This test also runs under ASan/UBSan (ctest label "sanitize").

#include <zlib.h>

#include <cstring>

#include "api/bpu_mapper.h"
#include "arch/bayes/isa.h"
#include "artifact/bin_format.h"
#include "runtime/model_runner.h"
#include "test_helpers.h"

using namespace bpu;

namespace {

// The same YAML text (relative working_dir) placed in `dir`.
CompiledModel compile_nonhybrid(const std::string& dir) {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("nonhybrid/model.onnx"), "o");
  return compile_model(parse_config(yaml, dir + "/c.yaml")).model;
}

// The op fixture `fixture` compiled (one BPU segment), every instruction whose body is a Body passed to
// edit(body, segment) (their number in `edited`), the program re-encoded and the model read back as `name`.
template <typename Body, typename Edit>
CompiledModel edited_bin(const bpu::test::TempDir& dir, const std::string& fixture, const std::string& name, Edit edit,
                         int& edited) {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("ops/" + fixture + "/model.onnx"), "o");
  CompiledModel m = compile_model(parse_config(yaml, dir.file("c.yaml"))).model;
  REQUIRE(m.bpu_segments.size() == 1);
  BpuSegment& s = m.bpu_segments[0];
  std::vector<bayes::Instruction> program = bayes::decode_program(s.code.data(), s.code.size(), "test");
  edited = 0;
  for (auto& ins : program) {
    if (auto* body = std::get_if<Body>(&ins.body)) {
      edit(*body, s);
      ++edited;
    }
  }
  s.code = bayes::encode_program(program);
  return deserialize_model(serialize_model(m), name);
}

}  // namespace

TEST_CASE("artifact: serialize, deserialize, serialize gives the same bytes", "[artifact]") {
  bpu::test::TempDir dir("art");
  CompiledModel m = compile_nonhybrid(dir.path().string());
  std::vector<uint8_t> bytes = serialize_model(m);
  CompiledModel back = deserialize_model(bytes, "mem.bin");
  CHECK(serialize_model(back) == bytes);
  CHECK(back.march == "bayes");
  CHECK(back.compiler_version == kCompilerVersion);
  CHECK(back.config_yaml.find("calibration_type: 'load'") != std::string::npos);
  CHECK(bytes.size() % 64 == 0);
}

TEST_CASE("artifact: compiling twice gives byte-identical files", "[artifact]") {
  bpu::test::TempDir a("det_a"), b("det_b");
  CHECK(serialize_model(compile_nonhybrid(a.path().string())) == serialize_model(compile_nonhybrid(b.path().string())));
}

TEST_CASE("artifact: every single-bit flip and every truncation is refused", "[artifact][sanitize]") {
  bpu::test::TempDir dir("flip");
  const std::vector<uint8_t> good = serialize_model(compile_nonhybrid(dir.path().string()));
  REQUIRE_NOTHROW(ModelRunner(deserialize_model(good, "good.bin"), "good.bin"));
  int refused = 0, tried = 0;
  auto expect_refused = [&](const std::vector<uint8_t>& bytes, const std::string& what) {
    ++tried;
    try {
      ModelRunner runner(deserialize_model(bytes, "bad.bin"), "bad.bin");
      FAIL_CHECK(what << " was accepted");
    } catch (const Error& e) {
      if (e.code() == ExitCode::Artifact) ++refused;
      else FAIL_CHECK(what << " gave error class " << exit_code_name(e.code()) << ": " << e.what());
    }
  };
  const size_t flips = 240;
  for (size_t k = 0; k < flips; ++k) {
    size_t offset = (k * good.size()) / flips + (k * 7) % 13;
    if (offset >= good.size()) offset = good.size() - 1;
    std::vector<uint8_t> bad = good;
    bad[offset] ^= static_cast<uint8_t>(1u << (k % 8));
    expect_refused(bad, "bit flip at byte " + std::to_string(offset));
  }
  const size_t cuts = 60;
  for (size_t k = 0; k < cuts; ++k) {
    size_t length = (k * good.size()) / cuts;
    expect_refused(std::vector<uint8_t>(good.begin(), good.begin() + length), "truncation to " + std::to_string(length));
  }
  CHECK(tried == static_cast<int>(flips + cuts));
  CHECK(refused == tried);
}

TEST_CASE("artifact: a .bin for another march is refused naming both marches", "[artifact]") {
  bpu::test::TempDir dir("march");
  CompiledModel m = compile_nonhybrid(dir.path().string());
  m.march = "bayes-e";
  CompiledModel back = deserialize_model(serialize_model(m), "other.bin");
  ModelRunner any(back, "other.bin");  // no expectation: every known march runs
  CHECK(any.model().march == "bayes-e");
  bpu::test::require_error([&] { ModelRunner(back, "other.bin", "bayes"); }, ExitCode::Artifact,
                           "compiled for march 'bayes-e' but 'bayes' was asked for");
  m.march = "bayes9";
  CompiledModel unknown = deserialize_model(serialize_model(m), "unknown.bin");
  bpu::test::require_error([&] { ModelRunner(unknown, "unknown.bin"); }, ExitCode::Artifact,
                           "compiled for march 'bayes9', which this simulator does not run (it runs bayes, bayes-e, bernoulli2)");
}

TEST_CASE("artifact: a non-.bin file is refused", "[artifact]") {
  std::vector<uint8_t> text(200, 'x');
  bpu::test::require_error([&] { deserialize_model(text, "notes.txt"); }, ExitCode::Artifact, "bad magic");
  bpu::test::require_error([&] { load_model_file("/nonexistent/model.bin"); }, ExitCode::Io, "/nonexistent/model.bin");
}

namespace {

// Recomputes every section CRC and the header CRC, so a corruption gets past the checksums.
void fix_crcs(std::vector<uint8_t>& b) {
  auto rd32 = [&](size_t at) { uint32_t v; std::memcpy(&v, b.data() + at, 4); return v; };
  auto rd64 = [&](size_t at) { uint64_t v; std::memcpy(&v, b.data() + at, 8); return v; };
  auto wr32 = [&](size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); };
  if (b.size() < kBinHeaderSize) return;
  uint32_t n = rd32(32);
  if (n > 64 || kBinHeaderSize + n * 32ull > b.size()) return;
  for (uint32_t i = 0; i < n; ++i) {
    size_t e = kBinHeaderSize + i * 32;
    uint64_t off = rd64(e + 8), size = rd64(e + 16);
    if (off > b.size() || size > b.size() - off) continue;
    wr32(e + 24, static_cast<uint32_t>(crc32(crc32(0, Z_NULL, 0), b.data() + off, static_cast<uInt>(size))));
  }
  wr32(48, 0);
  wr32(48, static_cast<uint32_t>(crc32(crc32(0, Z_NULL, 0), b.data(), static_cast<uInt>(kBinHeaderSize + n * 32))));
}

}  // namespace

TEST_CASE("artifact: corruption behind valid checksums is refused or harmless, never a crash", "[artifact][sanitize]") {
  bpu::test::TempDir dir("fuzz");
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("hybrid/model.onnx"), "o");
  const std::vector<uint8_t> good = serialize_model(compile_model(parse_config(yaml, dir.file("c.yaml"))).model);
  FloatArray input = load_npy(bpu::test::data_path("hybrid/input_0.npy"));
  int refused = 0, ran = 0;
  for (size_t k = 0; k < 300; ++k) {
    std::vector<uint8_t> bad = good;
    size_t offset = kBinHeaderSize + (k * 7919) % (good.size() - kBinHeaderSize);
    bad[offset] ^= static_cast<uint8_t>(1u << (k % 8));
    fix_crcs(bad);
    try {
      ModelRunner runner(deserialize_model(bad, "fuzz.bin"), "fuzz.bin");
      runner.run({{"input", input}});  // a harmless flip (a scale, a name letter) must still run safely
      ++ran;
    } catch (const Error& e) {
      INFO("flip at " << offset << ": " << e.what());
      CHECK((e.code() == ExitCode::Artifact || e.code() == ExitCode::Usage));
      ++refused;
    }
  }
  INFO("refused " << refused << ", ran " << ran);
  CHECK(refused + ran == 300);
  CHECK(refused >= 50);  // most bytes are weights, where a flip is harmless; the rest must be refused
}

TEST_CASE("artifact: a memory map the runtime cannot honour is refused", "[artifact]") {
  bpu::test::TempDir dir("memmap");
  const CompiledModel good = compile_nonhybrid(dir.path().string());  // fixture_yaml compiles at O3
  REQUIRE(good.bpu_segments.at(0).sram_size > 0);
  auto refused = [&](CompiledModel m, const char* what) {
    CompiledModel back = deserialize_model(serialize_model(m), "plan.bin");
    bpu::test::require_error([&] { ModelRunner(back, "plan.bin"); }, ExitCode::Artifact, what);
  };
  CompiledModel window = good;
  window.bpu_segments[0].sram_size = window.bpu_segments[0].arena_size + 16;  // larger than the whole map
  refused(window, "SRAM window");
  CompiledModel staging = good;
  staging.bpu_segments[0].weight_staging_size = bayes::kMaxSramBytes + 16;
  refused(staging, "SRAM window");
  CompiledModel straddle = good;
  BpuSegment& s = straddle.bpu_segments[0];
  for (auto& b : s.buffers) {
    if (s.on_chip(b)) {
      b.offset = s.sram_base() - 16;  // starts in DDR, ends in the window
      break;
    }
  }
  refused(straddle, "straddles the DDR arena and the SRAM window");
}

TEST_CASE("artifact: a .bin of another format version is refused with a message to recompile", "[artifact]") {
  bpu::test::TempDir dir("version");
  std::vector<uint8_t> bytes = serialize_model(compile_nonhybrid(dir.path().string()));
  const uint32_t old_version = kBinFormatVersion - 1;
  std::memcpy(bytes.data() + 8, &old_version, 4);
  bpu::test::require_error([&] { deserialize_model(bytes, "old.bin"); }, ExitCode::Artifact, "recompile it");
}

TEST_CASE("artifact: a CONST whose bytes leave the constant pool is refused", "[artifact]") {
  bpu::test::TempDir dir("const");
  // The op fixture's Add of a fake-quantized constant brings the constant in with CONST.
  int consts = 0;
  CompiledModel back = edited_bin<bayes::Const>(dir, "add_quantized_constant_13", "const.bin", [](bayes::Const& c, const BpuSegment& s) {
    c.data_offset = static_cast<uint32_t>(s.constants.size() - 1);  // the last byte: the codes run past the end
  }, consts);
  REQUIRE(consts == 1);
  bpu::test::require_error([&] { ModelRunner(back, "const.bin"); }, ExitCode::Artifact, "outside the constant pool");
}

TEST_CASE("artifact: a MATMUL whose operands do not chain is refused", "[artifact]") {
  bpu::test::TempDir dir("matmul");
  // The op fixture's MatMul of x by its own (fake-quantized) transpose runs as MATMUL; swapping the operands
  // gives [.., K, M] x [.., M, K] -> [.., M, M], which does not chain into the output.
  int matmuls = 0;
  CompiledModel back = edited_bin<bayes::Matmul>(dir, "matmul_activations_4d_13", "matmul.bin", [](bayes::Matmul& mm, const BpuSegment&) {
    std::swap(mm.input_a, mm.input_b);
  }, matmuls);
  REQUIRE(matmuls == 1);
  bpu::test::require_error([&] { ModelRunner(back, "matmul.bin"); }, ExitCode::Artifact, "shapes are not [..., M, K] x [..., K, N]");
}

TEST_CASE("artifact: a CONV2D whose padding and dilation would need an unbounded scratch is refused", "[artifact]") {
  bpu::test::TempDir dir("conv_extent");
  int convs = 0;
  CompiledModel back = edited_bin<bayes::Conv2d>(dir, "conv_clip_attr_10", "conv.bin", [](bayes::Conv2d& c, const BpuSegment&) {
    // The same output size (stride 1): pads of 4096 around a kernel dilated to span 8193 positions, so the
    // padded extent is about 8200 x 8200 positions per channel.
    const uint32_t extent = (c.kernel_h - 1) * 4096 + 1;
    REQUIRE(c.stride_h == 1);
    REQUIRE(c.kernel_h == c.kernel_w);
    const uint32_t pad = (extent - 1) / 2;
    REQUIRE(c.pad_top + c.pad_bottom == c.kernel_h - 1);
    c.dilation_h = c.dilation_w = 4096;
    c.pad_top = c.pad_bottom = c.pad_left = c.pad_right = pad;
  }, convs);
  REQUIRE(convs >= 1);
  bpu::test::require_error([&] { ModelRunner(back, "conv.bin"); }, ExitCode::Artifact, "reduce the padding or dilation");
}
