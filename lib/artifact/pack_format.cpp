// Packed .bin files: writer, validating table reader and the by-name model loader.

#include "artifact/pack_format.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "artifact/bin_format.h"
#include "common/byte_stream.h"
#include "common/error.h"
#include "common/file_io.h"

namespace bpu {

namespace {

constexpr uint32_t kPackHeaderSize = 64;
constexpr uint32_t kPackEntrySize = 128;
constexpr size_t kPackCrcOffset = 32;  // magic 8, version 4, header size 4, count 4, flags 4, file size 8
constexpr size_t kNameField = 96;

uint64_t align64(uint64_t v) { return (v + 63) / 64 * 64; }

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// The header and table bytes with the CRC field read as zero.
uint32_t table_crc(const uint8_t* data, size_t table_end) {
  std::vector<uint8_t> copy(data, data + table_end);
  std::memset(copy.data() + kPackCrcOffset, 0, 4);
  return crc32_of(copy.data(), copy.size());
}

bool starts_with_magic(const std::vector<uint8_t>& bytes, const char (&magic)[8]) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), magic, 8) == 0;
}

}  // namespace

bool is_pack(const std::vector<uint8_t>& bytes) { return starts_with_magic(bytes, kPackMagic); }

std::string model_name_for_path(const std::string& path) {
  std::filesystem::path p(path);
  return p.extension() == ".bin" ? p.stem().string() : p.filename().string();
}

std::string model_name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxModelNameBytes) return "is longer than " + std::to_string(kMaxModelNameBytes) + " bytes";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return "holds '" + std::string(1, c) + "'; a model name is letters, digits, '_', '-' and '.'";
  }
  return "";
}

std::vector<uint8_t> pack_model_files(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& models) {
  if (models.size() < 2 || models.size() > kMaxPackedModels) {
    throw Error(ExitCode::Usage, "pack: give 2 to " + std::to_string(kMaxPackedModels) + " models, not " + std::to_string(models.size()));
  }
  std::set<std::string> seen;
  for (const auto& [name, bytes] : models) {
    std::string problem = model_name_problem(name);
    if (!problem.empty()) throw Error(ExitCode::Usage, "pack: model name '" + name + "' " + problem + "; rename its .bin file");
    if (!seen.insert(name).second) {
      throw Error(ExitCode::Usage, "pack: two models are named '" + name + "'; rename one of the .bin files (the name is the file name without .bin)");
    }
    if (is_pack(bytes)) throw Error(ExitCode::Usage, "pack: '" + name + "' is already a packed file; a pack cannot be packed again");
  }
  ByteWriter w;
  w.bytes(kPackMagic, 8);
  w.u32(kPackFormatVersion);
  w.u32(kPackHeaderSize);
  w.u32(static_cast<uint32_t>(models.size()));
  w.u32(0);  // flags
  const size_t file_size_at = w.data().size();
  w.u64(0);  // file size, patched
  w.u32(0);  // CRC, patched
  w.align(kPackHeaderSize);
  uint64_t offset = align64(kPackHeaderSize + uint64_t(kPackEntrySize) * models.size());
  std::vector<uint64_t> offsets;
  for (const auto& [name, bytes] : models) {
    char field[kNameField] = {};
    std::memcpy(field, name.data(), name.size());
    w.bytes(field, kNameField);
    w.u64(offset);
    w.u64(bytes.size());
    w.u32(crc32_of(bytes.data(), bytes.size()));
    for (int k = 0; k < 12; ++k) w.u8(0);
    offsets.push_back(offset);
    offset = align64(offset + bytes.size());
  }
  const size_t table_end = w.data().size();
  for (size_t i = 0; i < models.size(); ++i) {
    while (w.data().size() < offsets[i]) w.u8(0);
    w.bytes(models[i].second.data(), models[i].second.size());
  }
  w.patch_u64(file_size_at, w.data().size());
  w.patch_u32(kPackCrcOffset, table_crc(w.data().data(), table_end));
  return std::move(w.data());
}

std::vector<PackEntry> read_pack_table(const std::vector<uint8_t>& bytes, const std::string& path) {
  ByteReader h(bytes.data(), bytes.size(), "packed model file '" + path + "'");
  h.take(8);
  uint32_t version = h.u32();
  if (version != kPackFormatVersion) {
    h.fail("pack format version " + std::to_string(version) + ", this bpu-mapper reads version " +
           std::to_string(kPackFormatVersion) + (version > kPackFormatVersion ? "; use the bpu-mapper that packed it" : ""));
  }
  if (h.u32() != kPackHeaderSize) h.fail("header size is not " + std::to_string(kPackHeaderSize));
  uint32_t count = h.u32();
  if (count < 2 || count > kMaxPackedModels) h.fail("model count " + std::to_string(count) + " is outside [2, " + std::to_string(kMaxPackedModels) + "]");
  if (h.u32() != 0) h.fail("flags are not zero");
  if (h.u64() != bytes.size()) h.fail("recorded file size differs from the file's (truncated or extended file)");
  uint32_t crc = h.u32();
  const size_t table_end = kPackHeaderSize + size_t(kPackEntrySize) * count;
  if (table_end > bytes.size()) h.fail("the name table runs past the end of the file");
  if (table_crc(bytes.data(), table_end) != crc) h.fail("header or name table CRC mismatch (corrupt file)");
  for (size_t k = h.pos(); k < kPackHeaderSize; ++k) {
    if (bytes[k] != 0) h.fail("reserved header bytes are not zero");
  }
  ByteReader t(bytes.data() + kPackHeaderSize, table_end - kPackHeaderSize, "packed model file '" + path + "' name table");
  std::vector<PackEntry> entries;
  std::set<std::string> seen;
  uint64_t cursor = table_end;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* field = t.take(kNameField);
    PackEntry e;
    e.name.assign(reinterpret_cast<const char*>(field), strnlen(reinterpret_cast<const char*>(field), kNameField));
    std::string problem = model_name_problem(e.name);
    if (!problem.empty()) t.fail("model " + std::to_string(i) + "'s name " + problem);
    if (!seen.insert(e.name).second) t.fail("model name '" + e.name + "' appears twice");
    e.offset = t.u64();
    e.size = t.u64();
    uint32_t model_crc = t.u32();
    const uint8_t* zero = t.take(12);
    if (std::any_of(zero, zero + 12, [](uint8_t b) { return b != 0; })) t.fail("reserved entry bytes are not zero");
    if (e.offset % 64 != 0 || e.offset < cursor || e.offset > bytes.size() || e.size > bytes.size() - e.offset) {
      t.fail("model '" + e.name + "' has offset " + std::to_string(e.offset) + " and size " + std::to_string(e.size) +
             " outside the file or overlapping the model before it");
    }
    if (crc32_of(bytes.data() + e.offset, e.size) != model_crc) t.fail("model '" + e.name + "' CRC mismatch (corrupt file)");
    for (uint64_t k = cursor; k < e.offset; ++k) {
      if (bytes[k] != 0) t.fail("non-zero padding byte at " + std::to_string(k));
    }
    cursor = e.offset + e.size;
    entries.push_back(std::move(e));
  }
  if (cursor != bytes.size()) t.fail("bytes after the last model");
  return entries;
}

std::vector<std::string> model_names_in_file(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path, kMaxBinBytes, "model");
  if (!is_pack(bytes)) return {model_name_for_path(path)};
  std::vector<std::string> names;
  for (const auto& e : read_pack_table(bytes, path)) names.push_back(e.name);
  return names;
}

CompiledModel load_model_file(const std::string& path, const std::string& model_name) {
  std::vector<uint8_t> bytes = read_file(path, kMaxBinBytes, "model");
  if (!is_pack(bytes)) {
    const std::string own = model_name_for_path(path);
    if (!model_name.empty() && model_name != own) {
      throw Error(ExitCode::Usage, "model '" + path + "' holds one model, '" + own + "', not '" + model_name + "'; drop --model-name or give '" + own + "'");
    }
    return deserialize_model(bytes, path);
  }
  std::vector<PackEntry> entries = read_pack_table(bytes, path);
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  if (model_name.empty()) {
    throw Error(ExitCode::Usage, "model '" + path + "' packs " + std::to_string(entries.size()) + " models (" + joined(names) +
                                     "): choose one with --model-name");
  }
  for (const auto& e : entries) {
    if (e.name != model_name) continue;
    std::vector<uint8_t> one(bytes.begin() + static_cast<std::ptrdiff_t>(e.offset),
                             bytes.begin() + static_cast<std::ptrdiff_t>(e.offset + e.size));
    return deserialize_model(one, path + " [" + model_name + "]");
  }
  throw Error(ExitCode::Usage, "model '" + path + "' has no model named '" + model_name + "'; it packs " + joined(names));
}

}  // namespace bpu
