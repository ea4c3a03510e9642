// Reading and writing NumPy .npy files (format version 1.0/2.0, little-endian, C order) for model inputs,
// outputs and test references. Only the dtypes bpu-mapper exchanges are accepted: float32 and float64 in,
// float32 out.
#pragma once

#include <string>
#include <vector>

#include "common/dtype.h"

namespace bpu {

struct FloatArray {
  Shape shape;
  std::vector<float> data;
};

// Loads a float32 (or float64, converted) array; throws Error(Io) for a missing file and Error(Usage) naming
// the file for a malformed header, an unsupported dtype, Fortran order, or a payload that does not match.
FloatArray load_npy(const std::string& path);
FloatArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& path);

// Writes a float32 array atomically.
void save_npy(const std::string& path, const FloatArray& array);
// The values as `dtype` (int8 '|i1', int16 '<i2', int32 '<i4', uint8 '|u1'; integers held as floats), or float32.
void save_npy(const std::string& path, const FloatArray& array, DType dtype);

// The .npy file name `run` and `infer` give a tensor: its name with each '/' replaced by '_', plus ".npy".
std::string npy_file_name(const std::string& tensor);

}  // namespace bpu
