// One CSV field as RFC 4180 writes it: quoted (inner quotes doubled) when it holds a comma, quote or newline.
// Used by every CSV the reports write (infer's layer_index.csv, run's profiler.csv).
#pragma once

#include <string>

namespace bpu {

inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace bpu
