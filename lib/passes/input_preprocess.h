// Puts a horizon::HzPreprocess node (ops/preprocess.h) after every model input whose InputFormat needs one (an
// image input_type_rt, or a featuremap with a layout change), before the quant stage reads the fake quantization:
// the input keeps its name but becomes the runtime tensor (uint8 pixels [1,H,W,3], nv12 [1,H*3/2,W], ...), and the
// node's output, <input>_hz_preprocessed, is the tensor the model was trained on, read by the former consumers.
#pragma once

#include <map>
#include <string>

#include "common/image_format.h"
#include "ir/graph.h"

namespace bpu {

// The tensor name HzPreprocess writes for model input `input`.
std::string preprocessed_name(const std::string& input);

// `formats`: graph input name -> format. Throws Error(Config) naming the model, the input and the fix when the
// model's input does not fit the format (rank, channels, odd nv12 size, dynamic shape). Returns the count inserted.
int insert_input_preprocessing(ir::Graph& g, const std::map<std::string, InputFormat>& formats);

}  // namespace bpu
