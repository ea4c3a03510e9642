// Tensor-by-tensor comparison of a .bin run with the QAT graph.

#include "report/verify.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "common/error.h"

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

CodeDifference code_difference(const std::vector<float>& a, const std::vector<float>& b, double lsb) {
  // Both sides are codes times the scale, each rounded to float32, so a difference of k codes shows as k LSB
  // give or take float32 rounding (1.0000x); count whole codes.
  CodeDifference d;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double k = std::nearbyint(std::fabs(double(a[i]) - b[i]) / lsb);
    d.differ += k != 0;
    d.max_lsb = std::max(d.max_lsb, k);
  }
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
    const CodeDifference c = code_difference(got.data, ref.data, lsb);
    a.identical = got.data.empty() ? 1 : double(got.data.size() - c.differ) / got.data.size();
    a.max_lsb = c.max_lsb;
    a.within = a.max_lsb <= tolerance;
  } else {
    double m = 0;
    for (float v : ref.data) m = std::max(m, std::fabs(double(v)));
    a.within = a.max_diff <= 1e-3 * m + 1e-12;
  }
  return a;
}

// A comparison `a` made against the exact run (`exact`) gains the code counts of the .bin and of the float32
// reference (`qat`) against it; float tensors have no codes.
void add_exact_counts(TensorAgreement& a, const FloatArray& bin, const FloatArray& qat, const FloatArray& exact) {
  if (a.lsb <= 0 || bin.data.size() != exact.data.size() || qat.data.size() != exact.data.size()) return;
  const CodeDifference b = code_difference(bin.data, exact.data, a.lsb), q = code_difference(qat.data, exact.data, a.lsb);
  a.exact = true;
  a.bin_codes_vs_exact = b.differ;
  a.bin_max_lsb_vs_exact = b.max_lsb;
  a.qat_codes_vs_exact = q.differ;
  a.qat_max_lsb_vs_exact = q.max_lsb;
}

// Quantization step of each tensor the .bin holds in integer form (per-tensor scales only), and the tensors
// handed between segments.
void buffer_steps(const CompiledModel& m, std::map<std::string, double>* lsb, std::set<std::string>* boundary) {
  for (const auto& seg : m.bpu_segments) {
    for (const auto& b : seg.buffers) {
      if (b.info.scales.size() == 1 && b.info.dtype != DType::Int32) (*lsb)[b.info.name] = b.info.scales[0];
    }
    for (size_t i = 0; i < seg.input_buffers.size(); ++i) boundary->insert(seg.buffers[seg.input_buffers[i]].info.name);
    for (size_t i = 0; i < seg.output_buffers.size(); ++i) boundary->insert(seg.buffers[seg.output_buffers[i]].info.name);
  }
  for (const auto& seg : m.cpu_segments) boundary->insert(seg.output_values.begin(), seg.output_values.end());
}

// The .bin's float output equals the fake-quantized value; its LSB is the scale it was dequantized from.
double output_step(const CompiledModel& m, const TensorInfo& o) {
  double step = 0;
  for (const auto& s : m.steps) {
    if (s.kind != StepKind::Dequantize || s.target != o.name) continue;
    for (const auto& v : m.values) if (v.name == s.source && v.dtype != DType::Int32 && v.scales.size() == 1) step = v.scales[0];
  }
  if (o.dtype != DType::Float32 && o.dtype != DType::Int32 && o.scales.size() == 1) step = o.scales[0];  // integer output
  return step;
}

// Runs `reference` on the .bin's reference inputs, tracing the tensors in `wanted` (those the .bin holds: not the
// weights); its outputs join the trace.
std::map<std::string, FloatArray> traced_run(const QatReference& reference, const std::map<std::string, FloatArray>& inputs,
                                             const std::map<std::string, const std::vector<float>*>* overrides,
                                             const std::set<std::string>& wanted, std::map<std::string, FloatArray>* outputs) {
  std::map<std::string, FloatArray> trace;
  *outputs = reference.run(inputs, &trace, overrides, &wanted);
  for (const auto& [name, v] : *outputs) trace[name] = v;
  return trace;
}

}  // namespace

VerifyReport verify_model(const ModelRunner& runner, const QatReference& reference,
                          const std::map<std::string, FloatArray>& inputs, double tolerance_lsb, bool isolated,
                          const QatReference* exact) {
  if (exact && isolated) {
    throw Error(ExitCode::Usage, "--exact and --isolated do not combine: the .bin's values are float32 and would not "
                                 "feed the float64 reference exactly; run them separately");
  }
  VerifyReport report;
  report.tolerance_lsb = tolerance_lsb;
  report.isolated = isolated;
  report.exact = exact != nullptr;
  std::map<std::string, FloatArray> bin_trace;
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
  const std::map<std::string, FloatArray> ref_inputs = runner.reference_inputs(inputs);
  std::set<std::string> wanted;  // the reference tensors the .bin's values stand for, and its outputs
  for (const auto& [name, value] : bin_trace) wanted.insert(reference_name(name));
  for (const auto& o : runner.model().outputs) wanted.insert({o.name, reference_name(o.name)});
  std::map<std::string, FloatArray> ref_outputs, exact_outputs;
  const std::map<std::string, FloatArray> ref_trace =
      traced_run(reference, ref_inputs, isolated ? &overrides : nullptr, wanted, &ref_outputs);
  const std::map<std::string, FloatArray> exact_trace = exact ? traced_run(*exact, ref_inputs, nullptr, wanted, &exact_outputs)
                                                              : std::map<std::string, FloatArray>();
  const std::map<std::string, FloatArray>& judge = exact ? exact_trace : ref_trace;  // what the .bin is judged against
  std::map<std::string, double> lsb;
  std::set<std::string> boundary;
  const CompiledModel& m = runner.model();
  buffer_steps(m, &lsb, &boundary);
  auto lsb_of = [&](const std::string& t) { auto it = lsb.find(t); return it == lsb.end() ? 0.0 : it->second; };
  for (const auto& n : reference.graph().nodes) {
    for (const auto& raw : n.outputs) {
      if (!bin_trace.count(raw)) continue;
      const std::string ref_name = reference_name(raw);
      if (!ref_trace.count(ref_name) || !judge.count(ref_name)) continue;
      TensorAgreement a = compare(raw, n.name, bin_trace.at(raw), judge.at(ref_name), lsb_of(raw), tolerance_lsb);
      if (exact) add_exact_counts(a, bin_trace.at(raw), ref_trace.at(ref_name), judge.at(ref_name));
      if (!a.within && report.first_diverging_node.empty()) report.first_diverging_node = n.name;
      if (boundary.count(raw)) report.boundaries.push_back(a);
      report.nodes.push_back(a);
    }
  }
  for (const auto& o : m.outputs) {
    // An interior tensor made an output (output_nodes) is a traced tensor of the QAT model, in its fake-quantized form.
    const std::string ref_name = ref_outputs.count(o.name) ? o.name : reference_name(o.name);
    if (!ref_trace.count(ref_name) || !judge.count(ref_name)) {
      throw Error(ExitCode::Usage, "the QAT model computes no tensor '" + o.name + "' (a .bin output)");
    }
    TensorAgreement a = compare(o.name, "(model output)", outputs.at(o.name), judge.at(ref_name), output_step(m, o), tolerance_lsb);
    if (exact) add_exact_counts(a, outputs.at(o.name), ref_trace.at(ref_name), judge.at(ref_name));
    if (!a.within && report.first_diverging_node.empty()) report.first_diverging_node = "(model output '" + o.name + "')";
    report.outputs.push_back(a);
  }
  return report;
}

namespace {

std::string codes_text(size_t differ, size_t of, double max_lsb) {
  return std::to_string(differ) + " of " + std::to_string(of) + " codes differ (max " + std::to_string(static_cast<long long>(max_lsb)) + " LSB)";
}

// `verify --exact`'s summary: per model output, then summed over the compared node outputs.
void format_exact_summary(std::ostringstream& os, const VerifyReport& r) {
  os << "Against the exact float64 QAT graph (codes at each tensor's scale):\n";
  for (const auto& a : r.outputs) {
    if (!a.exact) {
      os << "  " << a.tensor << ": float output, max |diff| " << a.max_diff << " (.bin vs exact)\n";
      continue;
    }
    os << "  " << a.tensor << ": .bin vs exact: " << codes_text(a.bin_codes_vs_exact, a.elements, a.bin_max_lsb_vs_exact)
       << "; float32 QAT vs exact: " << codes_text(a.qat_codes_vs_exact, a.elements, a.qat_max_lsb_vs_exact) << "\n";
  }
  size_t tensors = 0, elements = 0, bin = 0, qat = 0;
  double bin_max = 0, qat_max = 0;
  for (const auto& a : r.nodes) {
    if (!a.exact) continue;
    ++tensors;
    elements += a.elements;
    bin += a.bin_codes_vs_exact;
    qat += a.qat_codes_vs_exact;
    bin_max = std::max(bin_max, a.bin_max_lsb_vs_exact);
    qat_max = std::max(qat_max, a.qat_max_lsb_vs_exact);
  }
  os << "  node outputs (" << tensors << " quantized tensors): .bin vs exact: " << codes_text(bin, elements, bin_max)
     << "; float32 QAT vs exact: " << codes_text(qat, elements, qat_max) << "\n";
}

}  // namespace

std::string format_verify_report(const VerifyReport& r) {
  std::ostringstream os;
  auto table = [&](const char* title, const std::vector<TensorAgreement>& rows) {
    os << title << "\n";
    char line[640];
    std::snprintf(line, sizeof(line), "  %-40s %-10s %-12s %-10s %-11s %-7s%s\n", "Tensor", "Cosine", "Max |diff|", "Max LSB",
                  "Identical", "Within", r.exact ? " float32 QAT vs exact" : "");
    os << line;
    for (const auto& a : rows) {
      const std::string f32 = !r.exact ? "" : a.exact ? " " + codes_text(a.qat_codes_vs_exact, a.elements, a.qat_max_lsb_vs_exact) : " -";
      std::snprintf(line, sizeof(line), "  %-40s %-10.6f %-12.4g %-10s %-11s %-7s%s\n", a.tensor.c_str(), a.cosine, a.max_diff,
                    a.lsb > 0 ? std::to_string(a.max_lsb).substr(0, 6).c_str() : "-",
                    a.lsb > 0 ? (std::to_string(100 * a.identical).substr(0, 6) + "%").c_str() : "-", a.within ? "yes" : "NO",
                    f32.c_str());
      os << line;
    }
  };
  const char* judge = r.exact ? "the exact float64 QAT graph" : "the QAT graph";
  table((std::string("Model outputs (.bin vs ") + judge + (r.isolated ? ", each node fed the .bin's inputs):" : r.exact ? "):" : " run literally):")).c_str(),
        r.outputs);
  table("Segment boundaries:", r.boundaries);
  std::vector<TensorAgreement> beyond;
  for (const auto& a : r.nodes) if (!a.within) beyond.push_back(a);
  if (!beyond.empty()) {
    const size_t total = beyond.size();
    if (beyond.size() > 10) beyond.resize(10);
    table(("Node outputs beyond the tolerance (" + std::to_string(total) + ", model order" +
           (total > 10 ? ", first 10" : "") + "):").c_str(), beyond);
  }
  if (r.exact) format_exact_summary(os, r);
  if (r.passed()) {
    os << "verify: PASSED, every compared tensor within " << r.tolerance_lsb << " LSB" << (r.exact ? " of the exact run" : "")
       << " (" << r.nodes.size() << " node outputs compared)\n";
  } else {
    os << "verify: FAILED, first diverging node: " << r.first_diverging_node << " (tolerance " << r.tolerance_lsb << " LSB"
       << (r.exact ? " of the exact run" : "") << ")\n";
  }
  return os.str();
}

}  // namespace bpu
