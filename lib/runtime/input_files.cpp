// Input files (input_files.h): .npy, pictures, raw bytes.

#include "runtime/input_files.h"

#include <stb_image.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "common/file_io.h"

namespace bpu {

namespace {

bool has_suffix(std::string s, const std::string& suffix) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

FloatArray read_picture(const std::string& path, const TensorInfo& input, const InputFormat& f) {
  const std::string what = "input '" + input.name + "': picture '" + path + "'";
  if (!f.is_image()) {
    throw Error(ExitCode::Usage, what + ": the input is a featuremap (float32); pass a .npy or raw float32 file");
  }
  const Shape train = train_shape_of(f, input.shape, "input '" + input.name + "'", ExitCode::Usage);
  const int64_t h = f.train_nhwc ? train[1] : train[2], w = f.train_nhwc ? train[2] : train[3];
  if (train[0] != 1) throw Error(ExitCode::Usage, what + ": a picture fills batch 1, the input has batch " + std::to_string(train[0]));
  int iw = 0, ih = 0, ic = 0;
  if (!stbi_info(path.c_str(), &iw, &ih, &ic)) {  // dimensions first: no allocation sized by an unchecked header
    throw Error(ExitCode::Usage, what + " is not a JPEG, PNG or BMP stb_image decodes: " + stbi_failure_reason());
  }
  if (iw != w || ih != h) {
    throw Error(ExitCode::Usage, what + " is " + std::to_string(iw) + "x" + std::to_string(ih) + " (WxH), the input takes " +
                                     std::to_string(w) + "x" + std::to_string(h) + "; resize it first");
  }
  unsigned char* pixels = stbi_load(path.c_str(), &iw, &ih, &ic, 3);
  if (!pixels) throw Error(ExitCode::Usage, what + " cannot be decoded: " + stbi_failure_reason());
  std::unique_ptr<unsigned char, void (*)(void*)> owned(pixels, stbi_image_free);
  if (iw != w || ih != h) throw Error(ExitCode::Usage, what + " changed while it was read");  // the decoded size is what counts
  std::vector<uint8_t> rgb(pixels, pixels + static_cast<size_t>(h * w * 3));
  return FloatArray{input.shape, rgb_picture_to_runtime(f, h, w, rgb)};
}

FloatArray read_raw(const std::string& path, const TensorInfo& input) {
  const int64_t count = checked_element_count(input.shape, "input '" + input.name + "'", ExitCode::Usage);
  const size_t elem = input.dtype == DType::UInt8 ? 1 : 4;
  const uint64_t want = static_cast<uint64_t>(count) * elem;
  std::vector<uint8_t> bytes = read_file(path, want + 1, "input file");
  if (bytes.size() != want) {
    throw Error(ExitCode::Usage, "input '" + input.name + "': raw file '" + path + "' has " + std::to_string(bytes.size()) +
                                     " bytes, the input " + shape_to_string(input.shape) + " " +
                                     (elem == 1 ? "uint8" : "float32") + " needs " + std::to_string(want) +
                                     " (pass a .npy, or the raw " + (elem == 1 ? "uint8" : "float32") + " data)");
  }
  FloatArray a{input.shape, std::vector<float>(static_cast<size_t>(count))};
  if (elem == 1) {
    for (int64_t i = 0; i < count; ++i) a.data[i] = bytes[i];
  } else {
    std::memcpy(a.data.data(), bytes.data(), want);
  }
  return a;
}

}  // namespace

FloatArray read_input_file(const std::string& path, const TensorInfo& input, const InputFormat& format) {
  if (has_suffix(path, ".npy")) return load_npy(path);
  if (has_suffix(path, ".jpg") || has_suffix(path, ".jpeg") || has_suffix(path, ".png") || has_suffix(path, ".bmp")) {
    return read_picture(path, input, format);
  }
  return read_raw(path, input);
}

}  // namespace bpu
