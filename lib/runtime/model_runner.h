// Runtime front door: loads a .bin, validates it completely, and runs the schedule — host quantize and
// dequantize steps and BPU segments on the simulator — on float32 inputs.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/npy.h"
#include "lower/compiled_model.h"
#include "arch/bayes/sim/simulator.h"
#include "arch/bayes/sim/validate.h"

namespace bpu {

class ModelRunner {
 public:
  // Throws Error(Artifact) when the model is invalid, or for another march than a non-empty `march`.
  ModelRunner(CompiledModel model, const std::string& path, const std::string& march = "");
  // `model_name` selects one model of a packed file (artifact/pack_format.h); "" for a plain .bin.
  static ModelRunner from_file(const std::string& path, const std::string& march = "", const std::string& model_name = "");

  // Runs one inference. Throws Error(Usage) for missing, unknown or wrongly shaped inputs. With `trace`, every
  // tensor the run computed is added as float32 (integer values dequantized), keyed by its ONNX tensor name.
  std::map<std::string, FloatArray> run(const std::map<std::string, FloatArray>& inputs,
                                        ConvKernel kernel = ConvKernel::Fast,
                                        std::map<std::string, FloatArray>* trace = nullptr) const;

  // Worker threads for the simulator's convolutions (results are identical for every count). Default 1.
  void set_threads(int threads) { workspace_ = std::make_unique<SimulatorWorkspace>(threads < 1 ? 1 : threads); }

  const CompiledModel& model() const { return model_; }
  // The QAT model's inputs for the .bin inputs `inputs`: an image input (or a featuremap whose layout changes)
  // goes through its documented float preprocessing (common/image_format.h); other inputs pass unchanged.
  std::map<std::string, FloatArray> reference_inputs(const std::map<std::string, FloatArray>& inputs) const;
  // run()'s outputs as float32: an integer output's codes times its scales (others unchanged).
  std::map<std::string, FloatArray> float_outputs(std::map<std::string, FloatArray> outputs) const;
  const ValidatedModel& validated() const { return validated_; }

 private:
  CompiledModel model_;
  ValidatedModel validated_;
  // Pool, repacked weights and scratch shared by the simulator runs; run() is const but fills these caches,
  // so one ModelRunner runs one inference at a time.
  std::unique_ptr<SimulatorWorkspace> workspace_ = std::make_unique<SimulatorWorkspace>(1);
};

}  // namespace bpu
