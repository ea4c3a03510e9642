#!/usr/bin/env bash
# Prints a minimal makertbin YAML for a featuremap model: make_config.sh ONNX [MARCH] [PREFIX] [WORKING_DIR]
# [EXTRA_CALIBRATION_LINES]. Used by the benchmark and the CLI tests.
set -eu
cat <<YAML
model_parameters:
  onnx_model: '$1'
  march: '${2:-bayes}'
  output_model_file_prefix: '${3:-model}'
  working_dir: '${4:-out}'
input_parameters:
  input_type_rt: 'featuremap'
  input_type_train: 'featuremap'
  input_layout_train: 'NCHW'
  input_layout_rt: 'NCHW'
  norm_type: 'no_preprocess'
calibration_parameters:
  calibration_type: 'load'
${5:-}
compiler_parameters:
  optimize_level: 'O3'
YAML
