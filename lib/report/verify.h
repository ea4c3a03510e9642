// `bpu-mapper verify` (hb_verifier's role): runs a .bin and the QAT ONNX graph literally on the same inputs,
// compares every tensor both computed (model outputs, BPU/CPU segment boundaries, every node), and names the
// first node, in model order, whose output departs beyond the tolerance. With an exact reference (`verify --exact`:
// the same QAT graph in float64, docs/numerics.md §10) the .bin is judged against it instead, and each quantized
// tensor also says how many codes the float32 reference (torch's arithmetic) differs from it.
#pragma once

#include <string>
#include <vector>

#include "runtime/model_runner.h"
#include "runtime/qat_reference.h"

namespace bpu {

struct TensorAgreement {
  std::string tensor;
  std::string node;           // the QAT graph node producing it
  size_t elements = 0;
  double cosine = 0;
  double max_diff = 0;
  double lsb = 0;             // quantization step of the tensor, 0 for float tensors
  double max_lsb = 0;         // largest difference in whole codes (|diff| / lsb rounded; quantized tensors)
  double identical = 0;       // share of elements with the same code (quantized tensors)
  bool within = true;         // max_lsb <= tolerance, or max_diff <= 1e-3 * max|reference| for float tensors
  // With an exact reference (the fields above then compare the .bin with it), quantized tensors only: codes
  // (elements) whose code differs from the exact run's, for the .bin and for the float32 QAT reference.
  bool exact = false;
  size_t bin_codes_vs_exact = 0, qat_codes_vs_exact = 0;
  double bin_max_lsb_vs_exact = 0, qat_max_lsb_vs_exact = 0;
};

struct VerifyReport {
  std::vector<TensorAgreement> outputs;
  std::vector<TensorAgreement> boundaries;  // tensors handed between segments
  std::vector<TensorAgreement> nodes;       // every compared node output, model order
  std::string first_diverging_node;         // empty when everything is within tolerance
  double tolerance_lsb = 1;
  bool isolated = false;                    // each reference node was fed the .bin's own input values
  bool exact = false;                       // judged against the float64 exact reference
  bool passed() const { return first_diverging_node.empty(); }
};

// `isolated`: every tensor the .bin computed replaces the reference's value of it before later reference nodes
// read it, so each node is judged on its own arithmetic and rounding noise does not accumulate along the
// network (full-size models drift by a few LSB end to end; docs/numerics.md §6).
// `exact`: a QatReference built with cpu::Precision::Float64 from the same file; the .bin is then judged against
// it (tolerance in LSBs of the exact codes) and `reference` is reported beside it. Not with `isolated`
// (Error(Usage)): the .bin's values are float32 and would not feed the exact graph exactly.
VerifyReport verify_model(const ModelRunner& runner, const QatReference& reference,
                          const std::map<std::string, FloatArray>& inputs, double tolerance_lsb, bool isolated = false,
                          const QatReference* exact = nullptr);

std::string format_verify_report(const VerifyReport& report);

// Cosine, L1 (mean |diff|), L2 (root of the summed squares) and Chebyshev (max |diff|) distances, as in
// hb_mapper's output table.
struct Distances {
  double cosine = 0, l1 = 0, l2 = 0, chebyshev = 0;
};
Distances distances(const std::vector<float>& a, const std::vector<float>& b);

// Elements of two fake-quantized tensors (codes times `lsb`, each rounded to float32) whose codes differ, and
// the largest difference in codes.
struct CodeDifference {
  size_t differ = 0;
  double max_lsb = 0;
};
CodeDifference code_difference(const std::vector<float>& a, const std::vector<float>& b, double lsb);

}  // namespace bpu
