// Accuracy run and its tables.

#include "report/accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <random>
#include <set>
#include <thread>

#include "calib/cal_data.h"
#include <sstream>

#include "common/error.h"
#include "common/memory.h"
#include "common/file_io.h"
#include "numerics/requant.h"
#include "onnx_import/onnx_import.h"
#include "runtime/qat_reference.h"

namespace bpu {

namespace {

// Tensor name -> dtype of its BPU buffer; tensors only the CPU sees are float32.
std::map<std::string, std::string> buffer_dtypes(const CompiledModel& m) {
  std::map<std::string, std::string> dtypes;
  for (const auto& seg : m.bpu_segments) {
    for (const auto& b : seg.buffers) dtypes[b.info.name] = dtype_name(b.info.dtype);
  }
  return dtypes;
}

// Uniform pixels 0..255 for an image input's accuracy sample (std::mt19937 seed 2025).
FloatArray random_pixels(const Shape& shape) {
  std::mt19937 rng(2025);
  std::uniform_int_distribution<int> pixel(0, 255);
  FloatArray a{shape, std::vector<float>(static_cast<size_t>(checked_element_count(shape, "input", ExitCode::Usage)))};
  for (auto& v : a.data) v = static_cast<float>(pixel(rng));
  return a;
}

}  // namespace

std::map<std::string, FloatArray> accuracy_sample(const std::vector<TensorInfo>& inputs,
                                                  const std::vector<std::string>& folders,
                                                  const std::vector<calib::SampleFormat>& formats, std::string* description) {
  std::map<std::string, FloatArray> sample;
  if (!folders.empty()) {
    if (folders.size() != inputs.size()) {
      throw Error(ExitCode::Config, "calibration_parameters.cal_data_dir: " + std::to_string(folders.size()) +
                                        " folders for " + std::to_string(inputs.size()) + " inputs");
    }
    *description = "";
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].dtype == DType::UInt8) {  // an image input: its samples are in the train type, not pixels
        sample[inputs[i].name] = random_pixels(inputs[i].shape);
        *description += (description->empty() ? "" : ", ") + std::string("random uint8 pixels for '") + inputs[i].name + "'";
        continue;
      }
      const calib::SampleFormat format = formats.empty() ? calib::SampleFormat{} : formats[std::min(i, formats.size() - 1)];
      const calib::SampleFolder f = calib::list_samples(inputs[i].name, inputs[i].shape, folders[i], format, nullptr);
      sample[inputs[i].name] = calib::read_sample(f, 0);
      if (inputs[i].dtype == DType::Int8 || inputs[i].dtype == DType::Int16) {  // removed Quantize: the sample's codes
        for (auto& v : sample[inputs[i].name].data) {
          v = static_cast<float>(quantize_like_torch(v, inputs[i].scales[0], dtype_min(inputs[i].dtype), dtype_max(inputs[i].dtype)));
        }
      }
      *description += (description->empty() ? "" : ", ") + f.files[0];
    }
    return sample;
  }
  std::mt19937 rng(2024);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const auto& in : inputs) {
    if (in.dtype == DType::UInt8) {
      sample[in.name] = random_pixels(in.shape);
      continue;
    }
    FloatArray a{in.shape, {}};
    int64_t n = 1;
    for (int64_t d : in.shape) n *= d;
    a.data.resize(static_cast<size_t>(n));
    for (auto& v : a.data) v = nd(rng);
    if (in.dtype == DType::Int8 || in.dtype == DType::Int16) {  // an integer input (removed Quantize): its codes
      for (auto& v : a.data) v = static_cast<float>(quantize_like_torch(v, in.scales[0], dtype_min(in.dtype), dtype_max(in.dtype)));
    }
    sample[in.name] = a;
  }
  *description = "random N(0,1) input (uniform uint8 pixels for image inputs), std::mt19937 seed 2024 (set "
                 "calibration_parameters.cal_data_dir to use your data)";
  return sample;
}

namespace {

// A .bin value traced for the report, held at its own width until it is compared (int8 codes are a quarter of
// their float32 values: densenet121 at 224 traces 25 M values): the codes with the info that dequantizes them as
// the runner does, or float32 values.
struct TracedValue {
  TensorInfo info;
  std::vector<int8_t> q8;
  std::vector<int16_t> q16;
  std::vector<int32_t> q32;
  std::vector<float> f;

  static TracedValue of(HostTensor&& t) {
    TracedValue v;
    v.info = std::move(t.info);
    if (v.info.dtype == DType::Int8) v.q8.assign(t.q.begin(), t.q.end());
    else if (v.info.dtype == DType::Int16) v.q16.assign(t.q.begin(), t.q.end());
    else if (v.info.dtype == DType::Float32) v.f = std::move(t.f);
    else v.q32 = std::move(t.q);
    return v;
  }
  std::vector<float> values() const {
    if (info.dtype == DType::Float32) return f;
    HostTensor h;
    h.info = info;
    if (!q8.empty()) h.q.assign(q8.begin(), q8.end());
    else if (!q16.empty()) h.q.assign(q16.begin(), q16.end());
    else h.q = q32;
    return dequantized(h);
  }
  size_t size() const { return q8.size() + q16.size() + q32.size() + f.size(); }
};
using BinTrace = std::map<std::string, TracedValue>;

// The float model's pass: each compared tensor is measured against the .bin's as the float model computes it,
// then the .bin's copy is dropped unless `keep` still needs it (the exact pass, the outputs); .bin `outputs` the
// float model computes inside the graph (output_nodes) are kept in `trace`.
std::map<std::string, FloatArray> float_pass(const std::string& onnx_path, const ImportOptions& shapes, int threads,
                                             const std::map<std::string, FloatArray>& ref_inputs,
                                             const std::set<std::string>& compared, const std::set<std::string>& keep,
                                             const std::set<std::string>& outputs,
                                             BinTrace& bin_trace,
                                             std::map<std::string, double>* cosine,
                                             std::map<std::string, FloatArray>* trace) {
  QatReference f = QatReference::from_file(onnx_path, shapes, true);
  f.use_threads(threads);
  f.use_low_memory();

  const cpu::CpuGraph::Observer compare = [&](const std::string& name, const std::vector<float>& v) {
    auto b = bin_trace.find(name);
    if (b != bin_trace.end() && !cosine->count(name)) {
      (*cosine)[name] = distances(b->second.values(), v).cosine;
      if (!keep.count(name)) bin_trace.erase(b);
    }
    if (outputs.count(name) && f.graph().has_tensor(name)) (*trace)[name] = FloatArray{f.graph().tensor(name).shape, v};
  };
  return f.run(ref_inputs, nullptr, nullptr, &compared, &compare);
}

// The exact pass: the QAT graph in float64 (docs/numerics.md §10). Each quantized tensor of `lsb` (.bin name ->
// its step) is compared in codes with the .bin's value as it is computed, then the .bin's copy is dropped (unless
// it is an output); no double trace is kept. Returns the outputs (by .bin output name); an op without a float64
// kernel leaves every count unset and says why in *note.
std::map<std::string, FloatArray> exact_pass(const std::string& onnx_path, const ImportOptions& shapes, int threads,
                                             const CompiledModel& m, const std::map<std::string, FloatArray>& ref_inputs,
                                             const std::map<std::string, double>& lsb, const std::set<std::string>& outputs,
                                             BinTrace& bin_trace,
                                             std::map<std::string, CodeDifference>* codes, std::string* note) {
  std::map<std::string, FloatArray> out;
  try {
    QatReference e = QatReference::from_file(onnx_path, shapes, false, cpu::Precision::Float64);
    e.use_threads(threads);
    e.use_low_memory();
    std::map<std::string, std::string> bin_name;  // exact graph tensor -> the .bin tensor it stands for
    for (const auto& [t, step] : lsb) {
      if (!bin_trace.count(t)) continue;
      // Its fake-quantized form, unless the .bin holds that form as a tensor of its own (a mixed-use split).
      const std::string fq = e.fake_quantized_name(t);
      bin_name[fq != t && bin_trace.count(fq) ? t : fq] = t;
    }
    for (const auto& o : m.outputs) bin_name[e.fake_quantized_name(o.name)] = o.name;
    std::set<std::string> wanted;
    for (const auto& [name, t] : bin_name) wanted.insert(name);
    const cpu::CpuGraph::Observer compare = [&](const std::string& name, const std::vector<float>& v) {
      const std::string& t = bin_name.at(name);
      if (outputs.count(t)) out[t] = FloatArray{e.graph().has_tensor(name) ? e.graph().tensor(name).shape : Shape{}, v};
      auto b = bin_trace.find(t);
      auto step = lsb.find(t);
      if (b == bin_trace.end() || step == lsb.end() || codes->count(t) || b->second.size() != v.size()) return;
      (*codes)[t] = code_difference(b->second.values(), v, step->second);
      if (!outputs.count(t)) bin_trace.erase(b);
    };
    for (auto& [name, v] : e.run(ref_inputs, nullptr, nullptr, &wanted, &compare)) {
      if (bin_name.count(name) && !out.count(bin_name.at(name))) out[bin_name.at(name)] = std::move(v);
    }
  } catch (const Error& err) {
    if (err.code() != ExitCode::Unsupported) throw;
    codes->clear();
    *note = err.what();
  }
  return out;
}

// The quantization step of each tensor of `g` the .bin computed with one scale.
std::map<std::string, double> quantized_steps(const ir::Graph& g, const BinTrace& bin_trace) {
  std::map<std::string, double> lsb;
  for (const auto& [name, v] : bin_trace) {
    if (g.has_tensor(name) && g.tensor(name).quant && g.tensor(name).quant->scales.size() == 1) lsb[name] = g.tensor(name).quant->scales[0];
  }
  return lsb;
}

NodeAccuracy node_row(const ir::Graph& g, const ir::Node& n, const Placement& placement, const std::string& subgraph,
                      const std::map<std::string, std::string>& dtypes) {
  auto dtype_of = [&](const std::string& t) { auto it = dtypes.find(t); return it == dtypes.end() ? std::string("float32") : it->second; };
  const std::string& t = n.outputs[0];
  NodeAccuracy a;
  a.node = n.name;
  a.op_type = n.op_type;
  a.device = device_name(placement.device);
  a.subgraph = subgraph;
  a.tensor = t;
  a.in_dtype = n.inputs.empty() ? "-" : dtype_of(n.inputs[0]);
  a.out_dtype = dtype_of(t);
  if (g.has_tensor(t) && g.tensor(t).quant && g.tensor(t).quant->scales.size() == 1) {
    a.threshold = g.tensor(t).quant->scales[0] * (g.tensor(t).quant->bits == 16 ? 32767.0 : 127.0);
  }
  return a;
}

// One output's row: against the float model, the QAT model (float32) and, when it ran, the exact run.
OutputAccuracy output_row(const CompiledModel& m, const TensorInfo& o, const FloatArray& bin, const FloatArray& fl,
                          const FloatArray& qat, const FloatArray* exact) {
  OutputAccuracy a;
  a.output = o.name;
  a.vs_float = distances(bin.data, fl.data);
  for (const auto& s : m.steps) {
    if (s.kind != StepKind::Dequantize || s.target != o.name) continue;
    for (const auto& v : m.values) if (v.name == s.source && v.dtype != DType::Int32 && v.scales.size() == 1) a.lsb = v.scales[0];
  }
  if (o.dtype != DType::Float32 && o.scales.size() == 1) a.lsb = o.scales[0];  // an integer output (removed Dequantize)
  const auto& got = bin.data;
  const auto& ref = qat.data;
  Distances d = distances(got, ref);
  a.cosine_vs_qat = d.cosine;
  // Quantized outputs: within half an LSB. Float (high-precision) outputs: within 1e-3 of the largest
  // reference magnitude, the tolerance the tests use for them.
  double ref_max = 0;
  for (float v : ref) ref_max = std::max(ref_max, std::fabs(double(v)));
  const double tolerance = a.lsb > 0 ? a.lsb / 2 : 1e-3 * ref_max;
  size_t same = 0;
  for (size_t k = 0; k < got.size(); ++k) same += std::fabs(double(got[k]) - ref[k]) < tolerance + (a.lsb > 0 ? 0 : 1e-30);
  a.identical_vs_qat = got.empty() ? 1 : double(same) / got.size();
  a.max_lsb_vs_qat = a.lsb > 0 ? d.chebyshev / a.lsb : 0;
  a.max_diff_vs_qat = d.chebyshev;
  if (exact && a.lsb > 0 && exact->data.size() == got.size() && ref.size() == got.size()) {
    const CodeDifference b = code_difference(got, exact->data, a.lsb), q = code_difference(ref, exact->data, a.lsb);
    a.exact_codes = static_cast<int64_t>(b.differ);
    a.exact_max_lsb = b.max_lsb;
    a.qat_exact_codes = static_cast<int64_t>(q.differ);
    a.qat_exact_max_lsb = q.max_lsb;
  }
  return a;
}

}  // namespace

AccuracyReport accuracy_run(const ir::Graph& g, const PartitionResult& partition, const std::vector<PlacementRow>& placement,
                            const ModelRunner& runner, const std::string& onnx_path,
                            const std::map<std::string, FloatArray>& inputs, const std::string& sample,
                            const ImportOptions& shapes) {
  AccuracyReport r;
  r.sample = sample;
  // The .bin, the float model, the exact (float64) QAT model and the QAT model run one after the other, each
  // reference released before the next run: each holds the model's weights, so running them side by side would
  // multiply the peak memory. The traces keep what the report compares: the .bin's tensors, each dropped once the
  // float model's and the exact run's values of it were measured, and the outputs of the references.
  const CompiledModel& m = runner.model();
  std::set<std::string> compared, outputs;  // compared: node outputs the .bin computes, and the .bin outputs
  for (const auto& n : g.nodes) if (!n.outputs.empty()) compared.insert(n.outputs[0]);
  for (const auto& o : m.outputs) compared.insert(o.name), outputs.insert(o.name);
  BinTrace bin_trace;
  std::map<std::string, FloatArray> float_trace;  // float_trace: .bin outputs inside the float graph
  const ModelRunner::TraceSink keep_compared = [&](HostTensor&& t) {
    if (!compared.count(t.info.name)) return;
    const std::string name = t.info.name;  // copied first: of() moves the info out
    bin_trace[name] = TracedValue::of(std::move(t));
  };
  auto bin_out = runner.float_outputs(runner.run(inputs, ConvKernel::Fast, keep_compared));
  for (auto it = compared.begin(); it != compared.end();) it = bin_trace.count(*it) || outputs.count(*it) ? std::next(it) : compared.erase(it);
  const std::map<std::string, FloatArray> ref_inputs = runner.reference_inputs(inputs);  // image inputs preprocessed
  runner.release_scratch();
  release_free_memory();
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::map<std::string, double> lsb = quantized_steps(g, bin_trace);
  std::set<std::string> keep = outputs;  // .bin values still needed after the float model's pass
  for (const auto& [t, step] : lsb) keep.insert(t);
  std::map<std::string, double> float_cosine;  // compared tensor -> cosine of the .bin's against the float model's
  std::map<std::string, FloatArray> float_out =
      float_pass(onnx_path, shapes, threads, ref_inputs, compared, keep, outputs, bin_trace, &float_cosine, &float_trace);
  release_free_memory();  // the float model's pages back before the exact model loads
  std::map<std::string, CodeDifference> exact_codes;
  std::map<std::string, FloatArray> exact_out =
      exact_pass(onnx_path, shapes, threads, m, ref_inputs, lsb, outputs, bin_trace, &exact_codes, &r.exact_note);
  std::map<std::string, FloatArray> qat_trace;  // interior tensors made outputs (output_nodes) are read from it
  std::map<std::string, std::string> qat_fq_name;
  std::map<std::string, FloatArray> qat_out;
  {
    QatReference q = QatReference::from_file(onnx_path, shapes, false);
    q.use_threads(threads);
    std::set<std::string> wanted;  // the fake-quantized form of each .bin output
    for (const auto& o : m.outputs) wanted.insert(qat_fq_name[o.name] = q.fake_quantized_name(o.name));
    qat_out = q.run(ref_inputs, &qat_trace, nullptr, &wanted);
  }
  for (const auto& o : m.outputs) {
    if (!qat_out.count(o.name) && qat_trace.count(qat_fq_name[o.name])) qat_out[o.name] = qat_trace.at(qat_fq_name[o.name]);
    if (!float_out.count(o.name) && float_trace.count(o.name)) float_out[o.name] = float_trace.at(o.name);
    if (!qat_out.count(o.name) || !float_out.count(o.name) || !bin_out.count(o.name)) {
      throw Error(ExitCode::Model, "model '" + onnx_path + "': the QAT model computes no tensor '" + o.name + "' (a .bin output)");
    }
  }
  for (const auto& [k, v] : float_out) {
    auto b = bin_trace.find(k);
    if (b != bin_trace.end() && !float_cosine.count(k)) float_cosine[k] = distances(b->second.values(), v.data).cosine;
  }
  const std::map<std::string, std::string> dtypes = buffer_dtypes(m);
  std::map<std::string, std::string> subgraph_of;
  for (const auto& row : placement) subgraph_of[row.node] = row.subgraph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.outputs.empty()) continue;
    NodeAccuracy a = node_row(g, n, partition.placements[i], subgraph_of[n.name], dtypes);
    auto c = float_cosine.find(a.tensor);
    a.cosine = c != float_cosine.end() ? c->second : NAN;
    auto e = exact_codes.find(a.tensor);
    if (e != exact_codes.end()) a.exact_codes = static_cast<int64_t>(e->second.differ), a.exact_max_lsb = e->second.max_lsb;
    r.nodes.push_back(a);
  }
  for (const auto& o : m.outputs) {
    auto e = exact_out.find(o.name);
    r.outputs.push_back(output_row(m, o, bin_out.at(o.name), float_out.at(o.name), qat_out.at(o.name),
                                   e == exact_out.end() ? nullptr : &e->second));
  }
  return r;
}

namespace {

// "vs exact" cells: the number of codes that differ, with the largest difference when there are any.
std::string exact_text(int64_t codes, double max_lsb) {
  if (codes < 0) return "-";
  return codes == 0 ? "0" : std::to_string(codes) + " (max " + std::to_string(static_cast<long long>(max_lsb)) + ")";
}

nlohmann::json exact_json(int64_t codes, double max_lsb) {
  if (codes < 0) return nullptr;
  return {{"codes_differ", codes}, {"max_lsb", max_lsb}};
}

}  // namespace

std::string format_node_accuracy_table(const AccuracyReport& r) {
  std::ostringstream os;
  size_t w = 4;
  for (const auto& n : r.nodes) w = std::max(w, n.node.size());
  char fmt[96];
  std::snprintf(fmt, sizeof(fmt), "%%-%zus  %%-3s  %%-8s  %%-18s  %%-17s  %%-14s  %%-10s  %%s\n", w);
  char line[1024];
  std::snprintf(line, sizeof(line), fmt, "Node", "ON", "Subgraph", "Type", "Cosine Similarity", "vs exact", "Threshold",
                "In/Out DataType");
  os << line;
  for (const auto& n : r.nodes) {
    char cos[32], thr[32];
    std::snprintf(cos, sizeof(cos), std::isnan(n.cosine) ? "-" : "%.6f", n.cosine);
    std::snprintf(thr, sizeof(thr), n.threshold > 0 ? "%.6f" : "-", n.threshold);
    std::snprintf(line, sizeof(line), fmt, n.node.c_str(), n.device.c_str(), n.subgraph.c_str(), n.op_type.c_str(), cos,
                  exact_text(n.exact_codes, n.exact_max_lsb).c_str(), thr, (n.in_dtype + "/" + n.out_dtype).c_str());
    os << line;
  }
  return os.str();
}

std::string format_output_accuracy_tables(const AccuracyReport& r) {
  std::ostringstream os;
  char line[512];
  os << "Output vs float model (fake quantization removed):\n";
  std::snprintf(line, sizeof(line), "  %-24s %-17s %-12s %-12s %s\n", "Output", "Cosine Similarity", "L1 Distance", "L2 Distance", "Chebyshev Distance");
  os << line;
  for (const auto& o : r.outputs) {
    std::snprintf(line, sizeof(line), "  %-24s %-17.6f %-12.6g %-12.6g %.6g\n", o.output.c_str(), o.vs_float.cosine, o.vs_float.l1,
                  o.vs_float.l2, o.vs_float.chebyshev);
    os << line;
  }
  os << "Output vs QAT model (fake quantization run literally; vs exact: codes differing from its float64 run):\n";
  std::snprintf(line, sizeof(line), "  %-24s %-17s %-11s %-17s %-15s %s\n", "Output", "Cosine Similarity", "Identical",
                "Max |diff| (LSB)", ".bin vs exact", "float32 QAT vs exact");
  os << line;
  for (const auto& o : r.outputs) {
    std::snprintf(line, sizeof(line), "  %-24s %-17.6f %-11s %-17s %-15s %s\n", o.output.c_str(), o.cosine_vs_qat,
                  (std::to_string(100 * o.identical_vs_qat).substr(0, 6) + "%").c_str(),
                  o.lsb > 0 ? std::to_string(o.max_lsb_vs_qat).substr(0, 5).c_str()
                            : ("float, max |diff| " + std::to_string(o.max_diff_vs_qat)).c_str(),
                  exact_text(o.exact_codes, o.exact_max_lsb).c_str(), exact_text(o.qat_exact_codes, o.qat_exact_max_lsb).c_str());
    os << line;
  }
  if (!r.exact_note.empty()) os << "  (no exact comparison: " << r.exact_note << ")\n";
  return os.str();
}

nlohmann::json accuracy_json(const AccuracyReport& r) {
  nlohmann::json j;
  j["sample"] = r.sample;
  j["nodes"] = nlohmann::json::array();
  for (const auto& n : r.nodes) {
    j["nodes"].push_back({{"node", n.node}, {"op_type", n.op_type}, {"device", n.device}, {"subgraph", n.subgraph},
                          {"tensor", n.tensor}, {"cosine", std::isnan(n.cosine) ? nlohmann::json(nullptr) : nlohmann::json(n.cosine)},
                          {"threshold", n.threshold}, {"input_dtype", n.in_dtype}, {"output_dtype", n.out_dtype},
                          {"vs_exact", exact_json(n.exact_codes, n.exact_max_lsb)}});
  }
  j["outputs"] = nlohmann::json::array();
  for (const auto& o : r.outputs) {
    j["outputs"].push_back({{"output", o.output},
                            {"vs_float", {{"cosine", o.vs_float.cosine}, {"l1", o.vs_float.l1}, {"l2", o.vs_float.l2}, {"chebyshev", o.vs_float.chebyshev}}},
                            {"vs_qat", {{"cosine", o.cosine_vs_qat}, {"identical", o.identical_vs_qat}, {"max_lsb", o.max_lsb_vs_qat},
                                        {"max_diff", o.max_diff_vs_qat}, {"lsb", o.lsb}}},
                            {"vs_exact", exact_json(o.exact_codes, o.exact_max_lsb)},
                            {"qat_vs_exact", exact_json(o.qat_exact_codes, o.qat_exact_max_lsb)}});
  }
  if (!r.exact_note.empty()) j["exact_note"] = r.exact_note;
  return j;
}

}  // namespace bpu
