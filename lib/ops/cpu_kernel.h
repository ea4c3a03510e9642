// The CPU kernel interface of the op registry (ops/op_def.h): float32 kernels of the CPU fallback executor and the
// QAT reference, ONNX semantics of the model's own opset, one function per op. Each kernel computes its
// output shapes from its inputs' shapes (and constant inputs such as Reshape's shape); with shapes_only it stops
// there, which the loader uses to validate a CPU segment before anything runs. QuantizeLinear rounds as
// PyTorch's fake quantize does (x * (1/s), ties to even), the reference of QAT models.
#pragma once

#include <string>
#include <vector>

#include "common/dtype.h"
#include "ir/graph.h"

namespace bpu {
class ThreadPool;
}

namespace bpu::cpu {

struct CpuTensor {
  Shape shape;
  std::vector<float> f;    // float data (QuantizeLinear outputs hold integer values as floats)
  std::vector<int64_t> i;  // integer constants (shapes, axes, pads)
  bool integer = false;
  ir::ElemType elem_type = ir::ElemType::Float;  // ONNX type of a constant (zero points: int8/uint8/int16)
  bool has_data = true;    // false for non-constant values during shape validation
  int64_t count() const;
};

struct KernelContext {
  const ir::Node& node;
  int64_t opset;
  bool shapes_only;
  // Workers for the kernels that split their work (Conv's output columns); null: the calling thread only.
  // A kernel's result never depends on it.
  ThreadPool* pool;
  [[noreturn]] void fail(const std::string& what) const;
  // Constant integer / float values of input k (Reshape shape, Slice starts, Clip bounds ...).
  std::vector<int64_t> ints(const std::vector<const CpuTensor*>& in, size_t k) const;
  std::vector<float> floats(const std::vector<const CpuTensor*>& in, size_t k) const;
  bool present(const std::vector<const CpuTensor*>& in, size_t k) const { return k < in.size() && in[k] != nullptr; }
};

using CpuKernel = void (*)(const KernelContext&, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out);

// Allocates out's float data for its shape (checked element count) unless shapes_only.
void allocate(const KernelContext& ctx, CpuTensor& out, const Shape& shape);
// Axis in [0, rank) from a possibly negative one; fails naming the node when out of range.
int64_t kernel_axis(const KernelContext& ctx, int64_t axis, int64_t rank);
// y's data = x's data (as floats) unless shapes_only.
void copy_data(const KernelContext& ctx, const CpuTensor& x, CpuTensor& y);
// Copies the box starting at `start` with `step` per axis from x into y (y's shape gives the box size).
void gather_box(const CpuTensor& x, CpuTensor& y, const std::vector<int64_t>& start, const std::vector<int64_t>& step);

}  // namespace bpu::cpu
