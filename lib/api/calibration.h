// Post-training calibration, hb_mapper's calibration_type default / max / kl / mix / skip: the float ONNX model
// is run on the calibration samples by the CPU float executor (every sample on its own worker), every chosen
// tensor's statistics are gathered in two streamed passes (absmax, then a fixed-size histogram of |x|), each
// method turns them into scales (lib/calib/stats.h), and the scales become a fake-quant ONNX model
// (lib/calib/qdq_model.h) that the ordinary QAT pipeline compiles. `default` scores the candidate methods by the
// fake-quant model's output cosine against the float model on the samples and keeps the best; `mix` then tries,
// tensor by tensor, the other candidates' scale and keeps what raises the score. Deterministic: the same data
// gives the same scales and model bytes for every worker count.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calib/cal_data.h"
#include "config/config.h"
#include "onnx_import/onnx_import.h"

namespace bpu {

struct CalibratedTensor {
  std::string tensor;
  std::string method;                    // the method whose scale it took
  float scale = 0;
  int bits = 8;
  double absmax = 0;
  std::map<std::string, float> candidates;  // method -> scale
};

struct CalibrationReport {
  std::string requested;                 // calibration_type
  std::string chosen;                    // the method used (default/mix: the winner)
  std::vector<std::pair<std::string, double>> scores;  // candidate method -> output cosine on the samples
  size_t samples = 0;
  std::string data;                      // where the samples came from
  std::vector<CalibratedTensor> tensors;
  std::vector<std::pair<std::string, size_t>> weights;  // initializer -> channels
  std::map<std::string, double> node_cosine;            // tensor -> cosine fake-quant vs float on sample 0
  std::vector<std::string> warnings;
  double seconds = 0;
};

struct CalibrationResult {
  std::string onnx;  // the calibrated model, serialized (<prefix>_calibrated_model.onnx)
  CalibrationReport report;
};

// How input `index`'s samples are stored: cal_data_type, preprocess_on, input_layout_train, input_type_train bgr.
calib::SampleFormat sample_format(const MapperConfig& config, size_t index);

// Whether `config` asks for calibration of a float model (calibration_type other than load).
bool wants_calibration(const MapperConfig& config);

// Calibrates config.onnx_model. Throws Error(Config) for a model that already carries fake quantization (use
// load), missing or unreadable samples (naming the file), Error(Unsupported) for an op the float executor lacks.
CalibrationResult calibrate_model(const MapperConfig& config, const ImportOptions& shapes);

}  // namespace bpu
