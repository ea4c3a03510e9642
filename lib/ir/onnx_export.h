// IR -> ONNX protobuf helpers shared by every stage that writes ONNX (CPU fallback subgraphs in lower/, the
// staged models in report/): attributes and float value infos.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "ir/graph.h"

namespace bpu::ir {

void to_onnx_attribute(const std::string& name, const Attribute& value, onnx::AttributeProto* out);
// Every ONNX attribute of a node; internal attributes (named "_bpu_...", e.g. Clip's recorded constant bounds) are
// not ONNX and are left out.
void to_onnx_attributes(const Node& node, onnx::NodeProto* out);
void to_onnx_value_info(const std::string& name, const Shape& shape, onnx::ValueInfoProto* out,
                        ElemType elem = ElemType::Float);  // float32, or uint8 (image pixels)
// A constant tensor as an initializer: float data as FLOAT, int64 as INT64, other integers in int32_data.
void to_onnx_initializer(const Tensor& t, onnx::TensorProto* out);

}  // namespace bpu::ir
