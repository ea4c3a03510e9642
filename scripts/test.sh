#!/usr/bin/env bash
# The test command: installs the Debian build dependencies and builds everything once, with clang under
# AddressSanitizer + UBSan and libFuzzer coverage (-DBPU_FUZZ=ON, build-fuzz/: program, unit tests, fuzz targets);
# runs the whole ctest suite there, so every unit and CLI test is also a memory-error and UB check; then fuzzes each
# libFuzzer target for BPU_FUZZ_SECONDS (default 15), where a finding fails the run (scripts/fuzz.sh,
# docs/fuzzing.md). One build instead of three keeps the cold run on 2 cores near 10 minutes. The Release (gcc)
# build users get is scripts/setup.sh's; BPU_TEST_RELEASE=1 also builds it into build/ and runs the suite there.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=""
command -v ccache > /dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
BPU_BUILD_DIR=build-fuzz BPU_CMAKE_ARGS="-DCMAKE_CXX_COMPILER=clang++ -DBPU_FUZZ=ON $launcher" scripts/setup.sh
(cd build-fuzz && ctest --output-on-failure -j"$(nproc)")
if [ "${BPU_TEST_RELEASE:-0}" = 1 ]; then
  scripts/setup.sh
  (cd build && ctest --output-on-failure -j"$(nproc)")
fi
scripts/fuzz.sh "${BPU_FUZZ_SECONDS:-15}"
