// IR attribute and value-info conversion to ONNX.

#include "ir/onnx_export.h"

namespace bpu::ir {

void to_onnx_attribute(const std::string& name, const Attribute& v, onnx::AttributeProto* a) {
  a->set_name(name);
  switch (v.kind) {
    case Attribute::Kind::Int: a->set_type(onnx::AttributeProto::INT); a->set_i(v.i); break;
    case Attribute::Kind::Float: a->set_type(onnx::AttributeProto::FLOAT); a->set_f(v.f); break;
    case Attribute::Kind::String: a->set_type(onnx::AttributeProto::STRING); a->set_s(v.s); break;
    case Attribute::Kind::Ints:
      a->set_type(onnx::AttributeProto::INTS);
      for (int64_t x : v.ints) a->add_ints(x);
      break;
    case Attribute::Kind::Floats:
      a->set_type(onnx::AttributeProto::FLOATS);
      for (float x : v.floats) a->add_floats(x);
      break;
  }
}

void to_onnx_attributes(const Node& node, onnx::NodeProto* out) {
  for (const auto& [key, value] : node.attributes) {
    if (key.rfind("_bpu_", 0) == 0) continue;
    to_onnx_attribute(key, value, out->add_attribute());
  }
}

void to_onnx_value_info(const std::string& name, const Shape& shape, onnx::ValueInfoProto* vi, ElemType elem) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem == ElemType::Uint8 ? onnx::TensorProto::UINT8 : onnx::TensorProto::FLOAT);
  for (int64_t d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

void to_onnx_initializer(const Tensor& t, onnx::TensorProto* p) {
  p->set_name(t.name);
  for (int64_t d : t.shape) p->add_dims(d);
  // Float and int64 data as raw little-endian bytes: one memcpy, and the file no larger than the values.
  if (!t.float_data.empty() || t.elem_type == ElemType::Float || t.elem_type == ElemType::Double) {
    p->set_data_type(onnx::TensorProto::FLOAT);
    p->set_raw_data(t.float_data.data(), t.float_data.size() * sizeof(float));
  } else if (t.elem_type == ElemType::Int64) {
    p->set_data_type(onnx::TensorProto::INT64);
    p->set_raw_data(t.int_data.data(), t.int_data.size() * sizeof(int64_t));
  } else {
    p->set_data_type(static_cast<int>(t.elem_type));
    for (int64_t v : t.int_data) p->add_int32_data(static_cast<int32_t>(v));
  }
}

}  // namespace bpu::ir
