// Formatting for info and disasm.

#include "report/model_info.h"

#include <cstdio>
#include <cstring>
#include <sstream>

#include "artifact/bin_format.h"
#include "common/error.h"

namespace bpu {

namespace {

std::string tensor_line(const TensorInfo& t) {
  std::ostringstream os;
  os << t.name << "  " << dtype_name(t.dtype) << " " << shape_to_string(t.shape) << " " << layout_name(t.layout);
  if (t.scales.size() == 1) os << " scale " << t.scales[0];
  else if (!t.scales.empty()) os << " " << t.scales.size() << " scales on axis " << t.axis;
  return os.str();
}

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string buffer_ref(const BpuSegment& s, uint32_t id) {
  const TensorInfo& t = s.buffers[id].info;
  return "#" + std::to_string(id) + "(" + std::string(dtype_name(t.dtype)) + " " + shape_to_string(t.shape) + ")";
}

}  // namespace

std::string format_model_info(const CompiledModel& m, const ValidatedModel& v, const std::string& path) {
  std::ostringstream os;
  os << "model            " << path << "\n"
     << "format version   " << kBinFormatVersion << "\n"
     << "compiler version " << m.compiler_version << "\n"
     << "march            " << m.march << "\n"
     << "source model     " << m.source_model << " (fnv1a64 " << hex64(m.model_hash) << ")\n"
     << "config hash      fnv1a64 " << hex64(m.config_hash) << "\n";
  os << "inputs:\n";
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    os << "  " << tensor_line(m.inputs[i]) << "\n";
    const InputFormat f = i < m.input_formats.size() ? m.input_formats[i] : InputFormat{};
    if (f.needs_preprocess()) {  // the runtime type, layout, range and the preprocessing PREPROCESS applies
      os << "    input_type_rt " << image_type_name(f.type_rt) << ", layout "
         << (f.type_rt == ImageType::Nv12 ? "nv12 [N, H*3/2, W]" : f.rt_nhwc ? "NHWC" : "NCHW") << ", range "
         << (!f.is_image() ? "float32" : f.video_range ? "bt601_video (Y 16..235)" : "regular (0..255)") << "; " << f.describe();
      if (!f.mean.empty() || !f.scale.empty()) {
        os << "; mean";
        for (float v : f.mean) os << " " << v;
        os << ", scale";
        for (float v : f.scale) os << " " << v;
      }
      os << "\n";
    }
  }
  os << "outputs:\n";
  for (const auto& t : m.outputs) os << "  " << tensor_line(t) << "\n";
  if (!m.removed_nodes.empty()) {  // remove_node_type / remove_node_name / `modifier`: integer I/O
    os << "removed boundary nodes:";
    for (const auto& n : m.removed_nodes) os << " " << n;
    os << "\n";
  }
  os << "segments (execution order):\n";
  for (const auto& step : m.steps) {
    if (step.kind == StepKind::RunBpu) {
      const BpuSegment& s = m.bpu_segments[step.segment];
      os << "  BPU " << step.segment << ": " << v.programs[step.segment].size() << " instructions, " << s.code.size()
         << " code bytes, " << s.constants.size() << " constant bytes, memory map " << s.arena_size << " bytes (DDR "
         << s.sram_base() << ", SRAM window " << s.sram_size << "), weight staging " << s.weight_staging_size << " bytes\n";
      for (size_t i = 0; i < s.input_buffers.size(); ++i) os << "    in  " << tensor_line(s.buffers[s.input_buffers[i]].info) << "\n";
      for (size_t i = 0; i < s.output_buffers.size(); ++i) os << "    out " << tensor_line(s.buffers[s.output_buffers[i]].info) << "\n";
    } else if (step.kind == StepKind::RunCpu) {
      const CpuSegment& s = m.cpu_segments[step.segment];
      os << "  CPU " << step.segment << ": ONNX subgraph of " << s.onnx.size() << " bytes; in:";
      for (const auto& v : s.input_values) os << " " << v;
      os << "; out:";
      for (const auto& v : s.output_values) os << " " << v;
      os << "\n";
    } else {
      os << "  " << (step.kind == StepKind::Quantize ? "quantize   " : "dequantize ") << step.source << " -> " << step.target << "\n";
    }
  }
  os << "config (echoed YAML):\n";
  std::istringstream yaml(m.config_yaml);
  for (std::string line; std::getline(yaml, line);) os << "  " << line << "\n";
  return os.str();
}

std::string format_disassembly(const CompiledModel& m, const ValidatedModel& v, int only) {
  if (only >= static_cast<int>(m.bpu_segments.size())) {
    throw Error(ExitCode::Usage, "--segment " + std::to_string(only) + ": the model has " + std::to_string(m.bpu_segments.size()) + " BPU segments");
  }
  std::ostringstream os;
  for (size_t k = 0; k < m.bpu_segments.size(); ++k) {
    if (only >= 0 && static_cast<int>(k) != only) continue;
    const BpuSegment& s = m.bpu_segments[k];
    os << "BPU segment " << k << ":\n";
    for (size_t i = 0; i < v.programs[k].size(); ++i) {
      const bayes::Instruction& ins = v.programs[k][i];
      char head[32];
      std::snprintf(head, sizeof(head), "  %04zu %-8s", i, bayes::opcode_name(ins.opcode));
      os << head;
      // Every field by name, from the ISA table (lib/arch/bayes/isa_table.h).
      os << bayes::format_fields(ins.body, [&](uint32_t id) { return buffer_ref(s, id); });
      os << "  ; " << s.source_nodes[ins.source_node] << "\n";
    }
  }
  if (only < 0) {
    for (size_t k = 0; k < v.cpu_graphs.size(); ++k) {
      os << "CPU segment " << k << " (ONNX, float32):\n";
      for (const auto& n : v.cpu_graphs[k]->graph().nodes) {
        os << "  " << n.op_type << "  " << n.name << "\n";
      }
    }
  }
  return os.str();
}

}  // namespace bpu
