// Whole-file reads with a size cap and atomic writes (temporary file + rename), so a failed step never leaves a
// partial output behind.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace bpu {

// Reads a file; throws Error(Io) naming the path when it is missing or larger than max_bytes.
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const std::string& what);
// The size of a regular file, with read_file's checks and messages (for readers that stream the file).
uint64_t checked_file_size(const std::string& path, uint64_t max_bytes, const std::string& what);

// Writes bytes to `<path>.tmp.<pid>` then renames it over `path`; throws Error(Io) on failure, leaving nothing.
void write_file_atomic(const std::string& path, const void* data, size_t size);
inline void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

// The same, streaming: `write` puts the content into the stream and returns false on failure (an exception
// thrown by it also removes the temporary file).
void write_file_atomic_with(const std::string& path, const std::function<bool(std::ostream&)>& write);

bool file_exists(const std::string& path);

// FNV-1a 64-bit hash, used to fingerprint configs and models in the .bin header. `seed`: the hash of the bytes
// before these (the offset basis for none), so a file can be hashed in pieces.
constexpr uint64_t kFnv1a64Basis = 14695981039346656037ull;  // 0xcbf29ce484222325
uint64_t fnv1a64(const void* data, size_t size, uint64_t seed = kFnv1a64Basis);
// The same over a file's bytes, read in 1 MiB pieces (no copy of the whole file); throws Error(Io) naming `what`
// and the path when it cannot be read.
uint64_t fnv1a64_file(const std::string& path, const std::string& what);

}  // namespace bpu
