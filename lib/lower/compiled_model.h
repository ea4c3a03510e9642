// What lowering produces, the .bin stores and the runtime executes: model IO, host-side values handed between
// steps, a schedule of steps, and one program per BPU segment (buffers, constants, instruction stream).
// Nothing here refers to the ONNX file: a CompiledModel is complete on its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/image_format.h"

namespace bpu {

// Memory layout of a tensor: every tensor bpu-mapper produces is row-major; 4-D ones are NCHW.
enum class Layout : uint32_t { RowMajor = 0, NCHW = 1 };
inline Layout layout_for(const Shape& shape) { return shape.size() == 4 ? Layout::NCHW : Layout::RowMajor; }
inline const char* layout_name(Layout l) { return l == Layout::NCHW ? "NCHW" : "row-major"; }

// A tensor as the runtime sees it: name, element type, shape, layout and (for integer tensors) dequantization
// scales.
struct TensorInfo {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
  std::vector<float> scales;  // empty for float32; 1 = per tensor; else per channel along `axis`
  int32_t axis = -1;
  Layout layout = Layout::RowMajor;
};

// A tensor inside a BPU segment's arena.
struct BpuBuffer {
  TensorInfo info;
  uint64_t offset = 0;  // byte offset in the segment's memory map (DDR arena, then SRAM window)
  uint64_t size = 0;    // bytes = element count * dtype size
  // The two buffers share at least one byte of the memory map.
  bool overlaps(const BpuBuffer& o) const { return offset < o.offset + o.size && o.offset < offset + size; }
};

struct BpuSegment {
  std::vector<BpuBuffer> buffers;
  std::vector<uint32_t> input_buffers;     // buffer ids bound to host values, parallel to input_values
  std::vector<std::string> input_values;
  std::vector<uint32_t> output_buffers;
  std::vector<std::string> output_values;
  // Memory map of arena_size bytes: the DDR arena, then the last sram_size bytes are the on-chip SRAM window;
  // every buffer lies wholly in one of the two (lib/lower/memory_plan.h decides which).
  uint64_t arena_size = 0;
  uint64_t sram_size = 0;
  uint64_t sram_base() const { return arena_size - sram_size; }
  bool on_chip(const BpuBuffer& b) const { return sram_size > 0 && b.offset >= sram_base(); }
  // SRAM reserved for staging the next instruction's weights (prefetch), outside the arena; 0 = no prefetch.
  uint64_t weight_staging_size = 0;
  std::vector<uint8_t> constants;          // weights and requant tables, 16-byte aligned entries
  std::vector<uint8_t> code;               // encoded bayes instructions (lib/arch/bayes/isa.h)
  std::vector<std::string> source_nodes;   // ONNX node names referenced by instructions' source_node
};

// A CPU fallback segment: a standalone ONNX model (float weights, fake quantization as QuantizeLinear /
// DequantizeLinear pairs) whose graph inputs and outputs are named after the host values it reads and writes.
struct CpuSegment {
  std::vector<uint8_t> onnx;  // serialized onnx::ModelProto
  std::vector<std::string> input_values;
  std::vector<std::string> output_values;
};

enum class StepKind : uint32_t {
  Quantize = 1,    // float value -> integer value (scale of the destination), torch rounding
  Dequantize = 2,  // integer value -> float value (scales of the source)
  RunBpu = 3,      // execute bpu_segments[segment]
  RunCpu = 4,      // execute cpu_segments[segment]
};

struct Step {
  StepKind kind = StepKind::RunBpu;
  uint32_t segment = 0;  // RunBpu / RunCpu
  std::string source;    // Quantize / Dequantize
  std::string target;
};

struct CompiledModel {
  std::string march = "bayes";
  std::string compiler_version;
  std::string source_model;  // file name of the ONNX model, for information only
  std::string config_yaml;   // the YAML used, echoed by `info`
  uint64_t config_hash = 0;  // FNV-1a 64 of the YAML text
  uint64_t model_hash = 0;   // FNV-1a 64 of the ONNX file bytes
  std::vector<TensorInfo> inputs;   // model inputs in model order: float32, or uint8 pixels of an image input
  // Per input (parallel to `inputs`): the runtime type, layouts, range and normalization the config gave it;
  // verify and the accuracy run apply its float preprocessing on the QAT side (common/image_format.h).
  std::vector<InputFormat> input_formats;
  std::vector<TensorInfo> outputs;  // model outputs: float32, or the integer value itself (removed Dequantize)
  // Boundary nodes removed (remove_node_type / remove_node_name / `modifier`, lower/boundary.h): `<in>_HzQuantize`,
  // `<out>_HzDequantize`; an input or output they bordered is the integer tensor with its scales.
  std::vector<std::string> removed_nodes;
  std::vector<TensorInfo> values;   // every host value a step reads or writes (includes inputs and outputs)
  std::vector<Step> steps;
  std::vector<BpuSegment> bpu_segments;
  std::vector<CpuSegment> cpu_segments;
};

}  // namespace bpu
