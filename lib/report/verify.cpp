// Tensor-by-tensor comparison of a .bin run with the QAT graph.

#include "report/verify.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace bpu {

Distances distances(const std::vector<float>& a, const std::vector<float>& b) {
  Distances d;
  double ab = 0, aa = 0, bb = 0, l1 = 0, l2 = 0, mx = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double x = a[i], y = b[i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
    l1 += std::fabs(x - y);
    l2 += (x - y) * (x - y);
    mx = std::max(mx, std::fabs(x - y));
  }
  d.cosine = (aa == 0 && bb == 0) ? 1.0 : ab / std::sqrt(aa * bb + 1e-300);
  d.l1 = a.empty() ? 0 : l1 / a.size();
  d.l2 = std::sqrt(l2);
  d.chebyshev = mx;
  return d;
}

namespace {

TensorAgreement compare(const std::string& tensor, const std::string& node, const FloatArray& got, const FloatArray& ref,
                        double lsb, double tolerance) {
  TensorAgreement a;
  a.tensor = tensor;
  a.node = node;
  a.elements = got.data.size();
  Distances d = distances(got.data, ref.data);
  a.cosine = d.cosine;
  a.max_diff = d.chebyshev;
  a.lsb = lsb;
  if (got.data.size() != ref.data.size()) {
    a.within = false;
    return a;
  }
  if (lsb > 0) {
    // Both sides are codes times the scale, each rounded to float32, so a difference of k codes shows as k LSB
    // give or take float32 rounding (1.0000x); count whole codes.
    size_t same = 0;
    double codes = 0;
    for (size_t i = 0; i < got.data.size(); ++i) {
      const double k = std::nearbyint(std::fabs(double(got.data[i]) - ref.data[i]) / lsb);
      same += k == 0;
      codes = std::max(codes, k);
    }
    a.identical = got.data.empty() ? 1 : double(same) / got.data.size();
    a.max_lsb = codes;
    a.within = a.max_lsb <= tolerance;
  } else {
    double m = 0;
    for (float v : ref.data) m = std::max(m, std::fabs(double(v)));
    a.within = a.max_diff <= 1e-3 * m + 1e-12;
  }
  return a;
}

}  // namespace

VerifyReport verify_model(const ModelRunner& runner, const QatReference& reference,
                          const std::map<std::string, FloatArray>& inputs, double tolerance_lsb, bool isolated) {
  VerifyReport report;
  report.tolerance_lsb = tolerance_lsb;
  report.isolated = isolated;
  std::map<std::string, FloatArray> bin_trace, ref_trace;
  std::map<std::string, FloatArray> outputs = runner.float_outputs(runner.run(inputs, ConvKernel::Fast, &bin_trace));
  // The reference tensor a .bin value stands for: its fake-quantized form (the DQ output of its Q), unless the
  // .bin holds that form as a value of its own (a mixed-use split: then the .bin's tensor is the float value).
  auto reference_name = [&](const std::string& t) {
    const std::string fq = reference.fake_quantized_name(t);
    return fq != t && bin_trace.count(fq) ? t : fq;
  };
  std::map<std::string, const std::vector<float>*> overrides;  // reference name -> the .bin's value
  if (isolated) {
    for (const auto& [name, value] : bin_trace) overrides[reference_name(name)] = &value.data;
  }
  std::map<std::string, FloatArray> ref_outputs = reference.run(runner.reference_inputs(inputs), &ref_trace, isolated ? &overrides : nullptr);
  for (const auto& [name, v] : ref_outputs) ref_trace[name] = v;
  // Quantization step of each tensor the .bin holds in integer form (per-tensor scales only).
  std::map<std::string, double> lsb;
  std::set<std::string> boundary;
  const CompiledModel& m = runner.model();
  for (const auto& seg : m.bpu_segments) {
    for (const auto& b : seg.buffers) {
      if (b.info.scales.size() == 1 && b.info.dtype != DType::Int32) lsb[b.info.name] = b.info.scales[0];
    }
    for (size_t i = 0; i < seg.input_buffers.size(); ++i) boundary.insert(seg.buffers[seg.input_buffers[i]].info.name);
    for (size_t i = 0; i < seg.output_buffers.size(); ++i) boundary.insert(seg.buffers[seg.output_buffers[i]].info.name);
  }
  for (const auto& seg : m.cpu_segments) boundary.insert(seg.output_values.begin(), seg.output_values.end());
  auto lsb_of = [&](const std::string& t) { auto it = lsb.find(t); return it == lsb.end() ? 0.0 : it->second; };
  for (const auto& n : reference.graph().nodes) {
    for (const auto& raw : n.outputs) {
      if (!bin_trace.count(raw)) continue;
      const std::string ref_name = reference_name(raw);
      if (!ref_trace.count(ref_name)) continue;
      TensorAgreement a = compare(raw, n.name, bin_trace.at(raw), ref_trace.at(ref_name), lsb_of(raw), tolerance_lsb);
      if (!a.within && report.first_diverging_node.empty()) report.first_diverging_node = n.name;
      if (boundary.count(raw)) report.boundaries.push_back(a);
      report.nodes.push_back(a);
    }
  }
  for (const auto& o : m.outputs) {
    // The .bin's float output equals the fake-quantized value; its LSB is the scale it was dequantized from.
    double step = 0;
    for (const auto& s : m.steps) {
      if (s.kind != StepKind::Dequantize || s.target != o.name) continue;
      for (const auto& v : m.values) if (v.name == s.source && v.dtype != DType::Int32 && v.scales.size() == 1) step = v.scales[0];
    }
    if (o.dtype != DType::Float32 && o.dtype != DType::Int32 && o.scales.size() == 1) step = o.scales[0];  // integer output
    // An interior tensor made an output (output_nodes) is a traced tensor of the QAT model, in its fake-quantized form.
    const std::string ref_name = ref_outputs.count(o.name) ? o.name : reference_name(o.name);
    if (!ref_trace.count(ref_name)) throw Error(ExitCode::Usage, "the QAT model computes no tensor '" + o.name + "' (a .bin output)");
    TensorAgreement a = compare(o.name, "(model output)", outputs.at(o.name), ref_trace.at(ref_name), step, tolerance_lsb);
    if (!a.within && report.first_diverging_node.empty()) report.first_diverging_node = "(model output '" + o.name + "')";
    report.outputs.push_back(a);
  }
  return report;
}

std::string format_verify_report(const VerifyReport& r) {
  std::ostringstream os;
  auto table = [&](const char* title, const std::vector<TensorAgreement>& rows) {
    os << title << "\n";
    char line[512];
    std::snprintf(line, sizeof(line), "  %-40s %-10s %-12s %-10s %-11s %s\n", "Tensor", "Cosine", "Max |diff|", "Max LSB", "Identical", "Within");
    os << line;
    for (const auto& a : rows) {
      std::snprintf(line, sizeof(line), "  %-40s %-10.6f %-12.4g %-10s %-11s %s\n", a.tensor.c_str(), a.cosine, a.max_diff,
                    a.lsb > 0 ? std::to_string(a.max_lsb).substr(0, 6).c_str() : "-",
                    a.lsb > 0 ? (std::to_string(100 * a.identical).substr(0, 6) + "%").c_str() : "-", a.within ? "yes" : "NO");
      os << line;
    }
  };
  table(r.isolated ? "Model outputs (.bin vs the QAT graph, each node fed the .bin's inputs):"
                   : "Model outputs (.bin vs the QAT graph run literally):", r.outputs);
  table("Segment boundaries:", r.boundaries);
  std::vector<TensorAgreement> beyond;
  for (const auto& a : r.nodes) if (!a.within) beyond.push_back(a);
  if (!beyond.empty()) {
    const size_t total = beyond.size();
    if (beyond.size() > 10) beyond.resize(10);
    table(("Node outputs beyond the tolerance (" + std::to_string(total) + ", model order" +
           (total > 10 ? ", first 10" : "") + "):").c_str(), beyond);
  }
  if (r.passed()) {
    os << "verify: PASSED, every compared tensor within " << r.tolerance_lsb << " LSB (" << r.nodes.size() << " node outputs compared)\n";
  } else {
    os << "verify: FAILED, first diverging node: " << r.first_diverging_node << " (tolerance " << r.tolerance_lsb << " LSB)\n";
  }
  return os.str();
}

}  // namespace bpu
