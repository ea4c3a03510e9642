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

AccuracyReport accuracy_run(const ir::Graph& g, const PartitionResult& partition, const std::vector<PlacementRow>& placement,
                            const ModelRunner& runner, const std::string& onnx_path,
                            const std::map<std::string, FloatArray>& inputs, const std::string& sample,
                            const ImportOptions& shapes) {
  AccuracyReport r;
  r.sample = sample;
  // The .bin, the float model and the QAT model run one after the other, each reference released before the
  // next run: each holds the model's weights, so running them side by side would double the peak memory. The
  // traces keep what the report compares: the float model's tensors the .bin also computed, node by node, and
  // the outputs of the QAT model.
  std::map<std::string, FloatArray> bin_trace, float_trace;  // float_trace: .bin outputs inside the float graph
  auto bin_out = runner.float_outputs(runner.run(inputs, ConvKernel::Fast, &bin_trace));
  const std::map<std::string, FloatArray> ref_inputs = runner.reference_inputs(inputs);  // image inputs preprocessed
  std::set<std::string> compared;
  for (const auto& n : g.nodes) if (!n.outputs.empty() && bin_trace.count(n.outputs[0])) compared.insert(n.outputs[0]);
  for (const auto& o : runner.model().outputs) compared.insert(o.name);
  for (auto it = bin_trace.begin(); it != bin_trace.end();) it = compared.count(it->first) ? std::next(it) : bin_trace.erase(it);
  runner.release_scratch();
  release_free_memory();
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::map<std::string, double> float_cosine;  // compared tensor -> cosine of the .bin's against the float model's
  std::map<std::string, FloatArray> float_out;
  {
    QatReference f = QatReference::from_file(onnx_path, shapes, true);
    f.use_threads(threads);
    // Each compared tensor is measured against the .bin's as the float model computes it, then dropped; only
    // .bin outputs the float model computes inside the graph (output_nodes) are kept.
    const cpu::CpuGraph::Observer compare = [&](const std::string& name, const std::vector<float>& v) {
      auto b = bin_trace.find(name);
      if (b != bin_trace.end() && !float_cosine.count(name)) {
        float_cosine[name] = distances(b->second.data, v).cosine;
        if (!bin_out.count(name)) bin_trace.erase(b);  // compared: the .bin's copy is no longer needed
      }
      if (bin_out.count(name) && f.graph().has_tensor(name)) float_trace[name] = FloatArray{f.graph().tensor(name).shape, v};
    };
    float_out = f.run(ref_inputs, nullptr, nullptr, &compared, &compare);
  }
  std::map<std::string, FloatArray> qat_trace;  // interior tensors made outputs (output_nodes) are read from it
  std::map<std::string, std::string> qat_fq_name;
  std::map<std::string, FloatArray> qat_out;
  {
    QatReference q = QatReference::from_file(onnx_path, shapes, false);
    q.use_threads(threads);
    std::set<std::string> wanted;  // the fake-quantized form of each .bin output
    for (const auto& o : runner.model().outputs) wanted.insert(qat_fq_name[o.name] = q.fake_quantized_name(o.name));
    qat_out = q.run(ref_inputs, &qat_trace, nullptr, &wanted);
  }
  for (const auto& o : runner.model().outputs) {
    if (!qat_out.count(o.name) && qat_trace.count(qat_fq_name[o.name])) qat_out[o.name] = qat_trace.at(qat_fq_name[o.name]);
    if (!float_out.count(o.name) && float_trace.count(o.name)) float_out[o.name] = float_trace.at(o.name);
    if (!qat_out.count(o.name) || !float_out.count(o.name) || !bin_out.count(o.name)) {
      throw Error(ExitCode::Model, "model '" + onnx_path + "': the QAT model computes no tensor '" + o.name + "' (a .bin output)");
    }
  }
  for (const auto& [k, v] : float_out) {
    auto b = bin_trace.find(k);
    if (b != bin_trace.end() && !float_cosine.count(k)) float_cosine[k] = distances(b->second.data, v.data).cosine;
  }
  const std::map<std::string, std::string> dtypes = buffer_dtypes(runner.model());
  auto dtype_of = [&](const std::string& t) { auto it = dtypes.find(t); return it == dtypes.end() ? std::string("float32") : it->second; };
  std::map<std::string, std::string> subgraph_of;
  for (const auto& row : placement) subgraph_of[row.node] = row.subgraph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (n.outputs.empty()) continue;
    const std::string& t = n.outputs[0];
    NodeAccuracy a;
    a.node = n.name;
    a.op_type = n.op_type;
    a.device = device_name(partition.placements[i].device);
    a.subgraph = subgraph_of[n.name];
    a.tensor = t;
    a.in_dtype = n.inputs.empty() ? "-" : dtype_of(n.inputs[0]);
    a.out_dtype = dtype_of(t);
    if (g.has_tensor(t) && g.tensor(t).quant && g.tensor(t).quant->scales.size() == 1) {
      a.threshold = g.tensor(t).quant->scales[0] * (g.tensor(t).quant->bits == 16 ? 32767.0 : 127.0);
    }
    auto c = float_cosine.find(t);
    a.cosine = c != float_cosine.end() ? c->second : NAN;
    r.nodes.push_back(a);
  }
  const CompiledModel& m = runner.model();
  for (const auto& o : m.outputs) {
    OutputAccuracy a;
    a.output = o.name;
    a.vs_float = distances(bin_out.at(o.name).data, float_out.at(o.name).data);
    for (const auto& s : m.steps) {
      if (s.kind != StepKind::Dequantize || s.target != o.name) continue;
      for (const auto& v : m.values) if (v.name == s.source && v.dtype != DType::Int32 && v.scales.size() == 1) a.lsb = v.scales[0];
    }
    if (o.dtype != DType::Float32 && o.scales.size() == 1) a.lsb = o.scales[0];  // an integer output (removed Dequantize)
    const auto& got = bin_out.at(o.name).data;
    const auto& ref = qat_out.at(o.name).data;
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
    r.outputs.push_back(a);
  }
  return r;
}

std::string format_node_accuracy_table(const AccuracyReport& r) {
  std::ostringstream os;
  size_t w = 4;
  for (const auto& n : r.nodes) w = std::max(w, n.node.size());
  char fmt[96];
  std::snprintf(fmt, sizeof(fmt), "%%-%zus  %%-3s  %%-8s  %%-18s  %%-17s  %%-10s  %%s\n", w);
  char line[1024];
  std::snprintf(line, sizeof(line), fmt, "Node", "ON", "Subgraph", "Type", "Cosine Similarity", "Threshold", "In/Out DataType");
  os << line;
  for (const auto& n : r.nodes) {
    char cos[32], thr[32];
    std::snprintf(cos, sizeof(cos), std::isnan(n.cosine) ? "-" : "%.6f", n.cosine);
    std::snprintf(thr, sizeof(thr), n.threshold > 0 ? "%.6f" : "-", n.threshold);
    std::snprintf(line, sizeof(line), fmt, n.node.c_str(), n.device.c_str(), n.subgraph.c_str(), n.op_type.c_str(), cos, thr,
                  (n.in_dtype + "/" + n.out_dtype).c_str());
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
  os << "Output vs QAT model (fake quantization run literally):\n";
  std::snprintf(line, sizeof(line), "  %-24s %-17s %-11s %s\n", "Output", "Cosine Similarity", "Identical", "Max |diff| (LSB)");
  os << line;
  for (const auto& o : r.outputs) {
    std::snprintf(line, sizeof(line), "  %-24s %-17.6f %-11s %s\n", o.output.c_str(), o.cosine_vs_qat,
                  (std::to_string(100 * o.identical_vs_qat).substr(0, 6) + "%").c_str(),
                  o.lsb > 0 ? std::to_string(o.max_lsb_vs_qat).substr(0, 5).c_str()
                            : ("float output, max |diff| " + std::to_string(o.max_diff_vs_qat)).c_str());
    os << line;
  }
  return os.str();
}

nlohmann::json accuracy_json(const AccuracyReport& r) {
  nlohmann::json j;
  j["sample"] = r.sample;
  j["nodes"] = nlohmann::json::array();
  for (const auto& n : r.nodes) {
    j["nodes"].push_back({{"node", n.node}, {"op_type", n.op_type}, {"device", n.device}, {"subgraph", n.subgraph},
                          {"tensor", n.tensor}, {"cosine", std::isnan(n.cosine) ? nlohmann::json(nullptr) : nlohmann::json(n.cosine)},
                          {"threshold", n.threshold}, {"input_dtype", n.in_dtype}, {"output_dtype", n.out_dtype}});
  }
  j["outputs"] = nlohmann::json::array();
  for (const auto& o : r.outputs) {
    j["outputs"].push_back({{"output", o.output},
                            {"vs_float", {{"cosine", o.vs_float.cosine}, {"l1", o.vs_float.l1}, {"l2", o.vs_float.l2}, {"chebyshev", o.vs_float.chebyshev}}},
                            {"vs_qat", {{"cosine", o.cosine_vs_qat}, {"identical", o.identical_vs_qat}, {"max_lsb", o.max_lsb_vs_qat},
                                        {"max_diff", o.max_diff_vs_qat}, {"lsb", o.lsb}}}});
  }
  return j;
}

}  // namespace bpu
