// ONNX ModelProto -> ir::Graph: initializers, Constant/Identity resolution, shape inference and validation.

#include "onnx_import/onnx_import.h"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <set>

#include "common/error.h"
#include "common/file_io.h"
#include "ops/op_def.h"

namespace bpu {

namespace {

constexpr int kMaxNodes = 1 << 20;

[[noreturn]] void model_error(const std::string& source, const std::string& what) {
  throw Error(ExitCode::Model, "model '" + source + "': " + what);
}

// Static shape of a ValueInfo, or false when it has no complete static shape.
bool static_shape(const onnx::ValueInfoProto& vi, Shape* shape) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return false;
  Shape s;
  for (const auto& d : vi.type().tensor_type().shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() <= 0) return false;
    s.push_back(d.dim_value());
  }
  *shape = s;
  return true;
}

ir::ElemType checked_elem_type(int32_t code, const std::string& source, const std::string& tensor) {
  switch (code) {
    case 1: case 2: case 3: case 5: case 6: case 7: case 9: case 11:
      return static_cast<ir::ElemType>(code);
    default:
      model_error(source, "tensor '" + tensor + "' has element type " + std::to_string(code) +
                              ", which bpu-mapper does not support (float32, float64, int8/16/32/64, uint8, bool)");
  }
}

// Converts a TensorProto (initializer or Constant value) into an IR constant tensor with checked sizes.
ir::Tensor constant_from_proto(const onnx::TensorProto& t, const std::string& name, const std::string& source) {
  ir::Tensor out;
  out.name = name;
  out.is_constant = true;
  out.has_shape = true;
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0) {
    model_error(source, "initializer '" + name + "' uses external data, which is not supported; save the model "
                                                  "with all tensors inside the .onnx file");
  }
  out.elem_type = checked_elem_type(t.data_type(), source, name);
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxTensorElements) model_error(source, "initializer '" + name + "' has dimension " + std::to_string(d));
    out.shape.push_back(d);
  }
  // A constant may have a zero dimension (empty Resize roi); otherwise apply the element cap.
  int64_t count = 1;
  for (int64_t d : out.shape) {
    count *= d;
    if (count > kMaxTensorElements) model_error(source, "initializer '" + name + "' is too large");
  }
  const std::string& raw = t.raw_data();
  auto expect_count = [&](int64_t have, const char* field) {
    if (have != count) {
      model_error(source, "initializer '" + name + "' has " + std::to_string(have) + " values in " + field +
                              " but its shape " + shape_to_string(out.shape) + " needs " + std::to_string(count));
    }
  };
  using ET = ir::ElemType;
  if (t.has_raw_data()) {
    size_t elem = 0;
    switch (out.elem_type) {
      case ET::Float: case ET::Int32: elem = 4; break;
      case ET::Double: case ET::Int64: elem = 8; break;
      case ET::Int16: elem = 2; break;
      default: elem = 1;
    }
    if (raw.size() != static_cast<size_t>(count) * elem) {
      model_error(source, "initializer '" + name + "' has " + std::to_string(raw.size()) + " raw bytes but shape " +
                              shape_to_string(out.shape) + " needs " + std::to_string(count * elem));
    }
    const char* p = raw.data();
    if (out.elem_type == ET::Float) {  // the weights: one copy
      out.float_data.resize(static_cast<size_t>(count));
      if (count > 0) std::memcpy(out.float_data.data(), p, static_cast<size_t>(count) * 4);
      return out;
    }
    if (out.elem_type == ET::Double) out.float_data.reserve(static_cast<size_t>(count));
    else out.int_data.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      switch (out.elem_type) {
        case ET::Float: { float v; std::memcpy(&v, p + 4 * i, 4); out.float_data.push_back(v); break; }
        case ET::Double: { double v; std::memcpy(&v, p + 8 * i, 8); out.float_data.push_back(static_cast<float>(v)); break; }
        case ET::Int64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); out.int_data.push_back(v); break; }
        case ET::Int32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); out.int_data.push_back(v); break; }
        case ET::Int16: { int16_t v; std::memcpy(&v, p + 2 * i, 2); out.int_data.push_back(v); break; }
        case ET::Int8: out.int_data.push_back(static_cast<int8_t>(p[i])); break;
        default: out.int_data.push_back(static_cast<uint8_t>(p[i]));
      }
    }
  } else if (out.elem_type == ET::Float) {
    expect_count(t.float_data_size(), "float_data");
    out.float_data.assign(t.float_data().begin(), t.float_data().end());
  } else if (out.elem_type == ET::Double) {
    expect_count(t.double_data_size(), "double_data");
    for (double v : t.double_data()) out.float_data.push_back(static_cast<float>(v));
  } else if (out.elem_type == ET::Int64) {
    expect_count(t.int64_data_size(), "int64_data");
    out.int_data.assign(t.int64_data().begin(), t.int64_data().end());
  } else {
    expect_count(t.int32_data_size(), "int32_data");
    for (int32_t v : t.int32_data()) {
      out.int_data.push_back(out.elem_type == ET::Int8 ? static_cast<int8_t>(v) : v);
    }
  }
  return out;
}

ir::Attribute convert_attribute(const onnx::AttributeProto& a) {
  ir::Attribute out;
  switch (a.type()) {
    case onnx::AttributeProto::INT: out.kind = ir::Attribute::Kind::Int; out.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: out.kind = ir::Attribute::Kind::Float; out.f = a.f(); break;
    case onnx::AttributeProto::STRING: out.kind = ir::Attribute::Kind::String; out.s = a.s(); break;
    case onnx::AttributeProto::INTS: out.kind = ir::Attribute::Kind::Ints; out.ints.assign(a.ints().begin(), a.ints().end()); break;
    case onnx::AttributeProto::FLOATS: out.kind = ir::Attribute::Kind::Floats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
    case onnx::AttributeProto::TENSOR: {  // one-element tensors (ConstantOfShape's value): Floats or Ints, s "tensor"
      ir::Tensor t = constant_from_proto(a.t(), a.name(), "attribute");
      out.kind = t.float_data.empty() ? ir::Attribute::Kind::Ints : ir::Attribute::Kind::Floats;
      out.floats = t.float_data;
      out.ints = t.int_data;
      out.s = "tensor";
      break;
    }
    default: out.kind = ir::Attribute::Kind::String; out.s = "<unsupported attribute type>"; break;
  }
  return out;
}

// Constant node -> constant tensor (value, value_float(s), value_int(s)).
ir::Tensor constant_node_value(const onnx::NodeProto& n, const std::string& source) {
  const std::string& name = n.output(0);
  for (const auto& a : n.attribute()) {
    if (a.name() == "value" && a.has_t()) return constant_from_proto(a.t(), name, source);
    ir::Tensor t;
    t.name = name;
    t.is_constant = true;
    t.has_shape = true;
    if (a.name() == "value_float") { t.elem_type = ir::ElemType::Float; t.float_data = {a.f()}; return t; }
    if (a.name() == "value_int") { t.elem_type = ir::ElemType::Int64; t.int_data = {a.i()}; return t; }
    if (a.name() == "value_floats") {
      t.elem_type = ir::ElemType::Float;
      t.float_data.assign(a.floats().begin(), a.floats().end());
      t.shape = {static_cast<int64_t>(t.float_data.size())};
      return t;
    }
    if (a.name() == "value_ints") {
      t.elem_type = ir::ElemType::Int64;
      t.int_data.assign(a.ints().begin(), a.ints().end());
      t.shape = {static_cast<int64_t>(t.int_data.size())};
      return t;
    }
  }
  model_error(source, "Constant node '" + n.name() + "' has no supported value attribute");
}

// The node's input and output counts against its schema, and no required input left empty (""), so that no
// later stage indexes past a node's inputs (found by fuzz_bin in a CPU subgraph).
void check_arity(const onnx::NodeProto& n, const onnx::OpSchema& schema, const std::string& name,
                 const std::string& source) {
  if (n.input_size() < schema.min_input() || n.input_size() > schema.max_input() ||
      n.output_size() < schema.min_output() || n.output_size() > schema.max_output()) {
    auto range = [](int lo, int hi) {
      return std::to_string(lo) + (hi == lo ? "" : ".." + (hi == INT_MAX ? std::string("n") : std::to_string(hi)));
    };
    model_error(source, "node '" + name + "' (" + n.op_type() + ") has " + std::to_string(n.input_size()) +
                            " inputs and " + std::to_string(n.output_size()) + " outputs; its schema takes " +
                            range(schema.min_input(), schema.max_input()) + " inputs and " +
                            range(schema.min_output(), schema.max_output()) + " outputs");
  }
  const auto& formal = schema.inputs();
  for (int i = 0; i < n.input_size(); ++i) {
    if (!n.input(i).empty() || formal.empty()) continue;
    const auto& param = formal[std::min<size_t>(i, formal.size() - 1)];
    if (param.GetOption() != onnx::OpSchema::Optional) {
      model_error(source, "node '" + name + "' (" + n.op_type() + ") leaves its required input " + std::to_string(i) +
                              " ('" + param.GetName() + "') empty");
    }
  }
}

// Teaches ONNX shape inference the horizon domain's fake-quant ops (shape-preserving), so inference does not
// stop at the first HzQuantize of a Horizon-dialect model, and bpu-mapper's HzPreprocess.
void register_horizon_schemas() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& range = onnx::OpSchemaRegistry::DomainToVersionRange::Instance();
    if (!range.Map().count("horizon")) range.AddDomainToVersion("horizon", 1, 1);
    for (const char* op : {"HzQuantize", "HzDequantize"}) {
      onnx::OpSchema schema(op, __FILE__, __LINE__);
      schema.SetDomain("horizon")
          .SinceVersion(1)
          .Input(0, "x", "tensor to (de)quantize", "T")
          .Input(1, "scale", "scales", "S", onnx::OpSchema::Optional)
          .Input(2, "zero_point", "zero points", "Z", onnx::OpSchema::Optional)
          .Output(0, "y", "result", "T")
          .TypeConstraint("T", onnx::OpSchema::all_tensor_types(), "any tensor")
          .TypeConstraint("S", onnx::OpSchema::all_tensor_types(), "any tensor")
          .TypeConstraint("Z", onnx::OpSchema::all_tensor_types(), "any tensor")
          .AllowUncheckedAttributes()
          .TypeAndShapeInferenceFunction(onnx::propagateShapeAndTypeFromFirstInput);
      onnx::RegisterSchema(std::move(schema));
    }
    // bpu-mapper's own image-input node (ops/preprocess.h), which CPU segments and staged models carry; its output
    // shape comes from the registry's shape rule.
    onnx::OpSchema pre("HzPreprocess", __FILE__, __LINE__);
    pre.SetDomain("horizon")
        .SinceVersion(1)
        .Input(0, "image", "runtime tensor: uint8 pixels, or a float featuremap", "T")
        .Output(0, "y", "the tensor the model was trained on", "F")
        .TypeConstraint("T", onnx::OpSchema::all_tensor_types(), "any tensor")
        .TypeConstraint("F", {"tensor(float)"}, "float32")
        .AllowUncheckedAttributes()
        .TypeAndShapeInferenceFunction([](onnx::InferenceContext& ctx) { onnx::updateOutputElemType(ctx, 0, onnx::TensorProto::FLOAT); });
    onnx::RegisterSchema(std::move(pre));
  });
}


// The ai.onnx opset must be one the importer knows; the graph needs outputs with distinct names.
void check_opset_and_outputs(const onnx::ModelProto& model, const std::string& source) {
  int64_t opset = -1;
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
  }
  if (opset < 0) {
    throw Error(ExitCode::Model, "model '" + source + "' declares no ai.onnx opset (opset_import); re-export it "
                                 "with torch.onnx.export(opset_version=13)");
  }
  if (opset < ops::kMinOpset || opset > ops::kMaxOpset) {
    throw Error(ExitCode::Unsupported, "model '" + source + "' uses ai.onnx opset " + std::to_string(opset) +
                                           ", which bpu-mapper does not support (opsets " + std::to_string(ops::kMinOpset) +
                                           " to " + std::to_string(ops::kMaxOpset) + "); re-export it with opset_version=13");
  }
  const auto& outputs = model.graph().output();
  if (outputs.empty()) {
    throw Error(ExitCode::Model, "model '" + source + "' has no graph outputs; export it with its output tensors");
  }
  std::set<std::string> seen;
  for (const auto& o : outputs) {
    if (o.name().empty()) throw Error(ExitCode::Model, "model '" + source + "' has a graph output without a name");
    if (!seen.insert(o.name()).second) {
      throw Error(ExitCode::Model, "model '" + source + "' lists graph output '" + o.name() + "' twice; each output "
                                   "needs its own tensor (export with distinct output_names)");
    }
  }
}

bool dim_is_static(const onnx::TensorShapeProto::Dimension& d) { return d.has_dim_value() && d.dim_value() > 0; }

std::string declared_shape(const onnx::ValueInfoProto& vi) {
  if (!vi.type().tensor_type().has_shape()) return "(no shape)";
  std::string s;
  for (const auto& d : vi.type().tensor_type().shape().dim()) {
    s += (s.empty() ? "" : "x") + (dim_is_static(d) ? std::to_string(d.dim_value())
                                                     : d.dim_param().empty() ? std::string("?") : d.dim_param());
  }
  return s;
}

// One input's new dimensions, or a problem line: `wanted` must keep the static dims; input_batch sets dim 0.
std::string resolve_input_shape(const onnx::ValueInfoProto& vi, const Shape* wanted, int64_t batch, Shape* out) {
  const bool has = vi.type().tensor_type().has_shape();
  const auto& dims = vi.type().tensor_type().shape().dim();
  const std::string model = declared_shape(vi);
  if (wanted) {
    if (has && dims.size() != static_cast<int>(wanted->size())) {
      return "input_parameters.input_shape: " + shape_to_string(*wanted) + " for input '" + vi.name() + "' has " +
             std::to_string(wanted->size()) + " dimensions, the model's shape " + model + " has " +
             std::to_string(dims.size()) + "; give a shape of that rank";
    }
    for (int k = 0; has && k < dims.size(); ++k) {
      if (dim_is_static(dims[k]) && dims[k].dim_value() != (*wanted)[k]) {
        return "input_parameters.input_shape: " + shape_to_string(*wanted) + " for input '" + vi.name() +
               "' conflicts with the model's static shape " + model + "; give " + model +
               " (or leave input_shape out), or export the model with dynamic axes";
      }
    }
    *out = *wanted;
  } else {
    out->clear();
    for (const auto& d : dims) out->push_back(dim_is_static(d) ? d.dim_value() : 0);
  }
  if (batch > 0) {
    if (out->empty()) return "input_parameters.input_batch: input '" + vi.name() + "' has no shape; give input_shape";
    if ((*out)[0] != 1 && (*out)[0] != 0) {
      return "input_parameters.input_batch: " + std::to_string(batch) + " needs a batch of 1 in input '" + vi.name() +
             "', whose shape is " + model + "; remove input_batch or set the batch in input_shape";
    }
    (*out)[0] = batch;
  }
  return "";
}

}  // namespace

void apply_input_shapes(onnx::ModelProto& model, const ImportOptions& options, const std::string& source) {
  if (options.input_shapes.empty() && options.input_batch <= 0) return;
  auto* g = model.mutable_graph();
  std::set<std::string> initializer_names;
  for (const auto& init : g->initializer()) initializer_names.insert(init.name());
  std::vector<onnx::ValueInfoProto*> inputs;
  std::string names;
  for (auto& in : *g->mutable_input()) {
    if (initializer_names.count(in.name())) continue;
    inputs.push_back(&in);
    names += (names.empty() ? "" : ", ") + in.name();
  }
  std::vector<std::string> problems;
  std::map<std::string, Shape> wanted = options.input_shapes;
  if (wanted.count("")) {
    if (inputs.size() == 1) {
      wanted[inputs[0]->name()] = wanted.at("");
    } else {
      problems.push_back("input_parameters.input_shape: the model has " + std::to_string(inputs.size()) +
                         " inputs (" + names + "); give input_name for each shape");
    }
    wanted.erase("");
  }
  if (options.input_batch > 0 && inputs.size() != 1) {
    problems.push_back("input_parameters.input_batch: the model has " + std::to_string(inputs.size()) + " inputs (" +
                       names + "); input_batch applies to a single input, set the batch in input_shape");
  }
  for (const auto& [name, shape] : wanted) {
    bool found = false;
    for (const auto* in : inputs) found |= in->name() == name;
    if (!found) {
      problems.push_back("input_parameters.input_name: the model has no input '" + name + "' (inputs: " + names + ")");
    }
  }
  bool changed = false;
  for (auto* in : inputs) {
    auto it = wanted.find(in->name());
    const int64_t batch = inputs.size() == 1 ? options.input_batch : 0;
    if (it == wanted.end() && batch <= 0) continue;
    Shape shape;
    std::string problem = resolve_input_shape(*in, it == wanted.end() ? nullptr : &it->second, batch, &shape);
    if (!problem.empty()) {
      problems.push_back(problem);
      continue;
    }
    auto* dims = in->mutable_type()->mutable_tensor_type()->mutable_shape();
    dims->clear_dim();
    for (int64_t d : shape) {
      auto* dim = dims->add_dim();
      if (d > 0) dim->set_dim_value(d);
    }
    changed = true;
  }
  if (!problems.empty()) {
    std::string msg = "model '" + source + "': ";
    if (problems.size() == 1) {
      msg += problems[0];
    } else {
      msg += std::to_string(problems.size()) + " input problems:";
      for (const auto& p : problems) msg += "\n  " + p;
    }
    throw Error(ExitCode::Config, msg);
  }
  if (changed) {
    // Shapes declared downstream of a changed input are stale: let inference recompute them.
    g->clear_value_info();
    for (auto& out : *g->mutable_output()) out.mutable_type()->mutable_tensor_type()->clear_shape();
  }
}

// ONNX's own shape inference divides by strides, dilations, kernel sizes and group without checking them
// (libonnx's convPoolShapeInference raised SIGFPE on strides [1, 0], a fuzz_onnx finding): every such attribute of
// every node, in subgraphs too, must be positive before it runs.
void check_divisor_attributes(const onnx::GraphProto& g, const std::string& source) {
  for (const auto& n : g.node()) {
    for (const auto& a : n.attribute()) {
      const std::string& name = a.name();
      if (name == "strides" || name == "dilations" || name == "kernel_shape") {
        for (int64_t v : a.ints()) {
          if (v < 1) {
            model_error(source, "node '" + n.name() + "' (" + n.op_type() + "): attribute " + name + " holds " +
                                    std::to_string(v) + "; every value must be at least 1");
          }
        }
      } else if (name == "group" && a.i() < 1) {
        model_error(source, "node '" + n.name() + "' (" + n.op_type() + "): attribute group is " + std::to_string(a.i()) +
                                "; it must be at least 1");
      }
      if (a.has_g()) check_divisor_attributes(a.g(), source);
      for (const auto& sub : a.graphs()) check_divisor_attributes(sub, source);
    }
  }
}

// The dims of the constant `name` feeds from (an initializer or a Constant node, through fake-quant and Identity
// nodes), or false when it does not come from one; *dangling when the chain reaches a name nothing defines (the
// importer's own check reports that later).
bool constant_dims(const onnx::GraphProto& g, std::string name, std::vector<int64_t>* dims, bool* dangling) {
  for (int hops = 0; hops < 8; ++hops) {
    for (const auto& init : g.initializer()) {
      if (init.name() == name) return dims->assign(init.dims().begin(), init.dims().end()), true;
    }
    const onnx::NodeProto* producer = nullptr;
    for (const auto& n : g.node()) {
      for (const auto& o : n.output()) producer = o == name ? &n : producer;
    }
    if (!producer) {
      *dangling = std::none_of(g.input().begin(), g.input().end(), [&](const onnx::ValueInfoProto& v) { return v.name() == name; });
      return false;
    }
    const std::string& op = producer->op_type();
    if (op == "Constant") {
      for (const auto& a : producer->attribute()) {
        if (a.name() == "value" && a.has_t()) return dims->assign(a.t().dims().begin(), a.t().dims().end()), true;
      }
      return false;
    }
    const bool pass = op == "DequantizeLinear" || op == "QuantizeLinear" || op == "Identity" || op == "HzQuantize" ||
                      op == "HzDequantize";
    if (!pass || producer->input_size() < 1) return false;
    name = producer->input(0);
  }
  return false;
}

// libonnx's Conv / ConvTranspose shape inference takes a missing kernel_shape from the weight's inferred shape and
// then indexes it by the data input's rank, reading out of bounds when the weight has fewer dimensions (a SEGV, a
// fuzz_onnx finding). The attribute is filled in from the constant weight's dims before inference runs (a
// mismatch then fails inference cleanly); a Conv without kernel_shape whose weight is not a constant is refused.
void fill_kernel_shapes(onnx::GraphProto* g, const std::string& source) {
  for (auto& n : *g->mutable_node()) {
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) fill_kernel_shapes(a.mutable_g(), source);
      for (auto& sub : *a.mutable_graphs()) fill_kernel_shapes(&sub, source);
    }
    if ((n.op_type() != "Conv" && n.op_type() != "ConvTranspose") || !(n.domain().empty() || n.domain() == "ai.onnx")) continue;
    const bool has = std::any_of(n.attribute().begin(), n.attribute().end(), [](const onnx::AttributeProto& a) { return a.name() == "kernel_shape"; });
    if (has) continue;
    std::vector<int64_t> dims;
    bool dangling = false;
    const bool constant = n.input_size() >= 2 && constant_dims(*g, n.input(1), &dims, &dangling);
    if (dangling) continue;
    if (!constant || dims.size() < 3) {
      model_error(source, "node '" + n.name() + "' (" + n.op_type() + ") has no kernel_shape attribute and its weight is "
                              "not a constant of rank 3 or more to take it from; export the model with kernel_shape");
    }
    onnx::AttributeProto* k = n.add_attribute();
    k->set_name("kernel_shape");
    k->set_type(onnx::AttributeProto::INTS);
    for (size_t i = 2; i < dims.size(); ++i) k->add_ints(dims[i]);
  }
}

ir::Graph import_onnx_model(onnx::ModelProto& model, const std::string& source, const ImportOptions& options) {
  if (!model.has_graph()) model_error(source, "the file holds no graph");
  auto* g = model.mutable_graph();
  if (g->node_size() > kMaxNodes) model_error(source, "more than " + std::to_string(kMaxNodes) + " nodes");

  ir::Graph graph;
  graph.source_path = source;
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") graph.opset = op.version();
  }

  check_opset_and_outputs(model, source);
  apply_input_shapes(model, options, source);
  std::set<std::string> initializer_names;
  for (const auto& init : g->initializer()) initializer_names.insert(init.name());

  register_horizon_schemas();
  fill_kernel_shapes(g, source);
  check_divisor_attributes(*g, source);
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception& e) {
    spdlog::warn("ONNX shape inference stopped early ({}); continuing with bpu-mapper's own rules", e.what());
  }

  // Each initializer's data is released from the proto once converted, so a model is held once, not twice.
  for (auto& init : *g->mutable_initializer()) {
    graph.tensors[init.name()] = constant_from_proto(init, init.name(), source);
    onnx::TensorProto slim;  // clear_raw_data() would keep the string's capacity: swap the storage out instead
    slim.set_name(init.name());
    slim.set_data_type(init.data_type());
    *slim.mutable_dims() = init.dims();
    init.Swap(&slim);
  }
  for (const auto& in : g->input()) {
    if (initializer_names.count(in.name())) continue;
    ir::Tensor t;
    t.name = in.name();
    if (!in.type().has_tensor_type()) model_error(source, "input '" + in.name() + "' is not a tensor");
    t.elem_type = checked_elem_type(in.type().tensor_type().elem_type(), source, in.name());
    if (!static_shape(in, &t.shape)) {
      throw Error(ExitCode::Model, "model '" + source + "': input '" + in.name() + "' has the dynamic or zero "
                                       "dimensions " + declared_shape(in) + "; set input_parameters.input_shape "
                                       "(e.g. 1x3x224x224) for it");
    }
    checked_element_count(t.shape, "model '" + source + "' input '" + in.name() + "'", ExitCode::Model);
    t.has_shape = true;
    graph.inputs.push_back(t.name);
    graph.tensors[t.name] = t;
  }
  std::map<std::string, const onnx::ValueInfoProto*> infos;
  for (const auto& vi : g->value_info()) infos[vi.name()] = &vi;
  for (const auto& vi : g->output()) infos[vi.name()] = &vi;

  std::set<std::string> node_names;
  int unnamed = 0;
  for (const auto& n : g->node()) {
    if (n.op_type() == "Constant") {
      if (n.output_size() != 1) model_error(source, "Constant node '" + n.name() + "' must have one output");
      graph.tensors[n.output(0)] = constant_node_value(n, source);
      continue;
    }
    ir::Node node;
    node.name = n.name().empty() ? n.op_type() + "_unnamed_" + std::to_string(unnamed++) : n.name();
    const std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
    const onnx::OpSchema* schema =
        onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(graph.opset ? graph.opset : 13), domain);
    if (!schema) {
      throw Error(ExitCode::Unsupported, "model '" + source + "': node '" + node.name + "' has op type '" +
                                             (domain.empty() ? "" : domain + "::") + n.op_type() +
                                             "', which is neither an ONNX operator of opset " + std::to_string(graph.opset) +
                                             " nor a Horizon fake-quant op; custom ops are not supported");
    }
    check_arity(n, *schema, node.name, source);
    if (!node_names.insert(node.name).second) {
      model_error(source, "two nodes are named '" + node.name + "'; node names must be unique");
    }
    node.op_type = n.op_type();
    node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const auto& a : n.attribute()) node.attributes[a.name()] = convert_attribute(a);
    for (const auto& o : node.outputs) {
      if (o.empty()) continue;
      ir::Tensor t;
      t.name = o;
      auto it = infos.find(o);
      if (it != infos.end()) {
        if (it->second->type().has_tensor_type()) {
          int32_t et = it->second->type().tensor_type().elem_type();
          if (et != 0) t.elem_type = checked_elem_type(et, source, o);
        }
        t.has_shape = static_shape(*it->second, &t.shape);
      }
      if (graph.tensors.count(o)) model_error(source, "tensor '" + o + "' is produced twice");
      graph.tensors[o] = t;
    }
    graph.nodes.push_back(std::move(node));
  }
  for (const auto& o : g->output()) graph.outputs.push_back(o.name());

  // Every node input must exist.
  for (const auto& n : graph.nodes) {
    for (const auto& in : n.inputs) {
      if (!in.empty() && !graph.tensors.count(in)) {
        model_error(source, "node '" + n.name + "' reads tensor '" + in + "', which no node, input or initializer provides");
      }
    }
  }
  for (const auto& o : graph.outputs) {
    if (!graph.tensors.count(o)) model_error(source, "graph output '" + o + "' is never produced");
  }
  graph.topological_sort();

  // Fill shapes ONNX inference left open with the registry's shape rules, in topological order (Horizon's
  // fake-quant ops, which have no CPU kernel, keep their input's shape).
  for (const auto& n : graph.nodes) {
    if (n.domain.rfind("horizon", 0) != 0 || n.inputs.empty() || n.outputs.empty()) continue;
    const ir::Tensor& first = graph.tensor(n.inputs[0]);
    ir::Tensor& t = graph.tensor(n.outputs[0]);
    if (!t.has_shape && first.has_shape) {
      t.shape = first.shape;
      t.has_shape = true;
    }
  }
  ops::infer_missing_shapes(graph);
  if (options.simplify) options.simplify(graph);
  for (const auto& n : graph.nodes) {
    for (const auto& o : n.outputs) {
      if (o.empty()) continue;
      const ir::Tensor& t = graph.tensor(o);
      if (!t.has_shape) {
        model_error(source, "cannot infer the shape of tensor '" + o + "' produced by node '" + n.name + "' (" +
                                n.op_type + "); check the node's inputs or give the model static shapes");
      }
      checked_element_count(t.shape, "model '" + source + "' tensor '" + o + "'", ExitCode::Model);
    }
  }
  if (options.canonicalize) ops::canonicalize(graph);
  // Identity: a constant input makes the output the same constant; otherwise the output is an alias.
  std::vector<bool> remove(graph.nodes.size(), false);
  std::map<std::string, std::string> aliases;
  const std::set<std::string> graph_outputs(graph.outputs.begin(), graph.outputs.end());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    ir::Node& n = graph.nodes[i];
    if (n.op_type != "Identity" || n.inputs.size() != 1 || n.outputs.size() != 1) continue;
    std::string input = n.inputs[0];
    for (int hops = 0; hops < 1024 && aliases.count(input); ++hops) input = aliases.at(input);
    const ir::Tensor& src = graph.tensor(input);
    if (src.is_constant) {
      ir::Tensor copy = src;
      copy.name = n.outputs[0];
      graph.tensors[copy.name] = copy;
      remove[i] = true;
    } else if (!graph_outputs.count(n.outputs[0])) {
      aliases[n.outputs[0]] = input;
      remove[i] = true;
    }
  }
  graph.replace_uses_all(aliases);
  graph.remove_nodes(remove);

  return graph;
}

uint64_t read_onnx_file(const std::string& path, onnx::ModelProto* model) {
  std::vector<uint8_t> bytes = read_file(path, kMaxOnnxBytes, "ONNX model");
  // The fingerprint (one serial pass over the bytes) is computed beside the parse.
  std::future<uint64_t> hashed = std::async(std::launch::async, [&bytes] { return fnv1a64(bytes.data(), bytes.size()); });
  const bool parsed = model->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  const uint64_t hash = hashed.get();
  if (!parsed) {
    throw Error(ExitCode::Model, "model '" + path + "' is not a valid ONNX file (protobuf parse failed); "
                                 "re-export it with torch.onnx.export");
  }
  return hash;
}

ir::Graph import_onnx(const std::string& path, const ImportOptions& options) {
  onnx::ModelProto model;
  const uint64_t hash = read_onnx_file(path, &model);
  ir::Graph graph = import_onnx_model(model, path, options);
  graph.source_hash = hash;
  return graph;
}

void parse_onnx_file(const std::string& path, onnx::ModelProto* model) {
  checked_file_size(path, kMaxOnnxBytes, "ONNX model");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ExitCode::Io, "cannot open ONNX model '" + path + "'");
  if (!model->ParseFromIstream(&in)) {
    throw Error(ExitCode::Model, "model '" + path + "' is not a valid ONNX file (protobuf parse failed); "
                                 "re-export it with torch.onnx.export");
  }
}

ir::Graph import_onnx_bytes(const std::string& bytes, const std::string& source, const ImportOptions& options) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    throw Error(ExitCode::Model, "model '" + source + "' is not a valid ONNX file (protobuf parse failed)");
  }
  ir::Graph graph = import_onnx_model(model, source, options);
  graph.source_hash = fnv1a64(bytes.data(), bytes.size());
  return graph;
}

}  // namespace bpu
