// libFuzzer target for the ONNX importer and the compile pipeline up to lowering (bytes = an .onnx file).
// Built with -DBPU_FUZZ=ON (clang); run by scripts/fuzz.sh. A bpu::Error is an accepted outcome, anything else
// (another exception, a sanitizer report, a timeout, running out of memory) is a finding.

#include "fuzz/fuzz_harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bpu::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bpu::fuzz::run_onnx(data, size);
  return 0;
}
