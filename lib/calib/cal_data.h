// Calibration samples as hb_mapper reads them: one folder per model input, every regular file in it one sample
// (sorted by name), either .npy (float32/float64) or hb_mapper's raw format (np.tofile: no header, C order, the
// model input's shape after input_shape / input_batch). A raw file's dtype comes from cal_data_type, else from the
// folder name (a `_f32` suffix means float32), else uint8 (image data). Integer samples become float values.
// With preprocess_on, every file is an image (JPEG, PNG, BMP; decoded by Debian's stb_image), resized bilinearly
// (half-pixel centres) to the 1xCxHxW (or 1xHxWxC, `layout` NHWC) input, RGB for 3 channels (BGR when
// input_type_train is bgr), gray for 1, values 0..255.
#pragma once

#include <string>
#include <vector>

#include "common/npy.h"

namespace bpu::calib {

// How one input's samples are stored: cal_data_type (raw dtype, "" = by folder name), preprocess_on (images),
// the input's layout and channel order (for images).
struct SampleFormat {
  std::string cal_data_type;
  bool images = false;
  std::string layout = "NCHW";
  bool bgr = false;
};

struct SampleFolder {
  std::string input;              // model input name
  Shape shape;                    // its shape
  std::string folder;
  std::string dtype;              // float32, float64 (.npy), uint8, int8, int16, int32
  std::vector<std::string> files; // sorted
  bool images = false;            // preprocess_on: decode and resize
  std::string layout = "NCHW";    // images: the layout of the input (input_layout_train)
  bool bgr = false;               // images: channel order (input_type_train bgr)
};

// The dtype of the raw files in `folder`: `cal_data_type` when given (a warning in *warning when the folder's
// `_f32` suffix says otherwise), else float32 for a `_f32` folder, else uint8.
std::string raw_dtype(const std::string& folder, const std::string& cal_data_type, std::string* warning);

// Lists the samples of one input. Throws Error(Config) naming the folder when it holds no regular file, or when
// .npy and raw files are mixed.
SampleFolder list_samples(const std::string& input, const Shape& shape, const std::string& folder,
                          const SampleFormat& format, std::string* warning);

// Decodes and resizes one image for `f` (see above). Throws Error(Config) naming the file when it is not an
// image stb_image reads, or when the input is not 4-D with batch 1 and 1 or 3 channels.
FloatArray read_image_sample(const SampleFolder& f, const std::string& path);

// Reads sample `index` of `f` as float32 with the input's shape. Throws Error(Config) naming the file, its size
// and the size the shape and dtype need, or for a .npy of another shape.
FloatArray read_sample(const SampleFolder& f, size_t index);

}  // namespace bpu::calib
