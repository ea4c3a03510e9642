// Image-input config checks (input_format_config.h): hb_mapper's table of legal type pairs, the normalization keys
// each norm_type needs, value counts and ranges.

#include "config/input_format_config.h"

#include <cmath>
#include <cstdlib>

namespace bpu {

namespace {

constexpr double kMaxAbsMean = 1024;   // mean_value: pixel units (0..255), with room for unusual encodings
constexpr double kMaxScale = 1024;     // scale_value: (0, 1024]

std::string label(size_t index, const InputConfig& in) {
  return "input " + std::to_string(index) + (in.name.empty() ? "" : " ('" + in.name + "')");
}

std::string type_list(const std::vector<ImageType>& types) {
  std::string s;
  for (ImageType t : types) s += (s.empty() ? "" : ", ") + std::string(image_type_name(t));
  return s;
}

// One of mean_value / scale_value: present when norm needs it, absent otherwise, 1 or `channels` values in range.
void check_values(ConfigProblems& p, const std::string& who, const char* key, bool needed, const std::string& norm,
                  int channels, const std::vector<float>& v, bool is_scale) {
  const std::string field = std::string("input_parameters.") + key;
  if (needed && v.empty()) {
    p.add(field, who + ": norm_type '" + norm + "' needs " + key + "; give one number or " + std::to_string(channels) +
                     " (one per channel, separated by spaces)");
    return;
  }
  if (!needed && !v.empty()) {
    p.add(field, who + ": is set but norm_type '" + norm + "' does not use it; set norm_type to " +
                     (is_scale ? "data_scale or data_mean_and_scale" : "data_mean or data_mean_and_scale") +
                     ", or remove " + key);
    return;
  }
  if (v.empty()) return;
  if (v.size() != 1 && static_cast<int>(v.size()) != channels) {
    p.add(field, who + ": " + std::to_string(v.size()) + " values for " + std::to_string(channels) +
                     " channel(s); give one number or one per channel");
  }
  for (float x : v) {
    const bool ok = is_scale ? (x > 0 && x <= kMaxScale) : (std::fabs(x) <= kMaxAbsMean);
    if (!ok) {
      p.add(field, who + ": " + std::to_string(x) + " is out of range; " +
                       (is_scale ? "a scale is in (0, 1024] (1/std of the training normalization, e.g. 0.017)"
                                 : "a mean is in [-1024, 1024] (pixel units, e.g. 123.675)"));
      return;
    }
  }
}

}  // namespace

bool parse_value_list(const std::string& text, std::vector<float>* out, std::string* bad) {
  out->clear();
  if (text == "None" || text == "none") return true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_of(" ,\t", pos);
    if (end == std::string::npos) end = text.size();
    const std::string num = text.substr(pos, end - pos);
    pos = end + 1;
    if (num.empty()) continue;
    char* stop = nullptr;
    const double v = num.size() <= 40 ? std::strtod(num.c_str(), &stop) : NAN;
    if (!stop || *stop != '\0' || !std::isfinite(v) || std::fabs(v) > 1e30) {
      *bad = num;
      return false;
    }
    out->push_back(static_cast<float>(v));
  }
  return true;
}

void check_input_format(ConfigProblems& p, size_t index, bool layout_rt_given, const std::string& march,
                        InputConfig* in, std::vector<std::string>* warnings) {
  InputFormat& f = in->format;
  const std::string who = label(index, *in);
  image_type_from_name(in->type_rt, &f.type_rt);  // the names were checked against the allowed lists
  image_type_from_name(in->type_train, &f.type_train);
  norm_type_from_name(in->norm_type, &f.norm);
  f.train_nhwc = in->layout_train == "NHWC";
  if (!layout_rt_given) in->layout_rt = f.is_image() ? "NHWC" : in->layout_train;
  f.rt_nhwc = in->layout_rt == "NHWC";
  if (f.type_rt == ImageType::Nv12) {
    f.rt_nhwc = true;
    if (layout_rt_given) warnings->push_back("input_parameters.input_layout_rt: " + who + ": ignored for nv12 (its layout is fixed)");
  }
  if (!is_legal_pair(f.type_train, f.type_rt)) {
    p.add("input_parameters.input_type_rt", who + ": input_type_train '" + in->type_train +
                                                "' cannot take input_type_rt '" + in->type_rt + "'; legal: " +
                                                type_list(legal_runtime_types(f.type_train)));
  }
  if (in->space_and_range == "bt601_video") {
    f.video_range = true;
    if (f.type_rt != ImageType::Nv12) {
      p.add("input_parameters.input_space_and_range", who + ": 'bt601_video' applies to input_type_rt nv12 only, not '" +
                                                        in->type_rt + "'; use regular");
    }
  }
  if (march == "bernoulli2" && f.type_rt == ImageType::Yuv444 && !f.rt_nhwc) {
    p.add("input_parameters.input_layout_rt", who + ": bernoulli2 takes yuv444 inputs in NHWC only; set input_layout_rt NHWC");
  }
  if (f.type_train == ImageType::Featuremap && f.norm != NormType::None) {
    p.add("input_parameters.norm_type", who + ": a featuremap input takes no_preprocess, not '" + in->norm_type +
                                            "'; normalize in the model or declare the image type in input_type_train");
    return;
  }
  const int channels = image_channels(f.type_train);
  const bool mean = f.norm == NormType::Mean || f.norm == NormType::MeanAndScale;
  const bool scale = f.norm == NormType::Scale || f.norm == NormType::MeanAndScale;
  const size_t before = p.size();
  check_values(p, who, "mean_value", mean, in->norm_type, channels, in->mean, false);
  check_values(p, who, "scale_value", scale, in->norm_type, channels, in->scale, true);
  if (p.size() != before) return;
  if (mean) f.mean = in->mean.size() == 1 ? std::vector<float>(channels, in->mean[0]) : in->mean;
  if (scale) f.scale = in->scale.size() == 1 ? std::vector<float>(channels, in->scale[0]) : in->scale;
}

}  // namespace bpu
