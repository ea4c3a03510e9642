// How a model input arrives at runtime and what the model was trained on: hb_mapper's input_type_rt /
// input_type_train / input_layout_* / input_space_and_range / norm_type / mean_value / scale_value, as one
// InputFormat. This file is the one home of their meaning (docs/numerics.md §9): the legal type pairs, the runtime
// tensor shape of each type, and the float preprocessing (chroma upsampling, range, color conversion and
// normalization), which is one affine map per output channel of the raw pixel samples (PreprocessAffine). The
// config stage checks against it, the HzPreprocess op's CPU kernel and the reference side of verify and the
// accuracy run compute with it, and the BPU lowering turns the same affine map into integer coefficients.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"

namespace bpu {

enum class ImageType : uint32_t { Featuremap = 0, Rgb = 1, Bgr = 2, Yuv444 = 3, Gray = 4, Nv12 = 5 };

const char* image_type_name(ImageType t);                    // "featuremap", "rgb", ...
bool image_type_from_name(const std::string& name, ImageType* out);
bool image_type_from_code(uint32_t code, ImageType* out);    // validates a code read from a file
// Channels of the tensor the type describes (rgb/bgr/yuv444/nv12: 3, gray: 1, featuremap: 0 = any).
int image_channels(ImageType t);
// hb_mapper's legal input_type_rt values for an input_type_train (rgb/bgr -> rgb, bgr, yuv444, nv12;
// yuv444 -> yuv444, nv12; gray -> gray; featuremap -> featuremap). Nothing is legal as a train type but those five.
std::vector<ImageType> legal_runtime_types(ImageType train);
bool is_legal_pair(ImageType train, ImageType rt);

enum class NormType : uint32_t { None = 0, Mean = 1, Scale = 2, MeanAndScale = 3 };
const char* norm_type_name(NormType n);  // "no_preprocess", "data_mean", "data_scale", "data_mean_and_scale"
bool norm_type_from_name(const std::string& name, NormType* out);

struct InputFormat {
  ImageType type_rt = ImageType::Featuremap;
  ImageType type_train = ImageType::Featuremap;
  bool rt_nhwc = false;     // input_layout_rt NHWC (ignored for nv12, which has its own layout)
  bool train_nhwc = false;  // input_layout_train NHWC: the model's input is [N, H, W, C]
  bool video_range = false; // input_space_and_range bt601_video (nv12 only): Y in 16..235, U/V in 16..240
  NormType norm = NormType::None;
  std::vector<float> mean;   // one per train channel (expanded from a single value), or empty
  std::vector<float> scale;  // likewise

  bool is_image() const { return type_rt != ImageType::Featuremap; }
  // True when the input needs an HzPreprocess node: an image type, or a featuremap whose layout changes.
  bool needs_preprocess() const { return is_image() || rt_nhwc != train_nhwc || norm != NormType::None; }
  std::string describe() const;  // "nv12 (bt601_video) -> rgb NCHW, data_mean_and_scale"
};

// What is inconsistent in `f` ("" when nothing): an illegal type pair, bt601_video without nv12, normalization
// on a featuremap, a mean/scale count that does not fit norm_type and the train channels, a value that is not
// finite or beyond 1e6 in magnitude, a scale that is not positive. The one check behind the HzPreprocess node's
// attributes and the .bin's InputFormat record (the config reports its own keys with tighter ranges first).
std::string format_problem(const InputFormat& f);

// The runtime tensor shape for a model input of `train_shape` (rank 4 in the train layout): NHWC [N,H,W,3] or
// NCHW [N,3,H,W] for rgb/bgr/yuv444, [N,H,W,1] / [N,1,H,W] for gray, [N, H*3/2, W] for nv12 (the Y plane, then H/2
// rows of interleaved U,V), the permuted shape for a featuremap whose layout changes. Throws Error(Config) naming
// `what` when the shape does not fit the types (rank, channel count, odd nv12 size).
Shape runtime_shape(const InputFormat& f, const Shape& train_shape, const std::string& what);
// The inverse, from a runtime shape; throws Error(code) naming `what` when the runtime shape is impossible.
Shape train_shape_of(const InputFormat& f, const Shape& runtime, const std::string& what, ExitCode code);

// The float preprocessing as one affine map of the raw samples s_k of a pixel (k < 3: R,G,B / B,G,R / Y,U,V in the
// runtime type's order, s_0 for gray): value of train channel c = sum_k a[c][k] * s_k + b[c].
struct PreprocessAffine {
  int in_samples = 0;    // 1 (gray) or 3
  int out_channels = 0;  // 1 or 3
  std::array<std::array<double, 3>, 3> a{};
  std::array<double, 3> b{};
};
PreprocessAffine preprocess_affine(const InputFormat& f);

// Raw sample k of pixel (n, y, x) of an image input with runtime shape `rt` (nv12: nearest chroma upsampling).
template <typename T>
T raw_sample(const InputFormat& f, const Shape& rt, const T* data, int64_t n, int64_t y, int64_t x, int k);

// The documented float preprocessing: a runtime tensor (image pixels as floats, or a featuremap) to the tensor the
// model was trained on (float32, train layout). Affine maps are evaluated in double and rounded to float32 once.
std::vector<float> preprocess_float(const InputFormat& f, const Shape& rt_shape, const std::vector<float>& raw);

// A decoded RGB picture (uint8 [H][W][3]) converted to the runtime type of `f` (BT.601 full range, or limited
// range for bt601_video; nv12 chroma = rounded mean of each 2x2 block), as the runtime tensor's values.
std::vector<float> rgb_picture_to_runtime(const InputFormat& f, int64_t height, int64_t width,
                                          const std::vector<uint8_t>& rgb);

}  // namespace bpu
