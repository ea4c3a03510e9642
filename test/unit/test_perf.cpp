// The bayes cost model and `perf`: MACs counted from the instructions, O2+ estimated no slower than O0 (tensors
// kept on chip), hardware parameters overridable from the YAML, SVG picture with both segment kinds.

#include "fixture_helpers.h"
#include "perf_helpers.h"

using namespace bpu;

namespace {

PerfReport estimate(const std::string& fixture, const std::string& level, const std::string& extra = "") {
  return bpu::test::compile_at(fixture, level, extra).perf;
}

}  // namespace

TEST_CASE("perf: MACs come from the instructions and O3 is estimated no slower than O0", "[perf]") {
  PerfReport o0 = estimate("nonhybrid", "O0"), o3 = estimate("nonhybrid", "O3");
  // 3x3 s2 conv 3->16 on 32x32 outputs, 3x3 conv 16->16, two 1x1 convs 16->16 and 16->8, all on 32x32.
  const double expected = 32 * 32 * (16 * 27.0 + 16 * 144.0 + 16 * 16.0 + 8 * 16.0);
  CHECK(o0.macs == expected);
  CHECK(o3.latency_ms <= o0.latency_ms);
  CHECK(o3.ddr_store_bytes < o0.ddr_store_bytes);
  CHECK(o0.latency_ms > 0);
}

TEST_CASE("perf: hardware parameters come from the YAML", "[perf]") {
  PerfReport slow = estimate("resnet18", "O0", "  bpu_clock_mhz: 100\n  bpu_macs_per_cycle: 64\n");
  PerfReport fast = estimate("resnet18", "O0");
  CHECK(slow.hardware.clock_mhz == 100);
  CHECK(slow.hardware.int8_macs_per_cycle == 64);
  CHECK(slow.latency_ms > fast.latency_ms * 10);
}

TEST_CASE("perf: the picture shows BPU and CPU segments in execution order", "[perf]") {
  std::string yaml = bpu::test::fixture_yaml(bpu::test::data_path("hybrid/model.onnx"), "out");
  CompileResult r = compile_model(parse_config(yaml, "/tmp/bpu_perf/c.yaml"));
  ModelRunner runner(r.model, "mem.bin");
  PerfReport p = estimate_model(runner.model(), runner.validated());
  std::string svg = perf_svg(runner.model(), p);
  CHECK(svg.find("<svg") == 0);
  size_t bpu = 0, cpu = 0;
  for (size_t at = 0; (at = svg.find("#2a9d8f", at)) != std::string::npos; ++at) ++bpu;
  for (size_t at = 0; (at = svg.find("#9e9e9e", at)) != std::string::npos; ++at) ++cpu;
  CHECK(bpu == 3);
  CHECK(cpu == 4);
  CHECK(svg.find("CPU segment 0") < svg.find("BPU segment 0"));  // the hybrid model starts on the CPU
  CHECK(format_perf_report(p).find("per-layer detail: compile with compiler_parameters.debug: true") != std::string::npos);
}
