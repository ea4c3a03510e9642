// Fake-quant insertion into an ONNX model (see qdq_model.h).

#include "calib/qdq_model.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <set>

#include "common/error.h"

namespace bpu::calib {

namespace {

constexpr const char* kPrefix = "bpu_calib/";

void add_scalar_float(onnx::GraphProto* g, const std::string& name, const std::vector<float>& values, bool vector) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  if (vector) t->add_dims(static_cast<int64_t>(values.size()));
  for (float v : values) t->add_float_data(v);
}

void add_zero_point(onnx::GraphProto* g, const std::string& name, size_t count, bool vector, int bits) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(bits == 16 ? onnx::TensorProto::INT16 : onnx::TensorProto::INT8);
  if (vector) t->add_dims(static_cast<int64_t>(count));
  for (size_t i = 0; i < count; ++i) t->add_int32_data(0);
}

struct PairSpec {
  std::string source, output, scale_name, zp_name;
  bool horizon = false;
  int bits = 8;
  int axis = -1;  // per-channel axis, or -1
};

void add_pair(onnx::GraphProto* g, const PairSpec& s) {
  const std::string q_out = kPrefix + s.source + "_quantized";
  for (int k = 0; k < 2; ++k) {
    onnx::NodeProto* n = g->add_node();
    const bool quantize = k == 0;
    n->set_op_type(s.horizon ? (quantize ? "HzQuantize" : "HzDequantize") : (quantize ? "QuantizeLinear" : "DequantizeLinear"));
    if (s.horizon) n->set_domain("horizon");
    n->set_name(kPrefix + s.source + (quantize ? "_Quantize" : "_Dequantize"));
    n->add_input(quantize ? s.source : q_out);
    n->add_input(s.scale_name);
    n->add_input(s.zp_name);
    n->add_output(quantize ? q_out : s.output);
    if (s.axis >= 0) {
      onnx::AttributeProto* a = n->add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(s.axis);
    }
    if (s.horizon) {
      onnx::AttributeProto* a = n->add_attribute();
      a->set_name("bits");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(s.bits);
    }
  }
}

// Every node input named `from` (except in the nodes from `skip` on) reads `to` instead.
void rewire_inputs(onnx::GraphProto* g, const std::string& from, const std::string& to, int skip) {
  for (int i = 0; i < skip; ++i) {
    onnx::NodeProto* n = g->mutable_node(i);
    for (int k = 0; k < n->input_size(); ++k) {
      if (n->input(k) == from) n->set_input(k, to);
    }
  }
}

int64_t ai_onnx_opset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  return 0;
}

}  // namespace

std::string insert_fake_quant(const std::string& float_onnx, const std::string& context,
                              const std::vector<ActivationScale>& activations, const std::vector<WeightScale>& weights) {
  onnx::ModelProto m;
  if (!m.ParseFromString(float_onnx)) throw Error(ExitCode::Model, "model '" + context + "' is not a valid ONNX file");
  onnx::GraphProto* g = m.mutable_graph();
  const bool per_axis_qdq = ai_onnx_opset(m) >= 13;
  bool uses_horizon = false;
  std::set<std::string> outputs;
  for (const auto& o : g->output()) outputs.insert(o.name());
  for (const auto& a : activations) {
    PairSpec s;
    s.bits = a.bits;
    s.horizon = a.bits == 16;
    s.scale_name = kPrefix + a.tensor + "_scale";
    s.zp_name = kPrefix + a.tensor + "_zero_point";
    add_scalar_float(g, s.scale_name, {a.scale}, false);
    add_zero_point(g, s.zp_name, 1, false, a.bits);
    const int existing = g->node_size();
    if (outputs.count(a.tensor)) {
      // The graph output keeps its name and becomes the fake-quantized value; the float value is renamed.
      s.source = kPrefix + a.tensor + "_float";
      for (auto& n : *g->mutable_node()) {
        for (int k = 0; k < n.output_size(); ++k) if (n.output(k) == a.tensor) n.set_output(k, s.source);
      }
      rewire_inputs(g, a.tensor, s.source, 0);
      s.output = a.tensor;
      add_pair(g, s);
      rewire_inputs(g, s.source, a.tensor, existing);  // other readers take the fake-quantized value
    } else {
      s.source = a.tensor;
      s.output = kPrefix + a.tensor + "_fake_quantized";
      rewire_inputs(g, a.tensor, s.output, existing);
      add_pair(g, s);
    }
    uses_horizon |= s.horizon;
  }
  for (const auto& w : weights) {
    PairSpec s;
    s.source = w.initializer;
    s.output = kPrefix + w.initializer + "_fake_quantized";
    s.scale_name = kPrefix + w.initializer + "_scale";
    s.zp_name = kPrefix + w.initializer + "_zero_point";
    s.axis = w.axis;
    s.horizon = !per_axis_qdq;
    add_scalar_float(g, s.scale_name, w.scales, true);
    add_zero_point(g, s.zp_name, w.scales.size(), true, 8);
    rewire_inputs(g, w.initializer, s.output, g->node_size());
    add_pair(g, s);
    uses_horizon |= s.horizon;
  }
  if (uses_horizon) {
    bool has = false;
    for (const auto& o : m.opset_import()) has |= o.domain() == "horizon";
    if (!has) {
      onnx::OperatorSetIdProto* o = m.add_opset_import();
      o->set_domain("horizon");
      o->set_version(1);
    }
  }
  // Nodes must stay in topological order: each pair goes right after the producer of its source. Rebuilding
  // the order once at the end keeps the insertion simple.
  std::map<std::string, int> produced_at;
  std::vector<onnx::NodeProto> nodes(g->node().begin(), g->node().end());
  std::vector<bool> placed(nodes.size(), false);
  std::set<std::string> available;
  for (const auto& i : g->input()) available.insert(i.name());
  for (const auto& t : g->initializer()) available.insert(t.name());
  g->clear_node();
  for (size_t done = 0; done < nodes.size();) {
    size_t before = done;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const auto& in : nodes[i].input()) ready &= in.empty() || available.count(in) != 0;
      if (!ready) continue;
      *g->add_node() = nodes[i];
      for (const auto& o : nodes[i].output()) available.insert(o);
      placed[i] = true;
      ++done;
    }
    if (done == before) throw Error(ExitCode::Internal, "calibration of '" + context + "': the calibrated graph has a cycle");
  }
  std::string out;
  m.SerializeToString(&out);
  return out;
}

}  // namespace bpu::calib
