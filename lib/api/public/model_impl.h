// The state behind a public bpu_mapper::Model (lib/api/public/): the validated runner and the public
// descriptions of its inputs and outputs. Internal; shared by the C++ and C runtime APIs.
#pragma once

#include <string>
#include <vector>

#include "bpu_mapper/model.hpp"
#include "runtime/model_runner.h"

namespace bpu_mapper {

struct Model::Impl {
  Impl(bpu::ModelRunner r, std::string p) : runner(std::move(r)), path(std::move(p)) {}
  bpu::ModelRunner runner;
  std::string path;
  std::vector<TensorDesc> inputs, outputs;
};

}  // namespace bpu_mapper
