// makertbin's closing accuracy run on one sample (hb_mapper's tables): per node, the cosine similarity of the
// .bin's value against the float model (fake quantization removed), with the quantization threshold and the
// data types; per output, Cosine / L1 / L2 / Chebyshev against the float model; and, beyond hb_mapper, per
// output the agreement with the QAT model itself (identical elements, max |diff| in output LSBs); and for every
// quantized tensor how many codes the .bin differs from the exact float64 run of the QAT graph ("vs exact",
// docs/numerics.md §10).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calib/cal_data.h"
#include "common/npy.h"
#include "ir/graph.h"
#include "onnx_import/onnx_import.h"
#include "partition/partition.h"
#include "report/placement_report.h"
#include "report/verify.h"

namespace bpu {

struct NodeAccuracy {
  std::string node, op_type, device, subgraph, tensor, in_dtype, out_dtype;
  double cosine = 0;     // .bin value vs float model value
  double threshold = 0;  // the quantization range: 127 (or 32767) x scale; 0 for float tensors
  // .bin vs the exact float64 run, quantized tensors the .bin computed: elements whose code differs (-1: not
  // compared) and the largest difference in codes.
  int64_t exact_codes = -1;
  double exact_max_lsb = 0;
};

struct OutputAccuracy {
  std::string output;
  Distances vs_float;
  double cosine_vs_qat = 0, identical_vs_qat = 0, max_lsb_vs_qat = 0, max_diff_vs_qat = 0;
  double lsb = 0;
  // Quantized outputs against the exact float64 run (-1: not compared): codes of the .bin and of the float32
  // QAT reference that differ, and their largest differences.
  int64_t exact_codes = -1, qat_exact_codes = -1;
  double exact_max_lsb = 0, qat_exact_max_lsb = 0;
};

struct AccuracyReport {
  std::string sample;  // where the input came from
  std::vector<NodeAccuracy> nodes;
  std::vector<OutputAccuracy> outputs;
  std::string exact_note;  // why no tensor was compared with the exact run ("" when it ran)
};

// Runs the .bin (with trace), the float model and the QAT model on `inputs`; the two ONNX models run at the
// compiled input shapes (`shapes`, as given to the importer).
AccuracyReport accuracy_run(const ir::Graph& graph, const PartitionResult& partition, const std::vector<PlacementRow>& placement,
                            const ModelRunner& runner, const std::string& onnx_path,
                            const std::map<std::string, FloatArray>& inputs, const std::string& sample,
                            const ImportOptions& shapes = {});

std::string format_node_accuracy_table(const AccuracyReport& r);
std::string format_output_accuracy_tables(const AccuracyReport& r);
nlohmann::json accuracy_json(const AccuracyReport& r);

// The sample: the first file (sorted by name; .npy, raw or an image, calib/cal_data.h, `formats` per input) of each
// folder in `folders` (one per input, in input order), or N(0, 1) data from a fixed seed. Throws Error(Config)
// for a missing folder or a size or shape mismatch, naming the file.
std::map<std::string, FloatArray> accuracy_sample(const std::vector<TensorInfo>& inputs,
                                                  const std::vector<std::string>& folders,
                                                  const std::vector<calib::SampleFormat>& formats, std::string* description);

}  // namespace bpu
