#!/usr/bin/env bash
# The test command: install and build (Release), run the whole ctest suite; then build the unit tests with
# AddressSanitizer + UBSan into build-sanitize/ and run them there (ctest label "sanitize").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
(cd build && ctest --output-on-failure -j"$(nproc)")
BPU_BUILD_DIR=build-sanitize BPU_CMAKE_ARGS="-DBPU_SANITIZE=ON" scripts/setup.sh
(cd build-sanitize && ctest --output-on-failure -j"$(nproc)" -L sanitize)
