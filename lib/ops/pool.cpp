// CPU float pooling kernels: MaxPool, AveragePool (2-D, pads, strides, dilations, ceil_mode,
// count_include_pad) and GlobalAveragePool / GlobalMaxPool over every spatial axis.

#include <cmath>
#include <limits>

#include "ops/op_def.h"

namespace bpu::cpu {

namespace {

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d, bool ceil_mode) {
  const int64_t span = d * (k - 1) + 1;
  const int64_t num = in + pb + pe - span;
  if (num < 0) return 0;
  int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  // ONNX/PyTorch: the last window must start inside the input or the begin padding.
  if (ceil_mode && (out - 1) * s >= in + pb) --out;
  return out;
}

template <typename T>
void pool2d(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out, bool is_max) {
  const CpuTensor& x = *in.at(0);
  if (x.shape.size() != 4) c.fail("only 2-D pooling (4-D tensors) is supported");
  if (c.node.attr_string("auto_pad", "NOTSET") != "NOTSET") c.fail("auto_pad is not supported");
  const auto k = c.node.attr_ints("kernel_shape", {});
  const auto s = c.node.attr_ints("strides", {1, 1});
  const auto p = c.node.attr_ints("pads", {0, 0, 0, 0});
  const auto d = c.node.attr_ints("dilations", {1, 1});
  const bool ceil_mode = c.node.attr_int("ceil_mode", 0) != 0;
  const bool include_pad = c.node.attr_int("count_include_pad", 0) != 0;
  if (k.size() != 2 || s.size() != 2 || p.size() != 4 || d.size() != 2) c.fail("malformed attributes");
  for (int64_t v : {k[0], k[1], s[0], s[1], d[0], d[1]}) if (v < 1) c.fail("kernel, strides and dilations must be >= 1");
  const int64_t oh = pooled_size(x.shape[2], k[0], s[0], p[0], p[2], d[0], ceil_mode);
  const int64_t ow = pooled_size(x.shape[3], k[1], s[1], p[1], p[3], d[1], ceil_mode);
  if (oh < 1 || ow < 1) c.fail("the window does not fit the padded input");
  allocate<T>(c, out[0], {x.shape[0], x.shape[1], oh, ow});
  if (c.shapes_only) return;
  const int64_t H = x.shape[2], W = x.shape[3];
  for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc) {
    const T* plane = x.values<T>().data() + nc * H * W;
    T* y = out[0].values<T>().data() + nc * oh * ow;
    for (int64_t oy = 0; oy < oh; ++oy) {
      for (int64_t ox = 0; ox < ow; ++ox) {
        T acc = is_max ? -std::numeric_limits<T>::infinity() : T(0);
        int64_t n = 0, n_padded = 0;
        for (int64_t ky = 0; ky < k[0]; ++ky) {
          const int64_t iy = oy * s[0] - p[0] + ky * d[0];
          for (int64_t kx = 0; kx < k[1]; ++kx) {
            const int64_t ix = ox * s[1] - p[1] + kx * d[1];
            // Positions in the explicit padding count for count_include_pad; ceil_mode overhang never does.
            if (iy < H + p[2] && ix < W + p[3]) ++n_padded;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const T v = plane[iy * W + ix];
            acc = is_max ? std::max(acc, v) : acc + v;
            ++n;
          }
        }
        y[oy * ow + ox] = is_max ? acc : acc / static_cast<T>(include_pad ? n_padded : std::max<int64_t>(n, 1));
      }
    }
  }
}

template <typename T>
void max_pool(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  if (out.size() > 1) c.fail("the Indices output is not supported");
  pool2d<T>(c, in, out, true);
}
template <typename T>
void average_pool(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  pool2d<T>(c, in, out, false);
}

template <typename T>
void global_pool(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out, bool is_max) {
  const CpuTensor& x = *in.at(0);
  if (x.shape.size() < 3) c.fail("input needs spatial axes");
  Shape shape = {x.shape[0], x.shape[1]};
  int64_t inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d) {
    shape.push_back(1);
    inner *= x.shape[d];
  }
  allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc) {
    const T* p = x.values<T>().data() + nc * inner;
    T acc = is_max ? -std::numeric_limits<T>::infinity() : T(0);
    for (int64_t k = 0; k < inner; ++k) acc = is_max ? std::max(acc, p[k]) : acc + p[k];
    out[0].values<T>()[nc] = is_max ? acc : acc / static_cast<T>(inner);
  }
}

template <typename T>
void global_average_pool(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  global_pool<T>(c, in, out, false);
}
template <typename T>
void global_max_pool(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  global_pool<T>(c, in, out, true);
}

}  // namespace

}  // namespace bpu::cpu

namespace bpu::ops {

namespace {

void canon_pool(CanonContext& c, ir::Node& n) {
  const std::vector<int64_t> kernel = n.attr_ints("kernel_shape", {});
  if (kernel.empty()) c.fail(n, "kernel_shape is missing");
  explicit_spatial_attrs(c, n, kernel);
  if (!n.attr("ceil_mode")) n.attributes["ceil_mode"] = ir::Attribute::of_int(0);
  if (n.op_type == "AveragePool" && !n.attr("count_include_pad")) n.attributes["count_include_pad"] = ir::Attribute::of_int(0);
}

}  // namespace

void register_pool(Registry& r) {
  using namespace cpu;
  const std::string forms = "10+: ceil_mode; 11+: dilations (MaxPool); auto_pad resolved to explicit pads";
  r.push_back({"MaxPool", "", 0, forms, canon_pool, nullptr, nullptr, max_pool<float>});
  r.back().kernel64 = max_pool<double>;
  r.push_back({"AveragePool", "", kTieProne, forms + "; count_include_pad made explicit", canon_pool, nullptr, nullptr,
               average_pool<float>});
  r.back().kernel64 = average_pool<double>;
  r.push_back({"GlobalAveragePool", "", kTieProne, "all opsets", nullptr, nullptr, nullptr, global_average_pool<float>});
  r.back().kernel64 = global_average_pool<double>;
  r.push_back({"GlobalMaxPool", "", 0, "all opsets", nullptr, nullptr, nullptr, global_max_pool<float>});
  r.back().kernel64 = global_max_pool<double>;
}

}  // namespace bpu::ops
