// Shared helpers for the unit tests: fixture paths, temporary folders, configs, comparison metrics and an
// assertion that a call fails with a given bpu::Error code and message fragment.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "common/error.h"
#include "common/npy.h"

namespace bpu::test {

inline std::string data_path(const std::string& rel) { return std::string(BPU_TEST_DATA) + "/" + rel; }

// A fresh folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::mt19937_64 rng(std::random_device{}());
    path_ = std::filesystem::temp_directory_path() / ("bpu_test_" + tag + "_" + std::to_string(rng()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A minimal valid makertbin config for `onnx` with outputs in `working_dir`.
inline std::string fixture_yaml(const std::string& onnx, const std::string& working_dir,
                                const std::string& march = "bayes", const std::string& extra_calibration = "") {
  return "model_parameters:\n  onnx_model: '" + onnx + "'\n  march: '" + march +
         "'\n  output_model_file_prefix: 'model'\n  working_dir: '" + working_dir +
         "'\ninput_parameters:\n  input_type_rt: 'featuremap'\n  input_type_train: 'featuremap'\n"
         "  input_layout_train: 'NCHW'\n  input_layout_rt: 'NCHW'\n  norm_type: 'no_preprocess'\n"
         "calibration_parameters:\n  calibration_type: 'load'\n" + extra_calibration +
         "compiler_parameters:\n  compile_mode: 'latency'\n  debug: false\n  optimize_level: 'O3'\n";
}

inline double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

inline double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float v : a) m = std::max(m, std::fabs(double(v)));
  return m;
}

// Runs f and requires a bpu::Error with `code` whose message contains `fragment`.
inline void require_error(const std::function<void()>& f, ExitCode code, const std::string& fragment) {
  try {
    f();
  } catch (const Error& e) {
    INFO("message: " << e.what());
    CHECK(static_cast<int>(e.code()) == static_cast<int>(code));
    CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    return;
  }
  FAIL("expected bpu::Error(" << exit_code_name(code) << ") containing '" << fragment << "'");
}

}  // namespace bpu::test
