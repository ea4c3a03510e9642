// Image input formats (image_format.h): names, legal pairs, runtime shapes, and the float preprocessing written as
// docs/numerics.md §9 states it (BT.601 coefficients, nearest chroma upsampling, no clamping before quantization).

#include "common/image_format.h"

#include <cmath>

#include "common/error.h"

namespace bpu {

namespace {

struct TypeRow {
  ImageType type;
  const char* name;
  int channels;
};
constexpr TypeRow kTypes[] = {{ImageType::Featuremap, "featuremap", 0}, {ImageType::Rgb, "rgb", 3},
                              {ImageType::Bgr, "bgr", 3},               {ImageType::Yuv444, "yuv444", 3},
                              {ImageType::Gray, "gray", 1},             {ImageType::Nv12, "nv12", 3}};

const char* kNormNames[] = {"no_preprocess", "data_mean", "data_scale", "data_mean_and_scale"};

bool is_yuv(ImageType t) { return t == ImageType::Yuv444 || t == ImageType::Nv12; }

// BT.601 YUV (full range, U and V centred on 128) to RGB: R = Y + 1.402 (V-128),
// G = Y - 0.344136 (U-128) - 0.714136 (V-128), B = Y + 1.772 (U-128).
constexpr double kYuvToRgb[3][3] = {{1.0, 0.0, 1.402}, {1.0, -0.344136, -0.714136}, {1.0, 1.772, 0.0}};
// RGB to BT.601 full-range YUV (the inverse, for decoded pictures).
constexpr double kRgbToYuv[3][3] = {{0.299, 0.587, 0.114}, {-0.168736, -0.331264, 0.5}, {0.5, -0.418688, -0.081312}};

}  // namespace

const char* image_type_name(ImageType t) {
  for (const auto& r : kTypes) {
    if (r.type == t) return r.name;
  }
  return "?";
}

bool image_type_from_name(const std::string& name, ImageType* out) {
  for (const auto& r : kTypes) {
    if (name == r.name) {
      *out = r.type;
      return true;
    }
  }
  return false;
}

bool image_type_from_code(uint32_t code, ImageType* out) {
  if (code > static_cast<uint32_t>(ImageType::Nv12)) return false;
  *out = static_cast<ImageType>(code);
  return true;
}

int image_channels(ImageType t) {
  for (const auto& r : kTypes) {
    if (r.type == t) return r.channels;
  }
  return 0;
}

std::vector<ImageType> legal_runtime_types(ImageType train) {
  switch (train) {
    case ImageType::Rgb:
    case ImageType::Bgr: return {ImageType::Rgb, ImageType::Bgr, ImageType::Yuv444, ImageType::Nv12};
    case ImageType::Yuv444: return {ImageType::Yuv444, ImageType::Nv12};
    case ImageType::Gray: return {ImageType::Gray};
    case ImageType::Featuremap: return {ImageType::Featuremap};
    default: return {};
  }
}

bool is_legal_pair(ImageType train, ImageType rt) {
  for (ImageType t : legal_runtime_types(train)) {
    if (t == rt) return true;
  }
  return false;
}

const char* norm_type_name(NormType n) { return kNormNames[static_cast<uint32_t>(n) & 3]; }

bool norm_type_from_name(const std::string& name, NormType* out) {
  for (uint32_t i = 0; i < 4; ++i) {
    if (name == kNormNames[i]) {
      *out = static_cast<NormType>(i);
      return true;
    }
  }
  return false;
}

std::string InputFormat::describe() const {
  std::string s = image_type_name(type_rt);
  if (type_rt == ImageType::Nv12) s += video_range ? " (bt601_video)" : " (regular)";
  else s += rt_nhwc ? " NHWC" : " NCHW";
  s += std::string(" -> ") + image_type_name(type_train) + (train_nhwc ? " NHWC" : " NCHW");
  s += std::string(", ") + norm_type_name(norm);
  return s;
}

std::string format_problem(const InputFormat& f) {
  if (!is_legal_pair(f.type_train, f.type_rt)) {
    return std::string("input_type_rt ") + image_type_name(f.type_rt) + " cannot be converted to input_type_train " +
           image_type_name(f.type_train);
  }
  if (f.video_range && f.type_rt != ImageType::Nv12) return "bt601_video needs input_type_rt nv12";
  if (f.norm != NormType::None && f.type_train == ImageType::Featuremap) return "a featuremap input takes no norm_type";
  const size_t channels = f.type_train == ImageType::Featuremap ? 0 : image_channels(f.type_train);
  const bool want_mean = f.norm == NormType::Mean || f.norm == NormType::MeanAndScale;
  const bool want_scale = f.norm == NormType::Scale || f.norm == NormType::MeanAndScale;
  if (f.mean.size() != (want_mean ? channels : 0)) return std::to_string(f.mean.size()) + " mean values do not fit norm_type";
  if (f.scale.size() != (want_scale ? channels : 0)) return std::to_string(f.scale.size()) + " scale values do not fit norm_type";
  for (float m : f.mean) {
    if (!std::isfinite(m) || std::fabs(m) > 1e6f) return "a mean value is not finite or beyond 1e6";
  }
  for (float v : f.scale) {
    if (!std::isfinite(v) || !(v > 0) || v > 1e6f) return "a scale value is not positive, finite and at most 1e6";
  }
  return "";
}

Shape runtime_shape(const InputFormat& f, const Shape& t, const std::string& what) {
  if (t.size() != 4) {
    if (!f.needs_preprocess()) return t;
    throw Error(ExitCode::Config, what + ": input_type_rt '" + image_type_name(f.type_rt) + "' / layout conversion needs a "
                                      "4-D input, the model's is " + shape_to_string(t));
  }
  const int64_t n = t[0], c = f.train_nhwc ? t[3] : t[1], h = f.train_nhwc ? t[1] : t[2], w = f.train_nhwc ? t[2] : t[3];
  const int want = image_channels(f.type_train);
  if (want != 0 && c != want) {
    throw Error(ExitCode::Config, what + ": input_type_train '" + std::string(image_type_name(f.type_train)) + "' needs " +
                                      std::to_string(want) + " channel(s) in input_layout_train " +
                                      (f.train_nhwc ? "NHWC" : "NCHW") + ", the model's input is " + shape_to_string(t) +
                                      "; check input_layout_train and input_type_train");
  }
  switch (f.type_rt) {
    case ImageType::Featuremap: return f.rt_nhwc ? Shape{n, h, w, c} : Shape{n, c, h, w};
    case ImageType::Nv12:
      if (h % 2 != 0 || w % 2 != 0) {
        throw Error(ExitCode::Config, what + ": nv12 needs an even height and width, the model's input is " +
                                          shape_to_string(t) + " (nv12 type does not support odd size)");
      }
      return {n, h * 3 / 2, w};
    default: {
      const int64_t ch = image_channels(f.type_rt);
      return f.rt_nhwc ? Shape{n, h, w, ch} : Shape{n, ch, h, w};
    }
  }
}

Shape train_shape_of(const InputFormat& f, const Shape& rt, const std::string& what, ExitCode code) {
  int64_t n = 0, h = 0, w = 0, c = 0;
  if (f.type_rt == ImageType::Nv12) {
    if (rt.size() != 3 || rt[1] % 3 != 0 || rt[2] % 2 != 0) {  // H = rows * 2 / 3 is then even
      throw Error(code, what + ": an nv12 tensor is [N, H*3/2, W] with H and W even, not " + shape_to_string(rt));
    }
    n = rt[0], h = rt[1] / 3 * 2, w = rt[2], c = 3;
  } else {
    if (rt.size() != 4) throw Error(code, what + ": the runtime tensor must be 4-D, not " + shape_to_string(rt));
    n = rt[0], c = f.rt_nhwc ? rt[3] : rt[1], h = f.rt_nhwc ? rt[1] : rt[2], w = f.rt_nhwc ? rt[2] : rt[3];
    if (f.is_image() && c != image_channels(f.type_rt)) {
      throw Error(code, what + ": a " + std::string(image_type_name(f.type_rt)) + " tensor has " +
                            std::to_string(image_channels(f.type_rt)) + " channel(s), not " + shape_to_string(rt));
    }
    if (f.is_image()) c = image_channels(f.type_train);
  }
  return f.train_nhwc ? Shape{n, h, w, c} : Shape{n, c, h, w};
}

PreprocessAffine preprocess_affine(const InputFormat& f) {
  PreprocessAffine p;
  const int rt_ch = f.type_rt == ImageType::Featuremap ? 1 : image_channels(f.type_rt);
  p.in_samples = rt_ch;
  p.out_channels = f.type_rt == ImageType::Featuremap ? 1 : image_channels(f.type_train);
  // 1. Range: limited-range (bt601_video) nv12 samples to full range: Y' = (Y-16) 255/219, C' = (C-128) 255/224 + 128.
  double range_mul[3] = {1, 1, 1}, range_add[3] = {0, 0, 0};
  if (f.video_range) {
    range_mul[0] = 255.0 / 219.0, range_add[0] = -16.0 * 255.0 / 219.0;
    for (int k = 1; k < 3; ++k) range_mul[k] = 255.0 / 224.0, range_add[k] = 128.0 - 128.0 * 255.0 / 224.0;
  }
  // 2. Colour conversion to the train type: t_c = sum_k conv[c][k] s'_k + off[c].
  double conv[3][3] = {{0}}, off[3] = {0, 0, 0};
  const bool rt_bgr = f.type_rt == ImageType::Bgr, train_bgr = f.type_train == ImageType::Bgr;
  if (is_yuv(f.type_rt) && (f.type_train == ImageType::Rgb || train_bgr)) {
    for (int c = 0; c < 3; ++c) {
      const int row = train_bgr ? 2 - c : c;
      for (int k = 0; k < 3; ++k) conv[c][k] = kYuvToRgb[row][k];
      off[c] = -128.0 * (kYuvToRgb[row][1] + kYuvToRgb[row][2]);
    }
  } else {
    const bool swap = rt_bgr != train_bgr && !is_yuv(f.type_rt);  // rgb <-> bgr
    for (int c = 0; c < p.out_channels; ++c) conv[c][swap ? 2 - c : c] = 1.0;
  }
  // 3. Normalization: n_c = (t_c - mean_c) * scale_c.
  for (int c = 0; c < p.out_channels; ++c) {
    const bool has_mean = f.norm == NormType::Mean || f.norm == NormType::MeanAndScale;
    const bool has_scale = f.norm == NormType::Scale || f.norm == NormType::MeanAndScale;
    const double mean = has_mean ? f.mean.at(f.mean.size() == 1 ? 0 : c) : 0.0;
    const double scale = has_scale ? f.scale.at(f.scale.size() == 1 ? 0 : c) : 1.0;
    double bias = off[c] - mean;
    for (int k = 0; k < p.in_samples; ++k) {
      p.a[c][k] = scale * conv[c][k] * range_mul[k];
      bias += conv[c][k] * range_add[k];
    }
    p.b[c] = scale * bias;
  }
  return p;
}

template <typename T>
T raw_sample(const InputFormat& f, const Shape& rt, const T* data, int64_t n, int64_t y, int64_t x, int k) {
  if (f.type_rt == ImageType::Nv12) {
    const int64_t rows = rt[1], w = rt[2], h = rows / 3 * 2;
    const T* plane = data + n * rows * w;
    if (k == 0) return plane[y * w + x];
    return plane[(h + y / 2) * w + 2 * (x / 2) + (k - 1)];
  }
  const int64_t c = f.rt_nhwc ? rt[3] : rt[1], h = f.rt_nhwc ? rt[1] : rt[2], w = f.rt_nhwc ? rt[2] : rt[3];
  const int64_t base = n * c * h * w;
  return f.rt_nhwc ? data[base + (y * w + x) * c + k] : data[base + (k * h + y) * w + x];
}

template float raw_sample<float>(const InputFormat&, const Shape&, const float*, int64_t, int64_t, int64_t, int);
template uint8_t raw_sample<uint8_t>(const InputFormat&, const Shape&, const uint8_t*, int64_t, int64_t, int64_t, int);

std::vector<float> preprocess_float(const InputFormat& f, const Shape& rt, const std::vector<float>& raw) {
  const Shape t = train_shape_of(f, rt, "preprocessing", ExitCode::Usage);
  const int64_t n_total = t[0], c_total = f.train_nhwc ? t[3] : t[1], h = f.train_nhwc ? t[1] : t[2],
                w = f.train_nhwc ? t[2] : t[3];
  std::vector<float> out(static_cast<size_t>(checked_element_count(t, "preprocessing", ExitCode::Usage)));
  const int64_t raw_count = checked_element_count(rt, "preprocessing", ExitCode::Usage);
  if (static_cast<int64_t>(raw.size()) != raw_count) {
    throw Error(ExitCode::Usage, "preprocessing: the runtime tensor " + shape_to_string(rt) + " has " +
                                     std::to_string(raw.size()) + " values");
  }
  const PreprocessAffine p = preprocess_affine(f);
  auto out_index = [&](int64_t n, int64_t c, int64_t y, int64_t x) {
    return f.train_nhwc ? ((n * h + y) * w + x) * c_total + c : ((n * c_total + c) * h + y) * w + x;
  };
  for (int64_t n = 0; n < n_total; ++n) {
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        if (f.type_rt == ImageType::Featuremap) {  // a layout change only (a featuremap takes no_preprocess)
          for (int64_t c = 0; c < c_total; ++c) out[out_index(n, c, y, x)] = raw_sample(f, rt, raw.data(), n, y, x, static_cast<int>(c));
          continue;
        }
        double s[3] = {0, 0, 0};
        for (int k = 0; k < p.in_samples; ++k) s[k] = raw_sample(f, rt, raw.data(), n, y, x, k);
        for (int c = 0; c < p.out_channels; ++c) {
          double v = p.b[c];
          for (int k = 0; k < p.in_samples; ++k) v += p.a[c][k] * s[k];
          out[out_index(n, c, y, x)] = static_cast<float>(v);
        }
      }
    }
  }
  return out;
}

std::vector<float> rgb_picture_to_runtime(const InputFormat& f, int64_t height, int64_t width,
                                          const std::vector<uint8_t>& rgb) {
  auto px = [&](int64_t y, int64_t x, int k) { return static_cast<double>(rgb[(y * width + x) * 3 + k]); };
  auto byte = [](double v) { return static_cast<float>(std::min(255.0, std::max(0.0, std::nearbyint(v)))); };
  auto yuv = [&](int64_t y, int64_t x, int k) {  // full-range BT.601, or limited range for bt601_video
    double v = kRgbToYuv[k][0] * px(y, x, 0) + kRgbToYuv[k][1] * px(y, x, 1) + kRgbToYuv[k][2] * px(y, x, 2) + (k ? 128 : 0);
    if (f.video_range) v = k == 0 ? 16.0 + v * 219.0 / 255.0 : 128.0 + (v - 128.0) * 224.0 / 255.0;
    return v;
  };
  const int64_t hw = height * width;
  std::vector<float> out;
  if (f.type_rt == ImageType::Nv12) {
    out.assign(static_cast<size_t>(hw + hw / 2), 0.0f);
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) out[y * width + x] = byte(yuv(y, x, 0));
    }
    for (int64_t j = 0; j < height / 2; ++j) {
      for (int64_t i = 0; i < width / 2; ++i) {
        for (int k = 1; k < 3; ++k) {
          double sum = 0;
          for (int d = 0; d < 4; ++d) sum += yuv(2 * j + d / 2, 2 * i + d % 2, k);
          out[hw + j * width + 2 * i + (k - 1)] = byte(sum / 4.0);
        }
      }
    }
    return out;
  }
  const int ch = image_channels(f.type_rt);
  out.assign(static_cast<size_t>(hw * ch), 0.0f);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int k = 0; k < ch; ++k) {
        double v = 0;
        switch (f.type_rt) {
          case ImageType::Rgb: v = px(y, x, k); break;
          case ImageType::Bgr: v = px(y, x, 2 - k); break;
          case ImageType::Gray: v = yuv(y, x, 0); break;
          default: v = yuv(y, x, k); break;
        }
        out[f.rt_nhwc ? (y * width + x) * ch + k : (k * height + y) * width + x] = byte(v);
      }
    }
  }
  return out;
}

}  // namespace bpu
