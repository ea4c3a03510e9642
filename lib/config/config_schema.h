// The makertbin YAML schema: every key bpu-mapper knows, in its group, with what bpu-mapper does with it
// (acted on, validated and ignored, refused), the closest known key for a misspelt one, and the type and range
// checks of the hb_mapper keys bpu-mapper does not act on. docs/cli.md lists the same table (a test holds them
// equal).
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace bpu {

class ConfigProblems;

enum class KeyStatus { Acted, Ignored, Refused };

struct ConfigKey {
  const char* group;  // "" for top-level keys
  const char* key;
  KeyStatus status;
  const char* note;  // what it does or why it is ignored/refused
};

const std::vector<ConfigKey>& config_keys();
const char* key_status_name(KeyStatus s);  // "acted on", "validated and ignored", "refused"

// "group.key" of the known key closest to `key` (same group preferred); empty when nothing is close.
std::string closest_config_key(const std::string& group, const std::string& key);

// Reports every key of `node` (a group mapping, or the top level with group "") that the schema does not know.
void check_unknown_keys(const YAML::Node& node, const std::string& group, ConfigProblems* problems);

// Type and range checks of the keys that are validated and ignored; each one set adds one warning.
void check_ignored_keys(const YAML::Node& root, ConfigProblems* problems, std::vector<std::string>* warnings);

}  // namespace bpu
