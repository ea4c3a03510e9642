// Instruction execution for the bayes simulator.

#include "arch/bayes/sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>

#include "common/broadcast.h"
#include "common/conv_geometry.h"
#include "common/error.h"
#include "numerics/requant.h"
#include "arch/bayes/sim/kernels/add.h"
#include "arch/bayes/sim/kernels/conv2d.h"
#include "arch/bayes/sim/kernels/conv2d_depthwise.h"
#include "arch/bayes/sim/kernels/deconv2d.h"
#include "arch/bayes/sim/kernels/lut.h"
#include "arch/bayes/sim/kernels/mul.h"
#include "arch/bayes/sim/kernels/matmul.h"
#include "arch/bayes/sim/kernels/movement.h"
#include "arch/bayes/sim/kernels/pool.h"
#include "arch/bayes/sim/kernels/resize.h"

namespace bpu {

namespace {

template <typename T>
T* view(std::vector<uint8_t>& arena, const BpuBuffer& b) {
  return reinterpret_cast<T*>(arena.data() + b.offset);
}

// Calls f with a typed pointer to an integer buffer.
template <typename F>
void with_int_buffer(std::vector<uint8_t>& arena, const BpuBuffer& b, F&& f) {
  switch (b.info.dtype) {
    case DType::Int8: f(view<int8_t>(arena, b)); break;
    case DType::Int16: f(view<int16_t>(arena, b)); break;
    case DType::Int32: f(view<int32_t>(arena, b)); break;
    default: throw Error(ExitCode::Internal, "float buffer in a BPU segment");
  }
}

// Widened copies for the element-wise and data-movement ops, which are memory-bound and small.
std::vector<int64_t> read_widened(std::vector<uint8_t>& arena, const BpuBuffer& b) {
  std::vector<int64_t> v(b.size / dtype_size(b.info.dtype));
  if (b.info.dtype == DType::UInt8) {  // image pixels: only PREPROCESS reads them (typed there)
    const uint8_t* p = view<uint8_t>(arena, b);
    for (size_t k = 0; k < v.size(); ++k) v[k] = p[k];
    return v;
  }
  with_int_buffer(arena, b, [&](auto* p) {
    for (size_t k = 0; k < v.size(); ++k) v[k] = p[k];
  });
  return v;
}

void write_narrowed(std::vector<uint8_t>& arena, const BpuBuffer& b, const std::vector<int64_t>& v) {
  with_int_buffer(arena, b, [&](auto* p) {
    for (size_t k = 0; k < v.size(); ++k) p[k] = static_cast<std::remove_pointer_t<decltype(p)>>(v[k]);
  });
}

// Geometry of a CONV2D or DECONV2D instruction from its buffers' NCHW shapes and its fields.
template <typename Instr>
ConvGeometry geometry_of(const BpuBuffer& in, const BpuBuffer& out, const Instr& c) {
  ConvGeometry g;
  g.batch = in.info.shape[0];
  g.in_channels = in.info.shape[1];
  g.in_h = in.info.shape[2];
  g.in_w = in.info.shape[3];
  g.out_channels = out.info.shape[1];
  g.out_h = out.info.shape[2];
  g.out_w = out.info.shape[3];
  g.kernel_h = c.kernel_h;
  g.kernel_w = c.kernel_w;
  g.stride_h = c.stride_h;
  g.stride_w = c.stride_w;
  g.pad_top = c.pad_top;
  g.pad_left = c.pad_left;
  g.dilation_h = c.dilation_h;
  g.dilation_w = c.dilation_w;
  g.groups = c.groups;
  return g;
}

// A workspace cache's entry for `key`, made by make() on first use: weights repacked and records decoded once per
// workspace, keyed by the segment's constant pool and the offset they were read from (constant_key).
template <typename Cache, typename Make>
auto& cached(std::mutex& mutex, Cache& cache, const typename Cache::key_type& key, Make make) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make()).first;
  return it->second;
}

std::pair<const void*, uint32_t> constant_key(const BpuSegment& s, uint32_t offset) {
  return {static_cast<const void*>(s.constants.data()), offset};
}

float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::vector<RequantParams> read_records(const std::vector<uint8_t>& constants, uint32_t offset, uint32_t count) {
  std::vector<RequantParams> params(count);
  for (uint32_t k = 0; k < count; ++k) {
    const uint8_t* rec = constants.data() + offset + k * bayes::kRequantRecordBytes;
    std::memcpy(&params[k].multiplier, rec, 4);
    std::memcpy(&params[k].shift, rec + 4, 4);
    std::memcpy(&params[k].bias, rec + 8, 8);
  }
  return params;
}

}  // namespace

void BpuSimulator::load_inputs(const std::map<std::string, HostTensor>& values, std::vector<uint8_t>& arena,
                               const SimulatorWorkspace::ProgramPlan* plan,
                               SimulatorWorkspace::ProgramPlan::Mode mode) const {
  using Mode = SimulatorWorkspace::ProgramPlan::Mode;
  const bool host_layout = (mode == Mode::Plan || mode == Mode::TryPlan) && !plan->lanes.buffers.empty();
  buffers_ = host_layout ? &plan->lanes.buffers : &segment_.buffers;
  arena.assign(host_layout ? plan->lanes.arena_size : segment_.arena_size, 0);
  for (size_t i = 0; i < segment_.input_buffers.size(); ++i) {
    const BpuBuffer& b = buffers()[segment_.input_buffers[i]];
    const HostTensor& v = values.at(segment_.input_values[i]);
    const int32_t* src = v.q.data();  // locals: the byte stores below may alias the vector's own fields
    const size_t n = v.q.size();
    if (b.info.dtype == DType::UInt8) {
      uint8_t* dst = view<uint8_t>(arena, b);
      for (size_t k = 0; k < n; ++k) dst[k] = static_cast<uint8_t>(src[k]);
      continue;
    }
    with_int_buffer(arena, b, [&](auto* dst) {
      for (size_t k = 0; k < n; ++k) dst[k] = static_cast<std::remove_pointer_t<decltype(dst)>>(src[k]);
    });
  }
}

std::map<std::string, HostTensor> BpuSimulator::run(const std::map<std::string, HostTensor>& values,
                                                    const TraceSink* trace, std::vector<double>* seconds) const {
  std::vector<uint8_t>& arena = workspace_->arena;  // capacity kept between runs; zeroed every run
  SimulatorWorkspace::ProgramPlan* plan = nullptr;  // lanes: two or more threads, no trace and no profile
  if (!trace && !seconds && workspace_->pool.size() > 1) {
    plan = &workspace_->plans[{static_cast<const void*>(&segment_), static_cast<const void*>(&program_)}];
  }
  using Mode = SimulatorWorkspace::ProgramPlan::Mode;
  // The plan settles within the first call (measuring and trial runs back to back on these inputs), so every
  // later call runs in the chosen mode and no caller's timed runs include the settling.
  while (plan && workspace_->settle_in_first_call && !plan->settled()) {
    const Mode settling = plan->mode();
    load_inputs(values, arena, plan, settling);
    run_program(arena, plan, settling);
  }
  const Mode mode = plan ? plan->mode() : Mode::Alone;
  load_inputs(values, arena, plan, mode);
  // With buffer reuse (optimize_level O1+) a buffer's bytes may later hold another tensor, so the trace takes
  // each value when it is complete: inputs before the first instruction, outputs right after theirs.
  auto snapshot = [&](uint32_t id) {
    const BpuBuffer& b = buffers()[id];
    HostTensor t;
    t.info = b.info;
    std::vector<int64_t> v = read_widened(arena, b);
    t.q.assign(v.begin(), v.end());
    (*trace)(std::move(t));
  };
  if (trace || seconds) {  // in program order, one instruction at a time
    if (trace) for (uint32_t id : segment_.input_buffers) snapshot(id);
    std::vector<uint32_t> reads, writes;
    for (size_t i = 0; i < program_.size(); ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      execute_at(i, arena);
      if (seconds) seconds->push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (!trace) continue;
      reads.clear();
      writes.clear();
      bayes::buffer_operands(program_[i].body, &reads, &writes);
      for (uint32_t id : writes) snapshot(id);
    }
  } else {
    run_program(arena, plan, mode);
  }
  std::map<std::string, HostTensor> out;
  for (size_t i = 0; i < segment_.output_buffers.size(); ++i) {
    const BpuBuffer& b = buffers()[segment_.output_buffers[i]];
    HostTensor t;
    t.info = b.info;
    t.info.name = segment_.output_values[i];
    t.q.resize(b.size / dtype_size(b.info.dtype));
    with_int_buffer(arena, b, [&](auto* src) {
      int32_t* dst = t.q.data();
      const size_t n = t.q.size();
      for (size_t k = 0; k < n; ++k) dst[k] = src[k];
    });
    out[t.info.name] = std::move(t);
  }
  return out;
}

void BpuSimulator::execute(const bayes::Conv2d& c, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[c.input];
  const BpuBuffer& out = buffers()[c.output];
  const ConvGeometry g = geometry_of(in, out, c);
  const int8_t* weight = reinterpret_cast<const int8_t*>(segment_.constants.data() + c.weight_offset);
  const int64_t plane = g.out_h * g.out_w;
  const size_t count = static_cast<size_t>(g.batch * g.out_channels * plane);
  const auto requant_key = std::make_tuple(static_cast<const void*>(segment_.constants.data()), c.requant_offset, static_cast<int64_t>(count));
  SimulatorWorkspace::ConvRequant& rq = cached(workspace_->cache_mutex, workspace_->conv_requant, requant_key, [&] {
    SimulatorWorkspace::ConvRequant r;
    r.params = read_records(segment_.constants, c.requant_offset, static_cast<uint32_t>(g.out_channels));
    return r;
  });
  const std::vector<RequantParams>& params = rq.params;
  // int8 fast paths with int32 accumulators: depthwise on every CPU, the dot kernel where AVX-512 VNNI runs.
  const bool int8_fast = kernel_ == ConvKernel::Fast && in.info.dtype == DType::Int8;
  const bool depthwise = int8_fast && kernels::depthwise_accepts(g);
  const double macs = static_cast<double>(count) * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w;
  ThreadPool* pool = pool_for(depthwise ? macs * kDepthwiseWork : macs);
  if (depthwise || (int8_fast && kernels::int8_dot_available() && kernels::int8_dot_accepts(g))) {
    // A batch of 1x1 images (a Gemm or MatMul lowered to CONV2D, one image per row) runs as one image whose
    // columns are the batch: the input transposed to [C, N], one dot-kernel pass, the output transposed back.
    // The same integer sums, without a mostly empty column panel per row.
    const bool rows = !depthwise && g.batch > 1 && g.groups == 1 && g.in_h == 1 && g.in_w == 1 && g.out_h == 1 && g.out_w == 1;
    ConvGeometry run_g = g;
    const int8_t* x = view<int8_t>(arena, in);
    std::vector<int8_t> columns;
    if (rows) {
      run_g.batch = 1;
      run_g.in_w = run_g.out_w = g.batch;
      run_g.stride_w = run_g.dilation_w = 1;
      columns.resize(static_cast<size_t>(g.batch * g.in_channels));
      for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t ci = 0; ci < g.in_channels; ++ci) columns[static_cast<size_t>(ci * g.batch + n)] = x[n * g.in_channels + ci];
      }
      x = columns.data();
    }
    std::vector<int32_t>& acc = scratch().accumulators;  // the kernels write every sum: only grown, never zeroed again
    const int64_t bound = 128 * 128 * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w;  // max |sum|
    if (depthwise) {
      if (acc.size() < count) acc.resize(count);
      const std::vector<int32_t>* taps = nullptr;
      if (kernels::depthwise_channels_last(g)) {
        taps = &cached(workspace_->cache_mutex, workspace_->depthwise_taps, constant_key(segment_, c.weight_offset),
                       [&] { return kernels::depthwise_tap_weights(g, weight); });
      }
      kernels::depthwise_accumulate_int8(g, x, weight, acc.data(), pool, taps);
    } else {
      const kernels::PackedConvWeights& packed = cached(workspace_->cache_mutex, workspace_->packed_weights, constant_key(segment_, c.weight_offset),
                                                        [&] { return kernels::pack_conv_weights(run_g, weight); });
      if (!rows && packed.kind != kernels::DotKind::Vnni512Lanes) {  // im2col, dot and requant per block
        with_int_buffer(arena, out, [&](auto* y) {
          kernels::conv_int8_dot_requant(g, x, packed, params.data(), bound, c.clamp_lo, c.clamp_hi, y, pool);
        });
        return;
      }
      if (!rows) {  // the lane kernel: requantized in registers where every channel fits
        const std::vector<int64_t>& lanes = cached(workspace_->cache_mutex, workspace_->lane_requant,
                                                   std::make_tuple(static_cast<const void*>(segment_.constants.data()), c.requant_offset, c.weight_offset),
                                                   [&] { return kernels::lane_requant_spread(packed, params.data(), bound); });
        if (!lanes.empty()) {
          with_int_buffer(arena, out, [&](auto* y) {
            kernels::conv_int8_lanes_requant(g, x, packed, lanes, c.clamp_lo, c.clamp_hi, y, scratch().panels, pool);
          });
          return;
        }
      }
      if (acc.size() < count) acc.resize(count);
      kernels::conv_accumulate_int8_dot(run_g, x, packed, acc.data(), scratch().panels, pool);
    }
    with_int_buffer(arena, out, [&](auto* y) {
      if (!rows) {
        kernels::requantize_int32_rows(acc.data(), g.batch, g.out_channels, plane, params.data(), bound, c.clamp_lo,
                                       c.clamp_hi, y, pool, &rq.spread);
        return;
      }
      std::vector<std::remove_pointer_t<decltype(y)>> by_channel(count);  // [Cout, N], then transposed to [N, Cout]
      kernels::requantize_int32_rows(acc.data(), 1, g.out_channels, g.batch, params.data(), bound, c.clamp_lo,
                                     c.clamp_hi, by_channel.data(), pool);
      for (int64_t co = 0; co < g.out_channels; ++co) {
        for (int64_t n = 0; n < g.batch; ++n) y[n * g.out_channels + co] = by_channel[static_cast<size_t>(co * g.batch + n)];
      }
    });
    return;
  }
  std::vector<int64_t> acc(count);
  auto accumulate = [&](const auto* x) {
    if (kernel_ == ConvKernel::Fast) kernels::conv_accumulate_fast(g, x, weight, acc.data(), pool ? pool->size() : 1);
    else kernels::conv_accumulate_reference(g, x, weight, acc.data());
  };
  if (in.info.dtype == DType::Int8) accumulate(view<int8_t>(arena, in));
  else accumulate(view<int16_t>(arena, in));
  with_int_buffer(arena, out, [&](auto* y) {
    kernels::requantize_per_channel(acc.data(), g.batch, g.out_channels, plane, params.data(), c.clamp_lo, c.clamp_hi, y);
  });
}

void BpuSimulator::execute(const bayes::Add& a, std::vector<uint8_t>& arena) const {
  const BpuBuffer& x = buffers()[a.input_a];
  const BpuBuffer& y = buffers()[a.input_b];
  const BpuBuffer& o = buffers()[a.output];
  const AddParams p{a.mult_a, a.mult_b, a.shift};
  if (x.info.shape == o.info.shape && y.info.shape == o.info.shape) {
    const int64_t count = static_cast<int64_t>(o.size / dtype_size(o.info.dtype));
    with_int_buffer(arena, x, [&](auto* xa) {
      with_int_buffer(arena, y, [&](auto* yb) {
        with_int_buffer(arena, o, [&](auto* out) {
          // Element blocks across the workers: each writes only its own range, the same bytes for any count.
          constexpr int64_t kBlock = 16384;
          parallel_for(pool_for(static_cast<double>(count) * kAddWork), (count + kBlock - 1) / kBlock, [&](int64_t b0, int64_t b1) {
            const int64_t i0 = b0 * kBlock, i1 = std::min(count, b1 * kBlock);
            kernels::add_elementwise(xa + i0, yb + i0, i1 - i0, p, a.clamp_lo, a.clamp_hi, out + i0);
          });
        });
      });
    });
    return;
  }
  std::vector<int64_t> va = read_widened(arena, x), vb = read_widened(arena, y);
  std::vector<int64_t> out(o.size / dtype_size(o.info.dtype));
  for_each_broadcast(o.info.shape, x.info.shape, y.info.shape, [&](int64_t i, int64_t ia, int64_t ib) {
    out[i] = apply_add(va[ia], vb[ib], p, a.clamp_lo, a.clamp_hi);
  });
  write_narrowed(arena, o, out);
}

void BpuSimulator::execute(const bayes::Reshape& r, std::vector<uint8_t>& arena) const {
  const BpuBuffer& x = buffers()[r.input];
  const BpuBuffer& y = buffers()[r.output];
  std::memmove(arena.data() + y.offset, arena.data() + x.offset, y.size);
}

void BpuSimulator::execute(const bayes::Rescale& r, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[r.input];
  const BpuBuffer& out = buffers()[r.output];
  if (kernel_ == ConvKernel::Fast && in.info.dtype == DType::Int8 && out.info.dtype == DType::Int8 &&
      (!in.overlaps(out) || in.offset == out.offset)) {  // a byte table (in place: element by element)
    const int64_t n = static_cast<int64_t>(out.size);
    rescale_table(r.mult, r.shift, r.clamp_lo, r.clamp_hi).copy(view<int8_t>(arena, in), 1, n, view<int8_t>(arena, out), n);
    return;
  }
  std::vector<int64_t> v = read_widened(arena, in);
  const RescaleParams p{r.mult, r.shift};
  for (auto& x : v) x = apply_rescale(x, p, r.clamp_lo, r.clamp_hi);
  write_narrowed(arena, out, v);
}

void BpuSimulator::execute(const bayes::Pool& p, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[p.input];
  const BpuBuffer& out = buffers()[p.output];
  kernels::PoolGeometry g;
  g.batch_channels = in.info.shape[0] * in.info.shape[1];
  g.in_h = in.info.shape[2];
  g.in_w = in.info.shape[3];
  g.out_h = out.info.shape[2];
  g.out_w = out.info.shape[3];
  g.kernel_h = p.kernel_h;
  g.kernel_w = p.kernel_w;
  g.stride_h = p.stride_h;
  g.stride_w = p.stride_w;
  g.pad_top = p.pad_top;
  g.pad_left = p.pad_left;
  g.pad_bottom = p.pad_bottom;
  g.pad_right = p.pad_right;
  g.dilation_h = p.dilation_h;
  g.dilation_w = p.dilation_w;
  if (p.kind == 0 && p.dilation_h == 1 && p.dilation_w == 1 && p.table_entries == 1) {
    const RequantParams table = read_records(segment_.constants, p.table_offset, 1)[0];
    with_int_buffer(arena, in, [&](auto* x) {
      with_int_buffer(arena, out, [&](auto* y) {
        const double work = static_cast<double>(g.batch_channels * g.out_h * g.out_w) * p.kernel_h * p.kernel_w * kPoolWork;
        parallel_for(pool_for(work), g.batch_channels, [&](int64_t c0, int64_t c1) {  // whole planes per worker
          kernels::PoolGeometry part = g;
          part.batch_channels = c1 - c0;
          kernels::max_pool2d_direct(part, x + c0 * g.in_h * g.in_w, table, p.clamp_lo, p.clamp_hi, y + c0 * g.out_h * g.out_w);
        });
      });
    });
    return;
  }
  const bool global = g.kernel_h == g.in_h && g.kernel_w == g.in_w && g.out_h == 1 && g.out_w == 1 && p.pad_top == 0 &&
                      p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
  if (p.kind == 2 && global && !in.overlaps(out) && kernel_ == ConvKernel::Fast) {  // global average (an SE block's squeeze), planes across workers
    with_int_buffer(arena, in, [&](auto* x) {
      with_int_buffer(arena, out, [&](auto* y) {
        const int64_t plane = g.in_h * g.in_w;
        parallel_for(pool_for(static_cast<double>(g.batch_channels * plane) * kAddWork), g.batch_channels, [&](int64_t c0, int64_t c1) {
          kernels::global_avg_pool_exact(c1 - c0, plane, x + c0 * plane, float_from_bits(p.in_scale_bits),
                                         float_from_bits(p.out_scale_bits), p.clamp_lo, p.clamp_hi, y + c0);
        });
      });
    });
    return;
  }
  std::vector<int64_t> x = read_widened(arena, in);
  std::vector<int64_t> y(out.size / dtype_size(out.info.dtype));
  if (p.kind == 2) {
    kernels::avg_pool2d_exact(g, p.count_include_pad != 0, x.data(), float_from_bits(p.in_scale_bits),
                                       float_from_bits(p.out_scale_bits), p.clamp_lo, p.clamp_hi, y.data());
  } else {
    std::vector<RequantParams> table = read_records(segment_.constants, p.table_offset, p.table_entries);
    kernels::pool2d(g, p.kind == 0, p.count_include_pad != 0, x.data(), table.data(), p.table_entries, p.clamp_lo,
                    p.clamp_hi, y.data());
  }
  write_narrowed(arena, out, y);
}

namespace {
thread_local int tl_lane = -1;  // the lane this thread is running (a lane never splits its work), -1 outside
// Which instructions split on this thread outside lanes: by the static work estimate (profile and trace runs,
// one-thread workspaces), none, or every one whose kernel can down to kMinSplitWork (measuring runs, and the
// plan's chosen splits).
enum class SplitRule { ByWork, Never, Measured };
thread_local SplitRule tl_split = SplitRule::ByWork;

// Sets tl_split for the scope, restoring the outer rule.
struct SplitScope {
  explicit SplitScope(SplitRule rule) : outer(tl_split) { tl_split = rule; }
  ~SplitScope() { tl_split = outer; }
  SplitScope(const SplitScope&) = delete;
  SplitScope& operator=(const SplitScope&) = delete;
  SplitRule outer;
};
}  // namespace

ThreadPool* BpuSimulator::pool_for(double work) const {
  if (tl_lane >= 0 || tl_split == SplitRule::Never || workspace_->pool.size() < 2) return nullptr;
  if (work < (tl_split == SplitRule::Measured ? kMinSplitWork : kParallelWork)) return nullptr;
  workspace_->pool_used = true;
  return &workspace_->pool;
}

SimulatorWorkspace::Scratch& BpuSimulator::scratch() const { return workspace_->scratch[tl_lane > 0 ? 1 : 0]; }

void BpuSimulator::execute_at(size_t index, std::vector<uint8_t>& arena) const {
  std::visit([&](const auto& body) { execute(body, arena); }, program_[index].body);  // one kernel overload per opcode
}

void BpuSimulator::run_program(std::vector<uint8_t>& arena, SimulatorWorkspace::ProgramPlan* plan,
                               SimulatorWorkspace::ProgramPlan::Mode mode) const {
  using Mode = SimulatorWorkspace::ProgramPlan::Mode;
  if (mode == Mode::Measure) return measure_program(arena, *plan);
  const auto t0 = std::chrono::steady_clock::now();
  if (mode == Mode::Plan || mode == Mode::TryPlan) {
    for (const LaneStep& step : plan->lanes.steps) {
      if (!step.second.empty()) {
        run_lanes(step, arena);
        continue;
      }
      for (uint32_t i : step.first) {
        SplitScope rule(plan->measured[i].used_pool ? SplitRule::Measured : SplitRule::Never);
        execute_at(i, arena);
      }
    }
  } else {
    struct LaneScope {  // restores the outer lane also when an instruction throws
      int outer = tl_lane;
      ~LaneScope() { tl_lane = outer; }
    } scope;
    if (plan) tl_lane = 0;  // the calling thread alone: no instruction splits
    for (size_t i = 0; i < program_.size(); ++i) execute_at(i, arena);
  }
  if (mode != Mode::TryPlan && mode != Mode::TryAlone) return;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double& best = mode == Mode::TryPlan ? plan->plan_seconds : plan->alone_seconds;
  best = std::min(best, s);
  ++plan->runs;
}

void BpuSimulator::measure_program(std::vector<uint8_t>& arena, SimulatorWorkspace::ProgramPlan& plan) const {
  const bool split_run = plan.runs % 2 == 1;
  SplitScope rule(split_run ? SplitRule::Measured : SplitRule::Never);
  plan.measured.resize(program_.size());
  plan.split_seconds.resize(program_.size(), 1e30);
  for (size_t i = 0; i < program_.size(); ++i) {  // each instruction's least time, unsplit and split
    workspace_->pool_used = false;
    const auto t0 = std::chrono::steady_clock::now();
    execute_at(i, arena);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MeasuredInstruction& m = plan.measured[i];
    if (plan.runs < SimulatorWorkspace::kWarmUpRuns) continue;  // caches, packed weights and workers warm up
    if (!split_run) m.alone_seconds = plan.runs == SimulatorWorkspace::kWarmUpRuns ? s : std::min(m.alone_seconds, s);
    else if (workspace_->pool_used) plan.split_seconds[i] = std::min(plan.split_seconds[i], s);
  }
  if (++plan.runs < SimulatorWorkspace::kMeasuringRuns) return;
  for (size_t i = 0; i < program_.size(); ++i) {
    MeasuredInstruction& m = plan.measured[i];
    m.used_pool = plan.split_seconds[i] < SimulatorWorkspace::kSplitGain * m.alone_seconds;
    m.seconds = m.used_pool ? plan.split_seconds[i] : m.alone_seconds;
  }
  plan.lanes = plan_lanes(segment_, program_, plan.measured);
}

void BpuSimulator::run_lanes(const LaneStep& step, std::vector<uint8_t>& arena) const {
  std::exception_ptr failed[2];
  workspace_->pool.parallel_for(2, [&](int64_t begin, int64_t end) {
    for (int64_t lane = begin; lane < end; ++lane) {
      tl_lane = static_cast<int>(lane);
      try {
        for (uint32_t i : lane == 0 ? step.first : step.second) execute_at(i, arena);
      } catch (...) {
        failed[lane] = std::current_exception();
      }
      tl_lane = -1;
    }
  });
  for (const auto& e : failed) {
    if (e) std::rethrow_exception(e);
  }
}

const kernels::Int8Rescale& BpuSimulator::rescale_table(int64_t mult, int32_t shift, int64_t lo, int64_t hi) const {
  return cached(workspace_->cache_mutex, workspace_->rescale_tables, std::make_tuple(mult, shift, lo, hi),
                [&] { return kernels::Int8Rescale(mult, shift, lo, hi); });
}

// True when the int8 fast CONCAT applies: int8 in and out, no input sharing bytes with the output (the reference
// reads every input before writing).
static bool int8_concat(const std::vector<BpuBuffer>& buffers, const bayes::Concat& c) {
  const BpuBuffer& out = buffers[c.output];
  if (out.info.dtype != DType::Int8) return false;
  for (const auto& input : c.inputs) {
    const BpuBuffer& in = buffers[input.buffer];
    if (in.info.dtype != DType::Int8 || in.overlaps(out)) return false;
  }
  return true;
}

void BpuSimulator::execute(const bayes::Concat& c, std::vector<uint8_t>& arena) const {
  const BpuBuffer& out = buffers()[c.output];
  const Shape& shape = out.info.shape;
  int64_t outer = 1, inner = 1;
  for (uint32_t d = 0; d < c.axis; ++d) outer *= shape[d];
  for (size_t d = c.axis + 1; d < shape.size(); ++d) inner *= shape[d];
  if (kernel_ == ConvKernel::Fast && int8_concat(buffers(), c)) {  // one table lookup (or memcpy) per element
    int64_t offset = 0;
    for (const auto& input : c.inputs) {
      const BpuBuffer& in = buffers()[input.buffer];
      const int64_t chunk = in.info.shape[c.axis] * inner;
      rescale_table(input.mult, input.shift)
          .copy(view<int8_t>(arena, in), outer, chunk, view<int8_t>(arena, out) + offset, shape[c.axis] * inner);
      offset += chunk;
    }
    return;
  }
  std::vector<int64_t> y(out.size / dtype_size(out.info.dtype));
  const int64_t lo = dtype_min(out.info.dtype), hi = dtype_max(out.info.dtype);
  int64_t offset = 0;
  for (const auto& input : c.inputs) {
    const BpuBuffer& in = buffers()[input.buffer];
    std::vector<int64_t> x = read_widened(arena, in);
    const int64_t chunk = in.info.shape[c.axis] * inner;
    const RescaleParams p{input.mult, input.shift};
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < chunk; ++k) y[o * shape[c.axis] * inner + offset + k] = apply_rescale(x[o * chunk + k], p, lo, hi);
    }
    offset += chunk;
  }
  write_narrowed(arena, out, y);
}

void BpuSimulator::execute(const bayes::Resize& r, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[r.input];
  const BpuBuffer& out = buffers()[r.output];
  kernels::ResizeGeometry g{in.info.shape[0] * in.info.shape[1], in.info.shape[2], in.info.shape[3], out.info.shape[2],
                            out.info.shape[3]};
  const RescaleParams rescale{r.mult, r.shift};
  if (r.mode != 2 && in.info.dtype == DType::Int8 && out.info.dtype == DType::Int8 && kernel_ == ConvKernel::Fast &&
      !in.overlaps(out)) {  // the fast path, planes across workers
    const int8_t* table = r.mode == 0 ? rescale_table(r.mult, r.shift, r.clamp_lo, r.clamp_hi).table : nullptr;
    const int8_t* x = view<int8_t>(arena, in);
    int8_t* y = view<int8_t>(arena, out);
    const double work = static_cast<double>(out.size) * (r.mode == 1 ? kAddWork : 1.0);  // int8: bytes = elements
    parallel_for(pool_for(work), g.batch_channels, [&](int64_t c0, int64_t c1) {
      kernels::resize2d_int8(g, r.mode == 1, static_cast<kernels::CoordinateMode>(r.coordinate_mode),
                             static_cast<kernels::NearestMode>(r.nearest_mode), rescale, r.clamp_lo, r.clamp_hi, table, x,
                             y, c0, c1);
    });
    return;
  }
  with_int_buffer(arena, in, [&](const auto* x) {
    with_int_buffer(arena, out, [&](auto* y) {
      if (r.mode == 2) {
        kernels::resize2d_bilinear_exact(g, static_cast<kernels::CoordinateMode>(r.coordinate_mode),
                                         float_from_bits(r.in_scale_bits), float_from_bits(r.out_scale_bits), r.clamp_lo,
                                         r.clamp_hi, x, y);
      } else {
        kernels::resize2d(g, r.mode == 1, static_cast<kernels::CoordinateMode>(r.coordinate_mode),
                          static_cast<kernels::NearestMode>(r.nearest_mode), rescale, r.clamp_lo,
                          r.clamp_hi, x, y);
      }
    });
  });
}

void BpuSimulator::execute(const bayes::Lut& l, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[l.input];
  const BpuBuffer& out = buffers()[l.output];
  if (in.info.dtype == DType::Int8 && out.info.dtype == DType::Int8) {  // the common case, typed: a byte table
    const int8_t* table = reinterpret_cast<const int8_t*>(segment_.constants.data() + l.table_offset);
    const int8_t* x = view<int8_t>(arena, in);
    int8_t* y = view<int8_t>(arena, out);
    if (kernel_ == ConvKernel::Fast) kernels::lut_int8(table, x, out.size, y);
    else kernels::lut_int8_reference(table, x, out.size, y);
    return;
  }
  std::vector<int64_t> x = read_widened(arena, in);
  const int64_t bias = in.info.dtype == DType::Int8 ? 128 : 32768;
  const uint8_t* table = segment_.constants.data() + l.table_offset;
  const size_t entry = dtype_size(out.info.dtype);
  for (auto& v : x) {
    const uint8_t* e = table + static_cast<size_t>(v + bias) * entry;
    v = entry == 1 ? static_cast<int64_t>(static_cast<int8_t>(e[0])) : [&] { int16_t t; std::memcpy(&t, e, 2); return static_cast<int64_t>(t); }();
  }
  write_narrowed(arena, out, x);
}

void BpuSimulator::execute(const bayes::Matmul& m, std::vector<uint8_t>& arena) const {
  const BpuBuffer& x = buffers()[m.input_a];
  const BpuBuffer& y = buffers()[m.input_b];
  const BpuBuffer& o = buffers()[m.output];
  write_narrowed(arena, o, kernels::matmul_nd(read_widened(arena, x), x.info.shape, read_widened(arena, y), y.info.shape,
                                              o.info.shape, RequantParams{m.multiplier, m.shift, 0}, m.clamp_lo, m.clamp_hi));
}

// MUL a row at a time over the coalesced broadcast (an SE scale: one value per channel row), rows split across
// the workers (each writes only its rows: the same bytes for any count).
void BpuSimulator::mul_rows(const bayes::Mul& m, const BpuBuffer& x, const BpuBuffer& y, const BpuBuffer& o,
                            const RequantParams& p, std::vector<uint8_t>& arena) const {
  Shape so = o.info.shape, sa = x.info.shape, sb = y.info.shape;
  coalesce_broadcast(so, sa, sb);
  struct Row { int64_t o, ia, step_a, ib, step_b, len; };
  std::vector<Row> rows;
  if (!so.empty() && so.back() > 0) rows.reserve(static_cast<size_t>(o.size / dtype_size(o.info.dtype) / static_cast<uint64_t>(so.back())));
  for_each_broadcast_row(so, sa, sb, [&](int64_t r, int64_t ia, int64_t step_a, int64_t ib, int64_t step_b, int64_t len) {
    rows.push_back({r, ia, step_a, ib, step_b, len});
  });
  const int64_t total = static_cast<int64_t>(o.size / dtype_size(o.info.dtype));
  const double work = static_cast<double>(total) * kAddWork;
  // Many short rows where one side is one value per row and the other runs with the output (a squeeze-and-
  // excitation scale on 2x2 planes: 1152 rows of 4): that side spread to one value per element, then flat
  // blocks, since a call per row costs more than its row. The rows come in output order, row r at r * len.
  bool a_per_row = rows.size() > 1 && rows[0].len < kShortMulRow, b_per_row = a_per_row;
  for (const Row& w : rows) {
    a_per_row = a_per_row && w.step_a == 0 && w.step_b == 1 && w.ib == w.o;
    b_per_row = b_per_row && w.step_b == 0 && w.step_a == 1 && w.ia == w.o;
  }
  with_int_buffer(arena, x, [&](auto* xa) {
    with_int_buffer(arena, y, [&](auto* yb) {
      with_int_buffer(arena, o, [&](auto* out) {
        using A = std::remove_const_t<std::remove_pointer_t<decltype(xa)>>;
        using B = std::remove_const_t<std::remove_pointer_t<decltype(yb)>>;
        if constexpr (sizeof(A) <= 2 && sizeof(B) <= 2) {
          if (a_per_row || b_per_row) {
            const int64_t len = rows[0].len;
            constexpr int64_t kBlock = 4096;  // elements per task
            parallel_for(pool_for(work), (total + kBlock - 1) / kBlock, [&](int64_t b0, int64_t b1) {
              const int64_t i0 = b0 * kBlock, i1 = std::min(total, b1 * kBlock);
              // The per-row side's values, one per element of [i0, i1).
              auto spread = [&](const auto* src, bool a_side) {
                std::vector<std::remove_const_t<std::remove_pointer_t<decltype(src)>>> v;
                v.reserve(static_cast<size_t>(i1 - i0));
                for (int64_t i = i0; i < i1;) {
                  const Row& w = rows[static_cast<size_t>(i / len)];
                  const int64_t end = std::min(i1, w.o + len);
                  v.insert(v.end(), static_cast<size_t>(end - i), src[a_side ? w.ia : w.ib]);
                  i = end;
                }
                return v;
              };
              if (a_per_row) {
                kernels::mul_row(spread(xa, true).data(), 1, yb + i0, 1, i1 - i0, p, m.clamp_lo, m.clamp_hi, out + i0);
              } else {
                kernels::mul_row(xa + i0, 1, spread(yb, false).data(), 1, i1 - i0, p, m.clamp_lo, m.clamp_hi, out + i0);
              }
            });
            return;
          }
          parallel_for(pool_for(work), static_cast<int64_t>(rows.size()), [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
              const Row& w = rows[static_cast<size_t>(r)];
              kernels::mul_row(xa + w.ia, w.step_a, yb + w.ib, w.step_b, w.len, p, m.clamp_lo, m.clamp_hi, out + w.o);
            }
          });
        }
      });
    });
  });
}

void BpuSimulator::execute(const bayes::Mul& m, std::vector<uint8_t>& arena) const {
  const BpuBuffer& x = buffers()[m.input_a];
  const BpuBuffer& y = buffers()[m.input_b];
  const BpuBuffer& o = buffers()[m.output];
  const RequantParams p{m.multiplier, m.shift, 0};
  auto narrow = [](const BpuBuffer& b) { return b.info.dtype == DType::Int8 || b.info.dtype == DType::Int16; };
  // Row form: 8/16-bit inputs, and the output either apart from an input or that input itself, element for element.
  auto safe = [&](const BpuBuffer& in) {
    return !in.overlaps(o) || (in.offset == o.offset && in.info.dtype == o.info.dtype && in.info.shape == o.info.shape);
  };
  if (kernel_ == ConvKernel::Fast && narrow(x) && narrow(y) && safe(x) && safe(y)) {
    mul_rows(m, x, y, o, p, arena);
    return;
  }
  std::vector<int64_t> va = read_widened(arena, x), vb = read_widened(arena, y);
  std::vector<int64_t> out(o.size / dtype_size(o.info.dtype));
  for_each_broadcast(o.info.shape, x.info.shape, y.info.shape, [&](int64_t i, int64_t ia, int64_t ib) {
    out[i] = apply_requant(va[ia] * vb[ib], p, m.clamp_lo, m.clamp_hi);
  });
  write_narrowed(arena, o, out);
}

void BpuSimulator::execute(const bayes::Transpose& t, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[t.input];
  const BpuBuffer& out = buffers()[t.output];
  if (kernel_ == ConvKernel::Fast && in.info.dtype == out.info.dtype && !in.overlaps(out)) {  // same type: runs of codes
    with_int_buffer(arena, in, [&](auto* x) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(x)>>;
      kernels::transpose_typed<T>(x, in.info.shape, t.perm, view<T>(arena, out));
    });
    return;
  }
  write_narrowed(arena, buffers()[t.output], kernels::transpose_nd(read_widened(arena, in), in.info.shape, t.perm));
}

void BpuSimulator::execute(const bayes::Slice& s, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[s.input];
  const BpuBuffer& out = buffers()[s.output];
  if (kernel_ == ConvKernel::Fast && in.info.dtype == out.info.dtype && !in.overlaps(out)) {  // same type: copy runs of codes
    with_int_buffer(arena, in, [&](auto* x) {
      using T = std::remove_const_t<std::remove_pointer_t<decltype(x)>>;
      kernels::slice_typed<T>(x, in.info.shape, out.info.shape, s.starts, s.steps, view<T>(arena, out));
    });
    return;
  }
  write_narrowed(arena, out, kernels::slice_nd(read_widened(arena, in), in.info.shape, out.info.shape, s.starts, s.steps));
}

void BpuSimulator::execute(const bayes::Pad& p, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[p.input];
  const BpuBuffer& out = buffers()[p.output];
  write_narrowed(arena, out, kernels::pad_nd(read_widened(arena, in), in.info.shape, out.info.shape, p.begins, p.value));
}

void BpuSimulator::execute(const bayes::Deconv2d& d, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[d.input];
  const BpuBuffer& out = buffers()[d.output];
  const kernels::DeconvGeometry g = geometry_of(in, out, d);
  std::vector<int64_t> acc(out.size / dtype_size(out.info.dtype));
  const int8_t* weight = reinterpret_cast<const int8_t*>(segment_.constants.data() + d.weight_offset);
  if (kernel_ == ConvKernel::Fast && in.info.dtype == DType::Int8 && kernels::int8_dot_available() &&
      kernels::int8_dot_accepts(kernels::deconv_columns_geometry(g))) {  // columns by the dot kernel, then col2im
    const kernels::PackedConvWeights& packed = cached(workspace_->cache_mutex, workspace_->packed_weights, constant_key(segment_, d.weight_offset),
                                                      [&] { return kernels::pack_deconv_weights(g, weight); });
    SimulatorWorkspace::Scratch& sc = scratch();
    kernels::deconv_accumulate_int8_dot(g, view<int8_t>(arena, in), packed, sc.accumulators,
                                        sc.panels, pool_for(static_cast<double>(in.size) * g.out_channels / g.groups * g.kernel_h * g.kernel_w), acc.data());
  } else {
    std::vector<int64_t> x = read_widened(arena, in);
    if (kernel_ == ConvKernel::Fast) kernels::deconv_accumulate_fast(g, x.data(), weight, acc.data());
    else kernels::deconv_accumulate_reference(g, x.data(), weight, acc.data());
  }
  std::vector<RequantParams> params = read_records(segment_.constants, d.requant_offset, static_cast<uint32_t>(g.out_channels));
  with_int_buffer(arena, out, [&](auto* y) {
    kernels::requantize_per_channel(acc.data(), g.batch, g.out_channels, g.out_h * g.out_w, params.data(), d.clamp_lo,
                                    d.clamp_hi, y);
  });
}

void BpuSimulator::execute(const bayes::Softmax& s, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[s.input];
  const BpuBuffer& out = buffers()[s.output];
  write_narrowed(arena, out, kernels::softmax_exact(read_widened(arena, in), in.info.shape, s.axis, float_from_bits(s.in_scale_bits),
                                                       float_from_bits(s.out_scale_bits), dtype_min(out.info.dtype), dtype_max(out.info.dtype)));
}

// CONST: the constant's codes as stored in the pool.
void BpuSimulator::execute(const bayes::Const& c, std::vector<uint8_t>& arena) const {
  const BpuBuffer& out = buffers()[c.output];  // validated: the bytes lie inside the constant pool
  std::memcpy(arena.data() + out.offset, segment_.constants.data() + c.data_offset, out.size);
}

// PREPROCESS: per pixel, the raw samples (interleaved, planar or nv12), one multiply-add per sample and channel,
// one rounding shift (numerics/requant.h apply_preprocess), written NCHW or NHWC.

void BpuSimulator::execute(const bayes::Preprocess& p, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = buffers()[p.input];
  const BpuBuffer& out = buffers()[p.output];
  const Shape& xs = in.info.shape;
  const Shape& ys = out.info.shape;
  const bool last = p.out_channels_last != 0;
  const int64_t n_total = ys[0], channels = last ? ys[3] : ys[1], h = last ? ys[1] : ys[2], w = last ? ys[2] : ys[3];
  const int samples = p.format == 2 ? 3 : static_cast<int>(p.format == 0 ? xs[3] : xs[1]);
  PreprocessCoefficients pc;
  pc.shift = p.shift;
  for (int64_t c = 0; c < channels; ++c) {
    const uint8_t* rec = segment_.constants.data() + p.coeff_offset + c * bayes::kPreprocessRecordBytes;
    for (int k = 0; k < 3; ++k) std::memcpy(&pc.m[c][k], rec + 4 * k, 4);
    std::memcpy(&pc.bias[c], rec + 16, 8);
  }
  const uint8_t* x = view<uint8_t>(arena, in);
  with_int_buffer(arena, out, [&](auto* y) {
    using T = std::remove_pointer_t<decltype(y)>;
    int64_t s[3] = {0, 0, 0};
    for (int64_t n = 0; n < n_total; ++n) {
      for (int64_t r = 0; r < h; ++r) {
        for (int64_t q = 0; q < w; ++q) {
          for (int k = 0; k < samples; ++k) {
            if (p.format == 2) {  // nv12: Y plane, then H/2 rows of interleaved U, V
              const uint8_t* plane = x + n * (h * 3 / 2) * w;
              s[k] = k == 0 ? plane[r * w + q] : plane[(h + r / 2) * w + 2 * (q / 2) + (k - 1)];
            } else {
              s[k] = p.format == 0 ? x[((n * h + r) * w + q) * samples + k] : x[((n * samples + k) * h + r) * w + q];
            }
          }
          for (int64_t c = 0; c < channels; ++c) {
            const int64_t v = apply_preprocess(pc, static_cast<int>(c), s, samples, p.clamp_lo, p.clamp_hi);
            y[last ? ((n * h + r) * w + q) * channels + c : ((n * channels + c) * h + r) * w + q] = static_cast<T>(v);
          }
        }
      }
    }
  });
}

}  // namespace bpu
