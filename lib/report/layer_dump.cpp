// Layer dumps of a .bin run and a QAT graph run, paired by tensor name.

#include "report/layer_dump.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "common/npy.h"
#include "report/csv.h"
#include "report/verify.h"

namespace bpu {

namespace {

bool is_fake_quant_op(const std::string& op) {
  return op == "QuantizeLinear" || op == "DequantizeLinear" || op == "Constant";
}

std::string shape_field(const Shape& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

}  // namespace

std::vector<DumpedTensor> dump_bin_tensors(const ModelRunner& runner, const std::map<std::string, FloatArray>& inputs) {
  std::map<std::string, FloatArray> trace;
  std::map<std::string, FloatArray> outputs = runner.float_outputs(runner.run(inputs, ConvKernel::Fast, &trace));
  for (auto& [name, value] : outputs) trace[name] = std::move(value);
  for (const auto& [name, value] : inputs) trace.emplace(name, value);
  std::vector<DumpedTensor> out;
  for (auto& [name, value] : trace) out.push_back({name, "", std::move(value)});
  return out;
}

std::vector<DumpedTensor> dump_qat_tensors(const QatReference& reference, const std::map<std::string, FloatArray>& inputs) {
  std::map<std::string, FloatArray> trace;
  for (auto& [name, value] : reference.run(inputs, &trace)) trace[name] = std::move(value);
  std::vector<DumpedTensor> out;
  for (const auto& in : reference.graph().inputs) {
    auto it = trace.find(reference.fake_quantized_name(in));
    if (it == trace.end()) it = inputs.find(in) != inputs.end() ? trace.emplace(in, inputs.at(in)).first : trace.end();
    if (it != trace.end()) out.push_back({in, "", it->second});
  }
  for (const auto& n : reference.graph().nodes) {
    if (is_fake_quant_op(n.op_type)) continue;
    for (const auto& t : n.outputs) {
      if (t.empty()) continue;
      auto it = trace.find(reference.fake_quantized_name(t));
      if (it == trace.end()) it = trace.find(t);
      if (it != trace.end()) out.push_back({t, n.name, it->second});
    }
  }
  // A model output that is a DequantizeLinear's (the .bin names the fake-quantized tensor after the output).
  for (const auto& o : reference.graph().outputs) {
    const bool listed = std::any_of(out.begin(), out.end(), [&](const DumpedTensor& d) { return d.tensor == o; });
    auto it = trace.find(o);
    if (!listed && it != trace.end()) out.push_back({o, "(model output)", it->second});
  }
  return out;
}

std::vector<LayerPair> pair_dumps(const std::vector<DumpedTensor>& bin, const std::vector<DumpedTensor>& onnx) {
  std::map<std::string, const DumpedTensor*> by_name;
  for (const auto& b : bin) by_name[b.tensor] = &b;
  std::vector<LayerPair> pairs;
  std::set<std::string> seen;
  for (const auto& o : onnx) {
    if (!seen.insert(o.tensor).second) continue;
    LayerPair p;
    p.tensor = o.tensor;
    p.node = o.node;
    p.onnx = &o;
    auto it = by_name.find(o.tensor);
    if (it != by_name.end()) p.bin = it->second;
    pairs.push_back(p);
  }
  for (const auto& b : bin) {
    if (seen.count(b.tensor)) continue;
    LayerPair p;
    p.tensor = b.tensor;
    p.bin = &b;
    pairs.push_back(p);
  }
  for (auto& p : pairs) {
    if (!p.bin || !p.onnx || p.bin->value.data.size() != p.onnx->value.data.size()) continue;
    Distances d = distances(p.bin->value.data, p.onnx->value.data);
    p.cosine = d.cosine;
    p.max_diff = d.chebyshev;
  }
  return pairs;
}

std::string format_layer_index(const std::vector<LayerPair>& pairs, const std::vector<std::string>& files) {
  std::ostringstream os;
  os << "tensor,node,shape,bin_file,onnx_file,cosine,max_abs_diff\n";
  for (size_t i = 0; i < pairs.size(); ++i) {
    const LayerPair& p = pairs[i];
    const DumpedTensor* any = p.bin ? p.bin : p.onnx;
    os << csv_field(p.tensor) << ',' << csv_field(p.node) << ',' << shape_field(any->value.shape) << ','
       << (p.bin ? csv_field("bin/" + files[i]) : "") << ',' << (p.onnx ? csv_field("onnx/" + files[i]) : "") << ',';
    if (p.bin && p.onnx && p.bin->value.data.size() == p.onnx->value.data.size()) {
      char nums[64];
      std::snprintf(nums, sizeof(nums), "%.8f,%.6g", p.cosine, p.max_diff);
      os << nums;
    } else {
      os << ',';
    }
    os << '\n';
  }
  return os.str();
}

std::vector<std::string> dump_file_names(const std::vector<LayerPair>& pairs) {
  std::vector<std::string> files;
  std::set<std::string> used;
  for (const auto& p : pairs) {
    std::string f = npy_file_name(p.tensor);
    for (int k = 2; !used.insert(f).second; ++k) f = npy_file_name(p.tensor + "~" + std::to_string(k));
    files.push_back(f);
  }
  return files;
}

}  // namespace bpu
