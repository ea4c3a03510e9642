// Which tensors a calibrated model fake-quantizes, chosen on the float graph as a QAT export would place its
// fake quants: every graph input and every float node output, except the outputs of shape-only ops and
// Identity/Dropout (they carry their input's quantization), of a Conv/Add whose only reader is a fusable
// activation (Relu, Clip: the BPU fuses the clamp) or a BatchNormalization (folded into the Conv), and a Conv
// output that is a graph output (kept as the int32 high-precision output unless set_model_output_int8/int16).
// Weights: every float constant weight of Conv (axis 0), ConvTranspose (axis 1), Gemm (axis 0 with transB, else
// 1) and MatMul (2-D, axis 1), quantized per output channel with max|w|/127.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calib/qdq_model.h"
#include "ir/graph.h"

namespace bpu::calib {

struct Selection {
  std::vector<std::string> activations;  // in graph order
  std::vector<WeightScale> weights;      // scales filled in
};

// `quantize_outputs`: also the Conv graph outputs (optimization: set_model_output_int8 / int16).
Selection select_tensors(const ir::Graph& float_graph, bool quantize_outputs);

// Whether the graph already carries fake quantization (a QAT export: calibration_type load applies).
bool has_fake_quant(const ir::Graph& g);

}  // namespace bpu::calib
