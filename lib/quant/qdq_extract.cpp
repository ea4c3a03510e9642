// Q/DQ pair matching and scale extraction. Weights are quantized exactly as PyTorch's fake quantize does
// (numerics::quantize_like_torch), so the integer weights equal the ones the QAT model computed with.

#include "quant/qdq_extract.h"

#include <cmath>
#include <set>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "numerics/requant.h"

namespace bpu {

namespace {

[[noreturn]] void fail(ExitCode code, const ir::Graph& g, const ir::Node& n, const std::string& what) {
  throw Error(code, "model '" + g.source_path + "': node '" + n.name + "' (" + n.op_type + "): " + what);
}

bool is_horizon(const ir::Node& n) { return n.domain == "horizon" || n.domain == "horizon.custom"; }

// Reads scale / zero point / bits / axis of one Q or DQ node.
ir::QuantParams read_params(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() < 2 || n.inputs[1].empty()) fail(ExitCode::Model, g, n, "has no scale input");
  const ir::Tensor& scale = g.tensor(n.inputs[1]);
  if (!scale.is_constant || scale.float_data.empty()) {
    fail(ExitCode::Unsupported, g, n, "scale '" + scale.name + "' is not a float constant; QAT scales must be "
                                      "initializers (export with do_constant_folding=True)");
  }
  ir::QuantParams p;
  p.scales = scale.float_data;
  for (float s : p.scales) {
    if (!is_sane_scale(s)) {
      fail(ExitCode::Model, g, n, "scale value " + std::to_string(s) + " in '" + scale.name +
                                  "' is not a finite positive number in [1e-20, 1e10]");
    }
  }
  if (is_horizon(n)) {
    if (!n.attr("bits")) {
      fail(ExitCode::Model, g, n, "has no 'bits' attribute; a Horizon fake-quant op must say bits=8 or bits=16 "
                                  "(re-export it with the Horizon plugin's export_to_onnx)");
    }
    int64_t bits = n.attr_int("bits", 8);
    if (bits != 8 && bits != 16) fail(ExitCode::Unsupported, g, n, "attribute bits=" + std::to_string(bits) + " (allowed: 8, 16)");
    p.bits = static_cast<int>(bits);
    if (n.inputs.size() >= 3 && !n.inputs[2].empty()) {
      const ir::ElemType zt = g.tensor(n.inputs[2]).elem_type;
      if ((bits == 16 && zt == ir::ElemType::Int8) || (bits == 8 && zt == ir::ElemType::Int16)) {
        fail(ExitCode::Model, g, n, "bits=" + std::to_string(bits) + " but its zero point '" + n.inputs[2] + "' is " +
                                    ir::elem_type_name(zt) + "; the attribute and the zero point type must agree");
      }
    }
  }
  if (n.inputs.size() >= 3 && !n.inputs[2].empty()) {
    const ir::Tensor& zp = g.tensor(n.inputs[2]);
    if (!zp.is_constant) fail(ExitCode::Unsupported, g, n, "zero point '" + zp.name + "' is not a constant");
    for (int64_t z : zp.int_data) {
      if (z != 0) {
        fail(ExitCode::Unsupported, g, n, "zero point " + std::to_string(z) + " in '" + zp.name +
                                          "': only symmetric quantization (zero point 0) is supported");
      }
    }
    if (!is_horizon(n)) {
      if (zp.elem_type == ir::ElemType::Int8) p.bits = 8;
      else if (zp.elem_type == ir::ElemType::Int16) p.bits = 16;
      else fail(ExitCode::Unsupported, g, n, std::string("zero point type ") + ir::elem_type_name(zp.elem_type) +
                                             " (supported: int8, int16); use a symmetric signed qconfig");
    }
  } else if (!is_horizon(n)) {
    fail(ExitCode::Unsupported, g, n, "no zero point input, which means uint8 in ONNX; use a symmetric int8 qconfig");
  }
  if (p.scales.size() > 1) {
    const ir::Tensor& x = g.tensor(n.inputs[0]);
    int64_t axis = n.attr_int("axis", 1);
    int64_t rank = static_cast<int64_t>(x.shape.size());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) fail(ExitCode::Model, g, n, "axis " + std::to_string(axis) + " is out of range");
    if (x.shape[axis] != static_cast<int64_t>(p.scales.size())) {
      fail(ExitCode::Model, g, n, std::to_string(p.scales.size()) + " scales for " + std::to_string(x.shape[axis]) +
                                  " channels on axis " + std::to_string(axis));
    }
    p.axis = static_cast<int>(axis);
  } else if (n.attr("axis")) {
    p.axis = static_cast<int>(n.attr_int("axis", 0));  // a 1-channel per-channel weight keeps its axis
  }
  return p;
}

bool same_params(const ir::QuantParams& a, const ir::QuantParams& b) {
  return a.scales == b.scales && a.bits == b.bits && (a.scales.size() == 1 || a.axis == b.axis);
}

// Renames tensor `from` to `to` everywhere (producer output, uses, graph outputs, tensor table).
void rename_tensor(ir::Graph& g, const std::string& from, const std::string& to) {
  ir::Tensor t = g.tensor(from);
  t.name = to;
  g.tensors.erase(from);
  g.tensors[to] = t;
  for (auto& n : g.nodes) {
    for (auto& o : n.outputs) if (o == from) o = to;
    for (auto& i : n.inputs) if (i == from) i = to;
  }
  for (auto& i : g.inputs) if (i == from) i = to;
  for (auto& o : g.outputs) if (o == from) o = to;
}

}  // namespace

bool is_quantize_node(const ir::Node& n) {
  return (n.op_type == "QuantizeLinear" && n.domain.empty()) || (n.op_type == "HzQuantize" && is_horizon(n));
}

bool is_dequantize_node(const ir::Node& n) {
  return (n.op_type == "DequantizeLinear" && n.domain.empty()) || (n.op_type == "HzDequantize" && is_horizon(n));
}

QuantSummary extract_quantization(ir::Graph& g) {
  QuantSummary summary;
  std::vector<bool> remove(g.nodes.size(), false);
  // Pairs are collected first and rewritten afterwards so indices stay valid.
  struct Pair { int q, dq; ir::QuantParams params; };
  std::vector<Pair> pairs;
  std::vector<ir::Node> added;
  const std::map<std::string, std::vector<int>> consumers = g.consumer_index();
  const std::map<std::string, int> producers = g.producer_index();
  const std::set<std::string> graph_outputs(g.outputs.begin(), g.outputs.end());
  auto consumers_of = [&](const std::string& t) {
    auto it = consumers.find(t);
    return it == consumers.end() ? std::vector<int>{} : it->second;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& q = g.nodes[i];
    if (!is_quantize_node(q)) {
      auto prod = producers.find(q.inputs.empty() ? "" : q.inputs[0]);
      if (is_dequantize_node(q) && !g.tensor(q.inputs[0]).is_constant && prod != producers.end() &&
          !is_quantize_node(g.nodes[prod->second])) {
        fail(ExitCode::Unsupported, g, q, "dequantizes a tensor that no QuantizeLinear produced; integer tensors "
                                          "from other ops are not supported");
      }
      continue;
    }
    if (q.outputs.size() != 1) fail(ExitCode::Model, g, q, "must have exactly one output");
    std::vector<int> users = consumers_of(q.outputs[0]);
    if (users.size() != 1 || !is_dequantize_node(g.nodes[users[0]]) || graph_outputs.count(q.outputs[0])) {
      fail(ExitCode::Unsupported, g, q, "its output must feed exactly one DequantizeLinear (a fake-quant pair); "
                                        "lone quantize nodes are not supported");
    }
    const ir::Node& dq = g.nodes[users[0]];
    ir::QuantParams qp = read_params(g, q);
    ir::QuantParams dqp = read_params(g, dq);
    if (!same_params(qp, dqp)) fail(ExitCode::Unsupported, g, dq, "uses other scales or bits than its quantize node '" + q.name + "'");
    pairs.push_back({static_cast<int>(i), users[0], qp});
  }

  std::map<std::string, std::string> aliases;  // DQ output -> quantized tensor, applied once at the end
  auto resolve = [&](std::string t) {
    for (int hops = 0; hops < 1024 && aliases.count(t); ++hops) t = aliases.at(t);
    return t;
  };
  for (const Pair& pair : pairs) {
    const ir::Node& q = g.nodes[pair.q];
    const ir::Node& dq = g.nodes[pair.dq];
    std::string x = resolve(q.inputs[0]);
    std::string y = dq.outputs[0];
    remove[pair.q] = remove[pair.dq] = true;
    summary.removed_nodes.push_back(q.name);
    summary.removed_nodes.push_back(dq.name);
    ir::Tensor& src = g.tensor(x);
    if (src.is_constant) {
      // Weight: quantize now, store as int8 constant named like the DQ output.
      if (src.float_data.empty()) fail(ExitCode::Model, g, q, "quantizes constant '" + x + "', which is not float");
      if (pair.params.bits != 8) fail(ExitCode::Unsupported, g, q, "int16 weights are not supported (use int8 weights)");
      ir::Tensor w;
      w.name = y;
      w.elem_type = ir::ElemType::Int8;
      w.shape = src.shape;
      w.has_shape = true;
      w.is_constant = true;
      w.quant = pair.params;
      w.float_data = src.float_data;  // kept for reports and CPU fallback
      int64_t inner = 1;
      int axis = pair.params.axis;
      if (pair.params.scales.size() > 1) {
        for (size_t d = axis + 1; d < src.shape.size(); ++d) inner *= src.shape[d];
      }
      w.quantized.resize(src.float_data.size());
      const std::vector<float>& scales = pair.params.scales;
      for_each_in_channels(w.quantized.size(), scales.size(), static_cast<size_t>(inner), [&](size_t k, size_t c) {
        w.quantized[k] = static_cast<int8_t>(quantize_like_torch(w.float_data[k], scales[c], -128, 127));
      });
      g.tensors[y] = std::move(w);
      ++summary.weight_pairs;
      continue;
    }
    // An Identity from x to the DQ output, which carries the pair's parameters.
    auto keep_as_identity = [&](const std::string& suffix) {
      ir::Node id;
      id.name = q.name + suffix;
      id.op_type = "Identity";
      id.inputs = {x};
      id.outputs = {y};
      g.tensor(y).quant = pair.params;
      added.push_back(id);
      ++summary.activation_pairs;
    };
    if (src.quant && !same_params(*src.quant, pair.params)) {
      // A second fake quantization in a row (e.g. around a Dropout removed at export): a requantization.
      keep_as_identity("_requantize");
      continue;
    }
    int other_users = 0;
    for (int u : consumers_of(x)) other_users += (u != pair.q && !remove[u]);
    if (other_users > 0 || graph_outputs.count(x)) {
      // Mixed use: x is also read in float (or is a graph output). It keeps its float form for those readers;
      // the pair's output becomes its own quantized tensor, made from x by a quantizing Identity.
      keep_as_identity("_fake_quantize");
      ++summary.mixed_use_splits;
      continue;
    }
    src.quant = pair.params;
    if (graph_outputs.count(y)) {
      // Keep the user's output name: the quantized tensor takes the DQ output's name (rare: one per output).
      g.replace_uses_all(aliases);
      aliases.clear();
      g.tensors.erase(y);
      rename_tensor(g, x, y);
    } else {
      aliases[y] = x;
    }
    ++summary.activation_pairs;
  }
  g.replace_uses_all(aliases);
  // Q/DQ nodes may have had their tensor renamed; remove by index (indices unchanged so far).
  g.nodes.insert(g.nodes.end(), added.begin(), added.end());
  remove.resize(g.nodes.size(), false);
  g.remove_nodes(remove);
  g.topological_sort();
  for (const auto& n : g.nodes) {
    if (is_quantize_node(n) || is_dequantize_node(n)) fail(ExitCode::Unsupported, g, n, "is not part of a fake-quant pair");
  }
  spdlog::debug("quant: {} activation pairs, {} weight pairs", summary.activation_pairs, summary.weight_pairs);
  return summary;
}

std::vector<std::string> synthesize_weight_scales(ir::Graph& g) {
  std::vector<std::string> done;
  for (auto& n : g.nodes) {
    if ((n.op_type != "Conv" && n.op_type != "Gemm") || !n.domain.empty() || n.inputs.size() < 2) continue;
    if (!g.tensor(n.inputs[0]).quant) continue;
    ir::Tensor& w = g.tensor(n.inputs[1]);
    if (!w.is_constant || w.quant || w.float_data.empty() || w.shape.empty()) continue;
    if (n.op_type == "Gemm" && n.attr_int("transB", 0) != 1) continue;  // channel axis must be 0
    const int64_t channels = w.shape[0];
    const int64_t inner = static_cast<int64_t>(w.float_data.size()) / channels;
    ir::QuantParams qp;
    qp.axis = 0;
    qp.bits = 8;
    qp.synthesized = true;
    for (int64_t c = 0; c < channels; ++c) {
      float m = 0;
      for (int64_t k = 0; k < inner; ++k) m = std::max(m, std::fabs(w.float_data[c * inner + k]));
      qp.scales.push_back(m > 0 ? m / 127.0f : 1.0f);
    }
    w.quantized.resize(w.float_data.size());
    for_each_in_channels(w.float_data.size(), qp.scales.size(), static_cast<size_t>(inner), [&](size_t k, size_t c) {
      w.quantized[k] = static_cast<int8_t>(quantize_like_torch(w.float_data[k], qp.scales[c], -128, 127));
    });
    w.quant = qp;
    done.push_back(w.name);
  }
  return done;
}

}  // namespace bpu
