// The march catalog (see march.h). int16 support as hb_mapper documents it: node_info / set_node_data_type int16
// on bayes and bayes-e; bernoulli2 (XJ3) is int8 only.

#include "common/march.h"

namespace bpu {

const std::vector<MarchFacts>& known_marches() {
  static const std::vector<MarchFacts> marches = {
      {"bayes", "Journey 5 (J5), RDK Ultra", true},
      {"bayes-e", "RDK X5 (Sunrise 5)", true},
      {"bernoulli2", "RDK X3 / Sunrise 3 (XJ3)", false},
  };
  return marches;
}

const MarchFacts* find_march(const std::string& name) {
  for (const auto& m : known_marches()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string march_names() {
  std::string s;
  for (const auto& m : known_marches()) s += (s.empty() ? "" : ", ") + m.name;
  return s;
}

}  // namespace bpu
