// Registry entries of Softmax, LogSoftmax and Hardmax. Before opset 13 they coerce the input to 2-D at `axis`
// (default 1) and normalize over the flattened [axis, rank) block; from 13 on they work along one axis (default
// -1). Canonical form: the opset-13 form with an explicit non-negative axis; an older form whose block spans more
// than the last axis becomes Reshape(to 2-D) -> op(axis 1) -> Reshape(back).

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/op_def.h"

namespace bpu::ops {

namespace {

void set_axis(ir::Node& n, int64_t axis) { n.attributes["axis"] = ir::Attribute::of_int(axis); }

ir::Node reshape_node(const std::string& name, const std::string& in, const std::string& shape, const std::string& out) {
  ir::Node r;
  r.name = name;
  r.op_type = "Reshape";
  r.inputs = {in, shape};
  r.outputs = {out};
  return r;
}

void canon_softmax_family(CanonContext& c, ir::Node& n) {
  const Shape x = c.shape(n.inputs.at(0));
  const int64_t rank = static_cast<int64_t>(x.size());
  if (c.opset >= 13) {
    set_axis(n, normalize_axis(c.graph, n, n.attr_int("axis", -1), rank));
    return;
  }
  const int64_t axis = normalize_axis(c.graph, n, n.attr_int("axis", 1), rank);
  if (axis == rank - 1) {  // the flattened block is the last axis alone: the same as the opset-13 meaning
    set_axis(n, axis);
    return;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x[d];
  for (int64_t d = axis; d < rank; ++d) inner *= x[d];
  const std::string in2d = c.new_tensor(n, "in2d", {outer, inner}, n.inputs[0]);
  const std::string out2d = c.new_tensor(n, "out2d", {outer, inner}, n.inputs[0]);
  c.inserted_before.push_back(
      reshape_node(n.name + "/canonical_to_2d", n.inputs[0], c.int_constant(n, "shape2d", {outer, inner}), in2d));
  c.inserted_after.push_back(
      reshape_node(n.name + "/canonical_from_2d", out2d, c.int_constant(n, "shape", Shape(x)), n.outputs[0]));
  n.inputs[0] = in2d;
  n.outputs[0] = out2d;
  set_axis(n, 1);
}

// Splits the input into outer x len x inner around the normalized block for the model's own opset.
struct Block {
  int64_t outer = 1, len = 1, inner = 1;
};

Block block_of(const cpu::KernelContext& c, const Shape& shape) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t axis = c.node.attr_int("axis", c.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) c.fail("axis out of range");
  Block b;
  for (int64_t d = 0; d < axis; ++d) b.outer *= shape[d];
  if (c.opset >= 13) {
    b.len = shape[axis];
    for (int64_t d = axis + 1; d < rank; ++d) b.inner *= shape[d];
  } else {
    for (int64_t d = axis; d < rank; ++d) b.len *= shape[d];
  }
  return b;
}

enum class Kind { Softmax, LogSoftmax, Hardmax };

template <Kind K, typename T>
void kernel(const cpu::KernelContext& c, const std::vector<const cpu::CpuTensor*>& in, std::vector<cpu::CpuTensor>& out) {
  const Shape& shape = in.at(0)->shape;
  const Block b = block_of(c, shape);
  cpu::allocate<T>(c, out[0], shape);
  if (c.shapes_only) return;
  const T* x = in[0]->values<T>().data();
  T* y = out[0].values<T>().data();
  for (int64_t o = 0; o < b.outer; ++o) {
    for (int64_t i = 0; i < b.inner; ++i) {
      const int64_t base = o * b.len * b.inner + i;
      T m = -std::numeric_limits<T>::infinity();
      int64_t arg = 0;
      for (int64_t k = 0; k < b.len; ++k) {
        if (x[base + k * b.inner] > m) {
          m = x[base + k * b.inner];
          arg = k;
        }
      }
      if (K == Kind::Hardmax) {
        for (int64_t k = 0; k < b.len; ++k) y[base + k * b.inner] = k == arg ? T(1) : T(0);
        continue;
      }
      T sum = 0;
      for (int64_t k = 0; k < b.len; ++k) sum += (y[base + k * b.inner] = std::exp(x[base + k * b.inner] - m));
      for (int64_t k = 0; k < b.len; ++k) {
        T& v = y[base + k * b.inner];
        v = K == Kind::Softmax ? v / sum : (x[base + k * b.inner] - m) - std::log(sum);
      }
    }
  }
}

}  // namespace

void register_softmax(Registry& r) {
  const std::string forms = "< 13: coerced to 2-D at `axis` (default 1); 13+: along `axis` (default -1). Canonical: "
                            "opset-13 form, explicit axis (older forms spanning several axes become Reshape + op + "
                            "Reshape)";
  r.push_back({"Softmax", "", kTieProne, forms, canon_softmax_family, nullptr, nullptr, kernel<Kind::Softmax, float>});
  r.back().kernel64 = kernel<Kind::Softmax, double>;
  r.push_back({"LogSoftmax", "", kTieProne, forms, canon_softmax_family, nullptr, nullptr, kernel<Kind::LogSoftmax, float>});
  r.back().kernel64 = kernel<Kind::LogSoftmax, double>;
  r.push_back({"Hardmax", "", 0, forms, canon_softmax_family, nullptr, nullptr, kernel<Kind::Hardmax, float>});
  r.back().kernel64 = kernel<Kind::Hardmax, double>;
}

}  // namespace bpu::ops
