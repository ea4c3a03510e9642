// Reading calibration samples (see cal_data.h).

#include "calib/cal_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/file_io.h"

namespace bpu::calib {

namespace fs = std::filesystem;

namespace {

size_t dtype_size(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "int16") return 2;
  return 1;  // uint8, int8
}

[[noreturn]] void fail(const std::string& what) {
  throw Error(ExitCode::Config, "calibration_parameters.cal_data_dir: " + what);
}

template <typename T>
void widen(const std::vector<uint8_t>& bytes, std::vector<float>* out) {
  const size_t n = bytes.size() / sizeof(T);
  out->resize(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    (*out)[i] = static_cast<float>(v);
  }
}

}  // namespace

std::string raw_dtype(const std::string& folder, const std::string& cal_data_type, std::string* warning) {
  std::string name = fs::path(folder).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(folder).lexically_normal().parent_path().filename().string();
  const bool f32_suffix = name.size() >= 4 && name.compare(name.size() - 4, 4, "_f32") == 0;
  if (!cal_data_type.empty()) {
    if (f32_suffix && cal_data_type != "float32" && warning) {
      *warning = "calibration_parameters.cal_data_type '" + cal_data_type + "' wins over the '_f32' suffix of folder '" +
                 folder + "'";
    }
    return cal_data_type;
  }
  return f32_suffix ? "float32" : "uint8";
}

SampleFolder list_samples(const std::string& input, const Shape& shape, const std::string& folder,
                          const std::string& cal_data_type, std::string* warning) {
  SampleFolder f{input, shape, folder, "", {}};
  std::error_code ec;
  size_t npy = 0;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // hidden files (.DS_Store, editor swap files)
    f.files.push_back(e.path().string());
    npy += e.path().extension() == ".npy";
  }
  if (ec) fail("cannot list folder '" + folder + "': " + ec.message());
  if (f.files.empty()) fail("folder '" + folder + "' for input '" + input + "' holds no sample files");
  if (npy != 0 && npy != f.files.size()) {
    fail("folder '" + folder + "' mixes .npy and raw files; keep one format per folder");
  }
  std::sort(f.files.begin(), f.files.end());
  f.dtype = npy ? "float32" : raw_dtype(folder, cal_data_type, warning);
  return f;
}

FloatArray read_sample(const SampleFolder& f, size_t index) {
  const std::string& path = f.files.at(index);
  const int64_t elements = checked_element_count(f.shape, "input '" + f.input + "'", ExitCode::Config);
  if (fs::path(path).extension() == ".npy") {
    FloatArray a = load_npy(path);
    if (a.shape != f.shape) {
      fail("'" + path + "' has shape " + shape_to_string(a.shape) + ", input '" + f.input + "' needs " +
           shape_to_string(f.shape));
    }
    return a;
  }
  const uint64_t need = static_cast<uint64_t>(elements) * dtype_size(f.dtype);
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw Error(ExitCode::Io, "calibration sample '" + path + "': " + ec.message());
  if (size != need) {
    fail("'" + path + "' has " + std::to_string(size) + " bytes; input '" + f.input + "' of shape " +
         shape_to_string(f.shape) + " as " + f.dtype + " needs " + std::to_string(need) +
         " (set cal_data_type, or check input_shape and the file)");
  }
  std::vector<uint8_t> bytes = read_file(path, need, "calibration sample");
  FloatArray a{f.shape, {}};
  if (f.dtype == "float32") widen<float>(bytes, &a.data);
  else if (f.dtype == "int32") widen<int32_t>(bytes, &a.data);
  else if (f.dtype == "int16") widen<int16_t>(bytes, &a.data);
  else if (f.dtype == "int8") widen<int8_t>(bytes, &a.data);
  else widen<uint8_t>(bytes, &a.data);
  for (float v : a.data) {
    if (!std::isfinite(v)) fail("'" + path + "' holds a non-finite value; calibration samples must be finite");
  }
  return a;
}

}  // namespace bpu::calib
