// The canonical text of the compile settings: what the .bin records and fingerprints instead of the YAML file,
// so that the .bin depends on the model and the settings that change the program, not on paths, the output
// prefix, comments, key order or quoting.

#include <cstdio>
#include <set>
#include <sstream>

#include "config/config.h"

namespace bpu {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string sorted_list(const std::vector<std::string>& v) {
  std::set<std::string> s(v.begin(), v.end());
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ";") + x;
  return quoted(out);
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

std::string canonical_settings_yaml(const MapperConfig& c, const std::vector<std::pair<std::string, Shape>>& input_shapes) {
  std::ostringstream os;
  os << "# bpu-mapper canonical compile settings (the fingerprinted part of the config)\n";
  os << "model_parameters:\n  march: " << quoted(c.march) << "\n";
  if (!c.node_info.empty()) {
    os << "  node_info:\n";
    for (const auto& [node, info] : c.node_info) {
      os << "    " << quoted(node) << ":\n";
      if (!info.on.empty()) os << "      ON: " << quoted(info.on) << "\n";
      for (const auto& [idx, type] : info.input_types) {
        os << "      InputType" << (idx < 0 ? "" : std::to_string(idx)) << ": " << quoted(type) << "\n";
      }
      if (!info.output_type.empty()) os << "      OutputType: " << quoted(info.output_type) << "\n";
    }
  }
  if (!c.output_nodes.empty()) os << "  output_nodes: " << sorted_list(c.output_nodes) << "\n";
  if (c.layer_out_dump) os << "  layer_out_dump: True\n";
  if (!c.remove_node_types.empty()) os << "  remove_node_type: " << sorted_list(c.remove_node_types) << "\n";
  if (!c.remove_node_names.empty()) os << "  remove_node_name: " << sorted_list(c.remove_node_names) << "\n";
  std::string names, shapes;
  for (const auto& [name, shape] : input_shapes) {
    names += (names.empty() ? "" : ";") + name;
    shapes += (shapes.empty() ? "" : ";") + shape_to_string(shape);
  }
  os << "input_parameters:\n  input_name: " << quoted(names) << "\n  input_shape: " << quoted(shapes) << "\n";
  // Per input in model order: the format (types, layouts, range, normalization) the config gives it.
  std::string train, rt, layout_train, layout_rt, norm, space, means, scales;
  auto add = [](std::string& list, const std::string& v) { list += (list.empty() ? "" : ";") + v; };
  auto values = [](const std::vector<float>& v) {
    std::string out;
    for (float x : v) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.9g", x);
      out += (out.empty() ? "" : " ") + std::string(buf);
    }
    return out.empty() ? std::string("None") : out;
  };
  for (const auto& [name, shape] : input_shapes) {
    InputFormat f;
    for (const auto& in : c.inputs) {
      if (in.name == name || (in.name.empty() && c.inputs.size() == 1)) f = in.format;
    }
    add(train, image_type_name(f.type_train));
    add(rt, image_type_name(f.type_rt));
    add(layout_train, f.train_nhwc ? "NHWC" : "NCHW");
    add(layout_rt, f.rt_nhwc ? "NHWC" : "NCHW");
    add(norm, norm_type_name(f.norm));
    add(space, f.video_range ? "bt601_video" : "regular");
    add(means, values(f.mean));
    add(scales, values(f.scale));
  }
  os << "  input_type_train: " << quoted(train) << "\n  input_type_rt: " << quoted(rt) << "\n  input_layout_train: "
     << quoted(layout_train) << "\n  input_layout_rt: " << quoted(layout_rt) << "\n  input_space_and_range: "
     << quoted(space) << "\n  norm_type: " << quoted(norm) << "\n  mean_value: " << quoted(means)
     << "\n  scale_value: " << quoted(scales) << "\n";
  os << "calibration_parameters:\n  calibration_type: " << quoted(c.calibration_type.empty() ? "load" : c.calibration_type) << "\n";
  os << "  run_on_cpu: " << sorted_list(c.run_on_cpu) << "\n  run_on_bpu: " << sorted_list(c.run_on_bpu) << "\n";
  os << "  quantize_float_weights: " << (c.quantize_float_weights ? "true" : "false") << "\n";
  os << "compiler_parameters:\n  compile_mode: " << quoted(c.compile_mode) << "\n  optimize_level: "
     << quoted(c.optimize_level) << "\n  debug: " << (c.debug ? "true" : "false") << "\n";
  for (const auto& [key, value] : c.hardware) os << "  " << key << ": " << number(value) << "\n";
  return os.str();
}

}  // namespace bpu
