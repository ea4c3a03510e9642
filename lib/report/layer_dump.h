// `bpu-mapper infer` (hb_mapper infer and hrt_bin_dump's role): every tensor a run computes, for the .bin on the
// simulator and for the QAT ONNX on the CPU executor, under names that pair them up, plus a table that puts the
// pairs side by side. The pairing: a .bin tensor carries the ONNX name of the value it holds; the QAT side is
// dumped under each node output's own name in its fake-quantized form (the DequantizeLinear output that follows
// it, when there is one), which is the value the .bin computes under that name.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/model_runner.h"
#include "runtime/qat_reference.h"

namespace bpu {

struct DumpedTensor {
  std::string tensor;  // ONNX tensor name
  std::string node;    // the QAT node producing it ("" when the QAT side was not run, or for a model input)
  FloatArray value;    // float32 (integer values dequantized)
};

struct LayerPair {
  std::string tensor, node;
  const DumpedTensor* bin = nullptr;   // null when the .bin did not compute it (fused away, or not run)
  const DumpedTensor* onnx = nullptr;  // null when the QAT graph has no such tensor (or was not run)
  double cosine = 0, max_diff = 0;     // when both are present and have the same element count
};

// Every tensor of a .bin run, in name order (a packed BPU segment's interior values included).
std::vector<DumpedTensor> dump_bin_tensors(const ModelRunner& runner, const std::map<std::string, FloatArray>& inputs);

// The QAT graph's model inputs and every node output except QuantizeLinear/DequantizeLinear (and Constant) ones,
// in model order, each in its fake-quantized form under its own name; then each model output not listed yet (a
// DequantizeLinear's output, the name the .bin gives that tensor).
std::vector<DumpedTensor> dump_qat_tensors(const QatReference& reference, const std::map<std::string, FloatArray>& inputs);

// The union of both dumps by tensor name: QAT model order first, then tensors only the .bin has.
std::vector<LayerPair> pair_dumps(const std::vector<DumpedTensor>& bin, const std::vector<DumpedTensor>& onnx);

// One .npy file name per pair (npy_file_name of the tensor; a clash, as between "a/b" and "a_b", gets "~2", ...).
// A pair's .bin and QAT values are written under the same name into bin/ and onnx/.
std::vector<std::string> dump_file_names(const std::vector<LayerPair>& pairs);

// layer_index.csv: tensor, node, shape, bin_file, onnx_file, cosine, max_abs_diff (`files` from
// dump_file_names; paths relative to the output folder; empty fields where a side is missing).
std::string format_layer_index(const std::vector<LayerPair>& pairs, const std::vector<std::string>& files);

}  // namespace bpu
