// The bayes BPU simulator: executes one validated segment's decoded instructions on its arena, reading
// weights and requant records from the segment's constant pool. It knows nothing about ONNX.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "arch/bayes/isa.h"
#include "lower/compiled_model.h"
#include "runtime/host_tensor.h"

namespace bpu {

enum class ConvKernel { Fast, Reference };

class BpuSimulator {
 public:
  BpuSimulator(const BpuSegment& segment, const std::vector<bayes::Instruction>& program,
               ConvKernel kernel = ConvKernel::Fast, int threads = 1)
      : segment_(segment), program_(program), kernel_(kernel), threads_(threads) {}

  // Copies the bound input values into the arena, runs every instruction, returns the bound outputs.
  // With `trace`, every buffer's final contents are added (keyed by buffer name = ONNX tensor name).
  std::map<std::string, HostTensor> run(const std::map<std::string, HostTensor>& values,
                                        std::map<std::string, HostTensor>* trace = nullptr) const;

 private:
  void execute(const bayes::Conv2d& c, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Add& a, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Reshape& r, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Rescale& r, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Pool& p, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Concat& c, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Resize& r, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Lut& l, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Mul& m, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Transpose& t, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Slice& s, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Pad& p, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Deconv2d& d, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Softmax& s, std::vector<uint8_t>& arena) const;

  const BpuSegment& segment_;
  const std::vector<bayes::Instruction>& program_;
  ConvKernel kernel_;
  int threads_;
};

}  // namespace bpu
