// BPU segment builder: turns the nodes of one BPU segment into buffers (a linear arena plan), constants and
// bayes instructions. Core and Conv/Add/Reshape lowering in bpu_segment_builder.cpp; pooling, concat, resize,
// LUT activations, requantization and Gemm in lower_ops.cpp. Integer parameters come from lib/numerics.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "arch/bayes/isa.h"
#include "ir/graph.h"
#include "lower/compiled_model.h"
#include "ops/float_island.h"
#include "partition/partition.h"

namespace bpu {

std::string quantized_value_name(const std::string& tensor);
// The bit pattern of a float32 (scales carried in instruction words).
uint32_t float_bits(float f);
std::string accumulator_value_name(const std::string& tensor);

class SegmentBuilder {
 public:
  SegmentBuilder(const ir::Graph& g, const PartitionResult& part, const Segment& seg);
  BpuSegment build();

  // The per-op lowerings, one method per op family; the bayes op table (constraints.cpp) points each supported
  // op at its method, so the table is the only dispatch.
  void lower_conv(const ir::Node& n);
  void lower_gemm(const ir::Node& n);
  void lower_matmul(const ir::Node& n);  // constant B: lower_gemm; an activation B: MATMUL
  template <typename Product>
  void lower_product(const ir::Node& n);  // MUL, MATMUL
  void lower_add(const ir::Node& n);
  void lower_reshape(const ir::Node& n);
  void lower_requantize(const ir::Node& n);
  void lower_pool(const ir::Node& n);
  void lower_concat(const ir::Node& n);
  void lower_resize(const ir::Node& n);
  void lower_lut(const ir::Node& n);
  void lower_mul(const ir::Node& n);
  void lower_transpose(const ir::Node& n);
  void lower_slice(const ir::Node& n);
  void lower_split(const ir::Node& n);
  void lower_gather(const ir::Node& n);
  void lower_pad(const ir::Node& n);
  void lower_deconv(const ir::Node& n);
  void lower_softmax(const ir::Node& n);
  void lower_reduce(const ir::Node& n);
  void lower_depth_space(const ir::Node& n);
  void lower_preprocess(const ir::Node& n);
  // Not in the op table: placement's float islands (Placement::island_nodes) become one LUT.
  void lower_float_island(const ir::Node& root, const Placement& p);
 private:
  // A LUT instruction from `input`'s buffer to n's output with one table entry per input code.
  void emit_lut(const ir::Node& n, const std::string& input, const std::vector<int64_t>& values);
  // The same from a buffer (a moved float island's staging buffer) into the tensor `output`.
  void emit_lut_from(const ir::Node& n, uint32_t input, const std::string& output, const std::vector<int64_t>& values);
  void lower_node(int index);
  // Buffer of `in` viewed as `view_shape` (a RESHAPE when it differs) and permuted by `perm` (a TRANSPOSE unless
  // perm is the identity); returns the buffer holding the result.
  uint32_t transposed_view(const ir::Node& n, const std::string& in, const std::vector<int64_t>& perm,
                           const Shape& view_shape, const std::string& tag);

  // Data movement to a differently scaled output (Transpose, Slice, Split, Reshape, DepthToSpace, ...): the
  // buffer the movement writes for `out` (out's own when it carries the input's scale and bits, else a staging
  // buffer at the input's scale with out's shape), then the RESCALE from that staging buffer into out (or, in a
  // float island, the island's table).
  uint32_t moved_buffer(const ir::Node& n, const std::string& in, const std::string& out);
  void requantize_moved(const ir::Node& n, const std::string& in, const std::string& out, uint32_t moved);

  // Buffers and constants.
  uint32_t buffer(const std::string& name, DType dtype, const std::vector<float>& scales, int axis,
                  const Shape* shape = nullptr);
  uint32_t quantized_buffer(const ir::Node& n, const std::string& name);
  uint32_t internal_buffer(const std::string& name, DType dtype, const std::vector<float>& scales, int axis, const Shape& shape);
  uint32_t add_constant(const void* data, size_t size);
  uint32_t add_requant_table(const std::vector<struct RequantParams>& records);
  uint32_t source_index(const ir::Node& n);
  std::pair<int32_t, int32_t> clamp_bounds(const ir::Node& n, DType dtype, float scale);
  const ir::QuantParams& quant_of(const ir::Node& n, const std::string& tensor);
  void emit(const ir::Node& n, bayes::Body body);

  std::vector<int64_t> constant_ints(const ir::Node& n, size_t input);

  const ir::Graph& g_;
  const PartitionResult& part_;
  const Segment& seg_;
  const Placement* placement_ = nullptr;  // of the node being lowered
  // While a float island ending in a data movement is lowered: the island's formula. moved_buffer then always
  // stages at the source's scale and requantize_moved applies the island's table instead of a RESCALE.
  const ops::FloatIsland* moved_island_ = nullptr;
  size_t moved_island_tables_ = 0;  // tables requantize_moved emitted for it
  std::set<std::string> produced_;
  std::map<std::string, uint32_t> buffer_ids_;
  std::vector<bayes::Instruction> program_;
  BpuSegment out_;
};

}  // namespace bpu
