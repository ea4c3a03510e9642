// node_info int16 requests -> 16-bit quantization parameters.

#include "quant/int16_override.h"

#include "common/error.h"

namespace bpu {

std::vector<std::string> apply_int16_requests(ir::Graph& g, const std::map<std::string, Int16Request>& requests) {
  std::vector<std::string> widened;
  auto widen = [&](const ir::Node& n, const std::string& name) {
    ir::Tensor& t = g.tensor(name);
    if (t.is_constant) return;
    if (!t.quant) {
      throw Error(ExitCode::Unsupported, "model '" + g.source_path + "': node_info asks int16 for tensor '" + name +
                                             "' of node '" + n.name + "', which carries no fake quantization");
    }
    if (t.quant->bits == 16) return;
    for (float& s : t.quant->scales) s = static_cast<float>(static_cast<double>(s) * 127.0 / 32767.0);
    t.quant->bits = 16;
    widened.push_back(name);
  };
  for (const auto& n : g.nodes) {
    auto it = requests.find(n.name);
    if (it == requests.end()) continue;
    const Int16Request& r = it->second;
    if (r.output) for (const auto& o : n.outputs) widen(n, o);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!n.inputs[i].empty() && (r.all_inputs || r.inputs.count(static_cast<int>(i)))) widen(n, n.inputs[i]);
    }
  }
  return widened;
}

}  // namespace bpu
