// A model input read from a file the way `run`, `verify` and hrt_model_exec users hand them over: a .npy; a JPEG,
// PNG or BMP picture for an image input (decoded with Debian's stb_image, converted to the input's runtime type by
// common/image_format.h's rgb_picture_to_runtime); or raw bytes (hrt_model_exec's input files, numpy's tofile) in
// the input's element type (uint8 pixels for image inputs, float32 otherwise) with the shape the .bin records.
#pragma once

#include <string>

#include "common/image_format.h"
#include "common/npy.h"
#include "lower/compiled_model.h"

namespace bpu {

// Throws Error(Usage) naming the file and the input when the file does not fit it (size, picture dimensions,
// a picture for a featuremap input), Error(Io) when it cannot be read.
FloatArray read_input_file(const std::string& path, const TensorInfo& input, const InputFormat& format);

}  // namespace bpu
