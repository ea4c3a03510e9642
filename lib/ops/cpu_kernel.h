// The CPU kernel interface of the op registry (ops/op_def.h): float32 kernels of the CPU fallback executor and the
// QAT reference, ONNX semantics of the model's own opset, one function per op. Each kernel computes its
// output shapes from its inputs' shapes (and constant inputs such as Reshape's shape); with shapes_only it stops
// there, which the loader uses to validate a CPU segment before anything runs. QuantizeLinear rounds as
// PyTorch's fake quantize does (x * (1/s), ties to even), the reference of QAT models.
// Kernels are written once over their scalar type T: T = float is the executor's (and torch's) float32, T = double
// the exact float64 run of `verify --exact` (OpDef::kernel64), whose values live in CpuTensor::d.
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
  std::vector<double> d;   // the same in a float64 run (kernels over double read and write only this)
  std::vector<int64_t> i;  // integer constants (shapes, axes, pads)
  // A float64 executor's constant whose values are all int8 codes (a QAT weight's QuantizeLinear output), held at
  // a quarter of float32's size; CpuGraph widens it to d for the node reading it, so no kernel sees this field.
  std::vector<int8_t> q8;
  bool integer = false;
  ir::ElemType elem_type = ir::ElemType::Float;  // ONNX type of a constant (zero points: int8/uint8/int16)
  bool has_data = true;    // false for non-constant values during shape validation
  int64_t count() const;
  // f for T = float, d for T = double.
  template <typename T> std::vector<T>& values();
  template <typename T> const std::vector<T>& values() const;
};
template <> inline std::vector<float>& CpuTensor::values<float>() { return f; }
template <> inline std::vector<double>& CpuTensor::values<double>() { return d; }
template <> inline const std::vector<float>& CpuTensor::values<float>() const { return f; }
template <> inline const std::vector<double>& CpuTensor::values<double>() const { return d; }

struct KernelContext {
  const ir::Node& node;
  int64_t opset;
  bool shapes_only;
  // Workers for the kernels that split their work (Conv's output columns); null: the calling thread only.
  // A kernel's result never depends on it.
  ThreadPool* pool;
  // True while the executor folds a node reading only constants at load (a QAT weight's QuantizeLinear): a
  // float64 run quantizes weights as torch does, in float32, and activations exactly.
  bool folding = false;
  [[noreturn]] void fail(const std::string& what) const;
  // Constant integer / float values of input k (Reshape shape, Slice starts, Clip bounds ...).
  std::vector<int64_t> ints(const std::vector<const CpuTensor*>& in, size_t k) const;
  std::vector<float> floats(const std::vector<const CpuTensor*>& in, size_t k) const;
  // The same in double (a float64 run's folded constants hold only d).
  std::vector<double> doubles(const std::vector<const CpuTensor*>& in, size_t k) const;
  bool present(const std::vector<const CpuTensor*>& in, size_t k) const { return k < in.size() && in[k] != nullptr; }
};

using CpuKernel = void (*)(const KernelContext&, const std::vector<const CpuTensor*>& in, std::vector<CpuTensor>& out);

// Allocates out's data (f for T = float, d for T = double) for its shape (checked element count) unless shapes_only.
template <typename T = float>
void allocate(const KernelContext& ctx, CpuTensor& out, const Shape& shape);
// Axis in [0, rank) from a possibly negative one; fails naming the node when out of range.
int64_t kernel_axis(const KernelContext& ctx, int64_t axis, int64_t rank);
// y's data = x's data (as T) unless shapes_only.
template <typename T = float>
void copy_data(const KernelContext& ctx, const CpuTensor& x, CpuTensor& y);
// Copies the box starting at `start` with `step` per axis from x into y (y's shape gives the box size).
template <typename T = float>
void gather_box(const CpuTensor& x, CpuTensor& y, const std::vector<int64_t>& start, const std::vector<int64_t>& step);
// x's values as T: its integers converted when x is an integer tensor.
template <typename T>
std::vector<T> values_as(const CpuTensor& x);

}  // namespace bpu::cpu
