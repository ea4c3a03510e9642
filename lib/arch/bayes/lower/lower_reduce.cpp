// SegmentBuilder lowering of the reductions (ReduceMean/Max/Min/Sum) and of DepthToSpace / SpaceToDepth, all
// through existing instructions. A reduction moves the kept axes first and the reduced ones last (TRANSPOSE,
// skipped when already in order), views the result as [1, kept, reduced, 1] (RESHAPE) and pools it with a
// (reduced x 1) window: max for ReduceMax, the float32-emulated average for ReduceMean (the reference's own
// sequence), and the exact integer window sum requantized by s_in/s_out for ReduceSum. ReduceMin is
// max(-x) on the BPU only where the scale is symmetric, so it stays on the CPU (constraint).

#include "common/error.h"
#include "arch/bayes/lower/bpu_segment_builder.h"
#include "numerics/requant.h"
#include "ops/op_def.h"

namespace bpu {

namespace {

[[noreturn]] void unsupported(const ir::Graph& g, const ir::Node& n, const std::string& what) {
  throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type + "): " + what);
}

}  // namespace

uint32_t SegmentBuilder::transposed_view(const ir::Node& n, const std::string& in, const std::vector<int64_t>& perm,
                                         const Shape& six_or_shape, const std::string& tag) {
  const ir::QuantParams& q = quant_of(n, in);
  uint32_t src = quantized_buffer(n, in);
  const Shape& in_shape = g_.tensor(in).shape;
  uint32_t viewed = src;
  if (six_or_shape != in_shape) {
    viewed = internal_buffer(n.name + "/" + tag + "_view", q.dtype(), q.scales, -1, six_or_shape);
    emit(n, bayes::Reshape{src, viewed});
  }
  bool identity = true;
  for (size_t k = 0; k < perm.size(); ++k) identity &= perm[k] == static_cast<int64_t>(k);
  if (identity) return viewed;
  Shape permuted(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) permuted[k] = six_or_shape[perm[k]];
  const uint32_t out = internal_buffer(n.name + "/" + tag + "_transposed", q.dtype(), q.scales, -1, permuted);
  bayes::Transpose t;
  t.input = viewed;
  t.output = out;
  for (int64_t p : perm) t.perm.push_back(static_cast<uint32_t>(p));
  emit(n, t);
  return out;
}

void SegmentBuilder::lower_reduce(const ir::Node& n) {
  const ir::QuantParams& x = quant_of(n, n.inputs[0]);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const Shape& in_shape = g_.tensor(n.inputs[0]).shape;
  const int64_t rank = static_cast<int64_t>(in_shape.size());
  std::vector<bool> reduced(rank, false);
  for (int64_t a : ops::reduce_axes(g_, n)) reduced.at(a) = true;
  std::vector<int64_t> perm;
  int64_t kept = 1, window = 1;
  for (int64_t d = 0; d < rank; ++d) if (!reduced[d]) { perm.push_back(d); kept *= in_shape[d]; }
  for (int64_t d = 0; d < rank; ++d) if (reduced[d]) { perm.push_back(d); window *= in_shape[d]; }
  const uint32_t moved = transposed_view(n, n.inputs[0], perm, in_shape, "reduce");
  const uint32_t pooled_in = internal_buffer(n.name + "/reduce_window", x.dtype(), x.scales, -1, {1, kept, window, 1});
  emit(n, bayes::Reshape{moved, pooled_in});
  const uint32_t pooled = internal_buffer(n.name + "/reduce_result", y.dtype(), y.scales, -1, {1, kept, 1, 1});
  bayes::Pool p;
  p.input = pooled_in;
  p.output = pooled;
  p.kernel_h = static_cast<uint32_t>(window);
  std::tie(p.clamp_lo, p.clamp_hi) = clamp_bounds(n, y.dtype(), y.scales[0]);
  if (n.op_type == "ReduceMean") {
    p.kind = 2;
    p.in_scale_bits = float_bits(x.scales[0]);
    p.out_scale_bits = float_bits(y.scales[0]);
    p.table_entries = 0;
  } else {
    p.kind = n.op_type == "ReduceMax" ? 0 : 1;
    try {
      p.table_offset = add_requant_table({make_conv_requant(x.scales[0], 1.0, y.scales[0], 0.0)});
    } catch (const Error& e) {
      unsupported(g_, n, e.what());
    }
  }
  emit(n, p);
  emit(n, bayes::Reshape{pooled, quantized_buffer(n, n.outputs[0])});
}

void SegmentBuilder::lower_depth_space(const ir::Node& n) {
  const ops::DepthSpacePlan plan = ops::depth_space_plan(n, g_.tensor(n.inputs[0]).shape);
  if (!plan.valid) unsupported(g_, n, "blocksize does not divide the input");
  const uint32_t moved = transposed_view(n, n.inputs[0], plan.perm, plan.six, "depth_space");
  const uint32_t out = moved_buffer(n, n.inputs[0], n.outputs[0]);
  emit(n, bayes::Reshape{moved, out});
  requantize_moved(n, n.inputs[0], n.outputs[0], out);
}

}  // namespace bpu
