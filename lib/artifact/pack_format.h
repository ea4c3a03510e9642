// Packed .bin files (hb_pack's role): several compiled models in one file, each kept whole as the .bin it was
// (bin_format.h) and selected by name at load time (`run --model-name`, hrt_model_exec's --model_name). The
// container is a header and a name table in front of the models; docs/bin_format.md ("Packed files") is the
// spec. A pack cannot hold another pack (hb_pack cannot re-pack either).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lower/compiled_model.h"

namespace bpu {

constexpr char kPackMagic[8] = {'B', 'P', 'U', 'M', 'A', 'P', 'P', 'K'};
constexpr uint32_t kPackFormatVersion = 1;
constexpr uint32_t kMaxPackedModels = 64;
constexpr size_t kMaxModelNameBytes = 95;

struct PackEntry {
  std::string name;
  uint64_t offset = 0;  // byte offset of the model's .bin in the pack (multiple of 64)
  uint64_t size = 0;
};

bool is_pack(const std::vector<uint8_t>& bytes);

// The name a single .bin is known by in a pack and to --model-name: its file name without the ".bin" suffix
// (makertbin writes <output_model_file_prefix>.bin, so this is the prefix).
std::string model_name_for_path(const std::string& path);

// Problems with a model name ("" when fine): 1..95 bytes of letters, digits, '_', '-', '.'.
std::string model_name_problem(const std::string& name);

// The pack file holding `models` (name, .bin bytes) in that order. Throws Error(Usage) for fewer than 2 or more
// than kMaxPackedModels models, a bad or repeated name, or a model that is itself a pack.
std::vector<uint8_t> pack_model_files(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& models);

// The validated name table of a pack (Error(Artifact) naming `path` for anything inconsistent).
std::vector<PackEntry> read_pack_table(const std::vector<uint8_t>& bytes, const std::string& path);

// The names of the models in `path`: the table of a pack, or the one name of a plain .bin.
std::vector<std::string> model_names_in_file(const std::string& path);

// Reads model `model_name` from `path`. For a plain .bin an empty name or its own name selects it; for a pack
// the name must be one in its table. Anything else (an empty name for a pack included) is Error(Usage) listing
// the names the file holds.
CompiledModel load_model_file(const std::string& path, const std::string& model_name);

}  // namespace bpu
