// A small builder for QDQ ONNX models in tests: activations get QuantizeLinear/DequantizeLinear pairs with
// a given scale, weights get per-channel fake quantization, every other node is added as written.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "onnx_builder.h"

namespace bpu::test {

class QdqModelBuilder {
 public:
  explicit QdqModelBuilder(int opset = 13) {
    model_.set_ir_version(7);
    model_.add_opset_import()->set_version(opset);
    g_ = model_.mutable_graph();
    g_->set_name("qdq");
    *g_->add_initializer() = int_tensor("zp8", onnx::TensorProto::INT8, {1}, {0});
  }

  // A float graph input, fake-quantized; returns the fake-quantized tensor.
  std::string input(const std::string& name, const std::vector<int64_t>& shape, float scale) {
    add_value_info(g_->add_input(), name, shape);
    return fq(name, scale);
  }

  // Fake-quantizes `tensor` with `scale`; returns the DequantizeLinear output.
  std::string fq(const std::string& tensor, float scale) {
    const std::string s = tensor + "_s";
    *g_->add_initializer() = float_tensor(s, {1}, {scale});
    add_node(g_, "QuantizeLinear", tensor + "/Q", {tensor, s, "zp8"}, {tensor + "_q"});
    add_node(g_, "DequantizeLinear", tensor + "/DQ", {tensor + "_q", s, "zp8"}, {tensor + "_fq"});
    return tensor + "_fq";
  }

  // A fake-quantized weight of `dims` with random values and per-channel scales along `axis`.
  std::string weight(const std::string& name, const std::vector<int64_t>& dims, int axis, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.2f);
    int64_t count = 1;
    for (int64_t v : dims) count *= v;
    std::vector<float> w(count);
    for (auto& v : w) v = d(rng);
    *g_->add_initializer() = float_tensor(name, dims, w);
    const int64_t channels = dims[axis];
    std::vector<float> scales(channels, 0.0f);
    int64_t inner = 1;
    for (size_t k = axis + 1; k < dims.size(); ++k) inner *= dims[k];
    for (int64_t k = 0; k < count; ++k) {
      float& s = scales[(k / inner) % channels];
      s = std::max(s, std::fabs(w[k]) / 127.0f);
    }
    *g_->add_initializer() = float_tensor(name + "_s", {channels}, scales);
    *g_->add_initializer() = int_tensor(name + "_zp", onnx::TensorProto::INT8, {channels}, std::vector<int32_t>(channels, 0));
    auto* q = add_node(g_, "QuantizeLinear", name + "/Q", {name, name + "_s", name + "_zp"}, {name + "_q"});
    auto* dq = add_node(g_, "DequantizeLinear", name + "/DQ", {name + "_q", name + "_s", name + "_zp"}, {name + "_fq"});
    set_int_attr(q, "axis", axis);
    set_int_attr(dq, "axis", axis);
    return name + "_fq";
  }

  std::string ints(const std::string& name, const std::vector<int64_t>& v) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t.add_int64_data(x);
    *g_->add_initializer() = t;
    return name;
  }

  std::string floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    *g_->add_initializer() = float_tensor(name, dims, v);
    return name;
  }

  onnx::NodeProto* node(const std::string& op, const std::string& name, const std::vector<std::string>& in,
                        const std::vector<std::string>& out) {
    return add_node(g_, op, name, in, out);
  }

  void ints_attr(onnx::NodeProto* n, const std::string& key, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  void output(const std::string& name, const std::vector<int64_t>& shape) { add_value_info(g_->add_output(), name, shape); }

  onnx::ModelProto& model() { return model_; }

 private:
  onnx::ModelProto model_;
  onnx::GraphProto* g_;
};

}  // namespace bpu::test
