// IR nodes -> serialized ONNX ModelProto for the CPU executor.

#include "lower/cpu_subgraph.h"

#include <onnx/onnx_pb.h>

#include <set>

#include "common/error.h"
#include "ir/onnx_export.h"

namespace bpu {

namespace {

// The constant as the float graph saw it: fake-quantized weights dequantized (q * s in float32, as the
// reference's DequantizeLinear), synthesized-scale weights as the original floats.
void add_initializer(onnx::GraphProto* g, const ir::Tensor& t) {
  onnx::TensorProto* p = g->add_initializer();
  if (!(t.quant && !t.quant->synthesized && !t.quantized.empty())) {
    ir::to_onnx_initializer(t, p);
    return;
  }
  p->set_name(t.name);
  for (int64_t d : t.shape) p->add_dims(d);
  p->set_data_type(onnx::TensorProto::FLOAT);
  const auto& s = t.quant->scales;
  int64_t inner = 1;
  if (s.size() > 1) {
    for (size_t d = t.quant->axis + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
  }
  for (size_t k = 0; k < t.quantized.size(); ++k) {
    p->add_float_data(static_cast<float>(t.quantized[k]) * s[s.size() > 1 ? (k / inner) % s.size() : 0]);
  }
}

class CpuSubgraphBuilder {
 public:
  CpuSubgraphBuilder(const ir::Graph& g, const PartitionResult& part, const Segment& seg) : g_(g), part_(part), seg_(seg) {}

  CpuSegment build() {
    model_.set_ir_version(7);
    model_.set_producer_name("bpu-mapper");
    auto* op = model_.add_opset_import();
    op->set_version(std::max<int64_t>(g_.opset, 10));
    graph_ = model_.mutable_graph();
    graph_->set_name("cpu_segment");

    // The segment's nodes as they are in the graph (fusion is a BPU lowering decision, never a rewrite).
    std::vector<const ir::Node*> nodes;
    std::vector<std::vector<std::string>> outputs;
    for (int i : seg_.nodes) {
      nodes.push_back(&g_.nodes[i]);
      outputs.push_back(g_.nodes[i].outputs);
    }
    std::set<std::string> produced;
    for (const auto& outs : outputs) produced.insert(outs.begin(), outs.end());

    // Subgraph inputs: activations read but produced elsewhere; constants become initializers.
    std::set<std::string> seen_inputs, seen_constants;
    for (const ir::Node* n : nodes) {
      for (const auto& in : n->inputs) {
        if (in.empty() || produced.count(in)) continue;
        const ir::Tensor& t = g_.tensor(in);
        if (t.is_constant) {
          if (seen_constants.insert(in).second) add_initializer(graph_, t);
        } else if (seen_inputs.insert(in).second) {
          ir::to_onnx_value_info(in, t.shape, graph_->add_input(), t.elem_type);
          segment_.input_values.push_back(in);
          if (t.quant) input_alias_[in] = fake_quantize(in, in + "__fq", t);
        }
      }
    }
    // Nodes; a quantized output goes through Q/DQ so consumers and the host see the fake-quantized value.
    for (size_t k = 0; k < nodes.size(); ++k) {
      const ir::Node& n = *nodes[k];
      onnx::NodeProto* p = graph_->add_node();
      p->set_name(n.name);
      p->set_op_type(n.op_type);
      if (!n.domain.empty()) {  // horizon::HzPreprocess (an image input whose preprocessing runs on the CPU)
        p->set_domain(n.domain);
        bool declared = false;
        for (const auto& op : model_.opset_import()) declared |= op.domain() == n.domain;
        if (!declared) {
          auto* op = model_.add_opset_import();
          op->set_domain(n.domain);
          op->set_version(1);
        }
      }
      for (const auto& in : n.inputs) {
        auto alias = input_alias_.find(in);
        p->add_input(alias == input_alias_.end() ? in : alias->second);
      }
      for (const auto& o : outputs[k]) {
        const bool quantized = g_.has_tensor(o) && g_.tensor(o).quant.has_value();
        p->add_output(quantized ? o + "__raw" : o);
        if (quantized) fake_quantize(o + "__raw", o, g_.tensor(o));
      }
      ir::to_onnx_attributes(n, p);
    }
    // Outputs: produced here and read outside the segment or by the graph.
    const int my_segment = part_.placements[seg_.nodes[0]].segment;
    const std::map<std::string, std::vector<int>> consumers = g_.consumer_index();
    for (const auto& outs : outputs) {
      for (const auto& o : outs) {
        if (!g_.has_tensor(o)) continue;  // an intermediate of a fused activation
        bool outside = g_.is_graph_output(o);
        auto it = consumers.find(o);
        if (it != consumers.end()) for (int c : it->second) outside |= part_.placements[c].segment != my_segment;
        if (!outside) continue;
        ir::to_onnx_value_info(o, g_.tensor(o).shape, graph_->add_output());
        segment_.output_values.push_back(o);
      }
    }
    for (const auto& [name, shape] : shape_of_) ir::to_onnx_value_info(name, shape, graph_->add_value_info());
    std::string bytes;
    if (!model_.SerializeToString(&bytes)) throw Error(ExitCode::Internal, "cannot serialize a CPU segment");
    segment_.onnx.assign(bytes.begin(), bytes.end());
    return std::move(segment_);
  }

 private:
  // Emits QuantizeLinear/DequantizeLinear from `from` to `to` with the tensor's scale; returns `to`.
  std::string fake_quantize(const std::string& from, const std::string& to, const ir::Tensor& t) {
    const ir::QuantParams& q = *t.quant;
    onnx::TensorProto* scale = graph_->add_initializer();
    scale->set_name(t.name + "__scale");
    scale->set_data_type(onnx::TensorProto::FLOAT);
    if (q.scales.size() > 1) scale->add_dims(static_cast<int64_t>(q.scales.size()));
    for (float s : q.scales) scale->add_float_data(s);
    onnx::TensorProto* zp = graph_->add_initializer();
    zp->set_name(t.name + "__zero_point");
    zp->set_data_type(q.bits == 16 ? onnx::TensorProto::INT16 : onnx::TensorProto::INT8);
    if (q.scales.size() > 1) zp->add_dims(static_cast<int64_t>(q.scales.size()));
    for (size_t i = 0; i < q.scales.size(); ++i) zp->add_int32_data(0);
    for (const char* op : {"QuantizeLinear", "DequantizeLinear"}) {
      onnx::NodeProto* n = graph_->add_node();
      const bool is_q = op[0] == 'Q';
      n->set_name(t.name + (is_q ? "__QuantizeLinear" : "__DequantizeLinear"));
      n->set_op_type(op);
      n->add_input(is_q ? from : t.name + "__q");
      n->add_input(scale->name());
      n->add_input(zp->name());
      n->add_output(is_q ? t.name + "__q" : to);
      if (q.scales.size() > 1) ir::to_onnx_attribute("axis", ir::Attribute::of_int(q.axis), n->add_attribute());
    }
    shape_of_[from] = t.shape;
    shape_of_[to] = t.shape;
    return to;
  }

  const ir::Graph& g_;
  const PartitionResult& part_;
  const Segment& seg_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  CpuSegment segment_;
  std::map<std::string, std::string> input_alias_;
  std::map<std::string, Shape> shape_of_;
};

}  // namespace

CpuSegment build_cpu_segment(const ir::Graph& graph, const PartitionResult& partition, const Segment& segment) {
  return CpuSubgraphBuilder(graph, partition, segment).build();
}

}  // namespace bpu
