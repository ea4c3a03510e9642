// Registry entries of DepthToSpace (DCR, the default, and CRD from opset 11) and SpaceToDepth on 4-D NCHW
// tensors. Both are a Reshape to 6-D, a Transpose and a Reshape back (the ONNX spec's own definition); the
// canonical form makes `mode` explicit, and the BPU lowers them through that decomposition.

#include "ops/op_def.h"

namespace bpu::ops {

DepthSpacePlan depth_space_plan(const ir::Node& n, const Shape& x) {
  const int64_t b = n.attr_int("blocksize", 0);
  DepthSpacePlan p;
  if (x.size() != 4 || b < 1) return p;
  const int64_t N = x[0], C = x[1], H = x[2], W = x[3];
  if (n.op_type == "DepthToSpace") {
    if (C % (b * b)) return p;
    if (n.attr_string("mode", "DCR") == "CRD") {
      p.six = {N, C / (b * b), b, b, H, W};
      p.perm = {0, 1, 4, 2, 5, 3};
    } else {
      p.six = {N, b, b, C / (b * b), H, W};
      p.perm = {0, 3, 4, 1, 5, 2};
    }
    p.out = {N, C / (b * b), H * b, W * b};
  } else {
    if (H % b || W % b) return p;
    p.six = {N, C, H / b, b, W / b, b};
    p.perm = {0, 3, 5, 1, 2, 4};
    p.out = {N, C * b * b, H / b, W / b};
  }
  p.valid = true;
  return p;
}

namespace {

void canon_depth_space(CanonContext& c, ir::Node& n) {
  if (!depth_space_plan(n, c.shape(n.inputs.at(0))).valid) {
    c.fail(n, "blocksize " + std::to_string(n.attr_int("blocksize", 0)) + " does not divide input " +
                  shape_to_string(c.shape(n.inputs[0])) + " (4-D NCHW required)");
  }
  if (n.op_type == "DepthToSpace") {
    n.attributes["mode"] = ir::Attribute::of_string(n.attr_string("mode", "DCR"));
  }
}

template <typename T>
void kernel(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in, std::vector<cpu::CpuTensor>& out) {
  const cpu::CpuTensor& x = *in.at(0);
  const DepthSpacePlan p = depth_space_plan(c.node, x.shape);
  if (!p.valid) c.fail("blocksize does not divide the 4-D input " + shape_to_string(x.shape));
  cpu::allocate<T>(c, out[0], p.out);
  if (c.shapes_only) return;
  // out (viewed as the permuted 6-D shape) [i0..i5] = x (viewed as p.six) [j] with j[perm[k]] = i_k.
  std::vector<int64_t> strides(6, 1);
  for (int k = 4; k >= 0; --k) strides[k] = strides[k + 1] * p.six[k + 1];
  Shape permuted(6);
  for (int k = 0; k < 6; ++k) permuted[k] = p.six[p.perm[k]];
  std::vector<int64_t> index(6, 0);
  const T* from = x.values<T>().data();
  T* to = out[0].values<T>().data();
  for (int64_t o = 0, n = out[0].count(); o < n; ++o) {
    int64_t src = 0;
    for (int k = 0; k < 6; ++k) src += index[k] * strides[p.perm[k]];
    to[o] = from[src];
    for (int k = 5; k >= 0; --k) {
      if (++index[k] < permuted[k]) break;
      index[k] = 0;
    }
  }
}

}  // namespace

void register_depth_space(Registry& r) {
  r.push_back({"DepthToSpace", "", kDataMovement, "mode DCR (default) or CRD (11+). Canonical: mode explicit",
               canon_depth_space, nullptr, nullptr, kernel<float>});
  r.back().kernel64 = kernel<double>;
  r.push_back({"SpaceToDepth", "", kDataMovement, "all opsets", canon_depth_space, nullptr, nullptr, kernel<float>});
  r.back().kernel64 = kernel<double>;
}

}  // namespace bpu::ops
