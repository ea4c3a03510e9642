// HzPreprocess -> PREPROCESS (docs/isa.md, docs/numerics.md §9): the input's float preprocessing (one affine map per
// channel of the raw pixel samples, common/image_format.h) and the first activation's quantization become one
// integer multiply-add per sample and one rounding shift (numerics/requant.h, make_preprocess_coefficients).

#include "arch/bayes/lower/bpu_segment_builder.h"
#include "common/byte_stream.h"
#include "common/error.h"
#include "numerics/requant.h"
#include "ops/preprocess.h"

namespace bpu {

void SegmentBuilder::lower_preprocess(const ir::Node& n) {
  const InputFormat f = ops::preprocess_format(n, ExitCode::Model);
  const ir::QuantParams& y = quant_of(n, n.outputs[0]);
  const PreprocessAffine affine = preprocess_affine(f);
  double a[3][3] = {{0}}, b[3] = {0, 0, 0};
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < 3; ++k) a[c][k] = affine.a[c][k];
    b[c] = affine.b[c];
  }
  PreprocessCoefficients pc;
  std::string why;
  if (!make_preprocess_coefficients(a, b, affine.out_channels, affine.in_samples, y.scales[0], &pc, &why)) {
    throw Error(ExitCode::Config, "model '" + g_.source_path + "': input '" + n.inputs[0] + "': " + why +
                                      " (first activation scale " + std::to_string(y.scales[0]) +
                                      "); check input_parameters.mean_value / scale_value against the model's training");
  }
  ByteWriter records;
  for (int c = 0; c < affine.out_channels; ++c) {
    for (int k = 0; k < 3; ++k) records.i32(pc.m[c][k]);
    records.i32(0);
    records.i64(pc.bias[c]);
  }
  bayes::Preprocess p;
  p.input = buffer(n.inputs[0], DType::UInt8, {1.0f}, -1);
  p.output = quantized_buffer(n, n.outputs[0]);
  p.format = f.type_rt == ImageType::Nv12 ? 2 : (f.rt_nhwc ? 0 : 1);
  p.out_channels_last = f.train_nhwc ? 1 : 0;
  p.coeff_offset = add_constant(records.data().data(), records.size());
  p.shift = pc.shift;
  p.clamp_lo = static_cast<int32_t>(dtype_min(y.dtype()));
  p.clamp_hi = static_cast<int32_t>(dtype_max(y.dtype()));
  emit(n, p);
}

}  // namespace bpu
