// The Horizon marches bpu-mapper targets, by name, with the few facts the config stage needs before any model is
// read (whether the BPU has an int16 path). Everything else a march knows (operator support
// and constraints, cost-model defaults, its documentation page) lives in its target folder lib/arch/<march>/
// behind lib/arch/target.h; those targets read these facts from here, so each fact has one home.
#pragma once

#include <string>
#include <vector>

namespace bpu {

struct MarchFacts {
  std::string name;          // as hb_mapper's YAML and --march spell it
  std::string soc;           // the chips that carry this BPU
  bool bpu_int16 = true;     // int16 activations on the BPU (node_info InputType/OutputType int16)
};

// bayes, bayes-e, bernoulli2 (the order the docs list them).
const std::vector<MarchFacts>& known_marches();
// nullptr for a name that is not a known march.
const MarchFacts* find_march(const std::string& name);
// "bayes, bayes-e, bernoulli2", for "allowed values" messages.
std::string march_names();

}  // namespace bpu
