#!/usr/bin/env bash
# The main job on the bundled example: install and build, compile configs/seed_nonhybrid.yaml into
# model_output/seed_nonhybrid.bin, then run the .bin on a bundled input and compare with the torch QAT output.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/bin/bpu-mapper makertbin -c configs/seed_nonhybrid.yaml --model-type onnx
build/bin/bpu-mapper run --model model_output/seed_nonhybrid.bin \
  --input input=test/data/nonhybrid/input_0.npy \
  --reference output=test/data/nonhybrid/qat_output_0.npy \
  --output-dir model_output/run --repeat 20
