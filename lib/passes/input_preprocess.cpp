// HzPreprocess insertion (input_preprocess.h).

#include "passes/input_preprocess.h"

#include "common/error.h"
#include "ops/preprocess.h"

namespace bpu {

std::string preprocessed_name(const std::string& input) { return input + "_hz_preprocessed"; }

int insert_input_preprocessing(ir::Graph& g, const std::map<std::string, InputFormat>& formats) {
  int inserted = 0;
  std::vector<ir::Node> front;
  for (const auto& name : g.inputs) {
    auto it = formats.find(name);
    if (it == formats.end() || !it->second.needs_preprocess()) continue;
    const InputFormat& f = it->second;
    ir::Tensor& in = g.tensor(name);
    const std::string what = "model '" + g.source_path + "': input '" + name + "'";
    if (!in.has_shape) throw Error(ExitCode::Config, what + " has no static shape; set input_parameters.input_shape");
    const Shape rt = runtime_shape(f, in.shape, what);
    const std::string out = preprocessed_name(name);
    if (g.has_tensor(out)) throw Error(ExitCode::Model, what + ": the model already has a tensor '" + out + "'");
    ir::Tensor trained = in;
    trained.name = out;
    g.tensors[out] = trained;
    g.replace_uses_all({{name, out}});
    in.shape = rt;
    in.elem_type = f.is_image() ? ir::ElemType::Uint8 : ir::ElemType::Float;
    ir::Node n;
    n.name = name + "_HzPreprocess";
    n.op_type = ops::kPreprocessOp;
    n.domain = ops::kPreprocessDomain;
    n.inputs = {name};
    n.outputs = {out};
    ops::set_preprocess_format(n, f);
    front.push_back(std::move(n));
    ++inserted;
  }
  g.nodes.insert(g.nodes.begin(), front.begin(), front.end());
  return inserted;
}

}  // namespace bpu
