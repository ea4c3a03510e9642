// Bounded Levenshtein distance (edit_distance.h): two rows of dynamic programming over the cut strings.

#include "common/edit_distance.h"

#include <algorithm>
#include <vector>

namespace bpu {

size_t edit_distance(const std::string& a_full, const std::string& b_full) {
  const size_t na = std::min(a_full.size(), kEditDistanceMaxChars);
  const size_t nb = std::min(b_full.size(), kEditDistanceMaxChars);
  const size_t cut_a = a_full.size() - na, cut_b = b_full.size() - nb;
  std::vector<size_t> prev(nb + 1), cur(nb + 1);
  for (size_t j = 0; j <= nb; ++j) prev[j] = j;
  for (size_t i = 1; i <= na; ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= nb; ++j) {
      size_t best = prev[j - 1] + (a_full[i - 1] != b_full[j - 1]);
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      cur[j] = best;
    }
    std::swap(prev, cur);
  }
  return prev[nb] + (cut_a > cut_b ? cut_a - cut_b : cut_b - cut_a);
}

}  // namespace bpu
