// Emits the IR graph as ONNX, with or without explicit quantization.

#include "report/staged_models.h"

#include <onnx/onnx_pb.h>

#include <ostream>
#include <set>

#include "common/error.h"
#include "common/file_io.h"
#include "ir/onnx_export.h"

namespace bpu {

namespace {

class Emitter {
 public:
  Emitter(const ir::Graph& g, bool quantized) : g_(g), quantized_(quantized) {
    model_.set_ir_version(7);
    model_.set_producer_name("bpu-mapper");
    model_.add_opset_import()->set_version(std::max<int64_t>(g.opset, 13));
    graph_ = model_.mutable_graph();
    graph_->set_name(quantized ? "quantized_model" : "optimized_float_model");
  }

  std::string emit() {
    build();
    std::string bytes;
    if (!model_.SerializeToString(&bytes)) throw Error(ExitCode::Internal, "cannot serialize a staged model");
    return bytes;
  }

  void write(const std::string& path) {
    build();
    write_file_atomic_with(path, [&](std::ostream& out) { return model_.SerializeToOstream(&out); });
  }

 private:
  void build() {
    for (const auto& in : g_.inputs) {
      ir::to_onnx_value_info(in, g_.tensor(in).shape, graph_->add_input(), g_.tensor(in).elem_type);
      if (quantized_ && g_.tensor(in).quant && g_.tensor(in).quant->bits == 8) alias_[in] = fake_quantize(in, in + "__fq", *g_.tensor(in).quant);
    }
    for (const auto& n : g_.nodes) emit_node(n, n.outputs);
    for (const auto& o : g_.outputs) ir::to_onnx_value_info(o, g_.tensor(o).shape, graph_->add_output());
  }

  std::string input_name(const std::string& name) {
    auto it = alias_.find(name);
    if (it != alias_.end()) return it->second;
    if (!g_.has_tensor(name)) return name;
    const ir::Tensor& t = g_.tensor(name);
    if (t.is_constant && !initialized_.count(name)) add_constant(t);
    return initialized_.count(name) ? initialized_[name] : name;
  }

  void add_constant(const ir::Tensor& t) {
    if (quantized_ && t.quant && !t.quantized.empty() && t.quant->bits == 8) {
      // int8 weight + DequantizeLinear.
      onnx::TensorProto* q = graph_->add_initializer();
      q->set_name(t.name + "__int8");
      q->set_data_type(onnx::TensorProto::INT8);
      for (int64_t d : t.shape) q->add_dims(d);
      q->set_raw_data(t.quantized.data(), t.quantized.size());
      dequantize(t.name + "__int8", t.name, *t.quant);
      initialized_[t.name] = t.name;
      return;
    }
    ir::to_onnx_initializer(t, graph_->add_initializer());
    initialized_[t.name] = t.name;
  }

  void scale_and_zero_point(const std::string& base, const ir::QuantParams& q, std::string* scale, std::string* zp) {
    *scale = base + "__scale";
    *zp = base + "__zero_point";
    if (made_.insert(*scale).second) {
      onnx::TensorProto* s = graph_->add_initializer();
      s->set_name(*scale);
      s->set_data_type(onnx::TensorProto::FLOAT);
      if (q.scales.size() > 1) s->add_dims(static_cast<int64_t>(q.scales.size()));
      for (float v : q.scales) s->add_float_data(v);
      onnx::TensorProto* z = graph_->add_initializer();
      z->set_name(*zp);
      z->set_data_type(onnx::TensorProto::INT8);
      if (q.scales.size() > 1) z->add_dims(static_cast<int64_t>(q.scales.size()));
      for (size_t i = 0; i < q.scales.size(); ++i) z->add_int32_data(0);
    }
  }

  void dequantize(const std::string& from, const std::string& to, const ir::QuantParams& q) {
    std::string scale, zp;
    scale_and_zero_point(to, q, &scale, &zp);
    onnx::NodeProto* n = graph_->add_node();
    n->set_name(to + "/DequantizeLinear");
    n->set_op_type("DequantizeLinear");
    n->add_input(from);
    n->add_input(scale);
    n->add_input(zp);
    n->add_output(to);
    if (q.scales.size() > 1) ir::to_onnx_attribute("axis", ir::Attribute::of_int(q.axis), n->add_attribute());
  }

  std::string fake_quantize(const std::string& from, const std::string& to, const ir::QuantParams& q) {
    std::string scale, zp;
    scale_and_zero_point(to, q, &scale, &zp);
    onnx::NodeProto* n = graph_->add_node();
    n->set_name(to + "/QuantizeLinear");
    n->set_op_type("QuantizeLinear");
    n->add_input(from);
    n->add_input(scale);
    n->add_input(zp);
    n->add_output(to + "__int");
    if (q.scales.size() > 1) ir::to_onnx_attribute("axis", ir::Attribute::of_int(q.axis), n->add_attribute());
    dequantize(to + "__int", to, q);
    return to;
  }

  void emit_node(const ir::Node& n, const std::vector<std::string>& outputs) {
    // Inputs first: a weight's DequantizeLinear must come before the node that reads it.
    std::vector<std::string> inputs;
    for (const auto& in : n.inputs) inputs.push_back(in.empty() ? "" : input_name(in));
    onnx::NodeProto* p = graph_->add_node();
    p->set_name(n.name);
    p->set_op_type(n.op_type);
    p->set_domain(n.domain);
    if (!n.domain.empty() && !declared_.count(n.domain)) {  // e.g. horizon::HzPreprocess
      declared_.insert(n.domain);
      auto* op = model_.add_opset_import();
      op->set_domain(n.domain);
      op->set_version(1);
    }
    for (const auto& in : inputs) p->add_input(in);
    for (const auto& o : outputs) {
      // 16-bit tensors stay float: ONNX has no 16-bit QuantizeLinear before opset 21.
      const bool q = quantized_ && g_.has_tensor(o) && g_.tensor(o).quant && !g_.tensor(o).is_constant &&
                     g_.tensor(o).quant->bits == 8;
      p->add_output(q ? o + "__float" : o);
      if (q) fake_quantize(o + "__float", o, *g_.tensor(o).quant);
    }
    ir::to_onnx_attributes(n, p);
  }

  const ir::Graph& g_;
  bool quantized_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
  std::map<std::string, std::string> alias_, initialized_;
  std::set<std::string> made_;
  std::set<std::string> declared_;  // opset_import domains besides ai.onnx
};

}  // namespace

std::string optimized_float_model(const ir::Graph& graph) { return Emitter(graph, false).emit(); }
std::string quantized_model(const ir::Graph& graph) { return Emitter(graph, true).emit(); }
void write_optimized_float_model(const ir::Graph& graph, const std::string& path) { Emitter(graph, false).write(path); }
void write_quantized_model(const ir::Graph& graph, const std::string& path) { Emitter(graph, true).write(path); }

}  // namespace bpu
