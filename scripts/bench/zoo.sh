#!/usr/bin/env bash
# The model-zoo baseline of issue 12 (docs/models.md): regenerates the full-width torchvision networks
# (mobilenet_v3_small, efficientnet_b0, shufflenet_v2_x0_5, resnet50 at 64x64; 6-94 MB, never committed) with
# scripts/gen_zoo_fixtures.py --set big into BUILD/zoo, then measures them and the committed small fixtures
# (test/data/zoo_*) with scripts/bench/zoo_measure.py: makertbin exit code or refusal, nodes, BPU share, segments,
# compile time, .bin vs torch's float64 and float32 QAT goldens, verify --exact and --isolated and, when npm is there, one-thread
# speed against onnxruntime-node (scripts/bench/ort_env.sh). Prints a Markdown table.
# Needs python3-torch and python3-torchvision for the big set (skipped without them), python3-onnx and numpy.
# Usage: scripts/bench/zoo.sh [build_dir]   (ZOO_REUSE=1: measure the networks already in BUILD/zoo, no regeneration)
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
[ -x "$build/bin/bpu-mapper" ] || scripts/setup.sh
zoo="$build/zoo"
mkdir -p "$zoo"
fixtures=(test/data/zoo_*/)
if [ "${ZOO_REUSE:-0}" = 1 ] && compgen -G "$zoo/zoo_*/model.onnx" > /dev/null; then
  fixtures+=("$zoo"/zoo_*/)
elif /usr/bin/python3 -c "import torch, torchvision" 2> /dev/null; then
  /usr/bin/python3 scripts/gen_zoo_fixtures.py --set big --out "$zoo" > "$zoo/gen.log" 2>&1
  fixtures+=("$zoo"/zoo_*/)
else
  echo "python3-torch or python3-torchvision missing: measuring the committed small fixtures only" >&2
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
if command -v npm > /dev/null && command -v node > /dev/null; then  # optional speed column (onnxruntime-node)
  root=$PWD
  source scripts/bench/ort_env.sh
  export ZOO_ORT_NODE_PATH="$ort_dir/node_modules"
fi
echo "bpu-mapper $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)"
/usr/bin/python3 scripts/bench/zoo_measure.py "$build/bin/bpu-mapper" "$work" "${fixtures[@]}"
