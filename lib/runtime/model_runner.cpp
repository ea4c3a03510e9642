// Schedule execution: quantize (torch rounding), BPU segments, dequantize.

#include "runtime/model_runner.h"

#include "artifact/bin_format.h"
#include "common/error.h"
#include "numerics/requant.h"

namespace bpu {

ModelRunner::ModelRunner(CompiledModel model, const std::string& path, const std::string& march)
    : model_(std::move(model)) {
  validated_ = validate_model(model_, path, march);
}

ModelRunner ModelRunner::from_file(const std::string& path, const std::string& march) {
  return ModelRunner(load_model_file(path), path, march);
}

std::map<std::string, FloatArray> ModelRunner::run(const std::map<std::string, FloatArray>& inputs, ConvKernel kernel) const {
  std::map<std::string, HostTensor> values;
  for (const auto& in : model_.inputs) {
    auto it = inputs.find(in.name);
    if (it == inputs.end()) throw Error(ExitCode::Usage, "input '" + in.name + "' is missing; pass --input " + in.name + "=FILE.npy");
    if (it->second.shape != in.shape) {
      throw Error(ExitCode::Usage, "input '" + in.name + "' has shape " + shape_to_string(it->second.shape) +
                                       " but the model expects " + shape_to_string(in.shape));
    }
    values[in.name] = HostTensor{in, it->second.data, {}};
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
  auto info_of = [&](const std::string& name) -> const TensorInfo& {
    for (const auto& v : model_.values) if (v.name == name) return v;
    throw Error(ExitCode::Internal, "unknown value " + name);
  };
  for (const auto& step : model_.steps) {
    if (step.kind == StepKind::RunCpu) {
      const CpuSegment& seg = model_.cpu_segments[step.segment];
      std::map<std::string, const std::vector<float>*> cpu_inputs;
      for (const auto& v : seg.input_values) cpu_inputs[v] = &values.at(v).f;
      for (auto& [name, data] : validated_.cpu_graphs[step.segment]->run(cpu_inputs)) {
        values[name] = HostTensor{info_of(name), std::move(data), {}};
      }
      continue;
    }
    if (step.kind == StepKind::RunBpu) {
      BpuSimulator sim(model_.bpu_segments[step.segment], validated_.programs[step.segment], kernel);
      for (auto& [name, t] : sim.run(values)) values[name] = std::move(t);
      continue;
    }
    const HostTensor& src = values.at(step.source);
    HostTensor dst;
    dst.info = info_of(step.target);
    if (step.kind == StepKind::Quantize) {
      const float s = dst.info.scales[0];
      const int64_t lo = dtype_min(dst.info.dtype), hi = dtype_max(dst.info.dtype);
      dst.q.resize(src.f.size());
      for (size_t i = 0; i < src.f.size(); ++i) dst.q[i] = static_cast<int32_t>(quantize_like_torch(src.f[i], s, lo, hi));
    } else {
      dst.f.resize(src.q.size());
      const auto& scales = src.info.scales;
      if (scales.size() == 1) {
        for (size_t i = 0; i < src.q.size(); ++i) dst.f[i] = static_cast<float>(src.q[i]) * scales[0];
      } else {
        int64_t inner = 1;
        for (size_t d = src.info.axis + 1; d < src.info.shape.size(); ++d) inner *= src.info.shape[d];
        for (size_t i = 0; i < src.q.size(); ++i) {
          dst.f[i] = static_cast<float>(static_cast<double>(src.q[i]) * scales[(i / inner) % scales.size()]);
        }
      }
    }
    values[step.target] = std::move(dst);
  }
  std::map<std::string, FloatArray> out;
  for (const auto& o : model_.outputs) out[o.name] = FloatArray{o.shape, values.at(o.name).f};
  return out;
}

}  // namespace bpu
