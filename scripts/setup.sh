#!/usr/bin/env bash
# Installs bpu-mapper's Debian build dependencies (skipping those present; apt-get update first only when
# something must be installed), configures CMake in Release and builds into build/ (program: build/bin/bpu-mapper).
# Extra CMake arguments can be passed through BPU_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake make g++ libonnx-dev libprotobuf-dev protobuf-compiler libyaml-cpp-dev libcli11-dev libspdlog-dev
          libeigen3-dev catch2 zlib1g-dev nlohmann-json3-dev
          libstb-dev  # stb_image: calibration images (calibration_parameters.preprocess_on)
          clang libclang-rt-14-dev  # clang and its libFuzzer/sanitizer runtimes: scripts/fuzz.sh
          python3-dev python3-numpy python3-pybind11 pybind11-dev)  # the Python module (python/, docs/api.md)
# Not installed here (no build or test dependency): the fixture scripts under scripts/ (gen_*.py, bench/make_*.py)
# need python3-torch python3-torchvision python3-onnx, run with /usr/bin/python3.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir="${BPU_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${BPU_CMAKE_ARGS:-} > /dev/null
cmake --build "$build_dir" -j"$(nproc)"
