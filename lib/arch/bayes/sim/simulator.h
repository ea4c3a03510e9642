// The bayes BPU simulator: executes one validated segment's decoded instructions on its arena, reading
// weights and requant records from the segment's constant pool. It knows nothing about ONNX.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "arch/bayes/isa.h"
#include "lower/compiled_model.h"
#include "runtime/host_tensor.h"
#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"
#include "arch/bayes/sim/kernels/movement.h"
#include "arch/bayes/sim/lanes.h"
#include "common/thread_pool.h"

namespace bpu {

enum class ConvKernel { Fast, Reference };

// What the simulator keeps between inferences of one model: the worker pool, CONV2D weights repacked for the
// int8 dot kernel (on first use, keyed by constant pool and offset), scratch buffers (one set per lane) and,
// with two or more threads, each program's lane plan (lanes.h). One run at a time.
struct SimulatorWorkspace {
  explicit SimulatorWorkspace(int threads) : pool(threads) {}
  ThreadPool pool;
  std::map<std::pair<const void*, uint32_t>, kernels::PackedConvWeights> packed_weights;
  std::map<std::pair<const void*, uint32_t>, std::vector<int32_t>> depthwise_taps;  // channel-last depthwise weights
  // A CONV2D's decoded requantization records and, for planes under 8 positions, their per-element spread.
  struct ConvRequant {
    std::vector<RequantParams> params;
    std::vector<int64_t> spread;
  };
  // By (constant pool, requant_offset, output elements): the spread depends on the plane.
  std::map<std::tuple<const void*, uint32_t, int64_t>, ConvRequant> conv_requant;
  // The lane kernel's fused requantization (kernels::lane_requant_spread; empty: the fused form does not apply),
  // by (constant pool, requant_offset, weight_offset): its layout follows the packed weights.
  std::map<std::tuple<const void*, uint32_t, uint32_t>, std::vector<int64_t>> lane_requant;
  struct Scratch {
    std::vector<int32_t> accumulators;
    std::vector<uint8_t> panels;
  };
  Scratch scratch[2];  // [0]: the calling thread and lane 0; [1]: lane 1
  std::vector<uint8_t> arena;
  std::map<std::tuple<int64_t, int32_t, int64_t, int64_t>, kernels::Int8Rescale> rescale_tables;  // (mult, shift, lo, hi)
  std::mutex cache_mutex;  // the caches above: lanes may look entries up at the same time
  // How a program runs on two or more threads, settled within its first run() call (back to back on that call's
  // inputs, so no later call, and no caller's timed run, includes the settling). kMeasuringRuns in program order
  // time every instruction, alternately on the calling thread alone and split across the pool wherever its kernel
  // can split (down to kMinSplitWork); the first kWarmUpRuns only warm caches, packed weights and the workers. An
  // instruction is split from then on only where its least split time beats its least unsplit one by kSplitGain.
  // The lane plan is built from the chosen times; then kTrialRuns alternate the plan (lanes, the chosen splits)
  // with the program on the calling thread alone, and the faster is kept. On this VM's two vCPUs a small
  // network's tensors cost more to pass between the cores than splitting saves.
  struct ProgramPlan {
    enum class Mode { Measure, TryPlan, TryAlone, Plan, Alone };
    int runs = 0;
    std::vector<MeasuredInstruction> measured;  // used_pool: the instruction splits in the plan's in-order steps
    std::vector<double> split_seconds;  // least split time per instruction over the measuring runs (1e30: none)
    LanePlan lanes;  // no steps until measured
    double plan_seconds = 1e30, alone_seconds = 1e30;  // least over the trial runs
    Mode mode() const {
      if (runs < kMeasuringRuns) return Mode::Measure;
      if (runs < kMeasuringRuns + kTrialRuns) return (runs - kMeasuringRuns) % 2 == 0 ? Mode::TryPlan : Mode::TryAlone;
      return alone_seconds < kAloneMargin * plan_seconds ? Mode::Alone : Mode::Plan;
    }
    bool settled() const { return runs >= kMeasuringRuns + kTrialRuns; }  // mode() is Plan or Alone from now on
  };
  static constexpr int kMeasuringRuns = 12;  // even runs unsplit, odd runs split; the first kWarmUpRuns only warm up
  static constexpr int kWarmUpRuns = 2;
  static constexpr int kTrialRuns = 10;
  // A split is kept only when it saves 10 % of the instruction's unsplit time (the next instructions then read
  // data half written by the other core, which its own time does not show).
  static constexpr double kSplitGain = 0.9;
  // The calling thread alone is kept only when its best trial beats the plan's by 10 %: the host's speed swings
  // by more than the small differences, and a wrong Alone loses the splits on the networks that gain from them.
  static constexpr double kAloneMargin = 0.9;
  std::map<std::pair<const void*, const void*>, ProgramPlan> plans;  // by (segment, program)
  // false: each run() call takes one settling run and returns its outputs (tests check every mode's bits).
  bool settle_in_first_call = true;
  bool pool_used = false;  // set by the instruction running on the calling thread when it split its work
};

class BpuSimulator {
 public:
  // Without a workspace the simulator makes a one-thread one for its own use.
  BpuSimulator(const BpuSegment& segment, const std::vector<bayes::Instruction>& program,
               ConvKernel kernel = ConvKernel::Fast, SimulatorWorkspace* workspace = nullptr)
      : segment_(segment), program_(program), kernel_(kernel), workspace_(workspace), buffers_(&segment.buffers) {
    if (!workspace_) {
      own_workspace_ = std::make_unique<SimulatorWorkspace>(1);
      workspace_ = own_workspace_.get();
    }
  }

  // Copies the bound input values into the arena, runs every instruction, returns the bound outputs.
  // With `trace`, every buffer's value is handed to it as it stands right after the instruction that writes it
  // (inputs before the first; info.name = the ONNX tensor name), one buffer at a time, so a reused buffer is
  // seen before it is overwritten and no copy of the whole segment is held.
  // With `seconds`, each instruction's host time is appended, in program order (`run --profile-path`).
  using TraceSink = std::function<void(HostTensor&&)>;
  std::map<std::string, HostTensor> run(const std::map<std::string, HostTensor>& values,
                                        const TraceSink* trace = nullptr, std::vector<double>* seconds = nullptr) const;

 private:
  // Points buffers() at the layout `mode` runs on, zeroes the arena and copies the bound input values in.
  void load_inputs(const std::map<std::string, HostTensor>& values, std::vector<uint8_t>& arena,
                   const SimulatorWorkspace::ProgramPlan* plan, SimulatorWorkspace::ProgramPlan::Mode mode) const;
  // One instruction, by its opcode's execute overload.
  void execute_at(size_t index, std::vector<uint8_t>& arena) const;
  // The whole program in `mode` (plan's, or Alone without a plan): measuring, the lane plan step by step, or in
  // order on the calling thread; trial runs record their time in `plan`.
  void run_program(std::vector<uint8_t>& arena, SimulatorWorkspace::ProgramPlan* plan,
                   SimulatorWorkspace::ProgramPlan::Mode mode) const;
  void measure_program(std::vector<uint8_t>& arena, SimulatorWorkspace::ProgramPlan& plan) const;
  void run_lanes(const LaneStep& step, std::vector<uint8_t>& arena) const;
  SimulatorWorkspace::Scratch& scratch() const;
  // The buffer table in use: the segment's, or a lane plan's host layout for this run.
  const std::vector<BpuBuffer>& buffers() const { return *buffers_; }
  void execute(const bayes::Conv2d& c, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Add& a, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Reshape& r, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Rescale& r, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Pool& p, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Concat& c, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Resize& r, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Lut& l, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Mul& m, std::vector<uint8_t>& arena) const;
  void mul_rows(const bayes::Mul& m, const BpuBuffer& x, const BpuBuffer& y, const BpuBuffer& o, const RequantParams& p,
                std::vector<uint8_t>& arena) const;
  void execute(const bayes::Transpose& t, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Slice& s, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Pad& p, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Deconv2d& d, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Softmax& s, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Preprocess& p, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Const& c, std::vector<uint8_t>& arena) const;
  void execute(const bayes::Matmul& m, std::vector<uint8_t>& arena) const;
  // The workspace's pool when an instruction's work (multiply-adds, or element operations weighted as such)
  // pays for waking the workers, else null (the calling thread alone; the bytes are the same either way).
  ThreadPool* pool_for(double work) const;
  // ~2-4 us of one core's dot products: a CONV2D's blocks take one pool call (conv_int8_dot_requant), so the
  // split pays from here (2^20 before the blocks, when a CONV2D made three calls and moved its planes between cores)
  static constexpr double kParallelWork = 1 << 17;
  // The least work a measuring run tries splitting (the plan then keeps only the splits measured faster).
  static constexpr double kMinSplitWork = 1 << 12;
  static constexpr double kAddWork = 8;             // an ADD element costs about 8 multiply-adds
  static constexpr double kDepthwiseWork = 8;       // a depthwise multiply-add costs about 8 of the dot kernel's
  static constexpr double kPoolWork = 16;           // a max-pool window element about 16 (64x32x32 3x3 s2: ~40 us)
  static constexpr int64_t kShortMulRow = 64;       // MUL rows shorter than this run as flat blocks (mul_rows)
  // The int8 rescale table of (mult, shift) clamped to [lo, hi] (CONCAT: the int8 range), built once per workspace.
  const kernels::Int8Rescale& rescale_table(int64_t mult, int32_t shift, int64_t lo = -128, int64_t hi = 127) const;

  const BpuSegment& segment_;
  const std::vector<bayes::Instruction>& program_;
  ConvKernel kernel_;
  SimulatorWorkspace* workspace_;
  std::unique_ptr<SimulatorWorkspace> own_workspace_;
  mutable const std::vector<BpuBuffer>* buffers_;
};

}  // namespace bpu
