// Element types and shape arithmetic used from import to runtime.
// Shapes read from files go through checked_element_count so no allocation is ever sized by an unchecked number.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace bpu {

// UInt8: the raw pixels of an image input (input_type_rt rgb/bgr/yuv444/gray/nv12), scale 1.
enum class DType : uint8_t { Float32 = 1, Int8 = 2, Int16 = 3, Int32 = 4, UInt8 = 5 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool dtype_from_code(uint32_t code, DType* out);  // validates a code read from a file
int64_t dtype_min(DType t);                        // integer range; Float32 is not an integer type
int64_t dtype_max(DType t);

using Shape = std::vector<int64_t>;

// Largest tensor any stage accepts: 2^30 elements (bayes allows N*C*H*W <= 1 GB).
constexpr int64_t kMaxTensorElements = int64_t(1) << 30;
constexpr size_t kMaxRank = 8;

// Element count of a shape; throws bpu::Error(code) naming `what` when a dim is < 1 or the product is too large.
int64_t checked_element_count(const Shape& shape, const std::string& what, ExitCode error_code);
std::string shape_to_string(const Shape& shape);  // "1x3x224x224"

}  // namespace bpu
