// Shared by the public API sources (lib/api/public/): converts internal types to the public ones and every
// internal exception to bpu_mapper::Error with the same exit-code class, so no internal type crosses the API.
#pragma once

#include <new>
#include <string>

#include "bpu_mapper/model.hpp"
#include "common/error.h"
#include "common/npy.h"
#include "lower/compiled_model.h"

namespace bpu_mapper::detail {

// Runs f(); bpu::Error keeps its class, std::bad_alloc and other exceptions become Error(70).
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const bpu::Error& e) {
    throw Error(static_cast<int>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    throw Error(BPU_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    throw Error(BPU_ERR_INTERNAL, std::string("internal error: ") + e.what());
  }
}

TensorDesc describe(const bpu::TensorInfo& info);
std::map<std::string, bpu::FloatArray> to_internal(const TensorMap& tensors);
TensorMap to_public(std::map<std::string, bpu::FloatArray>&& arrays);

}  // namespace bpu_mapper::detail
