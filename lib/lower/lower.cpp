// IR + placement -> CompiledModel: one SegmentBuilder per BPU segment, one ONNX subgraph per CPU segment,
// and the host schedule that converts values between their float and integer forms at the boundaries.

#include "lower/lower.h"

#include <set>

#include "common/error.h"
#include "arch/bayes/lower/bpu_segment_builder.h"
#include "lower/cpu_subgraph.h"
#include "ops/preprocess.h"

namespace bpu {

namespace {

TensorInfo float_info(const ir::Graph& g, const std::string& name) {
  TensorInfo t;
  t.name = name;
  t.dtype = DType::Float32;
  t.shape = g.tensor(name).shape;
  t.layout = layout_for(t.shape);
  return t;
}

// Host values and the steps that convert between their forms. For a tensor T the float form is named T (the
// value the QAT model sees), the integer forms T_quantized and T_int32.
class Schedule {
 public:
  Schedule(const ir::Graph& g, CompiledModel& m) : g_(g), m_(m) {}

  void add(const TensorInfo& info) {
    if (known_.insert(info.name).second) m_.values.push_back(info);
  }

  // Makes the float form of tensor T available, dequantizing an integer form produced earlier.
  void ensure_float(const std::string& tensor) {
    if (known_.count(tensor)) return;
    for (const std::string& name : {quantized_value_name(tensor), accumulator_value_name(tensor)}) {
      if (known_.count(name)) {
        add(float_info(g_, tensor));
        m_.steps.push_back({StepKind::Dequantize, 0, name, tensor});
        return;
      }
    }
    throw Error(ExitCode::Internal, "no value carries tensor '" + tensor + "'");
  }

  // Makes the integer form `info` (named T_quantized) available, quantizing the float form.
  void ensure_quantized(const std::string& tensor, const TensorInfo& info) {
    if (known_.count(info.name)) return;
    if (!known_.count(tensor)) throw Error(ExitCode::Internal, "no float value for tensor '" + tensor + "'");
    add(info);
    m_.steps.push_back({StepKind::Quantize, 0, tensor, info.name});
  }

 private:
  const ir::Graph& g_;
  CompiledModel& m_;
  std::set<std::string> known_;
};

}  // namespace

CompiledModel lower_model(const ir::Graph& g, const PartitionResult& part, const MemoryPlanOptions& memory) {
  CompiledModel m;
  Schedule schedule(g, m);
  for (const auto& in : g.inputs) {
    InputFormat f;  // the format an HzPreprocess reading the input carries
    for (int c : g.consumers(in)) {
      if (ops::is_preprocess(g.nodes[c])) f = ops::preprocess_format(g.nodes[c], ExitCode::Model);
    }
    m.input_formats.push_back(f);
    const ir::ElemType t = g.tensor(in).elem_type;
    const bool pixels = t == ir::ElemType::Uint8 && f.is_image();  // uint8 only as an image input's pixels
    if (t != ir::ElemType::Float && !pixels) {
      throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': input '" + in + "' is not float32");
    }
    m.inputs.push_back(float_info(g, in));
    if (t == ir::ElemType::Uint8) {  // image pixels (an HzPreprocess input): uint8 codes, scale 1
      m.inputs.back().dtype = DType::UInt8;
      m.inputs.back().scales = {1.0f};
      m.inputs.back().layout = Layout::RowMajor;  // the runtime layout (NHWC, NCHW or nv12) is in its InputFormat
    }
    schedule.add(m.inputs.back());
  }
  for (const auto& out : g.outputs) m.outputs.push_back(float_info(g, out));

  for (const auto& seg : part.segments) {
    if (seg.device == Device::Cpu) {
      CpuSegment cpu = build_cpu_segment(g, part, seg);
      for (const auto& v : cpu.input_values) schedule.ensure_float(v);
      m.steps.push_back({StepKind::RunCpu, static_cast<uint32_t>(m.cpu_segments.size()), "", ""});
      for (const auto& v : cpu.output_values) schedule.add(float_info(g, v));
      m.cpu_segments.push_back(std::move(cpu));
      continue;
    }
    SegmentBuilder builder(g, part, seg);
    BpuSegment bpu = builder.build();
    plan_memory(bpu, bayes::decode_program(bpu.code.data(), bpu.code.size(), "BPU segment"), memory);
    for (size_t i = 0; i < bpu.input_buffers.size(); ++i) {
      TensorInfo info = bpu.buffers[bpu.input_buffers[i]].info;
      const std::string tensor = info.name;
      info.name = bpu.input_values[i];
      schedule.ensure_quantized(tensor, info);
    }
    m.steps.push_back({StepKind::RunBpu, static_cast<uint32_t>(m.bpu_segments.size()), "", ""});
    for (size_t i = 0; i < bpu.output_buffers.size(); ++i) {
      TensorInfo info = bpu.buffers[bpu.output_buffers[i]].info;
      info.name = bpu.output_values[i];
      schedule.add(info);
    }
    m.bpu_segments.push_back(std::move(bpu));
  }
  for (const auto& out : g.outputs) schedule.ensure_float(out);
  return m;
}

}  // namespace bpu
