// YAML parsing and validation for makertbin configs.

#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "common/error.h"
#include "common/file_io.h"

namespace bpu {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxYamlBytes = 1 << 20;

class ConfigReader {
 public:
  explicit ConfigReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ExitCode::Config, "config '" + path_ + "': " + field + ": " + what);
  }

  // A scalar field as string ("" when absent or null).
  std::string scalar(const YAML::Node& group, const std::string& group_name, const std::string& key) {
    YAML::Node v = group[key];
    if (!v || v.IsNull()) return "";
    if (!v.IsScalar()) fail(group_name + "." + key, "must be a single value (use ';' to separate several)");
    return v.Scalar();
  }

  std::string one_of(const YAML::Node& group, const std::string& group_name, const std::string& key,
                     const std::vector<std::string>& allowed, const std::string& fallback) {
    std::string v = scalar(group, group_name, key);
    if (v.empty()) return fallback;
    for (const auto& a : allowed) {
      if (v == a) return v;
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(group_name + "." + key, "'" + v + "' is invalid; allowed values: " + list);
  }

  void warn_unknown(const YAML::Node& group, const std::string& group_name, const std::set<std::string>& known,
                    const std::set<std::string>& ignored, std::vector<std::string>* warnings) {
    if (!group) return;
    if (!group.IsMap()) fail(group_name, "must be a mapping of keys to values");
    for (const auto& kv : group) {
      std::string key = kv.first.as<std::string>();
      if (ignored.count(key)) {
        warnings->push_back(group_name + "." + key + " is accepted for compatibility but has no effect in bpu-mapper");
      } else if (!known.count(key)) {
        warnings->push_back("unknown key " + group_name + "." + key + " is ignored");
      }
    }
  }

 private:
  std::string path_;
};

std::string data_type(ConfigReader& r, const std::string& field, const std::string& v) {
  if (v != "int8" && v != "int16") r.fail(field, "'" + v + "' is invalid; allowed values: int8, int16");
  return v;
}

// node_info as a mapping {node: {ON, InputType, InputType<N>, OutputType}} or as hb's string form
// 'node:int16;node2:int16' (output type); set_node_data_type is the older name of the string form.
void parse_node_info(ConfigReader& r, const YAML::Node& mp, MapperConfig* cfg) {
  for (const char* key : {"set_node_data_type", "node_info"}) {
    YAML::Node ni = mp[key];
    const std::string field = std::string("model_parameters.") + key;
    if (!ni || ni.IsNull()) continue;
    if (ni.IsScalar()) {
      for (const auto& item : split_list(ni.Scalar())) {
        size_t colon = item.rfind(':');
        if (colon == std::string::npos) r.fail(field, "item '" + item + "' is not 'node_name:int16'");
        std::string node = item.substr(0, colon);
        while (!node.empty() && node.back() == ' ') node.pop_back();
        std::string type = item.substr(colon + 1);
        type.erase(0, type.find_first_not_of(' '));
        cfg->node_info[node].output_type = data_type(r, field + "." + node, type);
      }
      continue;
    }
    if (!ni.IsMap()) r.fail(field, "must be a mapping {node: {ON: BPU|CPU, InputType: int16, OutputType: int16}}");
    for (const auto& kv : ni) {
      std::string node = kv.first.as<std::string>();
      const std::string nfield = field + "." + node;
      if (!kv.second.IsMap()) r.fail(nfield, "must be a mapping with ON, InputType, InputType<N> or OutputType");
      NodeInfo& info = cfg->node_info[node];
      for (const auto& entry : kv.second) {
        std::string k = entry.first.as<std::string>();
        if (!entry.second.IsScalar()) r.fail(nfield + "." + k, "must be a single value");
        std::string v = entry.second.Scalar();
        if (k == "ON") {
          if (v != "BPU" && v != "CPU") r.fail(nfield + ".ON", "'" + v + "' is invalid; allowed values: BPU, CPU");
          info.on = v;
        } else if (k == "OutputType") {
          info.output_type = data_type(r, nfield + ".OutputType", v);
        } else if (k == "InputType") {
          info.input_types[-1] = data_type(r, nfield + ".InputType", v);
        } else if (k.rfind("InputType", 0) == 0 && k.size() > 9 && k.size() < 13 &&
                   k.find_first_not_of("0123456789", 9) == std::string::npos) {
          info.input_types[std::stoi(k.substr(9))] = data_type(r, nfield + "." + k, v);
        } else {
          r.fail(nfield + "." + k, "unknown key; allowed keys: ON, InputType, InputType<N>, OutputType");
        }
      }
    }
  }
}

std::string resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal().string();
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
  ConfigReader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error(ExitCode::Config, "config '" + path + "': YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                                      ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) r.fail("(top level)", "must be a mapping with model_parameters, input_parameters, ...");

  MapperConfig cfg;
  cfg.yaml_path = path;
  cfg.yaml_text = yaml_text;
  fs::path base = fs::path(path).parent_path();
  if (base.empty()) base = ".";

  try {
    r.warn_unknown(root, "(top level)",
                   {"model_parameters", "input_parameters", "calibration_parameters", "compiler_parameters"},
                   {"custom_op"}, &cfg.warnings);

    // model_parameters
    YAML::Node mp = root["model_parameters"];
    if (!mp || !mp.IsMap()) r.fail("model_parameters", "missing; it must give at least onnx_model and march");
    r.warn_unknown(mp, "model_parameters",
                   {"onnx_model", "march", "output_model_file_prefix", "working_dir", "node_info", "set_node_data_type"},
                   {"layer_out_dump", "log_level", "output_nodes", "remove_node_type", "remove_node_name", "debug_mode"},
                   &cfg.warnings);
    if (mp["caffe_model"] || mp["prototxt"]) {
      r.fail("model_parameters.caffe_model", "Caffe models are not supported; give onnx_model");
    }
    std::string onnx = r.scalar(mp, "model_parameters", "onnx_model");
    if (onnx.empty()) r.fail("model_parameters.onnx_model", "missing; give the path of the QAT .onnx file");
    cfg.onnx_model = resolve(base, onnx);
    if (!file_exists(cfg.onnx_model)) {
      r.fail("model_parameters.onnx_model", "file '" + cfg.onnx_model + "' does not exist (relative paths are "
                                            "resolved against the YAML file's folder)");
    }
    cfg.march = r.one_of(mp, "model_parameters", "march", {"bernoulli2", "bayes", "bayes-e"}, "");
    if (cfg.march.empty()) r.fail("model_parameters.march", "missing; allowed values: bayes");
    if (cfg.march != "bayes") {
      r.fail("model_parameters.march", "'" + cfg.march + "' is a Horizon march bpu-mapper does not target; "
                                       "allowed values: bayes");
    }
    std::string prefix = r.scalar(mp, "model_parameters", "output_model_file_prefix");
    if (!prefix.empty()) {
      if (prefix.find('/') != std::string::npos) r.fail("model_parameters.output_model_file_prefix", "must not contain '/'");
      cfg.output_model_file_prefix = prefix;
    }
    std::string wd = r.scalar(mp, "model_parameters", "working_dir");
    cfg.working_dir = resolve(base, wd.empty() ? "model_output" : wd);
    parse_node_info(r, mp, &cfg);

    // input_parameters
    YAML::Node ip = root["input_parameters"];
    r.warn_unknown(ip, "input_parameters",
                   {"input_name", "input_type_rt", "input_type_train", "input_layout_train", "input_layout_rt",
                    "norm_type", "input_shape", "input_batch", "mean_value", "scale_value", "input_space_and_range"},
                   {}, &cfg.warnings);
    auto list_of = [&](const char* key) { return split_list(ip ? r.scalar(ip, "input_parameters", key) : ""); };
    std::vector<std::string> names = list_of("input_name");
    std::map<std::string, std::vector<std::string>> per_input = {
        {"input_type_rt", list_of("input_type_rt")},       {"input_type_train", list_of("input_type_train")},
        {"input_layout_train", list_of("input_layout_train")}, {"input_layout_rt", list_of("input_layout_rt")},
        {"norm_type", list_of("norm_type")},               {"input_shape", list_of("input_shape")}};
    size_t count = std::max<size_t>(names.size(), 1);
    for (const auto& [key, values] : per_input) {
      if (values.size() > count) {
        r.fail("input_parameters." + key, std::to_string(values.size()) + " values for " + std::to_string(count) +
                                              " input(s); give input_name for every input, separated by ';'");
      }
    }
    const std::vector<std::string> types = {"featuremap", "rgb", "bgr", "yuv444", "gray", "nv12"};
    const std::vector<std::string> layouts = {"NCHW", "NHWC"};
    const std::vector<std::string> norms = {"no_preprocess", "data_mean", "data_scale", "data_mean_and_scale"};
    auto pick = [&](const std::string& key, size_t i, const std::vector<std::string>& allowed, const std::string& fallback) {
      const auto& values = per_input[key];
      std::string v = i < values.size() ? values[i] : (values.size() == 1 ? values[0] : fallback);
      if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        r.fail("input_parameters." + key, "'" + v + "' is invalid; allowed values: " + list);
      }
      return v;
    };
    for (size_t i = 0; i < count; ++i) {
      InputConfig in;
      in.name = i < names.size() ? names[i] : "";
      in.type_rt = pick("input_type_rt", i, types, "featuremap");
      in.type_train = pick("input_type_train", i, types, "featuremap");
      in.layout_train = pick("input_layout_train", i, layouts, "NCHW");
      in.layout_rt = pick("input_layout_rt", i, layouts, "NCHW");
      in.norm_type = pick("norm_type", i, norms, "no_preprocess");
      if (in.type_rt != "featuremap" || in.type_train != "featuremap") {
        throw Error(ExitCode::Unsupported, "config '" + path + "': input_parameters.input_type_rt/input_type_train: '" +
                                               in.type_train + "' -> '" + in.type_rt + "' needs image preprocessing, "
                                               "which bpu-mapper does not implement yet; use featuremap");
      }
      if (in.norm_type != "no_preprocess") {
        throw Error(ExitCode::Unsupported, "config '" + path + "': input_parameters.norm_type: '" + in.norm_type +
                                               "' is not implemented yet; featuremap inputs take no_preprocess");
      }
      if (in.layout_rt != in.layout_train) {
        throw Error(ExitCode::Unsupported, "config '" + path + "': input_parameters.input_layout_rt: a layout change (" +
                                               in.layout_train + " -> " + in.layout_rt + ") is not implemented yet");
      }
      const auto& shapes = per_input["input_shape"];
      if (i < shapes.size()) in.shape = parse_shape(shapes[i], "config '" + path + "': input_parameters.input_shape");
      cfg.inputs.push_back(in);
    }

    // calibration_parameters
    YAML::Node cp = root["calibration_parameters"];
    r.warn_unknown(cp, "calibration_parameters",
                   {"calibration_type", "run_on_cpu", "run_on_bpu", "cal_data_dir", "quantize_float_weights"},
                   {"cal_data_type", "preprocess_on", "max_percentile", "per_channel",
                    "optimization", "enable_int16"},
                   &cfg.warnings);
    if (cp) {
      std::string ct = r.one_of(cp, "calibration_parameters", "calibration_type",
                                {"default", "mix", "kl", "max", "load", "skip"}, "");
      if (ct.empty()) {
        cfg.warnings.push_back("calibration_parameters.calibration_type is not set; using 'load' (scales from the QAT model)");
      } else if (ct != "load") {
        throw Error(ExitCode::Unsupported, "config '" + path + "': calibration_parameters.calibration_type: '" + ct +
                                               "' calibrates a float model, which bpu-mapper does not do; export the "
                                               "QAT model and use 'load'");
      }
      cfg.run_on_cpu = split_list(r.scalar(cp, "calibration_parameters", "run_on_cpu"));
      cfg.run_on_bpu = split_list(r.scalar(cp, "calibration_parameters", "run_on_bpu"));
      for (const auto& dir : split_list(r.scalar(cp, "calibration_parameters", "cal_data_dir"))) {
        cfg.cal_data_dir.push_back(resolve(base, dir));
      }
      std::string qfw = r.one_of(cp, "calibration_parameters", "quantize_float_weights",
                                 {"true", "false", "True", "False"}, "false");
      cfg.quantize_float_weights = qfw == "true" || qfw == "True";
    }

    // compiler_parameters
    YAML::Node cc = root["compiler_parameters"];
    r.warn_unknown(cc, "compiler_parameters",
                   {"compile_mode", "optimize_level", "debug", "bpu_clock_mhz", "bpu_macs_per_cycle", "bpu_vector_per_cycle",
                    "bpu_ddr_gbps", "bpu_sram_kib"},
                   {"core_num", "input_source", "max_time_per_fc", "jobs", "balance_factor", "advice"},
                   &cfg.warnings);
    if (cc) {
      cfg.compile_mode = r.one_of(cc, "compiler_parameters", "compile_mode", {"latency", "bandwidth", "balance"}, "latency");
      cfg.optimize_level = r.one_of(cc, "compiler_parameters", "optimize_level", {"O0", "O1", "O2", "O3"}, "O0");
      std::string dbg = r.one_of(cc, "compiler_parameters", "debug", {"true", "false", "True", "False"}, "false");
      cfg.debug = dbg == "true" || dbg == "True";
    }
  } catch (const YAML::Exception& e) {
    throw Error(ExitCode::Config, "config '" + path + "': " + e.msg);
  }
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
