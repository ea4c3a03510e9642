// The fuzz entry points (see fuzz_harness.h): each turns bytes into the input of one stage and runs the stage the
// way the CLI does, returning when the stage accepted the input or refused it with a bpu::Error.

#include "fuzz/fuzz_harness.h"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "api/bpu_mapper.h"
#include "arch/bayes/perf_model.h"
#include "artifact/bin_format.h"
#include "artifact/pack_format.h"
#include "common/file_io.h"
#include "runtime/model_runner.h"

namespace bpu::fuzz {

namespace fs = std::filesystem;

namespace {

// The harness makes up all-zero inputs; beyond this many float elements in total it does not run the model
// (the user would have to hand over that much data; the loader's own allocations are bounded without it).
constexpr uint64_t kMaxRunInputElements = uint64_t(64) << 20;

// A private folder per process: <tmp>/bpu-fuzz-<pid>, holding the ONNX file of the current input and an
// existing model.onnx the configs can name. Removed at normal exit.
class Scratch {
 public:
  Scratch() : dir_(fs::temp_directory_path() / ("bpu-fuzz-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "model.onnx").put('\0');
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path path(const std::string& name) const { return dir_ / name; }

 private:
  fs::path dir_;
};

const Scratch& scratch() {
  static Scratch s;
  return s;
}

void write_bytes(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path.string());
}

// The fixed config of the ONNX target: what a user's minimal makertbin YAML gives, with memory planning on.
const MapperConfig& onnx_config() {
  static const MapperConfig cfg = [] {
    const fs::path yaml = scratch().path("fuzz.yaml");
    const std::string text =
        "model_parameters:\n  onnx_model: input.onnx\n  march: bayes\n  working_dir: out\n"
        "input_parameters:\n  input_type_rt: featuremap\n  input_type_train: featuremap\n  norm_type: no_preprocess\n"
        "calibration_parameters:\n  calibration_type: load\n"
        "compiler_parameters:\n  optimize_level: O2\n";
    write_bytes(scratch().path("input.onnx"), nullptr, 0);
    return parse_config(text, yaml.string());
  }();
  return cfg;
}

Outcome refused(const Error& e) {
  Outcome o;
  o.code = e.code();
  o.message = e.what();
  return o;
}

// Reads a little-endian integer of the .bin image, or returns false past its end.
template <typename T>
bool read_le(const std::vector<uint8_t>& b, uint64_t at, T* v) {
  if (at > b.size() || sizeof(T) > b.size() - at) return false;
  std::memcpy(v, b.data() + at, sizeof(T));
  return true;
}

template <typename T>
void write_le(std::vector<uint8_t>& b, uint64_t at, T v) {
  if (at <= b.size() && sizeof(T) <= b.size() - at) std::memcpy(b.data() + at, &v, sizeof(T));
}

// zlib's CRC-32, as the .bin writer computes it.
uint32_t crc32_bytes(const uint8_t* data, size_t size) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), data, static_cast<uInt>(size)));
}

}  // namespace

void quiet_logging() { spdlog::set_level(spdlog::level::off); }

Outcome run_onnx(const uint8_t* data, size_t size) {
  const MapperConfig& cfg = onnx_config();
  write_bytes(cfg.onnx_model, data, size);
  try {
    CompileResult r = compile_model(cfg);
    r.model.compiler_version = kCompilerVersion;
    std::vector<uint8_t> bin = serialize_model(r.model);
    CompiledModel back = deserialize_model(bin, "fuzz.bin");
    ModelRunner runner(std::move(back), "fuzz.bin");
  } catch (const Error& e) {
    return refused(e);
  }
  return {true, ExitCode::Ok, ""};
}

Outcome run_config(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string path = scratch().path("config.yaml").string();
  try {
    MapperConfig cfg = parse_config(text, path);
    bayes::hardware_from_yaml(cfg.yaml_text);
    (void)cfg.output_bin_path();
  } catch (const Error& e) {
    return refused(e);
  }
  return {true, ExitCode::Ok, ""};
}

namespace {

// Loads, validates and runs one model's bytes on zero inputs (Error for anything refused).
void run_model_bytes(const std::vector<uint8_t>& bytes) {
  CompiledModel model = deserialize_model(bytes, "fuzz.bin");
  ModelRunner runner(std::move(model), "fuzz.bin");
  std::map<std::string, FloatArray> inputs;
  uint64_t total = 0;
  for (const auto& in : runner.model().inputs) {
    uint64_t n = 1;
    for (int64_t d : in.shape) n *= static_cast<uint64_t>(d);  // checked by the loader: <= 2^30 elements
    total += n;
    if (total > kMaxRunInputElements) return;  // not run: inputs too large for the harness
    inputs[in.name] = FloatArray{in.shape, std::vector<float>(n, 0.0f)};
  }
  runner.run(inputs);
}

}  // namespace

Outcome run_bin(const uint8_t* data, size_t size, bool fix_checksums) {
  std::vector<uint8_t> bytes(data, data + size);
  if (fix_checksums) fix_bin_checksums(bytes);
  try {
    if (!is_pack(bytes)) {
      run_model_bytes(bytes);
    } else {  // a packed file: its table, then each model it holds (artifact/pack_format.h)
      for (const auto& e : read_pack_table(bytes, "fuzz.bin")) {
        run_model_bytes(std::vector<uint8_t>(bytes.begin() + static_cast<std::ptrdiff_t>(e.offset),
                                             bytes.begin() + static_cast<std::ptrdiff_t>(e.offset + e.size)));
      }
    }
  } catch (const Error& e) {
    return refused(e);
  }
  return {true, ExitCode::Ok, ""};
}

void fix_bin_checksums(std::vector<uint8_t>& b) {
  // Layout (docs/bin_format.md): sections u32 at 32, file size u64 at 40, header CRC u32 at 48; section table of
  // 32-byte entries at 128 (kind, index, offset u64, size u64, crc u32, pad).
  if (b.size() < kBinHeaderSize || std::memcmp(b.data(), kBinMagic, 8) != 0) return;
  write_le<uint64_t>(b, 40, b.size());
  uint32_t n = 0;
  read_le(b, 32, &n);
  if (n == 0 || n > 4096 || kBinHeaderSize + uint64_t(n) * 32 > b.size()) return;
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t e = kBinHeaderSize + uint64_t(i) * 32;
    uint64_t offset = 0, length = 0;
    read_le(b, e + 8, &offset);
    read_le(b, e + 16, &length);
    if (offset <= b.size() && length <= b.size() - offset) write_le<uint32_t>(b, e + 24, crc32_bytes(b.data() + offset, length));
  }
  write_le<uint32_t>(b, 48, 0);
  write_le<uint32_t>(b, 48, crc32_bytes(b.data(), kBinHeaderSize + uint64_t(n) * 32));
}

}  // namespace bpu::fuzz
