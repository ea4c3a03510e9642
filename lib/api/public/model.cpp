// bpu_mapper::Model and the .npy helpers (include/bpu_mapper/model.hpp): the public C++ runtime over
// runtime/model_runner, report/model_info and report/perf_report.

#include <algorithm>
#include <filesystem>
#include <thread>

#include "api/public/guard.h"
#include "api/public/model_impl.h"
#include "report/model_info.h"
#include "report/perf_html.h"
#include "report/perf_report.h"
#include "report/profile_report.h"
#include "artifact/pack_format.h"
#include "common/file_io.h"
#include "common/march.h"
#include "runtime/input_files.h"

namespace bpu_mapper {

Error::Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
Error::~Error() = default;

std::string version() { return BPU_MAPPER_VERSION; }

namespace detail {

TensorDesc describe(const bpu::TensorInfo& info) {
  TensorDesc d;
  d.name = info.name;
  d.dtype = bpu::dtype_name(info.dtype);
  d.shape = info.shape;
  d.scales = info.scales;
  d.axis = info.axis;
  d.layout = bpu::layout_name(info.layout);
  return d;
}

std::map<std::string, bpu::FloatArray> to_internal(const TensorMap& tensors) {
  std::map<std::string, bpu::FloatArray> out;
  for (const auto& [name, t] : tensors) out[name] = bpu::FloatArray{t.shape, t.data};
  return out;
}

TensorMap to_public(std::map<std::string, bpu::FloatArray>&& arrays) {
  TensorMap out;
  for (auto& [name, a] : arrays) out[name] = Tensor{std::move(a.shape), std::move(a.data)};
  return out;
}

}  // namespace detail

Model Model::load(const std::string& path) { return load(path, "", ""); }
Model Model::load(const std::string& path, const std::string& march) { return load(path, march, ""); }

std::vector<std::string> model_names(const std::string& path) {
  return detail::guarded([&] { return bpu::model_names_in_file(path); });
}

Model Model::load(const std::string& path, const std::string& march, const std::string& model_name) {
  return detail::guarded([&] {
    if (!march.empty() && !bpu::find_march(march)) {
      throw bpu::Error(bpu::ExitCode::Usage, "--march '" + march + "' is not known; allowed values: " + bpu::march_names());
    }
    Model m;
    m.impl_ = std::make_shared<Impl>(bpu::ModelRunner::from_file(path, march, model_name), path, model_name);
    const bpu::CompiledModel& cm = m.impl_->runner.model();
    for (size_t i = 0; i < cm.inputs.size(); ++i) {
      m.impl_->inputs.push_back(detail::describe(cm.inputs[i]));
      if (i < cm.input_formats.size()) {
        m.impl_->inputs.back().input_type = bpu::image_type_name(cm.input_formats[i].type_rt);
        if (cm.input_formats[i].needs_preprocess()) m.impl_->inputs.back().preprocessing = cm.input_formats[i].describe();
      }
    }
    for (const auto& t : m.impl_->runner.model().outputs) m.impl_->outputs.push_back(detail::describe(t));
    return m;
  });
}

const std::string& Model::path() const { return impl_->path; }
const std::vector<TensorDesc>& Model::inputs() const { return impl_->inputs; }
const std::vector<TensorDesc>& Model::outputs() const { return impl_->outputs; }

TensorMap Model::run(const TensorMap& inputs) const {
  return detail::guarded([&] { return detail::to_public(impl_->runner.run(detail::to_internal(inputs))); });
}

Tensor Model::read_input(const std::string& name, const std::string& path) const {
  return detail::guarded([&] {
    const bpu::CompiledModel& m = impl_->runner.model();
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      if (m.inputs[i].name != name) continue;
      bpu::FloatArray a = bpu::read_input_file(path, m.inputs[i], i < m.input_formats.size() ? m.input_formats[i] : bpu::InputFormat{});
      return Tensor{std::move(a.shape), std::move(a.data)};
    }
    throw Error(BPU_ERR_USAGE, "the model has no input '" + name + "'");
  });
}

ProfileResult Model::profile(const TensorMap& inputs, int runs) const {
  return detail::guarded([&] {
    if (runs < 1 || runs > 10000) throw Error(BPU_ERR_USAGE, "profile runs must be in [1, 10000]");
    const auto internal = detail::to_internal(inputs);
    impl_->runner.run(internal);  // warm-up: repacked weights and scratch are made once
    std::vector<std::vector<bpu::ProfileEntry>> all(static_cast<size_t>(runs));
    for (auto& entries : all) impl_->runner.run(internal, bpu::ConvKernel::Fast, nullptr, &entries);
    const std::vector<bpu::ProfileEntry> mean = bpu::mean_profile(all);
    ProfileResult r;
    for (const auto& e : mean) r.total_ms += e.seconds * 1e3;
    r.runs = runs;
    r.csv = bpu::profile_csv(mean);
    r.json = bpu::profile_json(mean, runs);
    r.summary = bpu::format_profile_summary(mean);
    return r;
  });
}

void Model::set_threads(int threads) {
  if (threads < 0 || threads > 256) throw Error(BPU_ERR_USAGE, "threads must be in [0, 256] (0: all cores)");
  impl_->runner.set_threads(threads == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : threads);
}

std::string Model::info() const {
  return detail::guarded([&] { return bpu::format_model_info(impl_->runner.model(), impl_->runner.validated(), impl_->display()); });
}

std::string Model::disassembly(int segment) const {
  return detail::guarded([&] { return bpu::format_disassembly(impl_->runner.model(), impl_->runner.validated(), segment); });
}

namespace {

// The report JSON for the HTML page, or null with a note saying why it is missing.
nlohmann::json read_report(const std::string& path, std::string* note) {
  if (path.empty()) return nullptr;
  try {
    std::vector<uint8_t> bytes = bpu::read_file(path, uint64_t(256) << 20, "report JSON");
    return nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    *note = "placement and accuracy tables omitted: '" + path + "' could not be read (" + e.what() + ")";
    return nullptr;
  }
}

}  // namespace

PerfEstimate Model::estimate(const std::string& report_json, int measure_runs) const {
  return detail::guarded([&] {
    const auto& m = impl_->runner.model();
    bpu::PerfReport r = bpu::estimate_model(m, impl_->runner.validated());
    if (measure_runs < 0 || measure_runs > 10000) throw Error(BPU_ERR_USAGE, "measure runs must be in [0, 10000]");
    if (measure_runs > 0) {
      std::map<std::string, bpu::FloatArray> zeros;  // 0 is a valid value of every input type
      for (const auto& in : m.inputs) {
        zeros[in.name] = bpu::FloatArray{in.shape, std::vector<float>(static_cast<size_t>(bpu::checked_element_count(
                                                                           in.shape, in.name, bpu::ExitCode::Artifact)))};
      }
      impl_->runner.run(zeros);  // warm-up
      std::vector<std::vector<bpu::ProfileEntry>> runs(static_cast<size_t>(measure_runs));
      for (auto& p : runs) impl_->runner.run(zeros, bpu::ConvKernel::Fast, nullptr, &p);
      bpu::add_measured_times(r, bpu::mean_profile(runs), measure_runs, m.cpu_segments.size());
    }
    PerfEstimate e;
    e.latency_ms = r.latency_ms;
    e.fps = r.latency_ms > 0 ? 1000.0 / r.latency_ms : 0.0;
    e.macs = r.macs;
    e.ddr_load_bytes = r.ddr_load_bytes;
    e.ddr_store_bytes = r.ddr_store_bytes;
    e.bpu_segments = r.segments.size();
    e.cpu_segments = r.cpu_segments;
    for (const auto& s : r.segments) {
      e.segments.push_back({static_cast<int>(s.index), s.milliseconds(r.hardware), s.macs, s.ddr_load_bytes,
                            s.ddr_store_bytes, s.instructions.size()});
    }
    e.text = bpu::format_perf_report(r);
    e.json = bpu::perf_json(r).dump(2);
    e.svg = bpu::perf_svg(m, r);
    std::string note;
    nlohmann::json report = read_report(report_json, &note);
    e.html = bpu::perf_html(m, r, std::filesystem::path(impl_->path).filename().string(), report, note);
    return e;
  });
}

Tensor load_npy(const std::string& path) {
  return detail::guarded([&] {
    bpu::FloatArray a = bpu::load_npy(path);
    return Tensor{std::move(a.shape), std::move(a.data)};
  });
}

void save_npy(const std::string& path, const Tensor& tensor) { save_npy(path, tensor, "float32"); }

void save_npy(const std::string& path, const Tensor& tensor, const std::string& dtype) {
  detail::guarded([&] {
    bpu::DType t = bpu::DType::Float32;
    if (dtype == "int8") t = bpu::DType::Int8;
    else if (dtype == "int16") t = bpu::DType::Int16;
    else if (dtype == "int32") t = bpu::DType::Int32;
    else if (dtype == "uint8") t = bpu::DType::UInt8;
    else if (dtype != "float32") throw Error(BPU_ERR_USAGE, "save_npy '" + path + "': unknown dtype '" + dtype + "'");
    int64_t n = bpu::checked_element_count(tensor.shape, "tensor for '" + path + "'", bpu::ExitCode::Usage);
    if (static_cast<size_t>(n) != tensor.data.size()) {
      throw Error(BPU_ERR_USAGE, "save_npy '" + path + "': shape " + bpu::shape_to_string(tensor.shape) + " has " +
                                     std::to_string(n) + " elements, data has " + std::to_string(tensor.data.size()));
    }
    bpu::save_npy(path, bpu::FloatArray{tensor.shape, tensor.data}, t);
  });
}

std::string output_file_name(const std::string& tensor_name) { return bpu::npy_file_name(tensor_name); }

}  // namespace bpu_mapper
