// Conv + Div/Mul/Add/Sub (constant, per channel) + BatchNormalization folding.

#include "passes/fold_bn.h"

#include <cmath>
#include <map>
#include <string>

#include "common/error.h"

namespace bpu {

namespace {

// Per-channel values of a constant broadcastable to [N, C, H, W] along C only (scalar, [C], [C,1,1], [1,C,1,1]).
bool per_channel(const ir::Graph& g, const std::string& name, int64_t channels, std::vector<double>* out) {
  if (name.empty() || !g.has_tensor(name)) return false;
  const ir::Tensor& t = g.tensor(name);
  if (!t.is_constant || t.float_data.empty()) return false;
  const int64_t n = static_cast<int64_t>(t.float_data.size());
  if (n != 1 && n != channels) return false;
  if (n == channels && channels > 1) {
    // The channel axis must be C of NCHW: shapes [C], [C,1,1] or [1,C,1,1].
    const Shape& s = t.shape;
    const bool ok = (s.size() == 1) || (s.size() == 3 && s[1] == 1 && s[2] == 1) ||
                    (s.size() == 4 && s[0] == 1 && s[2] == 1 && s[3] == 1);
    if (!ok) return false;
  }
  out->resize(channels);
  for (int64_t c = 0; c < channels; ++c) (*out)[c] = t.float_data[n == 1 ? 0 : c];
  return true;
}

}  // namespace

int fold_affine_into_conv(ir::Graph& g) {
  int folded = 0;
  std::vector<bool> remove(g.nodes.size(), false);
  const std::map<std::string, std::vector<int>> consumers = g.consumer_index();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& conv = g.nodes[i];
    if (conv.op_type != "Conv" || !conv.domain.empty() || remove[i] || conv.inputs.size() < 2) continue;
    const ir::Tensor& w = g.tensor(conv.inputs[1]);
    if (!w.quant || w.quantized.empty() || w.shape.size() != 4) continue;
    const int64_t C = w.shape[0];
    std::vector<double> alpha(C, 1.0), beta(C, 0.0);
    if (conv.inputs.size() > 2 && !conv.inputs[2].empty()) {
      const ir::Tensor& b = g.tensor(conv.inputs[2]);
      if (static_cast<int64_t>(b.float_data.size()) != C) {
        throw Error(ExitCode::Model, "node '" + conv.name + "' (Conv): bias '" + conv.inputs[2] + "' has " +
                                         std::to_string(b.float_data.size()) + " values but the weight has " +
                                         std::to_string(C) + " output channels; give one bias value per output channel");
      }
      for (int64_t c = 0; c < C; ++c) beta[c] = b.float_data[c];
    }
    std::string out = conv.outputs[0];
    std::vector<int> chain;
    while (!g.tensor(out).quant && !g.is_graph_output(out)) {
      auto users_it = consumers.find(out);
      if (users_it == consumers.end() || users_it->second.size() != 1) break;
      const std::vector<int>& users = users_it->second;
      const ir::Node& n = g.nodes[users[0]];
      if (!n.domain.empty() || n.inputs.empty() || n.inputs[0] != out) break;
      std::vector<double> v;
      if ((n.op_type == "Div" || n.op_type == "Mul" || n.op_type == "Add" || n.op_type == "Sub") && n.inputs.size() == 2 &&
          per_channel(g, n.inputs[1], C, &v)) {
        for (int64_t c = 0; c < C; ++c) {
          if (n.op_type == "Div") { alpha[c] /= v[c]; beta[c] /= v[c]; }
          else if (n.op_type == "Mul") { alpha[c] *= v[c]; beta[c] *= v[c]; }
          else if (n.op_type == "Add") beta[c] += v[c];
          else beta[c] -= v[c];
        }
      } else if (n.op_type == "BatchNormalization" && n.inputs.size() == 5 && n.outputs.size() == 1) {
        std::vector<double> gamma, bn_beta, mean, var;
        if (!per_channel(g, n.inputs[1], C, &gamma) || !per_channel(g, n.inputs[2], C, &bn_beta) ||
            !per_channel(g, n.inputs[3], C, &mean) || !per_channel(g, n.inputs[4], C, &var)) {
          break;
        }
        const ir::Attribute* e = n.attr("epsilon");
        const double eps = e ? e->f : 1e-5;
        for (int64_t c = 0; c < C; ++c) {
          const double k = gamma[c] / std::sqrt(var[c] + eps);
          alpha[c] *= k;
          beta[c] = (beta[c] - mean[c]) * k + bn_beta[c];
        }
      } else {
        break;
      }
      chain.push_back(users[0]);
      out = n.outputs[0];
    }
    if (chain.empty()) continue;
    // The int8 weights stay; a negative factor flips the channel's sign, impossible for a -128 weight.
    const int64_t inner = static_cast<int64_t>(w.quantized.size()) / C;
    bool flippable = true;
    for (int64_t c = 0; c < C; ++c) {
      if (!(std::isfinite(alpha[c]) && alpha[c] != 0)) flippable = false;
      for (int64_t k = 0; k < inner && alpha[c] < 0; ++k) flippable &= w.quantized[c * inner + k] != -128;
    }
    if (!flippable) continue;
    ir::Tensor folded_w = w;
    folded_w.name = conv.name + "/folded_weight";
    ir::QuantParams q = *w.quant;
    std::vector<float> scales(C);
    for (int64_t c = 0; c < C; ++c) {
      const double s = q.scales.size() == 1 ? q.scales[0] : q.scales[c];
      scales[c] = static_cast<float>(s * std::fabs(alpha[c]));
      for (int64_t k = 0; k < inner; ++k) {
        if (alpha[c] < 0) folded_w.quantized[c * inner + k] = static_cast<int8_t>(-folded_w.quantized[c * inner + k]);
        folded_w.float_data[c * inner + k] = static_cast<float>(folded_w.float_data[c * inner + k] * alpha[c]);
      }
    }
    q.scales = scales;
    q.axis = 0;
    folded_w.quant = q;
    ir::Tensor bias;
    bias.name = conv.name + "/folded_bias";
    bias.shape = {C};
    bias.has_shape = bias.is_constant = true;
    for (double b : beta) bias.float_data.push_back(static_cast<float>(b));
    g.tensors[folded_w.name] = folded_w;
    g.tensors[bias.name] = bias;
    conv.inputs.resize(3);
    conv.inputs[1] = folded_w.name;
    conv.inputs[2] = bias.name;
    conv.outputs[0] = out;
    for (int k : chain) {
      remove[k] = true;
      conv.folded_nodes.push_back(g.nodes[k]);
    }
    folded += static_cast<int>(chain.size());
  }
  g.remove_nodes(remove);
  return folded;
}

}  // namespace bpu

namespace bpu {

namespace {

ir::Attribute ints_attr(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::Ints;
  a.ints = std::move(v);
  return a;
}

}  // namespace

int standalone_bn_to_depthwise(ir::Graph& g) {
  int rewritten = 0;
  for (ir::Node& n : g.nodes) {
    if (n.op_type != "BatchNormalization" || !n.domain.empty() || n.inputs.size() != 5 || n.outputs.size() != 1) continue;
    const ir::Tensor& x = g.tensor(n.inputs[0]);
    if (!x.quant || x.quant->per_channel() || x.is_constant || x.shape.size() != 4) continue;
    const int64_t C = x.shape[1];
    std::vector<double> gamma, beta, mean, var;
    if (C < 1 || !per_channel(g, n.inputs[1], C, &gamma) || !per_channel(g, n.inputs[2], C, &beta) ||
        !per_channel(g, n.inputs[3], C, &mean) || !per_channel(g, n.inputs[4], C, &var)) {
      continue;
    }
    const double eps = n.attr("epsilon") ? n.attr("epsilon")->f : 1e-5;
    ir::Tensor w;
    w.name = n.name + "/depthwise_weight";
    w.shape = {C, 1, 1, 1};
    w.has_shape = w.is_constant = true;
    w.elem_type = ir::ElemType::Int8;
    ir::Tensor b;
    b.name = n.name + "/depthwise_bias";
    b.shape = {C};
    b.has_shape = b.is_constant = true;
    ir::QuantParams q;
    q.axis = 0;
    q.synthesized = true;
    bool finite = true;
    for (int64_t c = 0; c < C; ++c) {
      const double factor = gamma[c] / std::sqrt(var[c] + eps);
      finite &= std::isfinite(factor) && std::isfinite(beta[c] - mean[c] * factor);
      // One weight per channel: code +-127 at scale |factor| / 127 represents it exactly in real units.
      const float scale = factor != 0 ? static_cast<float>(std::fabs(factor) / 127.0) : 1.0f;
      const int8_t code = factor > 0 ? 127 : factor < 0 ? -127 : 0;
      q.scales.push_back(scale);
      w.quantized.push_back(code);
      w.float_data.push_back(static_cast<float>(code) * scale);
      b.float_data.push_back(static_cast<float>(beta[c] - mean[c] * factor));
    }
    if (!finite) continue;
    w.quant = q;
    g.tensors[w.name] = w;
    g.tensors[b.name] = b;
    n.op_type = "Conv";
    n.inputs = {n.inputs[0], w.name, b.name};
    n.attributes.clear();
    n.attributes["group"] = ir::Attribute::of_int(C);
    n.attributes["kernel_shape"] = ints_attr({1, 1});
    n.attributes["strides"] = ints_attr({1, 1});
    n.attributes["dilations"] = ints_attr({1, 1});
    n.attributes["pads"] = ints_attr({0, 0, 0, 0});
    ++rewritten;
  }
  return rewritten;
}

}  // namespace bpu
