// Instruction execution for the bayes simulator.

#include "runtime/simulator.h"

#include <cstring>

#include "common/error.h"
#include "runtime/kernels/add.h"
#include "runtime/kernels/conv2d.h"

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

}  // namespace

std::map<std::string, HostTensor> BpuSimulator::run(const std::map<std::string, HostTensor>& values) const {
  std::vector<uint8_t> arena(segment_.arena_size, 0);
  for (size_t i = 0; i < segment_.input_buffers.size(); ++i) {
    const BpuBuffer& b = segment_.buffers[segment_.input_buffers[i]];
    const HostTensor& v = values.at(segment_.input_values[i]);
    with_int_buffer(arena, b, [&](auto* dst) {
      for (size_t k = 0; k < v.q.size(); ++k) dst[k] = static_cast<std::remove_pointer_t<decltype(dst)>>(v.q[k]);
    });
  }
  for (const auto& ins : program_) {
    std::visit([&](const auto& body) { execute(body, arena); }, ins.body);
  }
  std::map<std::string, HostTensor> out;
  for (size_t i = 0; i < segment_.output_buffers.size(); ++i) {
    const BpuBuffer& b = segment_.buffers[segment_.output_buffers[i]];
    HostTensor t;
    t.info = b.info;
    t.info.name = segment_.output_values[i];
    t.q.resize(b.size / dtype_size(b.info.dtype));
    with_int_buffer(arena, b, [&](auto* src) {
      for (size_t k = 0; k < t.q.size(); ++k) t.q[k] = src[k];
    });
    out[t.info.name] = std::move(t);
  }
  return out;
}

void BpuSimulator::execute(const bayes::Conv2d& c, std::vector<uint8_t>& arena) const {
  const BpuBuffer& in = segment_.buffers[c.input];
  const BpuBuffer& out = segment_.buffers[c.output];
  kernels::ConvGeometry g;
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
  const int8_t* weight = reinterpret_cast<const int8_t*>(segment_.constants.data() + c.weight_offset);
  std::vector<RequantParams> params(g.out_channels);
  for (int64_t k = 0; k < g.out_channels; ++k) {
    const uint8_t* rec = segment_.constants.data() + c.requant_offset + k * bayes::kRequantRecordBytes;
    std::memcpy(&params[k].multiplier, rec, 4);
    std::memcpy(&params[k].shift, rec + 4, 4);
    std::memcpy(&params[k].bias, rec + 8, 8);
  }
  std::vector<int64_t> acc(static_cast<size_t>(g.batch * g.out_channels * g.out_h * g.out_w));
  auto accumulate = [&](const auto* x) {
    if (kernel_ == ConvKernel::Fast) kernels::conv_accumulate_fast(g, x, weight, acc.data());
    else kernels::conv_accumulate_reference(g, x, weight, acc.data());
  };
  if (in.info.dtype == DType::Int8) accumulate(view<int8_t>(arena, in));
  else accumulate(view<int16_t>(arena, in));
  with_int_buffer(arena, out, [&](auto* y) {
    kernels::requantize_per_channel(acc.data(), g.batch, g.out_channels, g.out_h * g.out_w, params.data(), c.clamp_lo,
                                    c.clamp_hi, y);
  });
}

void BpuSimulator::execute(const bayes::Add& a, std::vector<uint8_t>& arena) const {
  const BpuBuffer& x = segment_.buffers[a.input_a];
  const BpuBuffer& y = segment_.buffers[a.input_b];
  const BpuBuffer& o = segment_.buffers[a.output];
  const int64_t count = static_cast<int64_t>(o.size / dtype_size(o.info.dtype));
  AddParams p{a.mult_a, a.mult_b, a.shift};
  with_int_buffer(arena, x, [&](auto* xa) {
    with_int_buffer(arena, y, [&](auto* yb) {
      with_int_buffer(arena, o, [&](auto* out) { kernels::add_elementwise(xa, yb, count, p, a.clamp_lo, a.clamp_hi, out); });
    });
  });
}

void BpuSimulator::execute(const bayes::Reshape& r, std::vector<uint8_t>& arena) const {
  const BpuBuffer& x = segment_.buffers[r.input];
  const BpuBuffer& y = segment_.buffers[r.output];
  std::memmove(arena.data() + y.offset, arena.data() + x.offset, y.size);
}

}  // namespace bpu
