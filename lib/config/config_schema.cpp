// The key table of the makertbin YAML and the checks of the keys bpu-mapper validates but does not act on.

#include "config/config_schema.h"

#include <algorithm>
#include <cstdlib>

#include "common/edit_distance.h"
#include "config/config.h"

namespace bpu {

namespace {

using S = KeyStatus;

std::string scalar_of(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : ""; }

bool is_bool(const std::string& v) { return v == "true" || v == "false" || v == "True" || v == "False"; }

// An integer in [lo, hi]; false for anything else (also for "1.5" or "12abc").
bool integer_in(const std::string& v, long long lo, long long hi) {
  if (v.empty() || v.size() > 18) return false;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  return *end == '\0' && x >= lo && x <= hi;
}

// One ignored key: `valid` decides the value; `allowed` is the fix text.
struct IgnoredCheck {
  const char* group;
  const char* key;
  bool (*valid)(const YAML::Node&);
  const char* allowed;
};

bool valid_bool(const YAML::Node& n) { return n.IsScalar() && is_bool(n.Scalar()); }
bool valid_any_scalar(const YAML::Node& n) { return n.IsScalar(); }
bool valid_debug_mode(const YAML::Node& n) { return n.IsScalar() && n.Scalar() == "dump_calibration_data"; }
bool valid_core_num(const YAML::Node& n) { return n.IsScalar() && integer_in(n.Scalar(), 1, 2); }
bool valid_balance(const YAML::Node& n) { return n.IsScalar() && integer_in(n.Scalar(), 0, 100); }
bool valid_fc_time(const YAML::Node& n) {
  return n.IsScalar() && (n.Scalar() == "0" || integer_in(n.Scalar(), 1000, 4294967295LL));
}
bool valid_positive(const YAML::Node& n) { return n.IsScalar() && integer_in(n.Scalar(), 1, 1 << 20); }
bool valid_input_source(const YAML::Node& n) {
  if (!n.IsMap()) return false;
  for (const auto& kv : n) {
    std::string v = scalar_of(kv.second);
    if (v != "ddr" && v != "pyramid" && v != "resizer") return false;
  }
  return true;
}

const std::vector<IgnoredCheck>& ignored_checks() {
  static const std::vector<IgnoredCheck> checks = {
      {"model_parameters", "log_level", valid_any_scalar, "a single value (deprecated in hb_mapper)"},
      {"model_parameters", "debug_mode", valid_debug_mode, "dump_calibration_data"},
      {"calibration_parameters", "per_channel", valid_bool, "True or False"},
      {"calibration_parameters", "enable_int16", valid_bool, "True or False"},
      {"compiler_parameters", "core_num", valid_core_num, "1 or 2"},
      {"compiler_parameters", "balance_factor", valid_balance, "an integer in [0, 100]"},
      {"compiler_parameters", "max_time_per_fc", valid_fc_time, "0 or an integer in [1000, 4294967295] (microseconds)"},
      {"compiler_parameters", "jobs", valid_positive, "a positive integer"},
      {"compiler_parameters", "advice", valid_positive, "a positive integer"},
      {"compiler_parameters", "ability_entry", valid_any_scalar, "a single value"},
      {"compiler_parameters", "input_source", valid_input_source, "a mapping {input_name: ddr|pyramid|resizer}"},
  };
  return checks;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      {"", "model_parameters", S::Acted, "required group"},
      {"", "input_parameters", S::Acted, "optional group (defaults: featuremap, NCHW, no_preprocess)"},
      {"", "calibration_parameters", S::Acted, "optional group"},
      {"", "compiler_parameters", S::Acted, "optional group"},
      {"", "custom_op", S::Refused, "custom operators are not supported (an empty group is accepted)"},
      {"model_parameters", "onnx_model", S::Acted, "required; the QAT .onnx file (relative to the YAML file)"},
      {"model_parameters", "caffe_model", S::Refused, "Caffe models are not supported"},
      {"model_parameters", "prototxt", S::Refused, "Caffe models are not supported"},
      {"model_parameters", "march", S::Acted, "required; bayes, bayes-e or bernoulli2 (lib/arch/<march>/)"},
      {"model_parameters", "output_model_file_prefix", S::Acted, "prefix of every output file (default model)"},
      {"model_parameters", "working_dir", S::Acted, "output folder (default model_output next to the YAML)"},
      {"model_parameters", "node_info", S::Acted, "per node ON / InputType / OutputType"},
      {"model_parameters", "set_node_data_type", S::Acted, "older string form of node_info (int16 outputs)"},
      {"model_parameters", "layer_out_dump", S::Acted, "True: every quantized activation is an extra (dequantized) model output, for layer dumps"},
      {"model_parameters", "log_level", S::Ignored, "deprecated in hb_mapper"},
      {"model_parameters", "debug_mode", S::Ignored, "dump_calibration_data; there is no calibration"},
      {"model_parameters", "output_nodes", S::Acted, "';' node names: their outputs become extra model outputs"},
      {"model_parameters", "remove_node_type", S::Acted, "Quantize;Dequantize: integer model inputs/outputs with their scales; Transpose, Reshape, Cast, Softmax at model outputs; a layout Transpose at an input"},
      {"model_parameters", "remove_node_name", S::Acted, "<input>_HzQuantize / <output>_HzDequantize boundary nodes, or an output edge node by its name"},
      {"input_parameters", "input_name", S::Acted, "';' per input; optional for a one-input model"},
      {"input_parameters", "input_shape", S::Acted, "';' per input; must equal static dims, sets dynamic ones"},
      {"input_parameters", "input_batch", S::Acted, "1..128, one input; the batch dimension (model batch must be 1)"},
      {"input_parameters", "input_type_train", S::Acted, "rgb, bgr, yuv444, gray, featuremap: what the model was trained on"},
      {"input_parameters", "input_type_rt", S::Acted, "nv12, yuv444, rgb, bgr, gray, featuremap (legal pairs in docs/cli.md); preprocessing on the BPU"},
      {"input_parameters", "input_layout_train", S::Acted, "NCHW or NHWC; must match the model's input"},
      {"input_parameters", "input_layout_rt", S::Acted, "NCHW or NHWC (default NHWC for images, input_layout_train for featuremap; ignored for nv12)"},
      {"input_parameters", "norm_type", S::Acted, "no_preprocess, data_mean, data_scale, data_mean_and_scale"},
      {"input_parameters", "mean_value", S::Acted, "one number or one per channel (spaces), ';' per input; data_mean*"},
      {"input_parameters", "scale_value", S::Acted, "one number or one per channel (spaces), ';' per input; data_scale, data_mean_and_scale"},
      {"input_parameters", "input_space_and_range", S::Acted, "regular or bt601_video (nv12 only)"},
      {"calibration_parameters", "calibration_type", S::Acted, "load (QAT scales) or default, mix, kl, max, skip (a float model; unset: load with fake quant, else default)"},
      {"calibration_parameters", "cal_data_dir", S::Acted, "';' per input; folders of raw np.tofile or .npy samples; the accuracy sample"},
      {"calibration_parameters", "run_on_cpu", S::Acted, "';' node names"},
      {"calibration_parameters", "run_on_bpu", S::Acted, "';' node names"},
      {"calibration_parameters", "quantize_float_weights", S::Acted, "bpu-mapper's own: quantize float weights"},
      {"calibration_parameters", "cal_data_type", S::Acted, "float32, uint8, int32, int16, int8; raw sample dtype (default: _f32 folder suffix float32, else uint8)"},
      {"calibration_parameters", "preprocess_on", S::Acted, "True/False; samples are JPEG/PNG/BMP images, decoded and resized to the input"},
      {"calibration_parameters", "max_percentile", S::Acted, "(0, 1]; max calibration takes this percentile of abs(x)"},
      {"calibration_parameters", "per_channel", S::Ignored, "True/False; weights are always per channel, activations per tensor"},
      {"calibration_parameters", "optimization", S::Acted, "set_model_output_int8/int16 (int8/int16 model outputs, their Dequantize removed), set_all_nodes_int16; run_fast ignored"},
      {"calibration_parameters", "enable_int16", S::Ignored, "True/False; use node_info for int16"},
      {"compiler_parameters", "compile_mode", S::Acted, "latency, bandwidth or balance (memory plan objective)"},
      {"compiler_parameters", "optimize_level", S::Acted, "O0..O3 (memory planning)"},
      {"compiler_parameters", "debug", S::Acted, "True/False; per-layer detail in perf"},
      {"compiler_parameters", "bpu_clock_mhz", S::Acted, "bpu-mapper's own: cost model, > 0"},
      {"compiler_parameters", "bpu_macs_per_cycle", S::Acted, "bpu-mapper's own: cost model, > 0"},
      {"compiler_parameters", "bpu_vector_per_cycle", S::Acted, "bpu-mapper's own: cost model, > 0"},
      {"compiler_parameters", "bpu_ddr_gbps", S::Acted, "bpu-mapper's own: cost model, > 0"},
      {"compiler_parameters", "bpu_sram_kib", S::Acted, "bpu-mapper's own: cost model, > 0"},
      {"compiler_parameters", "core_num", S::Ignored, "1 or 2; the simulator has one core"},
      {"compiler_parameters", "balance_factor", S::Ignored, "0..100"},
      {"compiler_parameters", "max_time_per_fc", S::Ignored, "0 or 1000..4294967295 (board preemption)"},
      {"compiler_parameters", "jobs", S::Ignored, "positive integer"},
      {"compiler_parameters", "advice", S::Ignored, "positive integer"},
      {"compiler_parameters", "ability_entry", S::Ignored, "internal in hb_mapper"},
      {"compiler_parameters", "input_source", S::Ignored, "{input: ddr|pyramid|resizer}"},
  };
  return keys;
}

const char* key_status_name(KeyStatus s) {
  switch (s) {
    case S::Acted: return "acted on";
    case S::Ignored: return "validated and ignored";
    default: return "refused";
  }
}

std::string closest_config_key(const std::string& group, const std::string& key) {
  std::string best;
  size_t best_score = 1000;
  // Close means at most a third of the letters differ, so a key whose length differs more is never suggested
  // (the length difference bounds the edit distance from below); this keeps long garbage keys cheap.
  const size_t allowed = std::max<size_t>(2, key.size() / 3);
  for (const auto& k : config_keys()) {
    const size_t len = std::string(k.key).size();
    if ((len > key.size() ? len - key.size() : key.size() - len) > allowed) continue;
    size_t score = 2 * edit_distance(key, k.key) + (group == k.group ? 0 : 1);
    if (score < best_score) {
      best_score = score;
      best = std::string(k.group).empty() ? k.key : std::string(k.group) + "." + k.key;
    }
  }
  // Close: at most a third of the letters differ (or the key sits in another group).
  return best_score <= 2 * allowed + 1 ? best : "";
}

void check_unknown_keys(const YAML::Node& node, const std::string& group, ConfigProblems* problems) {
  if (!node || !node.IsMap()) return;
  for (const auto& kv : node) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    bool known = false;
    for (const auto& k : config_keys()) known |= group == k.group && key == k.key;
    if (known) continue;
    const std::string field = group.empty() ? key : group + "." + key;
    std::string near = closest_config_key(group, key);
    problems->add(field, "unknown key" + (near.empty() ? std::string("; remove it")
                                                        : "; did you mean " + near + "?"));
  }
}

void check_ignored_keys(const YAML::Node& root, ConfigProblems* problems, std::vector<std::string>* warnings) {
  for (const auto& c : ignored_checks()) {
    YAML::Node g = root[c.group];
    if (!g || !g.IsMap()) continue;
    YAML::Node v = g[c.key];
    if (!v || v.IsNull()) continue;
    const std::string field = std::string(c.group) + "." + c.key;
    if (!c.valid(v)) {
      problems->add(field, "'" + (v.IsScalar() ? v.Scalar() : std::string("<not a single value>")) +
                               "' is invalid; allowed: " + c.allowed);
      continue;
    }
    std::string note;
    for (const auto& k : config_keys()) {
      if (c.group == std::string(k.group) && c.key == std::string(k.key)) note = k.note;
    }
    warnings->push_back(field + " is validated and ignored: bpu-mapper does not act on it (" + note + ")");
  }
}

}  // namespace bpu
