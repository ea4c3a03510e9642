#!/usr/bin/env bash
# The test command: install and build (Release), run the whole ctest suite; fuzz each libFuzzer target for
# BPU_FUZZ_SECONDS (default 20) in build-fuzz/; then build the unit tests with AddressSanitizer + UBSan into
# build-sanitize/ and run them there (ctest label "sanitize").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
(cd build && ctest --output-on-failure -j"$(nproc)")
# Each libFuzzer target (ONNX importer, YAML config, .bin loader+runner) for a short bounded time under ASan+UBSan,
# clang build in build-fuzz/ (scripts/fuzz.sh, docs/fuzzing.md); a finding fails the run.
scripts/fuzz.sh "${BPU_FUZZ_SECONDS:-20}"
BPU_BUILD_DIR=build-sanitize BPU_CMAKE_ARGS="-DBPU_SANITIZE=ON" scripts/setup.sh
(cd build-sanitize && ctest --output-on-failure -j"$(nproc)" -L sanitize)
