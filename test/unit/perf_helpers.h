// Compiles a test/data fixture in memory at a given optimize_level (plus extra compiler_parameters lines) and
// estimates it with the bayes cost model: shared by the perf and memory-plan tests.
#pragma once

#include "api/bpu_mapper.h"
#include "report/perf_report.h"
#include "runtime/model_runner.h"
#include "test_helpers.h"

namespace bpu::test {

struct Planned {
  CompiledModel model;
  PerfReport perf;
};

inline Planned compile_at(const std::string& fixture, const std::string& level, const std::string& extra = "",
                          const std::string& compile_mode = "latency") {
  std::string yaml = fixture_yaml(data_path(fixture + "/model.onnx"), "out");
  yaml.replace(yaml.find("'O3'"), 4, "'" + level + "'");
  yaml.replace(yaml.find("'latency'"), 9, "'" + compile_mode + "'");
  CompileResult r = compile_model(parse_config(yaml + extra, "/tmp/bpu_perf/c.yaml"));
  ModelRunner runner(r.model, "mem.bin");
  return {r.model, estimate_model(runner.model(), runner.validated())};
}

}  // namespace bpu::test
