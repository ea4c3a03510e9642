#!/usr/bin/env bash
# Times post-training calibration (calibration_type default) of a float torchvision network on raw samples:
# calibration.sh [NAME=resnet50] [SAMPLES=100]. Builds nothing: uses build/bin/bpu-mapper (Release). Prints the
# calibration line of the log, the whole makertbin time and its peak RSS (docs/performance.md, Calibration).
set -euo pipefail
cd "$(dirname "$0")/../.."
name="${1:-resnet50}"
samples="${2:-100}"
work="${BPU_BENCH_DIR:-/tmp/bpu_bench_calibration}"
mkdir -p "$work"
folder="$work/${name}_float"
[ -f "$folder/model.onnx" ] && [ "$(ls "$folder/calibration_data_f32" | wc -l)" -ge "$samples" ] || \
  /usr/bin/python3 scripts/bench/make_float_model.py "$work" "$name" "$samples" > /dev/null
cat > "$work/$name.yaml" <<YAML
model_parameters:
  onnx_model: '$folder/model.onnx'
  march: 'bayes'
  working_dir: '$work/out_$name'
  output_model_file_prefix: '$name'
input_parameters:
  input_type_rt: 'featuremap'
  input_type_train: 'featuremap'
  norm_type: 'no_preprocess'
calibration_parameters:
  cal_data_dir: '$folder/calibration_data_f32'
  cal_data_type: 'float32'
  calibration_type: 'default'
compiler_parameters:
  optimize_level: 'O3'
YAML
/usr/bin/time -f "makertbin: %e s wall, %M KiB peak RSS" build/bin/bpu-mapper makertbin -c "$work/$name.yaml" \
  --model-type onnx 2>&1 | grep -E "calibration:|makertbin:|accuracy per output|vs float model|logits "
