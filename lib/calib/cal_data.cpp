// Reading calibration samples (see cal_data.h).

#include "calib/cal_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/error.h"
#include "common/file_io.h"

#include <stb_image.h>

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
                          const SampleFormat& format, std::string* warning) {
  SampleFolder f{input, shape, folder, "", {}, format.images, format.layout, format.bgr};
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
  if (npy != 0 && npy != f.files.size() && !f.images) {
    fail("folder '" + folder + "' mixes .npy and raw files; keep one format per folder");
  }
  std::sort(f.files.begin(), f.files.end());
  f.dtype = f.images ? "uint8" : npy ? "float32" : raw_dtype(folder, format.cal_data_type, warning);
  return f;
}

FloatArray read_sample(const SampleFolder& f, size_t index) {
  const std::string& path = f.files.at(index);
  if (f.images) return read_image_sample(f, path);
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

namespace bpu::calib {

FloatArray read_image_sample(const SampleFolder& f, const std::string& path) {
  const bool nhwc = f.layout == "NHWC";
  if (f.shape.size() != 4 || f.shape[0] != 1) {
    fail("preprocess_on decodes images for a 4-D input with batch 1; input '" + f.input + "' has shape " +
         shape_to_string(f.shape));
  }
  const int64_t c = nhwc ? f.shape[3] : f.shape[1], h = nhwc ? f.shape[1] : f.shape[2], w = nhwc ? f.shape[2] : f.shape[3];
  if (c != 1 && c != 3) fail("preprocess_on needs 1 or 3 channels; input '" + f.input + "' has " + std::to_string(c));
  checked_element_count(f.shape, "input '" + f.input + "'", ExitCode::Config);
  int iw = 0, ih = 0, ic = 0;
  unsigned char* pixels = stbi_load(path.c_str(), &iw, &ih, &ic, static_cast<int>(c));
  if (!pixels) fail("'" + path + "' is not an image stb_image decodes (JPEG, PNG, BMP): " + stbi_failure_reason());
  std::unique_ptr<unsigned char, void (*)(void*)> owned(pixels, stbi_image_free);
  FloatArray a{f.shape, std::vector<float>(static_cast<size_t>(c * h * w))};
  // Bilinear resize with half-pixel centres (source = (dst + 0.5) * in / out - 0.5, clamped to the edges).
  auto coord = [](int64_t dst, int64_t out, int in, int64_t* lo, int64_t* hi, float* frac) {
    const double src = std::max(0.0, (dst + 0.5) * in / static_cast<double>(out) - 0.5);
    *lo = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
    *hi = std::min<int64_t>(*lo + 1, in - 1);
    *frac = static_cast<float>(src - static_cast<double>(*lo));
  };
  for (int64_t y = 0; y < h; ++y) {
    int64_t y0, y1;
    float fy;
    coord(y, h, ih, &y0, &y1, &fy);
    for (int64_t x = 0; x < w; ++x) {
      int64_t x0, x1;
      float fx;
      coord(x, w, iw, &x0, &x1, &fx);
      for (int64_t k = 0; k < c; ++k) {
        const int64_t src_k = f.bgr && c == 3 ? 2 - k : k;
        auto px = [&](int64_t yy, int64_t xx) { return static_cast<float>(pixels[(yy * iw + xx) * c + src_k]); };
        const float top = px(y0, x0) + (px(y0, x1) - px(y0, x0)) * fx;
        const float bottom = px(y1, x0) + (px(y1, x1) - px(y1, x0)) * fx;
        const size_t at = static_cast<size_t>(nhwc ? (y * w + x) * c + k : (k * h + y) * w + x);
        a.data[at] = top + (bottom - top) * fy;
      }
    }
  }
  return a;
}

}  // namespace bpu::calib
