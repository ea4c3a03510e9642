// Builds small ONNX models in memory for tests (no torch needed): fake-quant conv chains in the standard
// QDQ dialect or in Horizon's HzQuantize/HzDequantize dialect, plus knobs to break them in specific ways.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace bpu::test {

inline onnx::TensorProto float_tensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  for (float x : v) t.add_float_data(x);
  return t;
}

inline onnx::TensorProto int_tensor(const std::string& name, int type, const std::vector<int64_t>& dims, const std::vector<int32_t>& v) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  for (int32_t x : v) t.add_int32_data(x);
  return t;
}

inline onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::string& name,
                                 const std::vector<std::string>& in, const std::vector<std::string>& out,
                                 const std::string& domain = "") {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  if (!domain.empty()) n->set_domain(domain);
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

inline void set_int_attr(onnx::NodeProto* n, const std::string& key, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline void add_value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d > 0) shape->add_dim()->set_dim_value(d);
    else shape->add_dim()->set_dim_param("N");
  }
}

struct ConvModelOptions {
  bool horizon = false;     // HzQuantize/HzDequantize (domain "horizon") instead of Q/DQ
  int activation_bits = 8;  // horizon only: bits attribute on activation fake quant
  int zero_point = 0;       // value of the activation zero point
  float input_scale = 0.02f;
  float output_scale = 0.05f;
  int64_t batch = 1;        // <= 0 makes the batch dimension dynamic
  bool flatten_output = false;  // append Flatten after the output fake quant (output y becomes [1, 48])
};

// input[1,2,4,4] -> FQ -> Conv(2->3, 3x3, pad 1, per-channel int8 weight FQ, bias) -> Relu -> FQ -> output.
inline onnx::ModelProto conv_model(const ConvModelOptions& o = {}) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_version(o.horizon ? 11 : 13);
  if (o.horizon) {
    auto* hz = m.add_opset_import();
    hz->set_domain("horizon");
    hz->set_version(1);
  }
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("test");
  add_value_info(g->add_input(), "x", {o.batch, 2, 4, 4});
  add_value_info(g->add_output(), "y", o.flatten_output ? std::vector<int64_t>{1, 48} : std::vector<int64_t>{1, 3, 4, 4});
  std::vector<float> w(3 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(static_cast<int>(i * 7 % 23) - 11);
  *g->add_initializer() = float_tensor("w", {3, 2, 3, 3}, w);
  *g->add_initializer() = float_tensor("b", {3}, {0.1f, -0.2f, 0.05f});
  *g->add_initializer() = float_tensor("s_in", {1}, {o.input_scale});
  *g->add_initializer() = float_tensor("s_out", {1}, {o.output_scale});
  *g->add_initializer() = float_tensor("s_w", {3}, {0.001f, 0.002f, 0.0015f});
  const int zp_type = o.horizon && o.activation_bits == 16 ? onnx::TensorProto::INT16 : onnx::TensorProto::INT8;
  *g->add_initializer() = int_tensor("zp", zp_type, {1}, {o.zero_point});
  *g->add_initializer() = int_tensor("zp_w", onnx::TensorProto::INT8, {3}, {0, 0, 0});
  const std::string dom = o.horizon ? "horizon" : "";
  const std::string Q = o.horizon ? "HzQuantize" : "QuantizeLinear";
  const std::string DQ = o.horizon ? "HzDequantize" : "DequantizeLinear";
  // Zero point shared through an Identity, as torch exports do.
  add_node(g, "Identity", "Identity_0", {"zp"}, {"zp_shared"});
  auto act = [&](const std::string& prefix, const std::string& in, const std::string& scale, const std::string& out) {
    auto* q = add_node(g, Q, prefix + "/QuantizeLinear", {in, scale, "zp_shared"}, {prefix + "_q"}, dom);
    auto* dq = add_node(g, DQ, prefix + "/DequantizeLinear", {prefix + "_q", scale, "zp_shared"}, {out}, dom);
    if (o.horizon) {
      set_int_attr(q, "bits", o.activation_bits);
      set_int_attr(dq, "bits", o.activation_bits);
    }
  };
  act("/in_fq", "x", "s_in", "x_dq");
  auto* wq = add_node(g, Q, "/w_fq/QuantizeLinear", {"w", "s_w", "zp_w"}, {"w_q"}, dom);
  auto* wdq = add_node(g, DQ, "/w_fq/DequantizeLinear", {"w_q", "s_w", "zp_w"}, {"w_dq"}, dom);
  set_int_attr(wq, "axis", 0);
  set_int_attr(wdq, "axis", 0);
  if (o.horizon) {
    set_int_attr(wq, "bits", 8);
    set_int_attr(wdq, "bits", 8);
  }
  auto* conv = add_node(g, "Conv", "/conv/Conv", {"x_dq", "w_dq", "b"}, {"c"});
  auto* k = conv->add_attribute();
  k->set_name("pads");
  k->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) k->add_ints(1);
  add_node(g, "Relu", "/relu/Relu", {"c"}, {"r"});
  act("/out_fq", "r", "s_out", o.flatten_output ? "y_4d" : "y");
  if (o.flatten_output) add_node(g, "Flatten", "/flatten/Flatten", {"y_4d"}, {"y"});
  return m;
}

}  // namespace bpu::test
