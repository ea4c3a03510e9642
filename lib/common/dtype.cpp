// Element type properties and checked shape arithmetic.

#include "common/dtype.h"

#include <sstream>

#include "common/error.h"

namespace bpu {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Int8: return 1;
    case DType::UInt8: return 1;
    case DType::Int16: return 2;
    case DType::Int32: return 4;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

bool dtype_from_code(uint32_t code, DType* out) {
  if (code < 1 || code > 5) return false;
  *out = static_cast<DType>(code);
  return true;
}

int64_t dtype_min(DType t) {
  switch (t) {
    case DType::Int8: return -128;
    case DType::Int16: return -32768;
    case DType::Int32: return INT32_MIN;
    default: return 0;
  }
}

int64_t dtype_max(DType t) {
  switch (t) {
    case DType::Int8: return 127;
    case DType::Int16: return 32767;
    case DType::Int32: return INT32_MAX;
    case DType::UInt8: return 255;
    default: return 0;
  }
}

int64_t checked_element_count(const Shape& shape, const std::string& what, ExitCode error_code) {
  if (shape.size() > kMaxRank) {
    throw Error(error_code,
                what + ": rank " + std::to_string(shape.size()) + " exceeds the limit of " + std::to_string(kMaxRank));
  }
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 1 || d > kMaxTensorElements) {
      throw Error(error_code,
                  what + ": dimension " + std::to_string(d) + " in shape " + shape_to_string(shape) +
                      " is outside [1, " + std::to_string(kMaxTensorElements) + "]");
    }
    count *= d;
    if (count > kMaxTensorElements) {
      throw Error(error_code,
                  what + ": shape " + shape_to_string(shape) + " has more than " + std::to_string(kMaxTensorElements) +
                      " elements");
    }
  }
  return count;
}

std::string shape_to_string(const Shape& shape) {
  std::ostringstream os;
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? "x" : "") << shape[i];
  if (shape.empty()) os << "scalar";
  return os.str();
}

}  // namespace bpu
