// Differential tests over opsets (issue 11 point 4): every case of test/data/ops/manifest.json (one operator
// form at one opset, written by scripts/gen_op_fixtures.py with goldens from an independent NumPy reading of the
// ONNX spec) is compiled in memory with each placement it allows — "default" (no lists), "cpu" (run_on_cpu with
// the op's node) and "bpu" (run_on_bpu with it) — and run on every saved input. A case passes when it compiles
// (a refusal or an internal error fails it) and every output is within 1 output LSB of the golden with >= 99 %
// of elements identical (>= 90 % for tie-prone ops: averaging, bilinear resize, softmax).
// The QAT reference used by `verify` is held to the same goldens ([opset_reference]), and so is the whole
// makertbin with the default placement ([opset_makertbin]); [opset_regression] holds the three silent-wrong
// cases of issue 11 (each failed before canonicalization). With
// BPU_OPSET_MATRIX=<file> every case/placement appends one PASS/FAIL line with the reason to that file.

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "artifact/bin_format.h"
#include "runtime/qat_reference.h"
#include "common/file_io.h"
#include "fixture_helpers.h"

using namespace bpu;

namespace {

struct OpCase {
  std::string name, op, node, input, note;
  int opset = 0, inputs = 0;
  bool tie_prone = false;
  std::vector<std::pair<std::string, double>> outputs;  // name, scale
  std::vector<std::string> placements;
};

std::vector<OpCase> load_manifest() {
  std::ifstream f(bpu::test::data_path("ops/manifest.json"));
  REQUIRE(f.good());
  nlohmann::json j = nlohmann::json::parse(f);
  std::vector<OpCase> cases;
  for (const auto& c : j.at("cases")) {
    OpCase oc;
    oc.name = c.at("name");
    oc.op = c.at("op");
    oc.node = c.at("node");
    oc.input = c.at("input");
    oc.note = c.at("note");
    oc.opset = c.at("opset");
    oc.inputs = c.at("inputs");
    oc.tie_prone = c.at("tie_prone");
    for (const auto& o : c.at("outputs")) oc.outputs.emplace_back(o.at("name"), o.at("scale"));
    for (const auto& p : c.at("placements")) oc.placements.push_back(p);
    cases.push_back(oc);
  }
  return cases;
}

// What one compile-and-run of a case with one placement gave.
struct Outcome {
  bool compiled = false, internal = false, ran = false;
  std::string error;      // refusal or internal error message
  std::string op_device;  // where the placement table put the op's node
  double worst_lsb = 0;   // over every output and input
  double identical = 1;   // lowest share of identical elements over outputs and inputs
  size_t elements = 0;
};

MapperConfig config_for(const OpCase& c, const std::string& placement) {
  MapperConfig cfg;
  cfg.yaml_path = bpu::test::data_path("ops/" + c.name + "/config (built by test_opset_forms.cpp)");
  cfg.onnx_model = bpu::test::data_path("ops/" + c.name + "/model.onnx");
  cfg.march = "bayes";
  cfg.inputs.push_back(InputConfig{});
  cfg.optimize_level = "O3";
  if (placement == "cpu") cfg.run_on_cpu = {c.node};
  if (placement == "bpu") cfg.run_on_bpu = {c.node};
  return cfg;
}

std::string golden_file(const OpCase& c, int k, size_t output) {
  const std::string suffix = c.outputs.size() == 1 ? "" : "_" + std::to_string(output);
  return bpu::test::data_path("ops/" + c.name + "/golden_" + std::to_string(k) + suffix + ".npy");
}

struct WrongShape : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using RunFn = std::function<std::map<std::string, FloatArray>(const FloatArray&)>;

// Runs every input through `run` and folds the per-output agreement with the goldens into `out`.
void compare_runs(const OpCase& c, const RunFn& run, Outcome* out) {
  for (int k = 0; k < c.inputs; ++k) {
    FloatArray x = load_npy(bpu::test::data_path("ops/" + c.name + "/input_" + std::to_string(k) + ".npy"));
    auto got = run(x);
    for (size_t o = 0; o < c.outputs.size(); ++o) {
      const auto& [name, scale] = c.outputs[o];
      FloatArray ref = load_npy(golden_file(c, k, o));
      const FloatArray& y = got.at(name);
      if (y.shape != ref.shape || y.data.size() != ref.data.size()) {
        throw WrongShape("output '" + name + "' has shape " + shape_to_string(y.shape) + ", the golden " +
                         shape_to_string(ref.shape));
      }
      size_t same = 0;
      for (size_t e = 0; e < y.data.size(); ++e) {
        const double lsb = std::fabs(double(y.data[e]) - ref.data[e]) / scale;
        out->worst_lsb = std::max(out->worst_lsb, lsb);
        same += lsb < 0.5;
      }
      out->identical = std::min(out->identical, double(same) / y.data.size());
      out->elements += y.data.size();
    }
  }
  out->ran = true;
}

// Compiles in memory (placement "default", "cpu" or "bpu") and runs the .bin; "makertbin" runs the whole
// makertbin (default placement) into a temporary folder and runs the .bin it wrote; "qat_reference" runs the
// QAT reference `verify` compares against. Any exception is caught and described.
Outcome run_case(const OpCase& c, const std::string& placement) {
  Outcome out;
  try {
    if (placement == "qat_reference") {
      QatReference ref = QatReference::from_file(bpu::test::data_path("ops/" + c.name + "/model.onnx"));
      out.compiled = true;
      out.op_device = "QAT reference";
      compare_runs(c, [&](const FloatArray& x) { return ref.run({{c.input, x}}); }, &out);
      return out;
    }
    if (placement == "makertbin") {  // the user's path: also writes the staged models and runs the accuracy report
      bpu::test::TempDir dir("opset_makertbin");
      MapperConfig cfg = config_for(c, "default");
      cfg.working_dir = dir.path().string();
      makertbin(cfg);
      out.compiled = true;
      out.op_device = "makertbin default";
      ModelRunner runner = ModelRunner::from_file(cfg.output_bin_path());
      compare_runs(c, [&](const FloatArray& x) { return runner.run({{c.input, x}}); }, &out);
      return out;
    }
    CompileResult r = compile_model(config_for(c, placement));
    out.compiled = true;
    out.op_device = "absent";
    for (const auto& row : r.placement) {
      if (row.node == c.node) out.op_device = row.device + std::string(" ") + reason_name(row.reason_code);
    }
    ModelRunner runner(deserialize_model(serialize_model(r.model), c.name + ".bin"), c.name + ".bin");
    compare_runs(c, [&](const FloatArray& x) { return runner.run({{c.input, x}}); }, &out);
  } catch (const WrongShape& e) {
    out.error = std::string("wrong shape: ") + e.what();
  } catch (const Error& e) {
    out.internal = e.code() == ExitCode::Internal;
    out.error = std::string(out.compiled ? "run: " : "") + exit_code_name(e.code()) + ": " + e.what();
  } catch (const std::exception& e) {  // anything but bpu::Error is the CLI's exit 70
    out.internal = true;
    out.error = std::string(out.compiled ? "run: " : "") + "internal error (exit 70): " + e.what();
  }
  return out;
}

bool passes(const OpCase& c, const Outcome& o) {
  return o.ran && o.worst_lsb <= 1.0001 && o.identical >= (c.tie_prone ? 0.90 : 0.99);
}

std::string describe(const OpCase& c, const std::string& placement, const Outcome& o) {
  std::ostringstream s;
  s << (passes(c, o) ? "PASS " : "FAIL ") << c.name << " @" << placement << ": ";
  if (!o.compiled) {
    s << (o.internal ? "INTERNAL " : "REFUSED ") << o.error;
  } else if (!o.ran) {
    const bool shape = o.error.rfind("wrong shape", 0) == 0;
    s << (o.internal ? "INTERNAL " : shape ? "WRONG " : "RUN FAILED ") << o.error << " (op " << o.op_device << ")";
  } else {
    s.precision(3);
    s << (passes(c, o) ? "" : "WRONG ") << "max " << o.worst_lsb << " LSB, " << 100 * o.identical
      << " % identical" << (c.tie_prone ? " (tie-prone, >= 90 %)" : "") << ", op " << o.op_device;
  }
  return s.str();
}

void record(const std::string& line) {
  const char* path = std::getenv("BPU_OPSET_MATRIX");
  if (path && *path) std::ofstream(path, std::ios::app) << line << "\n";
}

void check_case(const OpCase& c, const std::string& placement) {
  Outcome o = run_case(c, placement);
  const std::string line = describe(c, placement, o);
  record(line);
  INFO(line);
  if (!c.note.empty()) INFO("case: " << c.note);
  CHECK_FALSE(o.internal);
  CHECK(o.compiled);
  CHECK(o.ran);
  CHECK(o.worst_lsb <= 1.0001);
  CHECK(o.identical >= (c.tie_prone ? 0.90 : 0.99));
}

}  // namespace

TEST_CASE("opset forms: every manifest case agrees with its golden in every allowed placement", "[opset]") {
  const std::vector<OpCase> cases = load_manifest();
  REQUIRE(cases.size() >= 80);
  for (const auto& c : cases) {
    for (const auto& placement : c.placements) {
      DYNAMIC_SECTION(c.name << " @" << placement << " (" << c.op << ", opset " << c.opset << ")") {
        check_case(c, placement);
      }
    }
  }
}

// The three silent-wrong results of issue 11, each of which passed `verify` or compiled without complaint.
TEST_CASE("opset forms: regressions of issue 11", "[opset_regression]") {
  const std::vector<OpCase> cases = load_manifest();
  const std::pair<const char*, const char*> regressions[] = {
      {"conv_clip_attr_10", "default"},   // opset-10 Clip attributes fused into a BPU conv lost the clamp
      {"softmax_axis_1_11", "bpu"},       // opset-11 Softmax(axis=1) on 4-D normalizes over C*H*W, not C
      {"slice_axes_1_3_10", "bpu"},       // Slice over the non-adjacent axes 1 and 3 on the BPU
  };
  for (const auto& regression : regressions) {
    const std::string name = regression.first;  // (a structured binding cannot be captured before C++20)
    const std::string placement = regression.second;
    DYNAMIC_SECTION(name << " @" << placement) {
      auto it = std::find_if(cases.begin(), cases.end(), [&](const OpCase& c) { return c.name == name; });
      REQUIRE(it != cases.end());
      check_case(*it, placement);
    }
  }
}

// Issue 11 point 1: the QAT reference that `verify` and the accuracy tables compare with must keep each opset's
// own meaning, so it is held to the same goldens.
TEST_CASE("opset forms: the QAT reference agrees with every golden", "[opset_reference]") {
  for (const auto& c : load_manifest()) {
    DYNAMIC_SECTION(c.name << " @qat_reference (" << c.op << ", opset " << c.opset << ")") {
      check_case(c, "qat_reference");
    }
  }
}

// makertbin as a user runs it: besides compiling it stages the float models and runs the accuracy report on
// the QAT reference, so a form the reference cannot run is refused there although compile_model accepts it.
TEST_CASE("opset forms: makertbin accepts every form and its .bin agrees with the golden", "[opset_makertbin]") {
  for (const auto& c : load_manifest()) {
    DYNAMIC_SECTION(c.name << " @makertbin (" << c.op << ", opset " << c.opset << ")") {
      check_case(c, "makertbin");
    }
  }
}

// Issue 11: an opset outside 10..17 is refused naming the opset and the supported range. Today opset 9 fails on
// its QuantizeLinear ("neither an ONNX operator of opset 9") without the range, and opset 18 compiles.
TEST_CASE("opset forms: opsets outside 10..17 are refused naming the opset", "[opset]") {
  for (int opset : {9, 18}) {
    DYNAMIC_SECTION("opset " << opset) {
      onnx::ModelProto m;
      const std::vector<uint8_t> bytes = read_file(bpu::test::data_path("ops/leakyrelu_default_10/model.onnx"), 1 << 20, "model");
      REQUIRE(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
      m.mutable_opset_import(0)->set_version(opset);
      bpu::test::TempDir dir("opset_range");
      std::string out;
      REQUIRE(m.SerializeToString(&out));
      bpu::test::write_text(dir.file("m.onnx"), out);
      OpCase c;
      c.name = "leakyrelu_default_10";
      MapperConfig cfg = config_for(c, "default");
      cfg.onnx_model = dir.file("m.onnx");
      try {
        compile_model(cfg);
        FAIL("opset " << opset << " was accepted");
      } catch (const Error& e) {
        std::string message = e.what();
        INFO("message: " << message);
        for (size_t at; (at = message.find(dir.path().string())) != std::string::npos;) {
          message.erase(at, dir.path().string().size());  // the temp path's random digits
        }
        CHECK(e.code() == ExitCode::Unsupported);
        CHECK(message.find("opset " + std::to_string(opset)) != std::string::npos);
        CHECK(std::regex_search(message, std::regex("10[^0-9]{1,6}17")));  // the supported range, "10 to 17" or so
      }
    }
  }
}
