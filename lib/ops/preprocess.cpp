// horizon::HzPreprocess (ops/preprocess.h): attributes <-> InputFormat, and the CPU kernel, which is the documented
// float preprocessing of common/image_format.h (docs/numerics.md §9).

#include "ops/preprocess.h"

#include <type_traits>

#include "common/error.h"
#include "ops/op_def.h"

namespace bpu::ops {

namespace {

ir::Attribute string_attr(const std::string& s) { return ir::Attribute::of_string(s); }

ir::Attribute floats_attr(const std::vector<float>& v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::Floats;
  a.floats = v;
  return a;
}

// The train tensor is float32 by definition (docs/numerics.md §9, step 4), so the float64 kernel holds those
// float32 values in double.
template <typename T>
void kernel(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in, std::vector<cpu::CpuTensor>& out) {
  const cpu::CpuTensor& x = *in.at(0);
  const InputFormat f = preprocess_format(c.node, ExitCode::Model);
  Shape train;
  try {
    train = train_shape_of(f, x.shape, "node '" + c.node.name + "'", ExitCode::Model);
  } catch (const Error& e) {
    c.fail(e.what());
  }
  cpu::allocate<T>(c, out[0], train);
  if (c.shapes_only) return;
  if constexpr (std::is_same_v<T, float>) {
    out[0].f = preprocess_float(f, x.shape, x.f);
  } else {
    const std::vector<float> y = preprocess_float(f, x.shape, std::vector<float>(x.d.begin(), x.d.end()));
    out[0].d.assign(y.begin(), y.end());
  }
}

}  // namespace

bool is_preprocess(const ir::Node& n) { return n.op_type == kPreprocessOp && n.domain == kPreprocessDomain; }

InputFormat preprocess_format(const ir::Node& n, ExitCode code) {
  auto fail = [&](const std::string& what) -> void {
    throw Error(code, "node '" + n.name + "' (HzPreprocess): " + what);
  };
  InputFormat f;
  if (!image_type_from_name(n.attr_string("input_type_rt", ""), &f.type_rt)) fail("invalid input_type_rt");
  if (!image_type_from_name(n.attr_string("input_type_train", ""), &f.type_train)) fail("invalid input_type_train");
  if (!norm_type_from_name(n.attr_string("norm_type", ""), &f.norm)) fail("invalid norm_type");
  const std::string lr = n.attr_string("input_layout_rt", ""), lt = n.attr_string("input_layout_train", "");
  if ((lr != "NCHW" && lr != "NHWC") || (lt != "NCHW" && lt != "NHWC")) fail("input_layout_rt/train must be NCHW or NHWC");
  f.rt_nhwc = lr == "NHWC";
  f.train_nhwc = lt == "NHWC";
  const std::string space = n.attr_string("input_space_and_range", "regular");
  if (space != "regular" && space != "bt601_video") fail("invalid input_space_and_range");
  f.video_range = space == "bt601_video";
  const ir::Attribute* mean = n.attr("mean_value");
  const ir::Attribute* scale = n.attr("scale_value");
  if (mean && mean->kind == ir::Attribute::Kind::Floats) f.mean = mean->floats;
  if (scale && scale->kind == ir::Attribute::Kind::Floats) f.scale = scale->floats;
  const std::string problem = format_problem(f);
  if (!problem.empty()) fail(problem);
  return f;
}

void set_preprocess_format(ir::Node& n, const InputFormat& f) {
  n.attributes["input_type_rt"] = string_attr(image_type_name(f.type_rt));
  n.attributes["input_type_train"] = string_attr(image_type_name(f.type_train));
  n.attributes["input_layout_rt"] = string_attr(f.rt_nhwc ? "NHWC" : "NCHW");
  n.attributes["input_layout_train"] = string_attr(f.train_nhwc ? "NHWC" : "NCHW");
  n.attributes["input_space_and_range"] = string_attr(f.video_range ? "bt601_video" : "regular");
  n.attributes["norm_type"] = string_attr(norm_type_name(f.norm));
  if (!f.mean.empty()) n.attributes["mean_value"] = floats_attr(f.mean);
  if (!f.scale.empty()) n.attributes["scale_value"] = floats_attr(f.scale);
}

void register_preprocess(Registry& r) {
  r.push_back({kPreprocessOp, kPreprocessDomain, 0,
               "bpu-mapper's own (inserted for image inputs): runtime image -> normalized train tensor", nullptr, nullptr,
               nullptr, kernel<float>});
  r.back().kernel64 = kernel<double>;
}

}  // namespace bpu::ops
