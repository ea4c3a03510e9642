// File helpers: capped reads and atomic writes.

#include "common/file_io.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace bpu {

uint64_t checked_file_size(const std::string& path, uint64_t max_bytes, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ExitCode::Io, what + " '" + path + "' does not exist or is not a regular file");
  }
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ExitCode::Io, "cannot stat " + what + " '" + path + "': " + ec.message());
  if (size > max_bytes) {
    throw Error(ExitCode::Io, what + " '" + path + "' is " + std::to_string(size) + " bytes, above the limit of " +
                                  std::to_string(max_bytes));
  }
  return size;
}

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
  const uint64_t size = checked_file_size(path, max_bytes, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ExitCode::Io, "cannot open " + what + " '" + path + "'");
  std::vector<uint8_t> bytes(size);
  if (size && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw Error(ExitCode::Io, "cannot read " + what + " '" + path + "'");
  }
  return bytes;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  write_file_atomic_with(path, [&](std::ostream& out) {
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    return true;
  });
}

void write_file_atomic_with(const std::string& path, const std::function<bool(std::ostream&)>& write) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ExitCode::Io, "cannot create '" + tmp + "' (is the folder writable?)");
    bool ok = false;
    try {
      ok = write(out);
    } catch (...) {
      out.close();
      std::remove(tmp.c_str());
      throw;
    }
    out.flush();
    if (!ok || !out) {
      out.close();
      std::remove(tmp.c_str());
      throw Error(ExitCode::Io, "cannot write '" + tmp + "' (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(ExitCode::Io, "cannot rename '" + tmp + "' to '" + path + "'");
  }
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

uint64_t fnv1a64(const void* data, size_t size, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t fnv1a64_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ExitCode::Io, "cannot open " + what + " '" + path + "'");
  std::vector<char> piece(1 << 20);
  uint64_t h = kFnv1a64Basis;
  while (in) {
    in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
    h = fnv1a64(piece.data(), static_cast<size_t>(in.gcount()), h);
  }
  if (in.bad()) throw Error(ExitCode::Io, "cannot read " + what + " '" + path + "'");
  return h;
}

}  // namespace bpu
