// Minimal .npy reader/writer: parses the header dict ('descr', 'fortran_order', 'shape') by hand.

#include "common/npy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>

#include "common/error.h"
#include "common/file_io.h"

namespace bpu {

namespace {

constexpr uint64_t kMaxNpyBytes = uint64_t(4) << 30;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ExitCode::Usage, "npy file '" + path + "': " + what);
}

}  // namespace

FloatArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& path) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) bad(path, "not a .npy file (bad magic)");
  uint8_t major = bytes[6];
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad(path, "truncated header");
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (size_t(bytes[11]) << 24);
    header_start = 12;
  } else {
    bad(path, "unsupported format version " + std::to_string(major));
  }
  if (header_len > 65536 || header_start + header_len > bytes.size()) bad(path, "truncated header");
  std::string header(reinterpret_cast<const char*>(bytes.data() + header_start), header_len);

  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'"))) bad(path, "header has no 'descr'");
  std::string descr = m[1];
  if (std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*True"))) {
    bad(path, "Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
  }
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)"))) bad(path, "header has no 'shape'");
  Shape shape;
  std::string dims = m[1];
  std::regex num("(\\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it) {
    std::string d = (*it)[1];
    if (d.size() > 12) bad(path, "dimension " + d + " is absurdly large");
    shape.push_back(std::stoll(d));
  }
  int64_t count = checked_element_count(shape, "npy file '" + path + "'", ExitCode::Usage);

  // float32 / float64, and the integer types of image inputs and integer I/O (read as exact floats).
  size_t elem = 0;
  char kind = 'f';
  if (descr == "<f4" || descr == "|f4") elem = 4;
  else if (descr == "<f8") elem = 8;
  else if (descr == "|u1" || descr == "<u1") elem = 1, kind = 'u';
  else if (descr == "|i1" || descr == "<i1") elem = 1, kind = 'i';
  else if (descr == "<i2") elem = 2, kind = 'i';
  else if (descr == "<i4") elem = 4, kind = 'i';
  else bad(path, "dtype '" + descr + "' is not supported; use float32 (np.float32), or uint8 for image inputs");

  size_t payload = header_start + header_len;
  if (bytes.size() - payload != static_cast<size_t>(count) * elem) {
    bad(path, "payload has " + std::to_string(bytes.size() - payload) + " bytes, shape " + shape_to_string(shape) +
                  " needs " + std::to_string(count * elem));
  }
  FloatArray out;
  out.shape = shape;
  out.data.resize(static_cast<size_t>(count));
  const uint8_t* src = bytes.data() + payload;
  if (kind == 'u') {
    for (int64_t i = 0; i < count; ++i) out.data[i] = static_cast<float>(src[i]);
  } else if (kind == 'i' && elem == 1) {
    for (int64_t i = 0; i < count; ++i) out.data[i] = static_cast<float>(static_cast<int8_t>(src[i]));
  } else if (kind == 'i' && elem == 2) {
    for (int64_t i = 0; i < count; ++i) {
      int16_t v;
      std::memcpy(&v, src + i * 2, 2);
      out.data[i] = static_cast<float>(v);
    }
  } else if (kind == 'i') {
    for (int64_t i = 0; i < count; ++i) {
      int32_t v;
      std::memcpy(&v, src + i * 4, 4);
      out.data[i] = static_cast<float>(v);
    }
  } else if (elem == 4) {
    std::memcpy(out.data.data(), bytes.data() + payload, count * 4);
  } else {
    for (int64_t i = 0; i < count; ++i) {
      double v;
      std::memcpy(&v, bytes.data() + payload + i * 8, 8);
      out.data[i] = static_cast<float>(v);
    }
  }
  return out;
}

FloatArray load_npy(const std::string& path) { return parse_npy(read_file(path, kMaxNpyBytes, "npy file"), path); }

void save_npy(const std::string& path, const FloatArray& array) { save_npy(path, array, DType::Float32); }

void save_npy(const std::string& path, const FloatArray& array, DType dtype) {
  const char* descr = dtype == DType::Int8 ? "|i1" : dtype == DType::Int16 ? "<i2" : dtype == DType::Int32 ? "<i4"
                    : dtype == DType::UInt8 ? "|u1" : "<f4";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    header += std::to_string(array.shape[i]);
    header += (array.shape.size() == 1 || i + 1 < array.shape.size()) ? ", " : "";
  }
  header += "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(header.size() & 0xff);
  out.push_back((header.size() >> 8) & 0xff);
  out.insert(out.end(), header.begin(), header.end());
  if (dtype == DType::Float32) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(array.data.data());
    out.insert(out.end(), p, p + array.data.size() * 4);
  } else {  // integer codes held as floats, written in the integer type (little-endian)
    const size_t size = dtype_size(dtype);
    for (float v : array.data) {
      const int64_t q = static_cast<int64_t>(std::lround(v));
      for (size_t b = 0; b < size; ++b) out.push_back(static_cast<uint8_t>((static_cast<uint64_t>(q) >> (8 * b)) & 0xff));
    }
  }
  write_file_atomic(path, out);
}

std::string npy_file_name(const std::string& tensor) {
  std::string s = tensor;
  std::replace(s.begin(), s.end(), '/', '_');
  return s + ".npy";
}

}  // namespace bpu
