// Post-training calibration (see calibration.h).

#include "api/calibration.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <mutex>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "calib/cal_data.h"
#include "calib/qdq_model.h"
#include "calib/select.h"
#include "calib/stats.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "runtime/qat_reference.h"

namespace bpu {

namespace {

using Inputs = std::map<std::string, FloatArray>;
using Trace = std::map<std::string, FloatArray>;
using StatsMap = std::map<std::string, calib::TensorStats>;

constexpr size_t kGeneratedSamples = 8;    // calibration_type skip
constexpr size_t kScoreSamples = 8;        // default: candidates scored on at most this many samples
constexpr size_t kMixSamples = 2;          // mix: per-tensor trials on at most this many
constexpr double kMixMinChange = 0.01;     // mix: a candidate within 1 % of the current scale is not tried
constexpr double kDefaultPercentile = 0.99995;

// Where the samples come from: the cal_data_dir folders, or generated N(0,1) data (skip).
struct SampleSource {
  std::vector<calib::SampleFolder> folders;
  std::vector<std::pair<std::string, Shape>> generated;  // input -> shape
  size_t count = 0;
  // Image inputs with a norm_type: hb_mapper's samples are in input_type_train before the normalization the
  // .bin's HzPreprocess applies, so the float model sees them normalized (the train type converted to itself).
  std::map<std::string, InputFormat> normalize;

  Inputs sample(size_t i) const {
    Inputs in;
    for (const auto& f : folders) {
      in[f.input] = calib::read_sample(f, i);
      auto it = normalize.find(f.input);
      if (it != normalize.end()) in[f.input].data = preprocess_float(it->second, in[f.input].shape, in[f.input].data);
    }
    for (const auto& [name, shape] : generated) {
      std::mt19937 rng(static_cast<uint32_t>(2024 + i));
      std::normal_distribution<float> nd(0.0f, 1.0f);
      FloatArray a{shape, std::vector<float>(static_cast<size_t>(checked_element_count(shape, name, ExitCode::Config)))};
      for (auto& v : a.data) v = nd(rng);
      in[name] = std::move(a);
    }
    return in;
  }
};

SampleSource sample_source(const MapperConfig& cfg, const ir::Graph& g, std::vector<std::string>* warnings,
                           std::string* description) {
  SampleSource s;
  if (cfg.calibration_type == "skip") {
    for (const auto& name : g.inputs) s.generated.emplace_back(name, g.tensor(name).shape);
    s.count = kGeneratedSamples;
    *description = std::to_string(kGeneratedSamples) + " generated N(0,1) samples (calibration_type skip)";
    return s;
  }
  if (cfg.cal_data_dir.size() != g.inputs.size()) {
    throw Error(ExitCode::Config, "calibration_parameters.cal_data_dir: " + std::to_string(cfg.cal_data_dir.size()) +
                                      " folder(s) for " + std::to_string(g.inputs.size()) + " model input(s); "
                                      "calibration_type '" + cfg.calibration_type + "' needs one folder per input");
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    // Folder i belongs to the i-th input of input_name when the config names them (hb_mapper's order), else to
    // the model's i-th input.
    std::string input = g.inputs[i];
    if (cfg.inputs.size() == g.inputs.size() && !cfg.inputs[i].name.empty() && g.has_tensor(cfg.inputs[i].name)) {
      input = cfg.inputs[i].name;
    }
    for (const auto& ci : cfg.inputs) {
      if ((ci.name == input || (ci.name.empty() && g.inputs.size() == 1)) && ci.format.is_image() &&
          ci.format.norm != NormType::None) {
        InputFormat f = ci.format;
        f.type_rt = f.type_train;
        f.rt_nhwc = f.train_nhwc;
        f.video_range = false;  // the samples are already in the train type's full range
        s.normalize[input] = f;
      }
    }
    std::string warning;
    s.folders.push_back(calib::list_samples(input, g.tensor(input).shape, cfg.cal_data_dir[i], sample_format(cfg, i), &warning));
    if (!warning.empty()) warnings->push_back(warning);
    *description += (description->empty() ? "" : "; ") + cfg.cal_data_dir[i] + " (" + s.folders.back().dtype + ")";
  }
  s.count = s.folders[0].files.size();
  for (const auto& f : s.folders) {
    if (f.files.size() != s.count) {
      throw Error(ExitCode::Config, "calibration_parameters.cal_data_dir: folder '" + f.folder + "' holds " +
                                        std::to_string(f.files.size()) + " samples, '" + s.folders[0].folder + "' " +
                                        std::to_string(s.count) + "; give every input the same number");
    }
  }
  *description = std::to_string(s.count) + " samples from " + *description;
  return s;
}

// Runs `body(sample index, trace)` for every sample on up to hardware_concurrency workers; each worker keeps its
// own statistics, merged in worker order (the merge is order-independent: max and integer sums).
StatsMap gather(const QatReference& ref, const SampleSource& src, const std::vector<std::string>& tensors,
                const StatsMap* absmax_pass, const std::string& phase) {
  const int workers = std::max(1, std::min<int>(static_cast<int>(std::thread::hardware_concurrency()),
                                                static_cast<int>(src.count)));
  std::vector<StatsMap> partial(static_cast<size_t>(workers));
  std::atomic<size_t> next{0}, done{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&](int w) {
    try {
      StatsMap& mine = partial[static_cast<size_t>(w)];
      for (size_t i = next++; i < src.count; i = next++) {
        Trace trace;
        Inputs in = src.sample(i);
        ref.run(in, &trace);
        for (const auto& in_name : ref.graph().inputs) trace[in_name] = in.at(in_name);
        for (const auto& t : tensors) {
          auto it = trace.find(t);
          if (it == trace.end()) continue;
          calib::TensorStats& st = mine[t];
          if (absmax_pass) {
            st.absmax = absmax_pass->at(t).absmax;
            st.add_histogram(it->second.data.data(), it->second.data.size());
          } else {
            st.add_absmax(it->second.data.data(), it->second.data.size());
          }
        }
        report_progress(phase, static_cast<int>(++done), static_cast<int>(src.count));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = src.count;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  end_progress();
  if (failure) std::rethrow_exception(failure);
  StatsMap merged;
  for (const auto& p : partial) {
    for (const auto& [t, st] : p) merged[t].merge(st);
  }
  return merged;
}

float scale_for(const calib::TensorStats& st, const std::string& method, double percentile, int bits) {
  const double qmax = bits == 16 ? 32767.0 : 127.0;
  double t = st.absmax;
  if (method == "max_percentile") t = calib::percentile_threshold(st.histogram, st.bin_width(), percentile);
  if (method == "kl" && bits == 8) t = calib::kl_threshold(st.histogram, st.bin_width());
  t = std::min(t, st.absmax);
  return t > 0 ? static_cast<float>(t / qmax) : static_cast<float>(1.0 / qmax);
}

// The fake-quant model for one scale per tensor.
std::string build(const std::string& float_onnx, const std::string& context, const std::vector<CalibratedTensor>& tensors,
                  const calib::Selection& sel) {
  std::vector<calib::ActivationScale> acts;
  for (const auto& t : tensors) acts.push_back({t.tensor, t.scale, t.bits});
  return calib::insert_fake_quant(float_onnx, context, acts, sel.weights);
}

// Output agreement of a fake-quant model with the float model: the mean over outputs of the cosine over all
// evaluation samples together.
class Scorer {
 public:
  Scorer(const QatReference& float_ref, const SampleSource& src, size_t samples, const ImportOptions& shapes)
      : shapes_(shapes) {
    for (size_t i = 0; i < std::min(samples, src.count); ++i) {
      inputs_.push_back(src.sample(i));
      float_outputs_.push_back(float_ref.run(inputs_.back()));
    }
  }
  double score(const std::string& onnx, const std::string& context) const {
    QatReference q = QatReference::from_bytes(onnx, context, false, shapes_);
    std::map<std::string, std::array<double, 3>> acc;  // output -> dot, |a|^2, |b|^2
    for (size_t i = 0; i < inputs_.size(); ++i) {
      Trace out = q.run(inputs_[i]);
      for (const auto& [name, ref] : float_outputs_[i]) {
        const auto& got = out.at(name).data;
        auto& a = acc[name];
        for (size_t k = 0; k < got.size() && k < ref.data.size(); ++k) {
          a[0] += double(got[k]) * ref.data[k];
          a[1] += double(got[k]) * got[k];
          a[2] += double(ref.data[k]) * ref.data[k];
        }
      }
    }
    double sum = 0;
    for (const auto& [name, a] : acc) sum += a[1] > 0 && a[2] > 0 ? a[0] / std::sqrt(a[1] * a[2]) : (a[1] == a[2] ? 1.0 : 0.0);
    return acc.empty() ? 0 : sum / static_cast<double>(acc.size());
  }

 private:
  ImportOptions shapes_;
  std::vector<Inputs> inputs_;
  std::vector<Trace> float_outputs_;
};

}  // namespace

calib::SampleFormat sample_format(const MapperConfig& config, size_t index) {
  calib::SampleFormat f;
  if (!config.cal_data_type.empty()) f.cal_data_type = config.cal_data_type[std::min(index, config.cal_data_type.size() - 1)];
  f.images = config.preprocess_on;
  if (!config.inputs.empty()) {
    const InputConfig& in = config.inputs[std::min(index, config.inputs.size() - 1)];
    f.layout = in.layout_train;
    f.bgr = in.type_train == "bgr";
  }
  return f;
}

bool wants_calibration(const MapperConfig& config) {
  return !config.calibration_type.empty() && config.calibration_type != "load";
}

CalibrationResult calibrate_model(const MapperConfig& cfg, const ImportOptions& shapes) {
  const auto start = std::chrono::steady_clock::now();
  CalibrationResult result;
  CalibrationReport& rep = result.report;
  rep.requested = cfg.calibration_type;
  const std::vector<uint8_t> bytes = read_file(cfg.onnx_model, kMaxOnnxBytes, "ONNX model");
  const std::string float_onnx(bytes.begin(), bytes.end());
  const QatReference ref = QatReference::from_bytes(float_onnx, cfg.onnx_model, false, shapes, true);  // weights read
  if (calib::has_fake_quant(ref.graph())) {
    throw Error(ExitCode::Config, "calibration_parameters.calibration_type: '" + cfg.calibration_type + "' calibrates a "
                                  "float model, but '" + cfg.onnx_model + "' already carries fake quantization (a QAT "
                                  "export); use calibration_type: 'load' to take its scales");
  }
  const bool int16_all = std::count(cfg.optimization.begin(), cfg.optimization.end(), "set_all_nodes_int16") > 0;
  const bool out8 = std::count(cfg.optimization.begin(), cfg.optimization.end(), "set_model_output_int8") > 0;
  const bool out16 = std::count(cfg.optimization.begin(), cfg.optimization.end(), "set_model_output_int16") > 0;
  const calib::Selection sel = calib::select_tensors(ref.graph(), out8 || out16);
  const SampleSource src = sample_source(cfg, ref.graph(), &rep.warnings, &rep.data);
  rep.samples = src.count;
  spdlog::info("calibration: {} ({}), {} activation tensors and {} weights to quantize", cfg.calibration_type, rep.data,
               sel.activations.size(), sel.weights.size());
  const StatsMap absmax = gather(ref, src, sel.activations, nullptr, "calibration: absmax pass");
  const StatsMap stats = gather(ref, src, sel.activations, &absmax, "calibration: histogram pass");
  const double percentile = cfg.max_percentile > 0 ? cfg.max_percentile : kDefaultPercentile;
  for (const auto& t : sel.activations) {
    auto found = stats.find(t);
    if (found == stats.end()) continue;  // never computed at run time (a constant the CPU executor folded, unread)
    CalibratedTensor c;
    c.tensor = t;
    const calib::TensorStats& st = found->second;
    c.absmax = st.absmax;
    c.bits = int16_all || (out16 && ref.graph().is_graph_output(t)) ? 16 : 8;
    for (const char* m : {"max", "max_percentile", "kl"}) c.candidates[m] = scale_for(st, m, percentile, c.bits);
    rep.tensors.push_back(c);
  }
  for (const auto& w : sel.weights) rep.weights.emplace_back(w.initializer, w.scales.size());
  auto apply = [&](const std::string& method) {
    for (auto& c : rep.tensors) {
      c.method = method;
      c.scale = c.candidates.at(method);
    }
  };
  const std::string& type = cfg.calibration_type;
  if (type == "max" || type == "skip") apply(cfg.max_percentile > 0 ? "max_percentile" : "max");
  if (type == "kl") apply("kl");
  if (type == "default" || type == "mix") {
    const Scorer scorer(ref, src, kScoreSamples, shapes);
    double best = -2;
    std::string winner;
    for (const char* m : {"max", "max_percentile", "kl"}) {
      apply(m);
      const double s = scorer.score(build(float_onnx, cfg.onnx_model, rep.tensors, sel), cfg.onnx_model);
      rep.scores.emplace_back(m, s);
      spdlog::info("calibration: candidate {}: output cosine {:.6f}", m, s);
      if (s > best) {
        best = s;
        winner = m;
      }
    }
    apply(winner);
    rep.chosen = winner;
    if (type == "mix") {
      const Scorer mix_scorer(ref, src, kMixSamples, shapes);
      double current = mix_scorer.score(build(float_onnx, cfg.onnx_model, rep.tensors, sel), cfg.onnx_model);
      size_t changed = 0;
      for (auto& c : rep.tensors) {
        const CalibratedTensor base = c;
        CalibratedTensor best_choice = base;
        for (const auto& [m, scale] : base.candidates) {
          if (m == base.method || std::fabs(scale - base.scale) <= kMixMinChange * base.scale) continue;
          c.method = m;
          c.scale = scale;
          const double s = mix_scorer.score(build(float_onnx, cfg.onnx_model, rep.tensors, sel), cfg.onnx_model);
          if (s > current + 1e-9) {
            current = s;
            best_choice = c;
          }
        }
        c = best_choice;
        changed += c.method != base.method;
      }
      rep.scores.emplace_back("mix", current);
      rep.chosen = "mix (" + winner + " with " + std::to_string(changed) + " tensors changed)";
      spdlog::info("calibration: mix: {} of {} tensors took another method; output cosine {:.6f}", changed,
                   rep.tensors.size(), current);
    }
  } else {
    rep.chosen = rep.tensors.empty() ? type : rep.tensors.front().method;
  }
  if (type == "skip") {
    rep.warnings.push_back("calibration_type 'skip' calibrated on generated data: the model's accuracy is meaningless; "
                           "use it for performance evaluation only");
  }
  result.onnx = build(float_onnx, cfg.onnx_model, rep.tensors, sel);
  // hb_mapper's node table: each calibrated tensor's cosine against the float model on the first sample.
  {
    const Inputs in = src.sample(0);
    Trace float_trace, q_trace;
    ref.run(in, &float_trace);
    const QatReference q = QatReference::from_bytes(result.onnx, cfg.onnx_model, false, shapes);
    q.run(in, &q_trace);
    for (const auto& c : rep.tensors) {
      auto f = float_trace.find(c.tensor);
      auto g = q_trace.find(q.fake_quantized_name(c.tensor));
      if (f == float_trace.end() || g == q_trace.end() || f->second.data.size() != g->second.data.size()) continue;
      double ab = 0, aa = 0, bb = 0;
      for (size_t k = 0; k < f->second.data.size(); ++k) {
        ab += double(f->second.data[k]) * g->second.data[k];
        aa += double(f->second.data[k]) * f->second.data[k];
        bb += double(g->second.data[k]) * g->second.data[k];
      }
      rep.node_cosine[c.tensor] = aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
    }
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("calibration: method {}, {} samples, {:.2f} s", rep.chosen, rep.samples, rep.seconds);
  return result;
}

}  // namespace bpu
