// Runtime front door: loads a .bin, validates it completely, and runs the schedule — host quantize and
// dequantize steps and BPU segments on the simulator — on float32 inputs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/npy.h"
#include "lower/compiled_model.h"
#include "arch/bayes/sim/simulator.h"
#include "arch/bayes/sim/validate.h"

namespace bpu {

// One timed piece of a run (`run --profile-path`, hrt_model_exec's profile): a BPU instruction, a CPU node or a
// host quantize/dequantize step, in execution order.
struct ProfileEntry {
  std::string device;    // "BPU", "CPU" or "host"
  uint32_t segment = 0;  // BPU / CPU segment number (0 for host steps)
  std::string op;        // instruction mnemonic, ONNX op type, QUANTIZE or DEQUANTIZE
  std::string node;      // the ONNX node it came from (host steps: the value written)
  double seconds = 0;
};

// An integer value's codes times its scales (per tensor, or per channel along info.axis), as float32; a float value
// as it is.
std::vector<float> dequantized(const HostTensor& t);

class ModelRunner {
 public:
  // Throws Error(Artifact) when the model is invalid, or for another march than a non-empty `march`.
  ModelRunner(CompiledModel model, const std::string& path, const std::string& march = "");
  // `model_name` selects one model of a packed file (artifact/pack_format.h); "" for a plain .bin.
  static ModelRunner from_file(const std::string& path, const std::string& march = "", const std::string& model_name = "");

  // Runs one inference. Throws Error(Usage) for missing, unknown or wrongly shaped inputs. With `trace`, every
  // tensor the run computed is added as float32 (integer values dequantized), keyed by its ONNX tensor name.
  // With `profile`, every instruction, CPU node and host step is timed and appended.
  std::map<std::string, FloatArray> run(const std::map<std::string, FloatArray>& inputs,
                                        ConvKernel kernel = ConvKernel::Fast,
                                        std::map<std::string, FloatArray>* trace = nullptr,
                                        std::vector<ProfileEntry>* profile = nullptr) const;
  // The same run handing each traced value to `sink` as it is computed instead of keeping them: a BPU value as
  // its integer codes (dequantized() gives the float the map form holds), a CPU value as float32 (info: its name,
  // shape, Float32). The accuracy run keeps codes at their own width this way.
  using TraceSink = std::function<void(HostTensor&&)>;
  std::map<std::string, FloatArray> run(const std::map<std::string, FloatArray>& inputs, ConvKernel kernel,
                                        const TraceSink& sink) const;

  // Worker threads for the simulator's convolutions (results are identical for every count). Default 1.
  void set_threads(int threads) { workspace_ = std::make_unique<SimulatorWorkspace>(threads < 1 ? 1 : threads); }
  SimulatorWorkspace& workspace() { return *workspace_; }

  const CompiledModel& model() const { return model_; }
  // The QAT model's inputs for the .bin inputs `inputs`: an image input (or a featuremap whose layout changes)
  // goes through its documented float preprocessing (common/image_format.h); other inputs pass unchanged.
  std::map<std::string, FloatArray> reference_inputs(const std::map<std::string, FloatArray>& inputs) const;
  // run()'s outputs as float32: an integer output's codes times its scales (others unchanged).
  std::map<std::string, FloatArray> float_outputs(std::map<std::string, FloatArray> outputs) const;
  const ValidatedModel& validated() const { return validated_; }
  // Frees the simulator's caches (repacked weights, arena, scratch); the next run() rebuilds them. makertbin's
  // accuracy run calls it before loading the reference models.
  void release_scratch() const;

 private:
  std::map<std::string, HostTensor> bind_inputs(const std::map<std::string, FloatArray>& inputs) const;
  std::map<std::string, FloatArray> run_steps(const std::map<std::string, FloatArray>& inputs, ConvKernel kernel,
                                              const TraceSink* trace, std::vector<ProfileEntry>* profile) const;
  void run_cpu_step(const Step& step, std::map<std::string, HostTensor>& values, const TraceSink* trace,
                    std::vector<ProfileEntry>* profile) const;
  void run_bpu_step(const Step& step, ConvKernel kernel, std::map<std::string, HostTensor>& values,
                    const TraceSink* trace, std::vector<ProfileEntry>* profile) const;
  HostTensor host_step(const Step& step, const std::map<std::string, HostTensor>& values) const;
  const TensorInfo& value_info(const std::string& name) const;

  CompiledModel model_;
  ValidatedModel validated_;
  std::map<std::string, size_t> value_index_;  // model_.values by name (value_info)
  // Pool, repacked weights and scratch shared by the simulator runs; run() is const but fills these caches,
  // so one ModelRunner runs one inference at a time.
  std::unique_ptr<SimulatorWorkspace> workspace_ = std::make_unique<SimulatorWorkspace>(1);
};

}  // namespace bpu
