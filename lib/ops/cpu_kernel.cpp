// The shared parts of the CPU kernel interface: constant access, output allocation with checked sizes, and the
// data-movement helpers several op families use.

#include <algorithm>

#include "common/error.h"
#include "ops/cpu_kernel.h"

namespace bpu::cpu {

int64_t CpuTensor::count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

[[noreturn]] void KernelContext::fail(const std::string& what) const {
  throw Error(ExitCode::Artifact, "CPU node '" + node.name + "' (" + node.op_type + "): " + what);
}

std::vector<int64_t> KernelContext::ints(const std::vector<const CpuTensor*>& in, size_t k) const {
  if (!present(in, k) || !in[k]->has_data) fail("input " + std::to_string(k) + " must be a constant");
  if (in[k]->integer) return in[k]->i;
  std::vector<int64_t> out;
  for (float v : in[k]->f) out.push_back(static_cast<int64_t>(v));
  for (double v : in[k]->f.empty() ? in[k]->d : std::vector<double>()) out.push_back(static_cast<int64_t>(v));
  return out;
}

std::vector<float> KernelContext::floats(const std::vector<const CpuTensor*>& in, size_t k) const {
  if (!present(in, k) || !in[k]->has_data) fail("input " + std::to_string(k) + " must be a constant");
  if (in[k]->integer) return std::vector<float>(in[k]->i.begin(), in[k]->i.end());
  if (in[k]->f.empty() && !in[k]->d.empty()) return std::vector<float>(in[k]->d.begin(), in[k]->d.end());
  return in[k]->f;
}

std::vector<double> KernelContext::doubles(const std::vector<const CpuTensor*>& in, size_t k) const {
  if (!present(in, k) || !in[k]->has_data) fail("input " + std::to_string(k) + " must be a constant");
  if (in[k]->integer) return std::vector<double>(in[k]->i.begin(), in[k]->i.end());
  if (in[k]->d.empty() && !in[k]->f.empty()) return std::vector<double>(in[k]->f.begin(), in[k]->f.end());
  return in[k]->d;
}

template <typename T>
std::vector<T> values_as(const CpuTensor& x) {
  return x.integer ? std::vector<T>(x.i.begin(), x.i.end()) : x.values<T>();
}

template <typename T>
void allocate(const KernelContext& ctx, CpuTensor& out, const Shape& shape) {
  for (int64_t d : shape) {
    if (d < 0) ctx.fail("negative output dimension in " + shape_to_string(shape));
  }
  out.shape = shape;
  out.integer = false;
  out.has_data = !ctx.shapes_only;
  int64_t count = 1;
  for (int64_t d : shape) {
    // Checked before multiplying: a dimension read from a file can be near 2^63 (fuzz_onnx finding).
    if (d != 0 && count > kMaxTensorElements / d) ctx.fail("output " + shape_to_string(shape) + " is too large");
    count *= d;
  }
  if (!ctx.shapes_only) out.values<T>().assign(static_cast<size_t>(count), T(0));
}

int64_t kernel_axis(const KernelContext& c, int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) c.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis;
}

template <typename T>
void copy_data(const KernelContext& c, const CpuTensor& x, CpuTensor& y) {
  if (!c.shapes_only) y.values<T>() = values_as<T>(x);
}

template <typename T>
void gather_box(const CpuTensor& x, CpuTensor& y, const std::vector<int64_t>& start, const std::vector<int64_t>& step) {
  const size_t rank = x.shape.size();
  std::vector<int64_t> strides(rank, 1);
  for (int64_t k = static_cast<int64_t>(rank) - 2; k >= 0; --k) strides[k] = strides[k + 1] * x.shape[k + 1];
  const T* from = x.values<T>().data();
  T* to = y.values<T>().data();
  const int64_t n = y.count();
  if (rank == 0 || n == 0) {
    if (n == 1) to[0] = from[0];
    return;
  }
  // One row of the last axis at a time: the outer index walks the other axes, the row is a strided (often
  // contiguous) run.
  const int64_t row = y.shape[rank - 1], last_start = start[rank - 1], last_step = step[rank - 1];
  std::vector<int64_t> index(rank, 0);
  for (int64_t o = 0; o < n; o += row) {
    int64_t src = last_start;
    for (size_t k = 0; k + 1 < rank; ++k) src += (start[k] + index[k] * step[k]) * strides[k];
    if (last_step == 1) {
      std::copy(from + src, from + src + row, to + o);
    } else {
      for (int64_t j = 0; j < row; ++j) to[o + j] = from[src + j * last_step];
    }
    for (int64_t k = static_cast<int64_t>(rank) - 2; k >= 0; --k) {
      if (++index[k] < y.shape[k]) break;
      index[k] = 0;
    }
  }
}

template std::vector<float> values_as<float>(const CpuTensor&);
template std::vector<double> values_as<double>(const CpuTensor&);
template void allocate<float>(const KernelContext&, CpuTensor&, const Shape&);
template void allocate<double>(const KernelContext&, CpuTensor&, const Shape&);
template void copy_data<float>(const KernelContext&, const CpuTensor&, CpuTensor&);
template void copy_data<double>(const KernelContext&, const CpuTensor&, CpuTensor&);
template void gather_box<float>(const CpuTensor&, CpuTensor&, const std::vector<int64_t>&, const std::vector<int64_t>&);
template void gather_box<double>(const CpuTensor&, CpuTensor&, const std::vector<int64_t>&, const std::vector<int64_t>&);

}  // namespace bpu::cpu
