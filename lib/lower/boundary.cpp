// Boundary-node removal (boundary.h): drops a host Quantize / Dequantize step and renames the integer value to the
// model input's / output's name, so the rest of the schedule is untouched.

#include "lower/boundary.h"

#include <algorithm>

#include "common/error.h"

namespace bpu {

namespace {

bool is_input(const CompiledModel& m, const std::string& name) {
  for (const auto& in : m.inputs) {
    if (in.name == name) return true;
  }
  return false;
}

bool is_output(const CompiledModel& m, const std::string& name) {
  for (const auto& o : m.outputs) {
    if (o.name == name) return true;
  }
  return false;
}

// How many steps or segments read value `v`.
int readers(const CompiledModel& m, const std::string& v) {
  int n = 0;
  for (const auto& s : m.steps) n += (s.kind == StepKind::Quantize || s.kind == StepKind::Dequantize) && s.source == v;
  for (const auto& seg : m.bpu_segments) n += static_cast<int>(std::count(seg.input_values.begin(), seg.input_values.end(), v));
  for (const auto& seg : m.cpu_segments) n += static_cast<int>(std::count(seg.input_values.begin(), seg.input_values.end(), v));
  return n;
}

// Every reference to value `from` now names `to`; `to`'s old value (the float form) is dropped.
void rename_value(CompiledModel& m, const std::string& from, const std::string& to) {
  m.values.erase(std::remove_if(m.values.begin(), m.values.end(), [&](const TensorInfo& v) { return v.name == to; }),
                 m.values.end());
  for (auto& v : m.values) {
    if (v.name == from) v.name = to;
  }
  for (auto& s : m.steps) {
    if (s.source == from) s.source = to;
    if (s.target == from) s.target = to;
  }
  for (auto& seg : m.bpu_segments) {
    for (auto& v : seg.input_values) v = v == from ? to : v;
    for (auto& v : seg.output_values) v = v == from ? to : v;
  }
  for (auto& seg : m.cpu_segments) {
    for (auto& v : seg.input_values) v = v == from ? to : v;
    for (auto& v : seg.output_values) v = v == from ? to : v;
  }
}

const TensorInfo& value(const CompiledModel& m, const std::string& name) {
  for (const auto& v : m.values) {
    if (v.name == name) return v;
  }
  throw Error(ExitCode::Internal, "no value '" + name + "'");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> boundary_nodes(const CompiledModel& m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : m.steps) {
    // A model input quantized for the BPU and read by nothing else; a model output dequantized from an integer value.
    if (s.kind == StepKind::Quantize && is_input(m, s.source) && readers(m, s.source) == 1) {
      out.emplace_back(s.source + "_HzQuantize", "Quantize");
    } else if (s.kind == StepKind::Dequantize && is_output(m, s.target) && !is_input(m, s.source) && readers(m, s.target) == 0) {
      // (an output also read in float by a later segment keeps its Dequantize)
      out.emplace_back(s.target + "_HzDequantize", "Dequantize");
    }
  }
  return out;
}

std::set<std::string> output_dequantize_nodes(const CompiledModel& m, DType want, const std::string& context) {
  const std::string option = want == DType::Int16 ? "set_model_output_int16" : "set_model_output_int8";
  const auto nodes = boundary_nodes(m);
  std::set<std::string> names;
  for (const auto& o : m.outputs) {
    const std::string where = context + ": calibration_parameters.optimization " + option + ": output '" + o.name + "'";
    if (o.dtype == want) continue;  // already the integer tensor (remove_node_type removed its Dequantize too)
    auto it = std::find_if(m.steps.begin(), m.steps.end(), [&](const Step& s) { return s.kind == StepKind::Dequantize && s.target == o.name; });
    if (it == m.steps.end()) {
      throw Error(ExitCode::Config, where + " is computed in float (no fake quantization after its node); quantize it "
                                    "in the model or drop the option");
    }
    const TensorInfo& source = value(m, it->source);
    if (source.dtype == DType::Int32) {
      throw Error(ExitCode::Config, where + " is the int32 high-precision output of its Conv (the QAT model has no fake "
                                    "quantization after it); add a fake quant on that output or drop the option");
    }
    if (source.dtype != want) {
      throw Error(ExitCode::Config, where + " is quantized as " + dtype_name(source.dtype) + (want == DType::Int16 ?
                                    "; widen its node with node_info OutputType int16" : "; use set_model_output_int16 or drop the option"));
    }
    const std::string node = o.name + "_HzDequantize";
    if (std::none_of(nodes.begin(), nodes.end(), [&](const auto& b) { return b.first == node; })) {
      throw Error(ExitCode::Config, where + " is also read in float by a later segment, so it keeps its Dequantize; drop the option");
    }
    names.insert(node);
  }
  return names;
}

std::vector<std::string> remove_boundary_nodes(CompiledModel& m, const std::set<std::string>& types,
                                               const std::set<std::string>& names, const std::string& context,
                                               ExitCode code) {
  for (const auto& t : types) {
    if (t != "Quantize" && t != "Dequantize") {
      throw Error(code, context + ": remove_node_type '" + t + "': the .bin's boundary nodes are Quantize and Dequantize; "
                                  "a Transpose, Reshape, Cast or Softmax at a model output is removed at compile time "
                                  "(remove_node_type / remove_node_name in the config)");
    }
  }
  const auto nodes = boundary_nodes(m);
  std::string available;
  for (const auto& [name, type] : nodes) available += (available.empty() ? "" : ", ") + name;
  for (const auto& n : names) {
    if (std::none_of(nodes.begin(), nodes.end(), [&](const auto& b) { return b.first == n; })) {
      throw Error(code, context + ": remove_node_name '" + n + "' is not a boundary node of the model (removable: " +
                            (available.empty() ? "none" : available) + ")");
    }
  }
  std::vector<std::string> removed;
  for (const auto& node : nodes) {
    const std::string name = node.first, type = node.second;  // copies: clang 14 lambdas cannot capture bindings
    if (!types.count(type) && !names.count(name)) continue;
    auto it = std::find_if(m.steps.begin(), m.steps.end(), [&](const Step& s) {
      return type == "Quantize" ? s.kind == StepKind::Quantize && s.source + "_HzQuantize" == name
                                : s.kind == StepKind::Dequantize && s.target + "_HzDequantize" == name;
    });
    const Step step = *it;
    m.steps.erase(it);
    const std::string model_name = type == "Quantize" ? step.source : step.target;
    const std::string integer = type == "Quantize" ? step.target : step.source;
    rename_value(m, integer, model_name);
    const TensorInfo info = value(m, model_name);
    for (auto* list : {&m.inputs, &m.outputs}) {
      for (auto& t : *list) {
        if (t.name == model_name) t = info;
      }
    }
    removed.push_back(name);
    m.removed_nodes.push_back(name);
  }
  return removed;
}

}  // namespace bpu
