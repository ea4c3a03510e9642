// The image-input keys of input_parameters (input_type_rt / input_type_train / input_layout_* /
// input_space_and_range / norm_type / mean_value / scale_value) checked against each other and turned into the
// input's InputFormat (common/image_format.h). Checks that need the model (channel count, even nv12 size) run when
// the model is read (passes/input_preprocess.h).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace bpu {

// "103.94 116.78 123.68" (spaces or commas) or "None" -> numbers; false (and *bad set) for anything else.
bool parse_value_list(const std::string& text, std::vector<float>* out, std::string* bad);

// Fills in->format from in's strings and values; every problem goes to `p` naming the input (index, name),
// the field, the value and the fix. `march` is the config's march (bernoulli2 has no NCHW yuv444 input).
// `layout_rt_given`: input_layout_rt was set for this input (else it defaults by type).
void check_input_format(ConfigProblems& p, size_t index, bool layout_rt_given, const std::string& march,
                        InputConfig* in, std::vector<std::string>* warnings);

}  // namespace bpu
