// Text views of a compiled .bin for `bpu-mapper info` (hb_model_info's role) and `bpu-mapper disasm`:
// versions, march, fingerprints, IO tensors, segments and the echoed YAML; and one line per instruction with
// its operands and the ONNX node it came from. Both take a model the runtime has validated.
#pragma once

#include <string>

#include "lower/compiled_model.h"
#include "arch/bayes/sim/validate.h"

namespace bpu {

std::string format_model_info(const CompiledModel& model, const ValidatedModel& validated, const std::string& path);

// All segments when `segment` < 0; else BPU segment `segment` only.
std::string format_disassembly(const CompiledModel& model, const ValidatedModel& validated, int segment);

}  // namespace bpu
