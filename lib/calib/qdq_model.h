// Writes the calibrated model: the float ONNX with a fake-quant pair for every chosen activation and weight
// (hb_mapper's <prefix>_calibrated_model.onnx), so the existing import, quant extraction, placement and lowering
// compile it like a QAT export. Activations: QuantizeLinear/DequantizeLinear with an int8 zero point (per tensor;
// int16 activations as horizon HzQuantize/HzDequantize bits=16). Weights: per output channel, QuantizeLinear with
// `axis` from opset 13, Horizon's pair (bits=8, axis) below it.
#pragma once

#include <string>
#include <vector>

namespace bpu::calib {

struct ActivationScale {
  std::string tensor;
  float scale = 1;
  int bits = 8;
};

struct WeightScale {
  std::string initializer;
  std::vector<float> scales;  // one per channel along axis
  int axis = 0;
};

// `float_onnx`: the serialized float model; returns the serialized calibrated model. A consumer of a quantized
// tensor reads the fake-quantized value; a quantized graph output keeps its name (the float value is renamed).
// Throws Error(Model) naming `context` for bytes that are not ONNX.
std::string insert_fake_quant(const std::string& float_onnx, const std::string& context,
                              const std::vector<ActivationScale>& activations, const std::vector<WeightScale>& weights);

}  // namespace bpu::calib
