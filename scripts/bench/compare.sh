#!/usr/bin/env bash
# Speed targets of issue 7, measured: torchvision's resnet18 after QAT at 224x224 (generated here, never
# committed) compiled and run by bpu-mapper, side by side with onnxruntime on the same ONNX file (CPU, one thread,
# all optimizations: its int8 kernels), and compile-time scaling on generated 500- and 5000-node models.
# onnxruntime-node comes from npm, installed here with ONNXRUNTIME_NODE_INSTALL=skip (no download outside the
# npm registry); it is no build or test dependency. Needs node/npm, python3-onnx, python3-numpy and, for the
# torchvision model, python3-torch and python3-torchvision.
# Usage: scripts/bench/compare.sh [build_dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build="${1:-build}"
[ -x "$build/bin/bpu-mapper" ] || scripts/setup.sh
bin="$root/$build/bin/bpu-mapper"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
source scripts/bench/ort_env.sh

# torchvision's resnet18 after real QAT with Debian's torch (about 6 s); without python3-torch, the same shapes
# built directly as QDQ ONNX (random weights: speed depends on shapes only).
if /usr/bin/python3 -c "import torch, torchvision" 2> /dev/null; then
  /usr/bin/python3 scripts/bench/make_torchvision_resnet18_qat.py "$work" 224 > /dev/null
  cp "$work/resnet18_qat/model.onnx" "$work/resnet18.onnx"
  cp "$work/resnet18_qat/input_0.npy" "$work/input.npy"
  echo "model: torchvision resnet18, QAT with torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), 224x224"
else
  /usr/bin/python3 scripts/bench/make_resnet18_qdq.py "$work/resnet18.onnx" 224
  /usr/bin/python3 -c "import numpy as np; np.save('$work/input.npy', np.random.default_rng(1).normal(size=(1,3,224,224)).astype(np.float32))"
  echo "model: resnet18-shaped QDQ (python3-torch missing), 224x224"
fi
scripts/make_config.sh "$work/resnet18.onnx" bayes resnet18 "$work/out" > "$work/resnet18.yaml"
t0=$(date +%s%N)
"$bin" makertbin -c "$work/resnet18.yaml" --model-type onnx > "$work/compile.log" 2>&1
t1=$(date +%s%N)
echo "resnet18 224x224: makertbin $(( (t1 - t0) / 1000000 )) ms wall; $(grep -o 'phases: .*' "$work/compile.log")"
for threads in 1 2; do
  echo "resnet18 224x224: bpu-mapper run --threads $threads: $("$bin" run --model "$work/out/resnet18.bin" --input "$work/input.npy" --output-dir "$work/run" --repeat 20 --threads $threads 2>&1 | grep -o 'median.*')"
done
ours=$("$bin" run --model "$work/out/resnet18.bin" --input "$work/input.npy" --output-dir "$work/run" --repeat 20 --threads 1 2>&1 | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
ort=$(ort_median "$work/resnet18.onnx" "$work/input.npy" 20)
if [ -f "$work/resnet18_qat/qat_output_0.npy" ]; then
  /usr/bin/python3 -c "
import numpy as np
a = np.load('$work/run/logits.npy').ravel(); b = np.load('$work/resnet18_qat/qat_output_0.npy').ravel()
lsb = np.min(np.diff(np.unique(b))); d = np.abs(a - b)
print('resnet18 224x224 .bin vs torch QAT output: cosine %.6f, identical %.1f %%, max %.1f LSB' % (a @ b / np.linalg.norm(a) / np.linalg.norm(b), 100 * np.mean(d < lsb / 2), d.max() / lsb))"
fi
echo "resnet18 224x224, one thread: bpu-mapper median $ours ms, onnxruntime median $ort ms, ratio $(awk -v a="$ours" -v b="$ort" 'BEGIN { printf "%.2f", a / b }')x"

# optimize_level / compile_mode: the memory plan the .bin carries and the cost model's estimate of it.
for plan in "O0 latency" "O1 latency" "O2 latency" "O3 latency" "O3 bandwidth" "O3 balance"; do
  set -- $plan
  sed "s/optimize_level: .*/optimize_level: '$1'/; s|working_dir: .*|working_dir: '$work/plan_$1_$2'|" "$work/resnet18.yaml" > "$work/plan.yaml"
  echo "  compile_mode: '$2'" >> "$work/plan.yaml"
  "$bin" makertbin -c "$work/plan.yaml" --model-type onnx > /dev/null 2>&1
  echo "resnet18 224x224 $1 $2: $("$bin" info "$work/plan_$1_$2/resnet18.bin" | grep -o 'memory map.*'); $("$bin" perf "$work/plan_$1_$2/resnet18.bin" --output-dir "$work/perf" | grep -o 'model latency.*' | head -1)"
done

for n in 500 5000; do
  /usr/bin/python3 scripts/bench/make_chain_model.py $n "$work/chain$n.onnx"
  scripts/make_config.sh "$work/chain$n.onnx" bayes chain$n "$work/out" > "$work/chain$n.yaml"
  t0=$(date +%s%N)
  "$bin" makertbin -c "$work/chain$n.yaml" --model-type onnx > /dev/null 2>&1
  t1=$(date +%s%N)
  eval "ms$n=$(( (t1 - t0) / 1000000 ))"
done
echo "compile scaling: 500 nodes ${ms500} ms, 5000 nodes ${ms5000} ms, ratio $(awk -v a="$ms5000" -v b="$ms500" 'BEGIN { printf "%.1f", a / b }')x (target <= 12x)"
