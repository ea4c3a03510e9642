// The C runtime API (include/bpu_mapper/runtime.h) over the public C++ Model: status codes instead of
// exceptions, the message kept per thread for bpu_get_last_error().

#include <cstdlib>
#include <cstring>

#include "api/public/guard.h"
#include "api/public/model_impl.h"
#include "bpu_mapper/runtime.h"

struct bpu_model {
  bpu_mapper::Model model;
};

namespace {

thread_local std::string g_last_error;

int fail(int code, const std::string& message) {
  g_last_error = message;
  return code;
}

// Runs f() (which returns a status); every exception becomes its status and message.
template <class F>
int status_of(F&& f) {
  try {
    bpu_mapper::detail::guarded([&] { f(); });
    g_last_error.clear();
    return BPU_OK;
  } catch (const bpu_mapper::Error& e) {
    return fail(e.code(), e.what());
  }
}

void require(const void* p, const char* what) {
  if (!p) throw bpu_mapper::Error(BPU_ERR_USAGE, std::string(what) + " is NULL");
}

const std::vector<bpu_mapper::TensorDesc>& tensors_of(const bpu_model_t* m, bool output) {
  require(m, "model");
  return output ? m->model.outputs() : m->model.inputs();
}

const bpu_mapper::TensorDesc& tensor_at(const bpu_model_t* m, bool output, int32_t index) {
  const auto& v = tensors_of(m, output);
  if (index < 0 || static_cast<size_t>(index) >= v.size()) {
    throw bpu_mapper::Error(BPU_ERR_USAGE, std::string(output ? "output" : "input") + " index " + std::to_string(index) +
                                               " is out of range; the model has " + std::to_string(v.size()));
  }
  return v[index];
}

bpu_dtype_t dtype_code(const std::string& name) {
  if (name == "int8") return BPU_DTYPE_INT8;
  if (name == "int16") return BPU_DTYPE_INT16;
  if (name == "int32") return BPU_DTYPE_INT32;
  return BPU_DTYPE_FLOAT32;
}

void fill_properties(const bpu_mapper::TensorDesc& d, bpu_tensor_properties_t* p) {
  require(p, "properties");
  *p = bpu_tensor_properties_t{};
  p->name = d.name.c_str();
  p->dtype = dtype_code(d.dtype);
  p->rank = static_cast<int32_t>(d.shape.size());
  p->element_count = 1;
  for (size_t i = 0; i < d.shape.size() && i < BPU_MAX_RANK; ++i) {
    p->dims[i] = d.shape[i];
    p->element_count *= d.shape[i];
  }
  p->scale_count = static_cast<int32_t>(d.scales.size());
  p->scales = d.scales.empty() ? nullptr : d.scales.data();
  p->scale_axis = d.axis;
  p->layout = d.layout == "NCHW" ? BPU_LAYOUT_NCHW : BPU_LAYOUT_ROW_MAJOR;
}

int find_index(const bpu_model_t* m, bool output, const char* name, int32_t* index) {
  return status_of([&] {
    require(name, "name");
    require(index, "index");
    const auto& v = tensors_of(m, output);
    std::string names;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i].name == name) {
        *index = static_cast<int32_t>(i);
        return;
      }
      names += (names.empty() ? "" : ", ") + v[i].name;
    }
    throw bpu_mapper::Error(BPU_ERR_USAGE, std::string("the model has no ") + (output ? "output" : "input") + " '" +
                                               name + "' (" + names + ")");
  });
}

// The tensor's shape from its properties, checked against its buffer.
std::vector<int64_t> shape_of(const bpu_tensor_t& t, const std::string& what) {
  if (t.properties.rank < 0 || t.properties.rank > BPU_MAX_RANK) throw bpu_mapper::Error(BPU_ERR_USAGE, what + ": bad rank");
  std::vector<int64_t> shape(t.properties.dims, t.properties.dims + t.properties.rank);
  size_t n = 1;
  for (int64_t d : shape) n *= d > 0 ? static_cast<size_t>(d) : 0;
  if (!t.data || n != t.count) throw bpu_mapper::Error(BPU_ERR_USAGE, what + ": data is NULL or count does not match its dims");
  return shape;
}

}  // namespace

extern "C" {

const char* bpu_version(void) { return BPU_MAPPER_VERSION; }
const char* bpu_get_last_error(void) { return g_last_error.c_str(); }

const char* bpu_status_name(int status) {
  switch (status) {
    case BPU_OK: return "ok";
    case BPU_ERR_USAGE: return "usage";
    case BPU_ERR_CONFIG: return "config";
    case BPU_ERR_MODEL: return "model";
    case BPU_ERR_UNSUPPORTED: return "unsupported";
    case BPU_ERR_ACCURACY: return "accuracy";
    case BPU_ERR_IO: return "io";
    case BPU_ERR_ARTIFACT: return "artifact";
    case BPU_ERR_INTERNAL: return "internal";
    default: return "unknown";
  }
}

int bpu_model_load(const char* path, bpu_model_t** model) { return bpu_model_load_named(path, nullptr, model); }

int bpu_model_load_named(const char* path, const char* model_name, bpu_model_t** model) {
  if (model) *model = nullptr;
  return status_of([&] {
    require(path, "path");
    require(model, "model");
    *model = new bpu_model{bpu_mapper::Model::load(path, "", model_name ? model_name : "")};
  });
}

int bpu_model_release(bpu_model_t* model) {
  return status_of([&] {
    require(model, "model");
    delete model;
  });
}

int bpu_model_set_threads(bpu_model_t* model, int32_t threads) {
  return status_of([&] {
    require(model, "model");
    model->model.set_threads(threads);
  });
}

int bpu_model_get_input_count(const bpu_model_t* model, int32_t* count) {
  return status_of([&] {
    require(count, "count");
    *count = static_cast<int32_t>(tensors_of(model, false).size());
  });
}

int bpu_model_get_output_count(const bpu_model_t* model, int32_t* count) {
  return status_of([&] {
    require(count, "count");
    *count = static_cast<int32_t>(tensors_of(model, true).size());
  });
}

int bpu_model_get_input_properties(const bpu_model_t* model, int32_t index, bpu_tensor_properties_t* out) {
  return status_of([&] { fill_properties(tensor_at(model, false, index), out); });
}

int bpu_model_get_output_properties(const bpu_model_t* model, int32_t index, bpu_tensor_properties_t* out) {
  return status_of([&] { fill_properties(tensor_at(model, true, index), out); });
}

int bpu_model_get_input_index(const bpu_model_t* model, const char* name, int32_t* index) {
  return find_index(model, false, name, index);
}

int bpu_model_get_output_index(const bpu_model_t* model, const char* name, int32_t* index) {
  return find_index(model, true, name, index);
}

int bpu_tensor_alloc(const bpu_model_t* model, int is_output, int32_t index, bpu_tensor_t* tensor) {
  return status_of([&] {
    require(tensor, "tensor");
    *tensor = bpu_tensor_t{};
    fill_properties(tensor_at(model, is_output != 0, index), &tensor->properties);
    size_t n = static_cast<size_t>(tensor->properties.element_count);
    tensor->data = static_cast<float*>(std::calloc(n ? n : 1, sizeof(float)));
    if (!tensor->data) throw bpu_mapper::Error(BPU_ERR_INTERNAL, "out of memory allocating " + std::to_string(n) + " floats");
    tensor->count = n;
  });
}

int bpu_tensor_free(bpu_tensor_t* tensor) {
  return status_of([&] {
    require(tensor, "tensor");
    std::free(tensor->data);
    *tensor = bpu_tensor_t{};
  });
}

int bpu_model_infer(bpu_model_t* model, const bpu_tensor_t* inputs, int32_t input_count, bpu_tensor_t* outputs,
                    int32_t output_count) {
  return status_of([&] {
    const auto& ins = tensors_of(model, false);
    const auto& outs = tensors_of(model, true);
    if (input_count != static_cast<int32_t>(ins.size()) || output_count != static_cast<int32_t>(outs.size())) {
      throw bpu_mapper::Error(BPU_ERR_USAGE, "bpu_model_infer: the model has " + std::to_string(ins.size()) + " input(s) and " +
                                                 std::to_string(outs.size()) + " output(s), given " + std::to_string(input_count) +
                                                 " and " + std::to_string(output_count));
    }
    if ((input_count && !inputs) || (output_count && !outputs)) throw bpu_mapper::Error(BPU_ERR_USAGE, "inputs or outputs is NULL");
    bpu_mapper::TensorMap feed;
    for (int32_t i = 0; i < input_count; ++i) {
      std::vector<int64_t> shape = shape_of(inputs[i], "input " + std::to_string(i) + " ('" + ins[i].name + "')");
      feed[ins[i].name] = bpu_mapper::Tensor{shape, std::vector<float>(inputs[i].data, inputs[i].data + inputs[i].count)};
    }
    for (int32_t j = 0; j < output_count; ++j) shape_of(outputs[j], "output " + std::to_string(j) + " ('" + outs[j].name + "')");
    bpu_mapper::TensorMap result = model->model.run(feed);
    for (int32_t j = 0; j < output_count; ++j) {
      const bpu_mapper::Tensor& t = result.at(outs[j].name);
      if (t.data.size() != outputs[j].count) {
        throw bpu_mapper::Error(BPU_ERR_USAGE, "output " + std::to_string(j) + " ('" + outs[j].name + "') holds " +
                                                   std::to_string(outputs[j].count) + " floats, the result has " +
                                                   std::to_string(t.data.size()));
      }
      std::memcpy(outputs[j].data, t.data.data(), t.data.size() * sizeof(float));
    }
  });
}

int bpu_npy_load(const char* path, bpu_tensor_t* tensor) {
  return status_of([&] {
    require(path, "path");
    require(tensor, "tensor");
    *tensor = bpu_tensor_t{};
    bpu_mapper::Tensor t = bpu_mapper::load_npy(path);
    if (t.shape.size() > BPU_MAX_RANK) throw bpu_mapper::Error(BPU_ERR_USAGE, std::string("'") + path + "': rank above 8");
    tensor->properties.dtype = BPU_DTYPE_FLOAT32;
    tensor->properties.rank = static_cast<int32_t>(t.shape.size());
    tensor->properties.element_count = static_cast<int64_t>(t.data.size());
    for (size_t i = 0; i < t.shape.size(); ++i) tensor->properties.dims[i] = t.shape[i];
    tensor->data = static_cast<float*>(std::malloc((t.data.empty() ? 1 : t.data.size()) * sizeof(float)));
    if (!tensor->data) throw bpu_mapper::Error(BPU_ERR_INTERNAL, "out of memory");
    std::memcpy(tensor->data, t.data.data(), t.data.size() * sizeof(float));
    tensor->count = t.data.size();
  });
}

int bpu_npy_save(const char* path, const bpu_tensor_t* tensor) {
  return status_of([&] {
    require(path, "path");
    require(tensor, "tensor");
    std::vector<int64_t> shape = shape_of(*tensor, std::string("tensor for '") + path + "'");
    bpu_mapper::save_npy(path, bpu_mapper::Tensor{shape, std::vector<float>(tensor->data, tensor->data + tensor->count)});
  });
}

}  // extern "C"
