// The state behind a public bpu_mapper::Model (lib/api/public/): the validated runner and the public
// descriptions of its inputs and outputs. Internal; shared by the C++ and C runtime APIs.
#pragma once

#include <string>
#include <vector>

#include "bpu_mapper/model.hpp"
#include "runtime/model_runner.h"

namespace bpu_mapper {

struct Model::Impl {
  Impl(bpu::ModelRunner r, std::string p, std::string name) : runner(std::move(r)), path(std::move(p)), model_name(std::move(name)) {}
  bpu::ModelRunner runner;
  std::string path;
  std::string model_name;  // the model chosen in a packed file; "" for a plain .bin
  std::string display() const { return model_name.empty() ? path : path + " [" + model_name + "]"; }
  std::vector<TensorDesc> inputs, outputs;
};

}  // namespace bpu_mapper
