// Schedule execution: quantize (torch rounding), BPU segments, dequantize.

#include "runtime/model_runner.h"

#include "artifact/pack_format.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include "common/error.h"
#include "numerics/requant.h"

namespace bpu {

ModelRunner::ModelRunner(CompiledModel model, const std::string& path, const std::string& march)
    : model_(std::move(model)) {
  validated_ = validate_model(model_, path, march);
  for (size_t i = 0; i < model_.values.size(); ++i) value_index_.emplace(model_.values[i].name, i);
}

ModelRunner ModelRunner::from_file(const std::string& path, const std::string& march, const std::string& model_name) {
  return ModelRunner(load_model_file(path, model_name), model_name.empty() ? path : path + " [" + model_name + "]", march);
}

// Float view of a host tensor: integer codes times their scale (per tensor or per channel along `axis`).
std::vector<float> dequantized(const HostTensor& t) {
  if (t.info.dtype == DType::Float32) return t.f;
  std::vector<float> out(t.q.size());
  const auto& scales = t.info.scales;
  int64_t inner = 1;
  if (scales.size() > 1) {
    for (size_t d = t.info.axis + 1; d < t.info.shape.size(); ++d) inner *= t.info.shape[d];
  }
  for (size_t i = 0; i < t.q.size(); ++i) {
    const double s = scales.size() == 1 ? scales[0] : scales[(i / inner) % scales.size()];
    out[i] = scales.size() == 1 ? static_cast<float>(t.q[i]) * scales[0] : static_cast<float>(static_cast<double>(t.q[i]) * s);
  }
  return out;
}

std::map<std::string, FloatArray> ModelRunner::reference_inputs(const std::map<std::string, FloatArray>& inputs) const {
  std::map<std::string, FloatArray> out = inputs;
  for (const auto& in : model_.inputs) {  // integer inputs (removed Quantize): the float values they stand for
    auto it = out.find(in.name);
    if (it == out.end() || (in.dtype != DType::Int8 && in.dtype != DType::Int16)) continue;
    for (auto& v : it->second.data) v *= in.scales[0];
  }
  for (size_t i = 0; i < model_.inputs.size() && i < model_.input_formats.size(); ++i) {
    const InputFormat& f = model_.input_formats[i];
    auto it = out.find(model_.inputs[i].name);
    if (!f.needs_preprocess() || it == out.end()) continue;
    const Shape train = train_shape_of(f, it->second.shape, "input '" + it->first + "'", ExitCode::Usage);
    it->second = FloatArray{train, preprocess_float(f, it->second.shape, it->second.data)};
  }
  return out;
}

void ModelRunner::release_scratch() const {
  decltype(workspace_->packed_weights)().swap(workspace_->packed_weights);
  for (auto& s : workspace_->scratch) s = SimulatorWorkspace::Scratch{};
  std::vector<uint8_t>().swap(workspace_->arena);
}

std::map<std::string, FloatArray> ModelRunner::float_outputs(std::map<std::string, FloatArray> outputs) const {
  for (const auto& o : model_.outputs) {
    auto it = outputs.find(o.name);
    if (it == outputs.end() || o.dtype == DType::Float32) continue;
    HostTensor t{o, {}, std::vector<int32_t>(it->second.data.begin(), it->second.data.end())};
    it->second.data = dequantized(t);
  }
  return outputs;
}

std::map<std::string, HostTensor> ModelRunner::bind_inputs(const std::map<std::string, FloatArray>& inputs) const {
  std::map<std::string, HostTensor> values;
  for (const auto& in : model_.inputs) {
    auto it = inputs.find(in.name);
    if (it == inputs.end()) throw Error(ExitCode::Usage, "input '" + in.name + "' is missing; pass --input " + in.name + "=FILE.npy");
    if (it->second.shape != in.shape) {
      throw Error(ExitCode::Usage, "input '" + in.name + "' has shape " + shape_to_string(it->second.shape) +
                                       " but the model expects " + shape_to_string(in.shape));
    }
    const int64_t count = checked_element_count(in.shape, "input '" + in.name + "'", ExitCode::Usage);
    if (static_cast<int64_t>(it->second.data.size()) != count) {
      throw Error(ExitCode::Usage, "input '" + in.name + "' holds " + std::to_string(it->second.data.size()) +
                                       " values, its shape " + shape_to_string(in.shape) + " needs " + std::to_string(count));
    }
    values[in.name] = HostTensor{in, it->second.data, {}};
    if (in.dtype != DType::Float32) {  // image pixels (uint8) or an integer input (removed Quantize): its codes
      HostTensor& t = values[in.name];
      t.q.resize(t.f.size());
      const float lo = static_cast<float>(dtype_min(in.dtype)), hi = static_cast<float>(dtype_max(in.dtype));
      for (size_t k = 0; k < t.f.size(); ++k) {
        const float v = t.f[k];
        if (!(v >= lo && v <= hi) || v != std::floor(v)) {
          throw Error(ExitCode::Usage, "input '" + in.name + "' is " + dtype_name(in.dtype) + " but holds " +
                                           std::to_string(v) + " at index " + std::to_string(k) + "; pass its " +
                                           (in.dtype == DType::UInt8 ? "pixels (integers 0..255)" : "integer codes"));
        }
        t.q[k] = static_cast<int32_t>(v);
      }
      if (in.dtype != DType::UInt8) t.f.clear();
    }
  }
  for (const auto& [name, array] : inputs) {
    bool known = false;
    for (const auto& in : model_.inputs) known |= in.name == name;
    if (!known) {
      std::string names;
      for (const auto& in : model_.inputs) names += (names.empty() ? "" : ", ") + in.name;
      throw Error(ExitCode::Usage, "the model has no input '" + name + "' (inputs: " + names + ")");
    }
  }
  return values;
}

const TensorInfo& ModelRunner::value_info(const std::string& name) const {
  auto it = value_index_.find(name);
  if (it == value_index_.end()) throw Error(ExitCode::Internal, "unknown value " + name);
  return model_.values[it->second];
}

void ModelRunner::run_cpu_step(const Step& step, std::map<std::string, HostTensor>& values, const TraceSink* trace,
                               std::vector<ProfileEntry>* profile) const {
  const CpuSegment& seg = model_.cpu_segments[step.segment];
  const cpu::CpuGraph& graph = *validated_.cpu_graphs[step.segment];
  std::map<std::string, const std::vector<float>*> cpu_inputs;
  for (const auto& v : seg.input_values) cpu_inputs[v] = &values.at(v).f;
  std::map<std::string, std::vector<float>> cpu_trace;
  std::vector<double> seconds;
  for (auto& [name, data] : graph.run(cpu_inputs, trace ? &cpu_trace : nullptr, nullptr, profile ? &seconds : nullptr, nullptr, &workspace_->pool)) {
    values[name] = HostTensor{value_info(name), std::move(data), {}};
  }
  for (auto& [name, data] : cpu_trace) {
    const ir::Tensor* t = graph.graph().has_tensor(name) ? &graph.graph().tensor(name) : nullptr;
    HostTensor h;
    h.info.name = name;
    h.info.dtype = DType::Float32;
    h.info.shape = t ? t->shape : Shape{static_cast<int64_t>(data.size())};
    h.f = std::move(data);
    (*trace)(std::move(h));
  }
  for (size_t i = 0; profile && i < seconds.size() && i < graph.graph().nodes.size(); ++i) {
    profile->push_back({"CPU", step.segment, graph.graph().nodes[i].op_type, graph.graph().nodes[i].name, seconds[i]});
  }
}

void ModelRunner::run_bpu_step(const Step& step, ConvKernel kernel, std::map<std::string, HostTensor>& values,
                               const TraceSink* trace, std::vector<ProfileEntry>* profile) const {
  const BpuSegment& seg = model_.bpu_segments[step.segment];
  const auto& program = validated_.programs[step.segment];
  BpuSimulator sim(seg, program, kernel, workspace_.get());
  std::vector<double> seconds;
  for (auto& [name, t] : sim.run(values, trace, profile ? &seconds : nullptr)) values[name] = std::move(t);
  for (size_t i = 0; profile && i < seconds.size(); ++i) {
    const uint32_t node = program[i].source_node;
    profile->push_back({"BPU", step.segment, bayes::opcode_name(program[i].opcode),
                        node < seg.source_nodes.size() ? seg.source_nodes[node] : "", seconds[i]});
  }
}

HostTensor ModelRunner::host_step(const Step& step, const std::map<std::string, HostTensor>& values) const {
  const HostTensor& src = values.at(step.source);
  HostTensor dst;
  dst.info = value_info(step.target);
  if (step.kind == StepKind::Quantize) {
    const float s = dst.info.scales[0];
    const int64_t lo = dtype_min(dst.info.dtype), hi = dtype_max(dst.info.dtype);
    dst.q.resize(src.f.size());
    quantize_exact_row(src.f.data(), src.f.size(), s, lo, hi, dst.q.data());
  } else {
    dst.f.resize(src.q.size());
    const auto& scales = src.info.scales;
    if (scales.size() == 1) {
      for (size_t i = 0; i < src.q.size(); ++i) dst.f[i] = static_cast<float>(src.q[i]) * scales[0];
    } else {
      size_t inner = 1;
      for (size_t d = src.info.axis + 1; d < src.info.shape.size(); ++d) inner *= static_cast<size_t>(src.info.shape[d]);
      for_each_in_channels(src.q.size(), scales.size(), inner, [&](size_t k, size_t ch) {
        dst.f[k] = static_cast<float>(static_cast<double>(src.q[k]) * scales[ch]);
      });
    }
  }
  return dst;
}

std::map<std::string, FloatArray> ModelRunner::run(const std::map<std::string, FloatArray>& inputs, ConvKernel kernel,
                                                   std::map<std::string, FloatArray>* trace,
                                                   std::vector<ProfileEntry>* profile) const {
  if (!trace) return run_steps(inputs, kernel, nullptr, profile);
  const TraceSink keep = [&](HostTensor&& t) { (*trace)[t.info.name] = FloatArray{t.info.shape, dequantized(t)}; };
  return run_steps(inputs, kernel, &keep, profile);
}

std::map<std::string, FloatArray> ModelRunner::run(const std::map<std::string, FloatArray>& inputs, ConvKernel kernel,
                                                   const TraceSink& sink) const {
  return run_steps(inputs, kernel, &sink, nullptr);
}

std::map<std::string, FloatArray> ModelRunner::run_steps(const std::map<std::string, FloatArray>& inputs,
                                                         ConvKernel kernel, const TraceSink* trace,
                                                         std::vector<ProfileEntry>* profile) const {
  std::map<std::string, HostTensor> values = bind_inputs(inputs);
  std::set<std::string> traced;  // names the steps handed to the sink; the host's float values follow at the end
  const TraceSink* outer = trace;
  const TraceSink note = [&](HostTensor&& t) {
    traced.insert(t.info.name);
    (*outer)(std::move(t));
  };
  if (trace) trace = &note;
  for (const auto& step : model_.steps) {
    if (step.kind == StepKind::RunCpu) {
      run_cpu_step(step, values, trace, profile);
    } else if (step.kind == StepKind::RunBpu) {
      run_bpu_step(step, kernel, values, trace, profile);
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      values[step.target] = host_step(step, values);
      if (profile) {
        profile->push_back({"host", 0, step.kind == StepKind::Quantize ? "QUANTIZE" : "DEQUANTIZE", step.target,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
      }
    }
  }
  std::map<std::string, FloatArray> out;
  for (const auto& o : model_.outputs) {
    const HostTensor& v = values.at(o.name);
    // An integer output (removed Dequantize) hands over its codes.
    out[o.name] = o.dtype == DType::Float32 ? FloatArray{o.shape, v.f} : FloatArray{o.shape, std::vector<float>(v.q.begin(), v.q.end())};
  }
  if (trace) {
    for (const auto& [name, v] : values) {
      if (v.info.dtype == DType::Float32 && !traced.count(name)) (*trace)(HostTensor{v.info, v.f, {}});
    }
  }
  return out;
}

}  // namespace bpu
