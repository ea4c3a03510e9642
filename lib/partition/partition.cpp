// Placement decisions and segment formation.

#include "partition/partition.h"

#include "arch/bayes/constraints.h"

namespace bpu {

const char* device_name(Device d) { return d == Device::Bpu ? "BPU" : "CPU"; }

int PartitionResult::count(Device d) const {
  int n = 0;
  for (const auto& p : placements) n += p.device == d;
  return n;
}

int PartitionResult::segment_count(Device d) const {
  int n = 0;
  for (const auto& s : segments) n += s.device == d;
  return n;
}

namespace {

bool quantized(const ir::Graph& g, const std::string& name) { return !name.empty() && g.tensor(name).quant.has_value(); }

// Quantization context (tier 2): every activation input quantized, weights quantized constants, output
// quantized or a legal int32 high-precision Conv output. Fills `p` and returns false when it fails.
bool quant_context(const ir::Graph& g, const ir::Node& n, Placement* p) {
  size_t activation_inputs = n.op_type == "Conv" ? 1 : n.inputs.size();
  for (size_t i = 0; i < activation_inputs; ++i) {
    if (!quantized(g, n.inputs[i])) {
      p->reason_code = "NO_QUANT_INPUT";
      p->reason = "input '" + n.inputs[i] + "' carries no fake quantization, so the node computes in float";
      return false;
    }
  }
  if (n.op_type == "Conv") {
    const ir::Tensor& w = g.tensor(n.inputs.at(1));
    if (!w.is_constant || !w.quant) {
      p->reason_code = "NO_QUANT_WEIGHT";
      p->reason = "weight '" + n.inputs[1] + "' had no fake quantization in the QAT model (left float on purpose)";
      return false;
    }
    if (n.inputs.size() > 2 && !n.inputs[2].empty() && !g.tensor(n.inputs[2]).is_constant) {
      p->reason_code = "NON_CONSTANT_BIAS";
      p->reason = "bias '" + n.inputs[2] + "' is not a constant";
      return false;
    }
  }
  if (!quantized(g, n.outputs[0])) {
    if (n.op_type == "Conv" && g.is_graph_output(n.outputs[0])) {
      p->high_precision_output = true;
      return true;
    }
    p->reason_code = "NO_QUANT_OUTPUT";
    p->reason = "output '" + n.outputs[0] + "' carries no fake quantization";
    return false;
  }
  return true;
}

}  // namespace

PartitionResult partition_graph(const ir::Graph& g) {
  PartitionResult result;
  result.placements.resize(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    Placement& p = result.placements[i];
    bayes::ConstraintVerdict verdict = bayes::check_bpu_constraints(g, n);
    if (!verdict.supported && !bayes::find_op_support(n.op_type, n.domain)) {
      p.device = Device::Cpu;
      p.reason_code = "MARCH_UNSUPPORTED_OP";
      p.reason = verdict.detail;
      continue;
    }
    if (!quant_context(g, n, &p)) {
      p.device = Device::Cpu;
      continue;
    }
    if (!verdict.supported) {
      p.device = Device::Cpu;
      p.reason_code = "MARCH_CONSTRAINT";
      p.reason = verdict.rule + ": " + verdict.detail;
      continue;
    }
    p.device = Device::Bpu;
    if (p.high_precision_output) {
      p.reason_code = "BPU_HIGH_PRECISION_OUTPUT";
      p.reason = "quantized inputs; output has no fake quantization, so the BPU emits the int32 accumulator";
    } else {
      p.reason_code = "BPU_QUANTIZED";
      p.reason = "quantized inputs and output; meets the bayes constraints";
    }
  }
  // Segments: maximal runs of one device in topological order. A run is convex (no path leaves it and comes
  // back), which is what a segment needs.
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Device d = result.placements[i].device;
    if (result.segments.empty() || result.segments.back().device != d) result.segments.push_back({d, {}});
    result.segments.back().nodes.push_back(static_cast<int>(i));
    result.placements[i].segment = static_cast<int>(result.segments.size()) - 1;
  }
  return result;
}

}  // namespace bpu
