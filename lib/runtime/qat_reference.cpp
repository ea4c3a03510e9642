// Literal execution of QAT graphs and the fake-quant-free float model.

#include "runtime/qat_reference.h"

#include <onnx/onnx_pb.h>

#include <ostream>

#include "common/error.h"
#include "common/file_io.h"
#include "onnx_import/onnx_import.h"

namespace bpu {

namespace {

bool is_quantize(const onnx::NodeProto& n) {
  return (n.op_type() == "QuantizeLinear" && (n.domain().empty() || n.domain() == "ai.onnx")) ||
         (n.op_type() == "HzQuantize" && n.domain() == "horizon");
}
bool is_dequantize(const onnx::NodeProto& n) {
  return (n.op_type() == "DequantizeLinear" && (n.domain().empty() || n.domain() == "ai.onnx")) ||
         (n.op_type() == "HzDequantize" && n.domain() == "horizon");
}

onnx::ModelProto parse(const std::string& bytes, const std::string& context) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes)) throw Error(ExitCode::Model, "model '" + context + "' is not a valid ONNX file");
  return m;
}

// Horizon fake-quant ops as standard Q/DQ: the bits attribute becomes the zero point's type.
void standardize_horizon(onnx::ModelProto& m) {
  auto* g = m.mutable_graph();
  int counter = 0;
  for (auto& n : *g->mutable_node()) {
    if (n.domain() != "horizon" || (n.op_type() != "HzQuantize" && n.op_type() != "HzDequantize")) continue;
    int bits = 8;
    int64_t axis = -1;
    google::protobuf::RepeatedPtrField<onnx::AttributeProto> kept;
    for (const auto& a : n.attribute()) {
      if (a.name() == "bits") bits = static_cast<int>(a.i());
      else if (a.name() == "axis") { axis = a.i(); kept.Add()->CopyFrom(a); }
    }
    n.mutable_attribute()->Swap(&kept);
    n.set_domain("");
    n.set_op_type(n.op_type() == "HzQuantize" ? "QuantizeLinear" : "DequantizeLinear");
    // A zero point of the right width (all zeros), sized like the scale.
    const std::string zp = "__bpu_zero_point_" + std::to_string(counter++);
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(zp);
    t->set_data_type(bits == 16 ? onnx::TensorProto::INT16 : onnx::TensorProto::INT8);
    int64_t channels = 1;
    for (const auto& init : g->initializer()) {
      if (n.input_size() > 1 && init.name() == n.input(1)) {
        channels = 1;
        for (int64_t d : init.dims()) channels *= d;
        if (init.dims_size() > 0) t->add_dims(channels);
      }
    }
    for (int64_t k = 0; k < channels; ++k) t->add_int32_data(0);
    while (n.input_size() < 3) n.add_input("");
    n.set_input(2, zp);
    (void)axis;
  }
}

// Removes every fake-quant pair in place (each DequantizeLinear output rewired to the Quantize input).
void strip_in_place(onnx::ModelProto& m) {
  auto* g = m.mutable_graph();
  std::map<std::string, std::string> q_input;   // Q output -> Q input
  std::map<std::string, std::string> replace;   // DQ output -> original float tensor
  for (const auto& n : g->node()) {
    if (is_quantize(n) && n.input_size() > 0 && n.output_size() == 1) q_input[n.output(0)] = n.input(0);
  }
  for (const auto& n : g->node()) {
    if (is_dequantize(n) && n.input_size() > 0 && q_input.count(n.input(0))) replace[n.output(0)] = q_input[n.input(0)];
  }
  // Chained fake quantization (DQ -> Q -> DQ): follow replacements to the original float tensor.
  for (auto& [dq_out, source] : replace) {
    for (int hops = 0; hops < 64 && replace.count(source); ++hops) source = replace.at(source);
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& n : *g->mutable_node()) {
    if ((is_quantize(n) && q_input.count(n.output(0))) || (is_dequantize(n) && replace.count(n.output(0)))) continue;
    onnx::NodeProto* k = kept.Add();
    k->Swap(&n);
    for (int i = 0; i < k->input_size(); ++i) {
      auto it = replace.find(k->input(i));
      if (it != replace.end()) k->set_input(i, it->second);
    }
  }
  g->mutable_node()->Swap(&kept);
  // A graph output that was a DQ output: insert an Identity so the output keeps its name.
  for (const auto& o : g->output()) {
    auto it = replace.find(o.name());
    if (it == replace.end()) continue;
    onnx::NodeProto* n = g->add_node();
    n->set_op_type("Identity");
    n->set_name(o.name() + "/float_output");
    n->add_input(it->second);
    n->add_output(o.name());
  }
  g->clear_value_info();
  // Horizon-domain imports are no longer needed once the fake-quant ops are gone.
  google::protobuf::RepeatedPtrField<onnx::OperatorSetIdProto> ops;
  for (const auto& op : m.opset_import()) if (op.domain() != "horizon") ops.Add()->CopyFrom(op);
  m.mutable_opset_import()->Swap(&ops);
}

}  // namespace

std::string strip_fake_quantization(const std::string& onnx_bytes, const std::string& context, const ImportOptions& shapes) {
  onnx::ModelProto m = parse(onnx_bytes, context);
  apply_input_shapes(m, shapes, context);
  strip_in_place(m);
  std::string out;
  m.SerializeToString(&out);
  return out;
}

void write_float_model(const std::string& onnx_path, const std::string& out_path, const ImportOptions& shapes) {
  onnx::ModelProto m;
  parse_onnx_file(onnx_path, &m);
  apply_input_shapes(m, shapes, onnx_path);
  strip_in_place(m);
  write_file_atomic_with(out_path, [&](std::ostream& out) { return m.SerializeToOstream(&out); });
}

QatReference QatReference::from_file(const std::string& onnx_path, const ImportOptions& shapes, bool strip_fake_quant,
                                     cpu::Precision precision) {
  onnx::ModelProto m;
  parse_onnx_file(onnx_path, &m);
  return from_model(m, onnx_path, strip_fake_quant, shapes, false, precision);
}

QatReference QatReference::from_bytes(const std::string& bytes, const std::string& context, bool strip_fake_quant,
                                      const ImportOptions& shapes, bool keep_weights) {
  onnx::ModelProto m = parse(bytes, context);
  return from_model(m, context, strip_fake_quant, shapes, keep_weights);
}

QatReference QatReference::from_model(onnx::ModelProto& m, const std::string& context, bool strip_fake_quant,
                                      const ImportOptions& shapes, bool keep_weights, cpu::Precision precision) {
  apply_input_shapes(m, shapes, context);
  if (strip_fake_quant) strip_in_place(m);
  standardize_horizon(m);
  QatReference r;
  std::map<std::string, std::string> dq_of;  // Q output -> DQ output
  for (const auto& d : m.graph().node()) {
    if (d.op_type() == "DequantizeLinear" && d.input_size() > 0 && d.output_size() == 1) dq_of[d.input(0)] = d.output(0);
  }
  for (const auto& n : m.graph().node()) {
    if (n.op_type() == "QuantizeLinear" && n.input_size() > 0 && n.output_size() == 1 && dq_of.count(n.output(0))) {
      r.fq_alias_[n.input(0)] = dq_of.at(n.output(0));
    }
  }
  try {
    r.graph_ = std::make_shared<cpu::CpuGraph>(m, context, keep_weights, precision);
  } catch (const Error& e) {
    throw Error(ExitCode::Unsupported, std::string(precision == cpu::Precision::Float64
                                                       ? "cannot run the QAT model as the exact float64 reference: "
                                                       : "cannot run the QAT model as a float reference: ") + e.what());
  }
  return r;
}

std::map<std::string, FloatArray> QatReference::run(const std::map<std::string, FloatArray>& inputs,
                                                    std::map<std::string, FloatArray>* trace,
                                                    const std::map<std::string, const std::vector<float>*>* overrides,
                                                    const std::set<std::string>* trace_only,
                                                    const cpu::CpuGraph::Observer* observe) const {
  std::map<std::string, const std::vector<float>*> in;
  for (const auto& name : graph_->graph().inputs) {
    auto it = inputs.find(name);
    if (it == inputs.end()) throw Error(ExitCode::Usage, "input '" + name + "' is missing");
    const Shape& want = graph_->graph().tensor(name).shape;
    if (it->second.shape != want || it->second.data.size() != static_cast<size_t>(checked_element_count(want, name, ExitCode::Usage))) {
      throw Error(ExitCode::Usage, "input '" + name + "' has shape " + shape_to_string(it->second.shape) + " (" +
                                       std::to_string(it->second.data.size()) + " values) but the QAT model runs at " +
                                       shape_to_string(want) + "; give an input of that shape (or the model's "
                                       "input_shape)");
    }
    in[name] = &it->second.data;
  }
  std::map<std::string, std::vector<float>> raw_trace;
  auto outs = graph_->run(in, trace ? &raw_trace : nullptr, overrides, nullptr, trace_only, pool_.get(), observe);
  std::map<std::string, FloatArray> result;
  for (auto& [name, data] : outs) result[name] = FloatArray{graph_->graph().tensor(name).shape, std::move(data)};
  if (trace) {
    for (auto& [name, data] : raw_trace) {
      const ir::Graph& g = graph_->graph();
      (*trace)[name] = FloatArray{g.has_tensor(name) ? g.tensor(name).shape : Shape{}, std::move(data)};
    }
  }
  return result;
}

void QatReference::use_threads(int threads) { pool_ = threads > 1 ? std::make_shared<ThreadPool>(threads) : nullptr; }

std::string QatReference::fake_quantized_name(const std::string& tensor) const {
  auto it = fq_alias_.find(tensor);
  return it == fq_alias_.end() ? tensor : it->second;
}

}  // namespace bpu
