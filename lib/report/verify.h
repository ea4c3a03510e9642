// `bpu-mapper verify` (hb_verifier's role): runs a .bin and the QAT ONNX graph literally on the same inputs,
// compares every tensor both computed (model outputs, BPU/CPU segment boundaries, every node), and names the
// first node, in model order, whose output departs beyond the tolerance.
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
};

struct VerifyReport {
  std::vector<TensorAgreement> outputs;
  std::vector<TensorAgreement> boundaries;  // tensors handed between segments
  std::vector<TensorAgreement> nodes;       // every compared node output, model order
  std::string first_diverging_node;         // empty when everything is within tolerance
  double tolerance_lsb = 1;
  bool isolated = false;                    // each reference node was fed the .bin's own input values
  bool passed() const { return first_diverging_node.empty(); }
};

// `isolated`: every tensor the .bin computed replaces the reference's value of it before later reference nodes
// read it, so each node is judged on its own arithmetic and rounding noise does not accumulate along the
// network (full-size models drift by a few LSB end to end; docs/numerics.md §6).
VerifyReport verify_model(const ModelRunner& runner, const QatReference& reference,
                          const std::map<std::string, FloatArray>& inputs, double tolerance_lsb, bool isolated = false);

std::string format_verify_report(const VerifyReport& report);

// Cosine, L1 (mean |diff|), L2 (root of the summed squares) and Chebyshev (max |diff|) distances, as in
// hb_mapper's output table.
struct Distances {
  double cosine = 0, l1 = 0, l2 = 0, chebyshev = 0;
};
Distances distances(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace bpu
