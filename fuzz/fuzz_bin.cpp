// libFuzzer target for the .bin loader, the runtime's validation and one run (bytes = a .bin; CRCs are recomputed).
// Built with -DBPU_FUZZ=ON (clang); run by scripts/fuzz.sh. A bpu::Error is an accepted outcome, anything else
// (another exception, a sanitizer report, a timeout, running out of memory) is a finding.

#include "fuzz/fuzz_harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bpu::fuzz::quiet_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bpu::fuzz::run_bin(data, size);
  return 0;
}
