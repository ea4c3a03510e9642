// Writes the seed .bins of the fuzz_bin target: compiles each small test/data fixture model with a default
// config (march bayes, O0 and O2) and saves the .bin into the output folder; a model the default config cannot
// compile is skipped with a note (fails only when no seed at all was written). The first two seeds are also
// written packed into one file (pack_seed.bin), so the fuzzer starts from a valid packed file too.
// Usage: fuzz_make_bin_seeds OUT_DIR MODEL.onnx...

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/bpu_mapper.h"
#include "artifact/bin_format.h"
#include "artifact/pack_format.h"
#include "common/file_io.h"
#include "common/error.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: fuzz_make_bin_seeds OUT_DIR MODEL.onnx...\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const fs::path out = argv[1];
  fs::create_directories(out);
  int written = 0;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> packed;
  for (int i = 2; i < argc; ++i) {
    const fs::path model = fs::absolute(argv[i]);
    try {
      for (const char* level : {"O0", "O2"}) {
        const fs::path yaml = out / "seed.yaml";
        const std::string text = "model_parameters:\n  onnx_model: " + model.string() +
                                 "\n  march: bayes\ninput_parameters:\n  input_type_rt: featuremap\n"
                                 "calibration_parameters:\n  calibration_type: load\n"
                                 "compiler_parameters:\n  optimize_level: " + level + "\n";
        bpu::MapperConfig cfg = bpu::parse_config(text, yaml.string());
        bpu::CompileResult r = bpu::compile_model(cfg);
        const std::string name = model.parent_path().filename().string() + "_" + level + ".bin";
        bpu::save_model(r.model, (out / name).string());
        if (packed.size() < 2) packed.emplace_back("seed" + std::to_string(packed.size()), bpu::serialize_model(r.model));
        std::cout << "seed " << (out / name).string() << "\n";
        ++written;
      }
    } catch (const bpu::Error& e) {
      // A fixture that needs settings the default config lacks (e.g. a dynamic input without input_shape)
      // gives no seed; the others still do.
      std::cerr << "fuzz_make_bin_seeds: skipped " << model.string() << ": " << e.what() << "\n";
    }
  }
  if (packed.size() == 2) bpu::write_file_atomic((out / "pack_seed.bin").string(), bpu::pack_model_files(packed));
  if (written == 0) {
    std::cerr << "fuzz_make_bin_seeds: no model compiled, no seed written\n";
    return 1;
  }
  return 0;
}
