// The public C++ compiler API (include/bpu_mapper/compiler.hpp): compile (makertbin), check (checker) and
// verify over api/bpu_mapper.h and report/verify, with the results copied into the public types.

#include <filesystem>
#include <optional>
#include <set>

#include "artifact/bin_format.h"
#include "artifact/pack_format.h"
#include "common/file_io.h"
#include "common/npy.h"
#include "lower/boundary.h"
#include "arch/bayes/sim/validate.h"
#include "bpu_mapper/compiler.hpp"

#include <spdlog/spdlog.h>

#include "api/bpu_mapper.h"
#include "arch/target.h"
#include "api/public/guard.h"
#include "api/public/model_impl.h"
#include "config/config.h"
#include "partition/reason.h"
#include "passes/input_preprocess.h"
#include "report/layer_dump.h"
#include "report/verify.h"
#include "runtime/qat_reference.h"

namespace bpu_mapper {

namespace {

CompileResult to_public(bpu::CompileResult&& r) {
  CompileResult out;
  for (const auto& p : r.placement) {
    out.placement.push_back({p.node, p.op_type, p.device, p.subgraph, bpu::reason_name(p.reason_code), p.reason});
  }
  out.placement_table = bpu::format_placement_table(r.placement);
  out.placement_summary = bpu::format_placement_summary(r.placement, r.partition);
  for (const auto& n : r.accuracy.nodes) out.node_accuracy.push_back({n.node, n.op_type, n.device, n.tensor, n.cosine, n.threshold});
  for (const auto& o : r.accuracy.outputs) {
    out.output_accuracy.push_back({o.output, o.vs_float.cosine, o.vs_float.l1, o.vs_float.l2, o.vs_float.chebyshev,
                                   o.cosine_vs_qat, o.identical_vs_qat, o.max_lsb_vs_qat});
  }
  out.accuracy_sample = r.accuracy.sample;
  if (!r.accuracy.nodes.empty() || !r.accuracy.outputs.empty()) {
    out.accuracy_node_table = bpu::format_node_accuracy_table(r.accuracy);
    out.accuracy_output_tables = bpu::format_output_accuracy_tables(r.accuracy);
    out.accuracy_tables = out.accuracy_node_table + "\n" + out.accuracy_output_tables;
    out.perf_text = bpu::format_perf_report(r.perf);
  }
  if (r.calibration) {
    out.calibration_method = r.calibration->chosen;
    out.calibration_scores = r.calibration->scores;
  }
  out.warnings = std::move(r.warnings);
  out.phase_seconds = std::move(r.phase_seconds);
  out.seconds = r.seconds;
  return out;
}

// The shapes the QAT model runs at: the .bin's (an image input's train shape, before its preprocessing), or the
// caller's, which must then equal them.
bpu::ImportOptions verify_shapes(const std::map<std::string, std::vector<int64_t>>& given, const bpu::CompiledModel& m) {
  bpu::ImportOptions o;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    const bpu::TensorInfo& in = m.inputs[i];
    const bool pre = i < m.input_formats.size() && m.input_formats[i].needs_preprocess();
    o.input_shapes[in.name] = pre ? bpu::train_shape_of(m.input_formats[i], in.shape, "input '" + in.name + "'",
                                                        bpu::ExitCode::Artifact)
                                  : in.shape;
  }
  for (const auto& [name, shape] : given) {
    auto it = o.input_shapes.find(name);
    if (it == o.input_shapes.end()) throw Error(BPU_ERR_USAGE, "input shape for '" + name + "': the .bin has no such input");
    if (it->second != shape) {
      throw Error(BPU_ERR_USAGE, "input shape " + bpu::shape_to_string(shape) + " for '" + name + "': the .bin was compiled for " +
                                     bpu::shape_to_string(it->second) + "; give that shape");
    }
  }
  return o;
}

bpu::QatReference reference_for(const std::string& onnx_path, const bpu::ImportOptions& shapes,
                                 const std::vector<bpu::TensorInfo>& ins,
                                 bpu::cpu::Precision precision = bpu::cpu::Precision::Float32) {
  try {
    return bpu::QatReference::from_file(onnx_path, shapes, false, precision);
  } catch (const bpu::Error& e) {
    // A .bin compiled with input_batch from a static batch-1 model: the batch is set like makertbin did.
    if (e.code() != bpu::ExitCode::Config || ins.size() != 1 || ins[0].shape.empty() || ins[0].shape[0] == 1) throw;
    bpu::ImportOptions batched;
    batched.input_shapes[ins[0].name] = ins[0].shape;
    batched.input_shapes[ins[0].name][0] = 1;
    batched.input_batch = ins[0].shape[0];
    return bpu::QatReference::from_file(onnx_path, batched, false, precision);
  }
}

TensorAgreement agreement(const bpu::TensorAgreement& a) {
  return {a.tensor, a.node, a.cosine, a.max_diff, a.max_lsb, a.identical, a.within, a.exact,
          static_cast<int64_t>(a.elements), static_cast<int64_t>(a.bin_codes_vs_exact),
          static_cast<int64_t>(a.qat_codes_vs_exact), a.bin_max_lsb_vs_exact, a.qat_max_lsb_vs_exact};
}

}  // namespace

CompileResult compile(const std::string& config_path) {
  return detail::guarded([&] {
    bpu::MapperConfig cfg = bpu::load_config(config_path);
    for (const auto& w : cfg.warnings) spdlog::warn("{}", w);
    for (const auto& d : cfg.defaults) spdlog::info("default: {}", d);
    spdlog::info("march {}, onnx_model '{}', working_dir '{}'", cfg.march, cfg.onnx_model, cfg.working_dir);
    CompileResult out = to_public(bpu::makertbin(cfg));
    out.bin_path = cfg.output_bin_path();
    out.report_json_path = cfg.working_dir + "/" + cfg.output_model_file_prefix + "_report.json";
    out.warnings.insert(out.warnings.begin(), cfg.warnings.begin(), cfg.warnings.end());
    out.defaults = cfg.defaults;
    return out;
  });
}

CompileResult check(const std::string& onnx_path, const std::map<std::string, std::vector<int64_t>>& input_shapes,
                    const std::string& march) {
  return detail::guarded([&] { return to_public(bpu::check_model(onnx_path, march, input_shapes)); });
}

VerifyResult verify(const std::string& bin_path, const std::string& onnx_path, const TensorMap& inputs, double tolerance_lsb,
                    bool isolated, const std::map<std::string, std::vector<int64_t>>& input_shapes, const std::string& model_name,
                    bool exact) {
  return detail::guarded([&] {
    if (tolerance_lsb < 0) throw Error(BPU_ERR_USAGE, "tolerance_lsb must be >= 0");
    if (exact && isolated) {
      throw Error(BPU_ERR_USAGE, "--exact and --isolated do not combine: the .bin's values are float32 and would not "
                                 "feed the float64 reference exactly; run them separately");
    }
    Model model = Model::load(bin_path, "", model_name);
    const bpu::ModelRunner& runner = model.impl().runner;
    const auto& ins = runner.model().inputs;
    const bpu::ImportOptions shapes = verify_shapes(input_shapes, runner.model());
    bpu::QatReference reference = reference_for(onnx_path, shapes, ins);
    std::optional<bpu::QatReference> exact_reference;
    if (exact) exact_reference = reference_for(onnx_path, shapes, ins, bpu::cpu::Precision::Float64);
    bpu::VerifyReport report = bpu::verify_model(runner, reference, detail::to_internal(inputs), tolerance_lsb, isolated,
                                                 exact_reference ? &*exact_reference : nullptr);
    VerifyResult out;
    out.passed = report.passed();
    out.first_diverging_node = report.first_diverging_node;
    for (const auto& a : report.outputs) out.outputs.push_back(agreement(a));
    for (const auto& a : report.nodes) out.nodes.push_back(agreement(a));
    out.text = bpu::format_verify_report(report);
    return out;
  });
}

std::string supported_ops_markdown(const std::string& march) {
  return detail::guarded([&] { return bpu::arch::target_for(march).supported_ops_markdown(); });
}

std::vector<std::string> modify_model(const std::string& bin_path, const std::vector<std::string>& remove_names,
                                      const std::vector<std::string>& remove_types, const std::string& out_path) {
  return detail::guarded([&] {
    if (remove_names.empty() && remove_types.empty()) {
      throw Error(BPU_ERR_USAGE, "modifier: give -r NODE or -a TYPE (boundary nodes: see `bpu-mapper info`)");
    }
    const std::vector<uint8_t> bytes = bpu::read_file(bin_path, bpu::kMaxBinBytes, "model");
    if (bpu::is_pack(bytes)) {
      throw Error(BPU_ERR_USAGE, "modifier: '" + bin_path + "' is a packed file; modify each .bin before packing them");
    }
    bpu::CompiledModel m = bpu::deserialize_model(bytes, bin_path);
    bpu::validate_model(m, bin_path, "");  // a .bin the runtime accepts before and after
    const std::set<std::string> names(remove_names.begin(), remove_names.end());
    const std::set<std::string> types(remove_types.begin(), remove_types.end());
    std::vector<std::string> removed = bpu::remove_boundary_nodes(m, types, names, "model '" + bin_path + "'", bpu::ExitCode::Usage);
    if (removed.empty()) throw Error(BPU_ERR_USAGE, "modifier: model '" + bin_path + "' has no boundary node of those types left");
    bpu::validate_model(m, out_path, "");
    bpu::write_file_atomic(out_path, bpu::serialize_model(m));
    return removed;
  });
}

namespace {

void create_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(BPU_ERR_IO, "cannot create output folder '" + dir + "': " + ec.message());
}

// Each side's values into <dir>/bin and <dir>/onnx, then the index; rows describe the pairs.
InferResult write_layer_dumps(const std::vector<bpu::DumpedTensor>& bin, const std::vector<bpu::DumpedTensor>& onnx,
                              const std::string& dir) {
  const std::vector<bpu::LayerPair> pairs = bpu::pair_dumps(bin, onnx);
  const std::vector<std::string> files = bpu::dump_file_names(pairs);
  if (!bin.empty()) create_directory(dir + "/bin");
  if (!onnx.empty()) create_directory(dir + "/onnx");
  InferResult out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const bpu::LayerPair& p = pairs[i];
    LayerDumpRow row;
    row.tensor = p.tensor;
    row.node = p.node;
    row.shape = (p.bin ? p.bin : p.onnx)->value.shape;
    if (p.bin) bpu::save_npy(dir + "/bin/" + files[i], p.bin->value);
    if (p.onnx) bpu::save_npy(dir + "/onnx/" + files[i], p.onnx->value);
    row.bin_file = p.bin ? "bin/" + files[i] : "";
    row.onnx_file = p.onnx ? "onnx/" + files[i] : "";
    row.compared = p.bin && p.onnx && p.bin->value.data.size() == p.onnx->value.data.size();
    row.cosine = p.cosine;
    row.max_diff = p.max_diff;
    out.rows.push_back(std::move(row));
  }
  out.index_path = dir + "/layer_index.csv";
  const std::string index = bpu::format_layer_index(pairs, files);
  bpu::write_file_atomic(out.index_path, index.data(), index.size());
  return out;
}

}  // namespace

InferResult infer(const std::string& bin_path, const std::string& onnx_path, const TensorMap& inputs,
                  const std::string& output_dir, const std::string& model_name) {
  return detail::guarded([&] {
    if (bin_path.empty() && onnx_path.empty()) throw Error(BPU_ERR_USAGE, "infer: give a .bin (--model), a QAT ONNX (--onnx) or both");
    if (output_dir.empty()) throw Error(BPU_ERR_USAGE, "infer: the output folder is empty");
    const std::map<std::string, bpu::FloatArray> given = detail::to_internal(inputs);
    std::vector<bpu::DumpedTensor> bin, onnx;
    if (!bin_path.empty()) {
      Model model = Model::load(bin_path, "", model_name);
      const bpu::ModelRunner& runner = model.impl().runner;
      bin = bpu::dump_bin_tensors(runner, given);
      if (!onnx_path.empty()) {
        bpu::QatReference reference = reference_for(onnx_path, verify_shapes({}, runner.model()), runner.model().inputs);
        onnx = bpu::dump_qat_tensors(reference, runner.reference_inputs(given));
        // An input with preprocessing or a layout change is pixels (or another layout) on the .bin side: the QAT
        // model's input pairs with the .bin's preprocessed tensor instead (<input>_hz_preprocessed), if any.
        const bpu::CompiledModel& m = runner.model();
        for (size_t i = 0; i < m.inputs.size() && i < m.input_formats.size(); ++i) {
          if (!m.input_formats[i].needs_preprocess()) continue;
          for (auto& t : onnx) t.tensor = t.tensor == m.inputs[i].name ? bpu::preprocessed_name(t.tensor) : t.tensor;
        }
      }
    } else {
      bpu::ImportOptions shapes;
      for (const auto& [name, a] : given) shapes.input_shapes[name] = a.shape;
      onnx = bpu::dump_qat_tensors(bpu::QatReference::from_file(onnx_path, shapes), given);
    }
    return write_layer_dumps(bin, onnx, output_dir);
  });
}

std::vector<std::string> pack_models(const std::vector<std::string>& bin_paths, const std::string& out_path) {
  return detail::guarded([&] {
    std::vector<std::pair<std::string, std::vector<uint8_t>>> models;
    std::vector<std::string> names;
    for (const auto& path : bin_paths) {
      std::vector<uint8_t> bytes = bpu::read_file(path, bpu::kMaxBinBytes, "model");
      if (bpu::is_pack(bytes)) throw Error(BPU_ERR_USAGE, "pack: '" + path + "' is already a packed file; a pack cannot be packed again");
      bpu::validate_model(bpu::deserialize_model(bytes, path), path, "");  // only models the runtime accepts go in
      models.emplace_back(bpu::model_name_for_path(path), std::move(bytes));
      names.push_back(models.back().first);
    }
    bpu::write_file_atomic(out_path, bpu::pack_model_files(models));
    return names;
  });
}

}  // namespace bpu_mapper
