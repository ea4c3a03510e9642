// Levenshtein distance for "did you mean …?" suggestions (config keys, node names). Both strings are cut to
// kEditDistanceMaxChars first: a name that long is not a typo of a short one, and the cost stays bounded
// (O(kEditDistanceMaxChars²) per pair) whatever length a config or model hands over.
#pragma once

#include <cstddef>
#include <string>

namespace bpu {

constexpr size_t kEditDistanceMaxChars = 64;

// Insertions, deletions and substitutions between the first kEditDistanceMaxChars characters of a and of b,
// plus the difference of the lengths cut off (so a very long string stays far from a short one).
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace bpu
