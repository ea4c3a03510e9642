// CPU float Resize over H and W of 4-D tensors: nearest and linear, with the coordinate transformation and
// nearest rounding modes of ONNX Resize (opset 10 and 11+).

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/op_def.h"

namespace bpu::cpu {

namespace {

// Maps an output coordinate to the input coordinate space.
// Coordinates and weights are computed in the kernel's scalar type T (float32, or double in the exact run).
template <typename T>
T source_coordinate(const std::string& mode, int64_t out_idx, T scale, int64_t in_len, int64_t out_len) {
  const T x = static_cast<T>(out_idx), half = T(0.5);
  if (mode == "asymmetric") return x / scale;
  if (mode == "align_corners") return out_len == 1 ? T(0) : x * static_cast<T>(in_len - 1) / static_cast<T>(out_len - 1);
  if (mode == "pytorch_half_pixel") return out_len > 1 ? (x + half) / scale - half : T(0);
  if (mode == "tf_half_pixel_for_nn") return (x + half) / scale;
  return (x + half) / scale - half;  // half_pixel
}

template <typename T>
int64_t nearest_index(const std::string& mode, T v, int64_t len) {
  int64_t i;
  if (mode == "floor") i = static_cast<int64_t>(std::floor(v));
  else if (mode == "ceil") i = static_cast<int64_t>(std::ceil(v));
  else if (mode == "round_prefer_ceil") i = static_cast<int64_t>(std::floor(v + T(0.5)));
  else i = (v - std::floor(v) == T(0.5)) ? static_cast<int64_t>(std::floor(v)) : static_cast<int64_t>(std::round(v));  // round_prefer_floor
  return std::max<int64_t>(0, std::min(len - 1, i));
}

// The input taps of one output coordinate along one axis: nearest reads i0; linear blends i0 and i1 by f.
// Computed once per axis (the coordinate depends only on its own axis), not per output element.
template <typename T>
struct AxisTap {
  int64_t i0 = 0, i1 = 0;
  T f = 0;
};

template <typename T>
std::vector<AxisTap<T>> axis_taps(const std::string& ctm, bool nearest, const std::string& nearest_mode, T scale,
                                  int64_t in_len, int64_t out_len) {
  std::vector<AxisTap<T>> taps(static_cast<size_t>(out_len));
  for (int64_t o = 0; o < out_len; ++o) {
    const T s = source_coordinate<T>(ctm, o, scale, in_len, out_len);
    AxisTap<T>& t = taps[static_cast<size_t>(o)];
    if (nearest) {
      t.i0 = t.i1 = nearest_index(nearest_mode, s, in_len);
      continue;
    }
    const T clamped = std::max(T(0), std::min(static_cast<T>(in_len - 1), s));
    t.i0 = static_cast<int64_t>(std::floor(clamped));
    t.i1 = std::min(t.i0 + 1, in_len - 1);
    t.f = clamped - static_cast<T>(t.i0);
  }
  return taps;
}

template <typename T>
void resize(const KernelContext& c, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out) {
  const CpuTensor& x = *in.at(0);
  if (x.shape.size() != 4) c.fail("only 4-D inputs are supported");
  std::vector<T> scales;
  std::vector<int64_t> sizes;
  auto read_scales = [&](size_t k) { for (double v : c.doubles(in, k)) scales.push_back(static_cast<T>(v)); };
  if (c.opset < 11) {
    read_scales(1);
  } else {
    if (c.present(in, 3) && in[3]->count() > 0) sizes = c.ints(in, 3);
    else if (c.present(in, 2) && in[2]->count() > 0) read_scales(2);
    else c.fail("needs scales or sizes");
  }
  Shape shape = x.shape;
  if (!sizes.empty()) {
    if (sizes.size() != 4) c.fail("sizes needs 4 values");
    for (size_t d = 0; d < 4; ++d) {
      scales.push_back(static_cast<T>(sizes[d]) / static_cast<T>(x.shape[d]));
      shape[d] = sizes[d];
    }
  } else {
    if (scales.size() != 4) c.fail("scales needs 4 values");
    for (size_t d = 0; d < 4; ++d) {
      if (!(scales[d] > 0) || scales[d] > 1024) c.fail("scale " + std::to_string(scales[d]) + " is out of range");
      shape[d] = static_cast<int64_t>(std::floor(static_cast<double>(x.shape[d]) * scales[d]));
    }
  }
  if (shape[0] != x.shape[0] || shape[1] != x.shape[1]) c.fail("only H and W may be resized");
  const std::string mode = c.node.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear") c.fail("mode '" + mode + "' is not supported");
  const std::string ctm = c.node.attr_string("coordinate_transformation_mode", c.opset < 11 ? "asymmetric" : "half_pixel");
  const std::string nearest_mode = c.node.attr_string("nearest_mode", c.opset < 11 ? "floor" : "round_prefer_floor");
  allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  const int64_t H = x.shape[2], W = x.shape[3], OH = shape[2], OW = shape[3];
  const bool nearest = mode == "nearest";
  const std::vector<AxisTap<T>> ty = axis_taps<T>(ctm, nearest, nearest_mode, scales[2], H, OH);
  const std::vector<AxisTap<T>> tx = axis_taps<T>(ctm, nearest, nearest_mode, scales[3], W, OW);
  for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc) {
    const T* plane = x.values<T>().data() + nc * H * W;
    T* y = out[0].values<T>().data() + nc * OH * OW;
    for (int64_t oy = 0; oy < OH; ++oy) {
      const T* r0 = plane + ty[oy].i0 * W;
      const T* r1 = plane + ty[oy].i1 * W;
      T* row = y + oy * OW;
      if (nearest) {
        for (int64_t ox = 0; ox < OW; ++ox) row[ox] = r0[tx[ox].i0];
        continue;
      }
      const T fy = ty[oy].f;
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t x0 = tx[ox].i0, x1 = tx[ox].i1;
        const T fx = tx[ox].f;
        // PyTorch's CPU kernel order (fused multiply-adds), so ties at the next quantization match it.
        const T top = std::fma(r0[x0], 1 - fx, r0[x1] * fx);
        const T bottom = std::fma(r1[x0], 1 - fx, r1[x1] * fx);
        row[ox] = std::fma(top, 1 - fy, bottom * fy);
      }
    }
  }
}

}  // namespace

}  // namespace bpu::cpu

namespace bpu::ops {

namespace {

void set_string(ir::Node& n, const char* key, const std::string& value) {
  n.attributes[key] = ir::Attribute::of_string(value);
}

// Resize 10: inputs X, scales; asymmetric coordinates, floor rounding. 11/13: X, roi, scales, sizes with
// coordinate_transformation_mode (default half_pixel) and nearest_mode (default round_prefer_floor).
// Canonical: the 13 form with every mode explicit and an absent (empty) scales or sizes input left out.
void canon_resize(CanonContext& c, ir::Node& n) {
  set_string(n, "mode", n.attr_string("mode", "nearest"));
  if (c.opset < 11) {
    const std::string scales = n.inputs.size() > 1 ? n.inputs[1] : "";
    n.inputs = {n.inputs.at(0), "", scales};
    set_string(n, "coordinate_transformation_mode", "asymmetric");
    set_string(n, "nearest_mode", "floor");
    return;
  }
  set_string(n, "coordinate_transformation_mode", n.attr_string("coordinate_transformation_mode", "half_pixel"));
  set_string(n, "nearest_mode", n.attr_string("nearest_mode", "round_prefer_floor"));
  n.inputs.resize(std::max<size_t>(n.inputs.size(), 4));
  for (size_t k = 1; k < 4; ++k) {
    if (!n.inputs[k].empty() && c.graph.tensor(n.inputs[k]).is_constant && c.graph.tensor(n.inputs[k]).element_count() == 0) {
      n.inputs[k].clear();
    }
  }
  n.inputs[1].clear();  // roi only matters for tf_crop_and_resize, which is not supported
  while (n.inputs.size() > 1 && n.inputs.back().empty()) n.inputs.pop_back();
}

}  // namespace

void register_resize(Registry& r) {
  r.push_back({"Resize", "", kTieProne,
               "10: scales input, asymmetric + floor; 11/13: roi, scales, sizes, coordinate and nearest modes. "
               "Canonical: 13 form, modes explicit", canon_resize, nullptr, nullptr, cpu::resize<float>});
  r.back().kernel64 = cpu::resize<double>;
}

}  // namespace bpu::ops
