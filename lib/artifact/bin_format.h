// The .bin artifact: serializes a CompiledModel into one little-endian file with a header, a section table,
// a CRC32 per section (zlib) and 64-byte aligned sections; reads it back validating every count, offset,
// length, dtype, shape and scale against the file size and sane limits. docs/bin_format.md is the spec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lower/compiled_model.h"

namespace bpu {

constexpr char kBinMagic[8] = {'B', 'P', 'U', 'M', 'A', 'P', 'B', 'N'};
constexpr uint32_t kBinFormatVersion = 4;  // 2: BPU segments carry sram_size; 3: per-input formats (image inputs);
                                           // 4: average POOL, bilinear RESIZE and SOFTMAX compute exactly (float64)
constexpr uint32_t kBinHeaderSize = 128;
constexpr uint64_t kMaxBinBytes = uint64_t(2) << 30;

enum class SectionKind : uint32_t { Meta = 1, Graph = 2, BpuSegment = 3, CpuSegment = 4 };

// CRC-32 (zlib) of `size` bytes: every section's and the header's checksum.
uint32_t crc32_of(const uint8_t* data, size_t size);

std::vector<uint8_t> serialize_model(const CompiledModel& model);

// Throws Error(Artifact) naming `path` and what is wrong; never allocates more than the file's own size
// implies (plus bounded tensor arenas, checked later by the runtime).
CompiledModel deserialize_model(const std::vector<uint8_t>& bytes, const std::string& path);

// write_file_atomic(serialize_model(model)).
void save_model(const CompiledModel& model, const std::string& path);
// read_file + deserialize_model; a missing file is Error(Io).
CompiledModel load_model_file(const std::string& path);

}  // namespace bpu
