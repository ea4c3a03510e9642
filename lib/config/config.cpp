// YAML parsing and validation for makertbin configs: every group is read, every problem collected, then one error.

#include "config/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/file_io.h"
#include "common/march.h"
#include "config/config_schema.h"
#include "config/input_format_config.h"

namespace bpu {

namespace fs = std::filesystem;

void ConfigProblems::add(const std::string& field, const std::string& what, ExitCode code) {
  lines_.push_back(field + ": " + what);
  any_config_ |= code != ExitCode::Unsupported;
}

void ConfigProblems::throw_if_any() const {
  if (lines_.empty()) return;
  const ExitCode code = any_config_ ? ExitCode::Config : ExitCode::Unsupported;
  if (lines_.size() == 1) throw Error(code, "config '" + path_ + "': " + lines_[0]);
  std::string msg = "config '" + path_ + "': " + std::to_string(lines_.size()) + " problems (all are listed; fix them, then rerun):";
  for (const auto& l : lines_) msg += "\n  " + l;
  throw Error(code, msg);
}

namespace {

constexpr int64_t kMaxInputBatch = 128;

constexpr uint64_t kMaxYamlBytes = 1 << 20;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : ", ") + a;
  return s;
}

// Reads the values of one group; every problem goes to `problems`, never thrown, so a run lists all of them.
class GroupReader {
 public:
  GroupReader(const YAML::Node& node, std::string name, ConfigProblems* problems, MapperConfig* cfg)
      : node_(node), name_(std::move(name)), problems_(problems), cfg_(cfg) {}

  std::string field(const std::string& key) const { return name_ + "." + key; }
  bool has(const std::string& key) const { return node_ && node_.IsMap() && node_[key]; }
  ConfigProblems& problems() { return *problems_; }

  // A scalar (absent or null -> ""); `empty_ok` false makes an explicitly empty value a problem.
  std::string scalar(const std::string& key, bool empty_ok) {
    if (!has(key)) return "";
    YAML::Node v = node_[key];
    if (!v.IsNull() && !v.IsScalar()) {
      problems_->add(field(key), "must be a single value (use ';' to separate several)");
      return "";
    }
    std::string s = v.IsNull() ? "" : v.Scalar();
    if (s.find_first_not_of(" \t") == std::string::npos && !empty_ok) {
      problems_->add(field(key), "is empty; give a value or remove the key to take the default");
    }
    return s;
  }

  // One of `allowed`; `fallback` when absent (recorded as a default).
  std::string one_of(const std::string& key, const std::vector<std::string>& allowed, const std::string& fallback) {
    std::string v = scalar(key, false);
    if (!has(key)) {
      if (!fallback.empty()) cfg_->defaults.push_back(field(key) + " = " + fallback);
      return fallback;
    }
    if (v.empty()) return fallback;
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
    problems_->add(field(key), "'" + v + "' is invalid; allowed values: " + join(allowed));
    return fallback;
  }

  bool boolean(const std::string& key, bool fallback) {
    std::string v = one_of(key, {"true", "false", "True", "False"}, fallback ? "true" : "false");
    if (!has(key)) return fallback;
    return v == "true" || v == "True";
  }

 private:
  YAML::Node node_;
  std::string name_;
  ConfigProblems* problems_;
  MapperConfig* cfg_;
};

// An int8/int16 request; int16 also needs a march whose BPU has an int16 path (not bernoulli2).
std::string data_type(ConfigProblems& p, const std::string& field, const std::string& v, const MapperConfig* cfg) {
  const MarchFacts* march = find_march(cfg->march);
  if (v != "int8" && v != "int16") {
    p.add(field, "'" + v + "' is invalid; allowed values: int8, int16");
  } else if (v == "int16" && march && !march->bpu_int16) {
    p.add(field, "'int16': the " + march->name + " BPU is int8 only; remove the int16 request or target a march "
                 "with int16 (bayes, bayes-e)");
  }
  return v;
}

void parse_node_info_map(ConfigProblems& p, const YAML::Node& ni, const std::string& field, MapperConfig* cfg) {
  for (const auto& kv : ni) {
    std::string node = kv.first.as<std::string>();
    const std::string nfield = field + "." + node;
    if (!kv.second.IsMap()) {
      p.add(nfield, "must be a mapping with ON, InputType, InputType<N> or OutputType");
      continue;
    }
    NodeInfo& info = cfg->node_info[node];
    for (const auto& entry : kv.second) {
      std::string k = entry.first.as<std::string>();
      if (!entry.second.IsScalar()) {
        p.add(nfield + "." + k, "must be a single value");
        continue;
      }
      std::string v = entry.second.Scalar();
      if (k == "ON") {
        if (v != "BPU" && v != "CPU") p.add(nfield + ".ON", "'" + v + "' is invalid; allowed values: BPU, CPU");
        info.on = v;
      } else if (k == "OutputType") {
        info.output_type = data_type(p, nfield + ".OutputType", v, cfg);
      } else if (k == "InputType") {
        info.input_types[-1] = data_type(p, nfield + ".InputType", v, cfg);
      } else if (k.rfind("InputType", 0) == 0 && k.size() > 9 && k.size() < 13 &&
                 k.find_first_not_of("0123456789", 9) == std::string::npos) {
        info.input_types[std::stoi(k.substr(9))] = data_type(p, nfield + "." + k, v, cfg);
      } else {
        p.add(nfield + "." + k, "unknown key; allowed keys: ON, InputType, InputType<N>, OutputType");
      }
    }
  }
}

// node_info as a mapping {node: {ON, InputType, InputType<N>, OutputType}} or as hb's string form
// 'node:int16;node2:int16' (output type); set_node_data_type is the older name of the string form.
void parse_node_info(ConfigProblems& p, const YAML::Node& mp, MapperConfig* cfg) {
  for (const char* key : {"set_node_data_type", "node_info"}) {
    YAML::Node ni = mp[key];
    const std::string field = std::string("model_parameters.") + key;
    if (!ni || ni.IsNull()) continue;
    if (ni.IsScalar()) {
      for (const auto& item : split_list(ni.Scalar())) {
        size_t colon = item.rfind(':');
        if (colon == std::string::npos) {
          p.add(field, "item '" + item + "' is not 'node_name:int16'");
          continue;
        }
        std::string node = item.substr(0, colon);
        while (!node.empty() && node.back() == ' ') node.pop_back();
        std::string type = item.substr(colon + 1);
        type.erase(0, type.find_first_not_of(' '));
        cfg->node_info[node].output_type = data_type(p, field + "." + node, type, cfg);
      }
    } else if (ni.IsMap()) {
      parse_node_info_map(p, ni, field, cfg);
    } else {
      p.add(field, "must be a mapping {node: {ON: BPU|CPU, InputType: int16, OutputType: int16}}");
    }
  }
}

std::string resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal().string();
}

// working_dir is an existing folder or can be created: its nearest existing ancestor is a writable folder.
void check_working_dir(ConfigProblems& p, const std::string& dir) {
  std::error_code ec;
  fs::path at(dir);
  while (!at.empty() && !fs::exists(at, ec)) at = at.parent_path();
  if (at.empty()) at = ".";
  if (!fs::is_directory(at, ec)) {
    p.add("model_parameters.working_dir", "'" + dir + "': '" + at.string() + "' exists and is not a folder; "
                                          "choose another working_dir");
  } else if (::access(at.c_str(), W_OK | X_OK) != 0) {
    p.add("model_parameters.working_dir", "'" + dir + "': folder '" + at.string() + "' is not writable; "
                                          "choose a working_dir you can write to");
  }
}

void parse_model_parameters(const YAML::Node& root, const fs::path& base, ConfigProblems& p, MapperConfig* cfg) {
  YAML::Node mp = root["model_parameters"];
  if (!mp || !mp.IsMap()) {
    p.add("model_parameters", "missing; it must give at least onnx_model and march");
    return;
  }
  GroupReader g(mp, "model_parameters", &p, cfg);
  if (g.has("caffe_model") || g.has("prototxt")) {
    p.add("model_parameters.caffe_model", "Caffe models are not supported; give onnx_model", ExitCode::Unsupported);
  }
  // remove_node_type / remove_node_name: the .bin's boundary nodes (lower/boundary.h); names are checked against
  // the compiled model, types here.
  cfg->remove_node_types = split_list(g.scalar("remove_node_type", true));
  cfg->remove_node_names = split_list(g.scalar("remove_node_name", true));
  for (const auto& t : cfg->remove_node_types) {
    if (t != "Quantize" && t != "Dequantize" && t != "Transpose" && t != "Reshape" && t != "Cast" && t != "Softmax") {
      p.add(g.field("remove_node_type"), "'" + t + "' is invalid; allowed values: Quantize, Dequantize (the .bin's "
                                         "boundary nodes), Transpose, Reshape, Cast, Softmax (at a model output)");
    }
  }
  cfg->output_nodes = split_list(g.scalar("output_nodes", true));  // checked against the model when it is read
  cfg->layer_out_dump = g.boolean("layer_out_dump", false);
  std::string onnx = g.scalar("onnx_model", false);
  if (!g.has("onnx_model")) {
    p.add("model_parameters.onnx_model", "missing; give the path of the QAT .onnx file");
  } else if (!onnx.empty()) {
    cfg->onnx_model = resolve(base, onnx);
    std::error_code ec;
    if (!file_exists(cfg->onnx_model) || fs::is_directory(cfg->onnx_model, ec)) {
      p.add("model_parameters.onnx_model", "file '" + cfg->onnx_model + "' does not exist (relative paths are "
                                           "resolved against the YAML file's folder)");
    }
  }
  if (!g.has("march")) {
    p.add("model_parameters.march", "missing; allowed values: " + march_names());
  } else {
    std::vector<std::string> names;
    for (const auto& m : known_marches()) names.push_back(m.name);
    cfg->march = g.one_of("march", names, "");
  }
  std::string prefix = g.scalar("output_model_file_prefix", false);
  if (!g.has("output_model_file_prefix")) cfg->defaults.push_back("model_parameters.output_model_file_prefix = model");
  if (!prefix.empty()) {
    if (prefix.find('/') != std::string::npos || prefix == "." || prefix == ".." || prefix[0] == '.') {
      p.add("model_parameters.output_model_file_prefix", "'" + prefix + "' must be a file name: no '/' "
                                                         "and not starting with '.'");
    }
    cfg->output_model_file_prefix = prefix;
  }
  std::string wd = g.scalar("working_dir", false);
  if (!g.has("working_dir")) cfg->defaults.push_back("model_parameters.working_dir = model_output");
  cfg->working_dir = resolve(base, wd.empty() ? "model_output" : wd);
  check_working_dir(p, cfg->working_dir);
  parse_node_info(p, mp, cfg);
}

// input_batch: 1..128 on every march (hb_mapper allows up to 4096 on bayes and bayes-e; bpu-mapper keeps
// bernoulli2's bound everywhere), for a single input whose input_shape (when given) has batch 1.
void parse_input_batch(GroupReader& g, size_t count, MapperConfig* cfg) {
  ConfigProblems& p = g.problems();
  std::string batch = g.scalar("input_batch", false);
  if (!batch.empty()) {
    char* end = nullptr;
    long long b = batch.size() < 10 ? std::strtoll(batch.c_str(), &end, 10) : -1;
    if (!end || *end != '\0' || b < 1 || b > kMaxInputBatch) {
      p.add("input_parameters.input_batch", "'" + batch + "' is invalid; give an integer in [1, 128]");
    } else if (count > 1) {
      p.add("input_parameters.input_batch", "'" + batch + "': input_batch applies to a model with a single input; "
                                            "set the batch in each input_shape instead");
    } else if (!cfg->inputs[0].shape.empty() && cfg->inputs[0].shape[0] != 1) {
      p.add("input_parameters.input_batch", "'" + batch + "' needs input_shape with batch 1, not " +
                                            shape_to_string(cfg->inputs[0].shape) + "; set one of them");
    } else {
      cfg->input_batch = b;
    }
  }
}

// The per-input fields: `;` lists with one value per input (or one value for all inputs).
void parse_input_parameters(const YAML::Node& root, ConfigProblems& p, MapperConfig* cfg) {
  YAML::Node ip = root["input_parameters"];
  GroupReader g(ip, "input_parameters", &p, cfg);
  if (ip && !ip.IsNull() && !ip.IsMap()) p.add("input_parameters", "must be a mapping of keys to values");
  std::vector<std::string> names = split_list(g.scalar("input_name", true));
  {
    std::set<std::string> seen;
    for (const auto& n : names) {
      if (!seen.insert(n).second) p.add("input_parameters.input_name", "'" + n + "' is listed twice; name each input once");
    }
  }
  const size_t count = std::max<size_t>(names.size(), 1);
  struct Field {
    const char* key;
    std::vector<std::string> allowed;
    const char* fallback;
  };
  const std::vector<Field> fields = {
      {"input_type_rt", {"featuremap", "rgb", "bgr", "yuv444", "gray", "nv12"}, "featuremap"},
      {"input_type_train", {"featuremap", "rgb", "bgr", "yuv444", "gray"}, "featuremap"},
      {"input_layout_train", {"NCHW", "NHWC"}, "NCHW"},
      {"input_layout_rt", {"NCHW", "NHWC"}, "NCHW"},
      {"norm_type", {"no_preprocess", "data_mean", "data_scale", "data_mean_and_scale"}, "no_preprocess"},
      {"input_space_and_range", {"regular", "bt601_video"}, "regular"}};
  std::map<std::string, std::vector<std::string>> values;
  for (const auto& f : fields) {
    values[f.key] = split_list(g.scalar(f.key, false));
    auto& v = values[f.key];
    if (!g.has(f.key) && std::string(f.key) != "input_layout_rt") cfg->defaults.push_back(g.field(f.key) + " = " + f.fallback);
    if (v.size() > count) {
      p.add(g.field(f.key), std::to_string(v.size()) + " values for " + std::to_string(count) +
                                " input(s); give input_name for every input, separated by ';'");
      v.resize(count);
    }
    for (auto& x : v) {
      if (std::find(f.allowed.begin(), f.allowed.end(), x) == f.allowed.end()) {
        p.add(g.field(f.key), "'" + x + "' is invalid; allowed values: " + join(f.allowed));
        x = f.fallback;
      }
    }
  }
  std::vector<std::string> shapes = split_list(g.scalar("input_shape", true));
  if (shapes.size() > count || (count > 1 && !shapes.empty() && shapes.size() != count)) {
    p.add("input_parameters.input_shape", std::to_string(shapes.size()) + " shapes for " + std::to_string(count) +
                                              " input(s); give one shape per input_name, separated by ';'");
    shapes.clear();
  }
  auto pick = [&](const Field& f, size_t i) {
    const auto& v = values[f.key];
    return i < v.size() ? v[i] : (v.size() == 1 ? v[0] : std::string(f.fallback));
  };
  // mean_value / scale_value: ';' per input (or one entry for all), numbers separated by spaces.
  std::map<std::string, std::vector<std::vector<float>>> numbers;
  for (const char* key : {"mean_value", "scale_value"}) {
    for (const auto& item : split_list(g.scalar(key, true))) {  // empty: not given (templates leave it '')
      std::vector<float> v;
      std::string bad;
      if (!parse_value_list(item, &v, &bad)) {
        p.add(g.field(key), "'" + bad + "' is not a number; give numbers separated by spaces, ';' per input");
      }
      numbers[key].push_back(v);
    }
    if (numbers[key].size() > count) {
      p.add(g.field(key), std::to_string(numbers[key].size()) + " entries for " + std::to_string(count) +
                              " input(s); give one per input_name, separated by ';'");
      numbers[key].resize(count);
    }
  }
  auto pick_numbers = [&](const char* key, size_t i) {
    const auto& v = numbers[key];
    return i < v.size() ? v[i] : (v.size() == 1 ? v[0] : std::vector<float>{});
  };
  for (size_t i = 0; i < count; ++i) {
    InputConfig in;
    in.name = i < names.size() ? names[i] : "";
    in.type_rt = pick(fields[0], i);
    in.type_train = pick(fields[1], i);
    in.layout_train = pick(fields[2], i);
    in.layout_rt = pick(fields[3], i);
    in.norm_type = pick(fields[4], i);
    in.space_and_range = pick(fields[5], i);
    in.mean = pick_numbers("mean_value", i);
    in.scale = pick_numbers("scale_value", i);
    const bool layout_rt_given = !values["input_layout_rt"].empty();
    check_input_format(p, i, layout_rt_given, cfg->march, &in, &cfg->warnings);
    if (!layout_rt_given) cfg->defaults.push_back(g.field("input_layout_rt") + " = " + in.layout_rt + " (input " + std::to_string(i) + ")");
    if (i < shapes.size()) {
      try {
        in.shape = parse_shape(shapes[i], "input_parameters.input_shape");
      } catch (const Error& e) {
        p.add("input_parameters.input_shape", std::string(e.what()).substr(std::string("input_parameters.input_shape: ").size()));
      }
    }
    cfg->inputs.push_back(in);
  }
  parse_input_batch(g, count, cfg);
}

bool names_given(const MapperConfig* c) { return !c->inputs.empty() && !c->inputs[0].name.empty(); }

void parse_calibration_parameters(const YAML::Node& root, const fs::path& base, ConfigProblems& p, MapperConfig* cfg) {
  YAML::Node cp = root["calibration_parameters"];
  GroupReader g(cp, "calibration_parameters", &p, cfg);
  cfg->calibration_type = g.one_of("calibration_type", {"default", "mix", "kl", "max", "load", "skip"}, "");
  if (!g.has("calibration_type")) {
    cfg->defaults.push_back("calibration_parameters.calibration_type = load for a model with fake quantization, "
                            "default for a float model");
  }
  cfg->cal_data_type = split_list(g.scalar("cal_data_type", true));
  for (const auto& t : cfg->cal_data_type) {
    if (t != "float32" && t != "uint8" && t != "int32" && t != "int16" && t != "int8") {
      p.add("calibration_parameters.cal_data_type", "'" + t + "' is invalid; allowed values: float32, uint8, int32, int16, int8");
    }
  }
  const std::string percentile = g.scalar("max_percentile", false);
  if (!percentile.empty()) {
    char* end = nullptr;
    const double v = std::strtod(percentile.c_str(), &end);
    if (*end != '\0' || !(v > 0 && v <= 1)) {
      p.add("calibration_parameters.max_percentile", "'" + percentile + "' is invalid; give a number in (0, 1], e.g. 0.99995");
    } else {
      cfg->max_percentile = v;
    }
  }
  cfg->optimization = split_list(g.scalar("optimization", true));
  for (const auto& o : cfg->optimization) {
    if (o != "set_model_output_int8" && o != "set_model_output_int16" && o != "set_all_nodes_int16" && o != "run_fast") {
      p.add("calibration_parameters.optimization", "'" + o + "' is invalid; allowed values: set_model_output_int8, "
                                                   "set_model_output_int16, set_all_nodes_int16, run_fast");
    } else if (o != "set_model_output_int8" && o != "run_fast" && find_march(cfg->march) && !find_march(cfg->march)->bpu_int16) {
      p.add("calibration_parameters.optimization", "'" + o + "': the " + cfg->march + " BPU is int8 only; remove it or "
                                                   "target a march with int16 (bayes, bayes-e)");
    }
  }
  if (std::count(cfg->optimization.begin(), cfg->optimization.end(), "set_model_output_int8") &&
      std::count(cfg->optimization.begin(), cfg->optimization.end(), "set_model_output_int16")) {
    p.add("calibration_parameters.optimization", "set_model_output_int8 and set_model_output_int16 conflict; keep one");
  }
  const bool needs_data = cfg->calibration_type == "default" || cfg->calibration_type == "mix" ||
                          cfg->calibration_type == "kl" || cfg->calibration_type == "max";
  if (needs_data && split_list(g.scalar("cal_data_dir", true)).empty()) {
    p.add("calibration_parameters.cal_data_dir", "missing; calibration_type '" + cfg->calibration_type + "' needs one "
                                                 "folder of calibration samples per input (raw np.tofile files or .npy)");
  }
  cfg->run_on_cpu = split_list(g.scalar("run_on_cpu", true));
  cfg->run_on_bpu = split_list(g.scalar("run_on_bpu", true));
  for (const auto& dir : split_list(g.scalar("cal_data_dir", true))) {
    const std::string resolved = resolve(base, dir);
    cfg->cal_data_dir.push_back(resolved);
    std::error_code ec;
    if (!fs::is_directory(resolved, ec)) {
      p.add("calibration_parameters.cal_data_dir", "folder '" + resolved + "' does not exist (relative paths are "
                                                   "resolved against the YAML file's folder)");
      continue;
    }
    bool has_file = false;
    for (const auto& e : fs::directory_iterator(resolved, ec)) {
      has_file |= e.is_regular_file(ec) && !e.path().filename().string().empty() && e.path().filename().string()[0] != '.';
    }
    if (!has_file) p.add("calibration_parameters.cal_data_dir", "folder '" + resolved + "' holds no sample files; put "
                                                                "the calibration samples there (raw np.tofile files or .npy)");
  }
  if (!cfg->cal_data_dir.empty() && cfg->cal_data_dir.size() != cfg->inputs.size() && names_given(cfg)) {
    p.add("calibration_parameters.cal_data_dir", std::to_string(cfg->cal_data_dir.size()) + " folders for " +
                                                 std::to_string(cfg->inputs.size()) + " inputs; give one per input");
  }
  cfg->quantize_float_weights = g.boolean("quantize_float_weights", false);
  cfg->preprocess_on = g.boolean("preprocess_on", false);
}

void parse_compiler_parameters(const YAML::Node& root, ConfigProblems& p, MapperConfig* cfg) {
  YAML::Node cc = root["compiler_parameters"];
  GroupReader g(cc, "compiler_parameters", &p, cfg);
  cfg->compile_mode = g.one_of("compile_mode", {"latency", "bandwidth", "balance"}, "latency");
  cfg->optimize_level = g.one_of("optimize_level", {"O0", "O1", "O2", "O3"}, "O0");
  cfg->debug = g.boolean("debug", false);
  for (const char* key : {"bpu_clock_mhz", "bpu_macs_per_cycle", "bpu_vector_per_cycle", "bpu_ddr_gbps", "bpu_sram_kib"}) {
    std::string v = g.scalar(key, false);
    if (v.empty()) continue;
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (*end != '\0' || !(x > 0 && x < 1e9)) {
      p.add(g.field(key), "'" + v + "' is invalid; give a number in (0, 1e9)");
    } else {
      cfg->hardware[key] = x;
    }
  }
}

// custom_op: an empty group is accepted (templates carry one); any content is refused.
void check_custom_op(const YAML::Node& root, ConfigProblems& p) {
  YAML::Node c = root["custom_op"];
  if (!c || c.IsNull()) return;
  bool empty = c.IsMap() || c.IsSequence() ? c.size() == 0 : c.Scalar().empty();
  if (c.IsMap()) {
    empty = true;
    for (const auto& kv : c) empty &= kv.second.IsNull() || (kv.second.IsScalar() && kv.second.Scalar().empty());
  }
  if (!empty) p.add("custom_op", "custom operators are not supported by bpu-mapper; remove the group", ExitCode::Unsupported);
}

}  // namespace

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    size_t a = item.find_first_not_of(" \t\r\n'\"");
    size_t b = item.find_last_not_of(" \t\r\n'\"");
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
    start = end + 1;
  }
  return out;
}

Shape parse_shape(const std::string& text, const std::string& field) {
  Shape shape;
  std::string cur;
  auto flush = [&]() {
    if (cur.empty()) return;
    if (cur.size() > 10) throw Error(ExitCode::Config, field + ": dimension '" + cur + "' is too large");
    shape.push_back(std::stoll(cur));
    cur.clear();
  };
  for (char c : text) {
    if (c >= '0' && c <= '9') cur += c;
    else if (c == 'x' || c == 'X' || c == ',' || c == ' ') flush();
    else throw Error(ExitCode::Config, field + ": '" + text + "' is not a shape like 1x3x224x224");
  }
  flush();
  if (shape.empty()) throw Error(ExitCode::Config, field + ": '" + text + "' is not a shape like 1x3x224x224");
  checked_element_count(shape, field, ExitCode::Config);
  return shape;
}

std::string MapperConfig::output_bin_path() const {
  return (fs::path(working_dir) / (output_model_file_prefix + ".bin")).string();
}

MapperConfig parse_config(const std::string& yaml_text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error(ExitCode::Config, "config '" + path + "': YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                                      ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  ConfigProblems problems(path);
  if (!root.IsMap()) {
    problems.add("(top level)", "must be a mapping with model_parameters, input_parameters, ...");
    problems.throw_if_any();
  }
  MapperConfig cfg;
  cfg.yaml_path = path;
  cfg.yaml_text = yaml_text;
  fs::path base = fs::path(path).parent_path();
  if (base.empty()) base = ".";
  try {
    check_unknown_keys(root, "", &problems);
    for (const char* group : {"model_parameters", "input_parameters", "calibration_parameters", "compiler_parameters"}) {
      YAML::Node g = root[group];
      if (g && !g.IsNull() && !g.IsMap()) problems.add(group, "must be a mapping of keys to values");
      check_unknown_keys(g, group, &problems);
    }
    parse_model_parameters(root, base, problems, &cfg);
    parse_input_parameters(root, problems, &cfg);
    parse_calibration_parameters(root, base, problems, &cfg);
    parse_compiler_parameters(root, problems, &cfg);
    check_custom_op(root, problems);
    check_ignored_keys(root, &problems, &cfg.warnings);
  } catch (const YAML::Exception& e) {
    problems.add("(structure)", e.msg);
  }
  problems.throw_if_any();
  return cfg;
}

MapperConfig load_config(const std::string& path) {
  std::vector<uint8_t> bytes;
  try {
    bytes = read_file(path, kMaxYamlBytes, "config");
  } catch (const Error& e) {
    throw Error(ExitCode::Config, e.what());
  }
  return parse_config(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace bpu
