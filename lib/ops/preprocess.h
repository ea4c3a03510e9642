// horizon::HzPreprocess, the node bpu-mapper puts after an image input (or a featuremap input whose layout changes):
// runtime tensor (uint8 pixels, or float for a featuremap) -> the tensor the model was trained on. Its meaning is
// common/image_format.h's float preprocessing; its attributes carry the input's InputFormat (hb_mapper's key names).
#pragma once

#include "common/image_format.h"
#include "ir/graph.h"

namespace bpu::ops {

constexpr const char* kPreprocessOp = "HzPreprocess";
constexpr const char* kPreprocessDomain = "horizon";

bool is_preprocess(const ir::Node& n);
// The node's InputFormat; throws Error(code) naming the node when an attribute is missing or invalid.
InputFormat preprocess_format(const ir::Node& n, ExitCode code);
void set_preprocess_format(ir::Node& n, const InputFormat& f);

}  // namespace bpu::ops
