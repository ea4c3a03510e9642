#!/usr/bin/env bash
# One CLI test case: runs bpu-mapper on a prepared bad (or good) input and checks the exit code, that the
# message names the problem, and that no .bin was left behind. Usage: cli_case.sh BPU_MAPPER DATA_DIR CASE
set -u
bin="$1"; data="$2"; case_name="$3"
scripts="$(cd "$(dirname "$0")/../../scripts" && pwd)"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"

config() {  # config ONNX MARCH -> config.yaml in $work
  bash "$scripts/make_config.sh" "$1" "$2" model out > config.yaml
}

expect() {  # expect CODE REGEX -- command...
  local want="$1" pattern="$2"; shift 3
  "$@" > stdout.txt 2> stderr.txt
  local got=$?
  cat stdout.txt stderr.txt > all.txt
  if [ "$got" != "$want" ]; then echo "FAIL: exit code $got, expected $want"; cat all.txt; exit 1; fi
  if ! grep -Eq -- "$pattern" all.txt; then echo "FAIL: output lacks /$pattern/"; cat all.txt; exit 1; fi
  local errors; errors=$(grep -c '^E \|^ERROR' all.txt)
  if [ "$want" != 0 ] && [ "$errors" != 1 ]; then echo "FAIL: expected exactly one error line, got $errors"; cat all.txt; exit 1; fi
  # A failing command leaves no temporary file, and no .bin unless the case compiled one earlier (allow_bin=1).
  if [ "$want" != 0 ] && find . -name '*.tmp.*' | grep -q .; then echo "FAIL: temporary file left behind"; find .; exit 1; fi
  if [ "$want" != 0 ] && [ "${allow_bin:-0}" != 1 ] && find . -name '*.bin' | grep -q .; then echo "FAIL: .bin left behind"; find .; exit 1; fi
  echo "ok: exit $got, /$pattern/"
}

case "$case_name" in
  image_input)
    # A camera model (nv12 -> normalized rgb): info shows the runtime type; run takes the .npy, the raw bytes and a
    # PNG; verify preprocesses on the QAT side; a picture of the wrong size is a usage error.
    d="$data/preprocess_rgb"
    printf "model_parameters:\n  onnx_model: '%s/model.onnx'\n  march: bayes\n  working_dir: out\ninput_parameters:\n  input_type_rt: nv12\n  input_type_train: rgb\n  input_layout_train: NCHW\n  norm_type: data_mean_and_scale\n  mean_value: '123.675 116.28 103.53'\n  scale_value: '0.0171247538 0.0175070028 0.0174291939'\n" "$d" > config.yaml
    expect 0 "input_HzPreprocess +BPU" -- "$bin" makertbin -c config.yaml --model-type onnx
    allow_bin=1
    expect 0 "input_type_rt nv12, layout nv12 \[N, H\*3/2, W\], range regular" -- "$bin" info out/model.bin
    expect 0 "output 'output' shape 1x4x16x16" -- "$bin" run --model out/model.bin --input "input=$d/image_0_nv12.npy" --output-dir o --reference "output=$d/golden_rgb_from_nv12_0.npy"
    tail -c 1536 "$d/image_0_nv12.npy" > raw.nv12  # the payload of the uint8 [1,48,32] .npy: raw bytes
    expect 0 "output 'output' shape 1x4x16x16" -- "$bin" run --model out/model.bin --input "input=raw.nv12" --output-dir o2
    cmp o/output.npy o2/output.npy || { echo "FAIL: raw bytes and .npy differ"; exit 1; }
    expect 0 "output 'output' shape 1x4x16x16" -- "$bin" run --model out/model.bin --input "input=$d/image_0.png" --output-dir o3
    expect 0 "verify: PASSED" -- "$bin" verify --model out/model.bin --onnx "$d/model.onnx" --input "input=$d/image_1_nv12.npy"
    # infer pairs the QAT model's (preprocessed) input with the .bin's PREPROCESS output, not with the pixels.
    expect 0 "infer: .* paired" -- "$bin" infer --model out/model.bin --onnx "$d/model.onnx" --input "input=$d/image_1_nv12.npy" --output-dir inf
    grep -Eq '^input_hz_preprocessed,,1x3x32x32,bin/input_hz_preprocessed.npy,onnx/input_hz_preprocessed.npy,(0\.999|1\.000)' inf/layer_index.csv ||
      { echo "FAIL: preprocessed input not paired"; cat inf/layer_index.csv; exit 1; }
    grep -Eq '^output,.*,bin/output.npy,onnx/output.npy,' inf/layer_index.csv || { echo "FAIL: output not paired"; cat inf/layer_index.csv; exit 1; }
    expect 2 "raw file 'short.nv12' has 1535 bytes, the input 1x48x32 uint8 needs 1536" -- sh -c "tail -c 1535 raw.nv12 > short.nv12; \"$bin\" run --model out/model.bin --input input=short.nv12 --output-dir o4"
    expect 2 "picture .broken.png. (cannot be decoded|is not a JPEG, PNG or BMP)" -- sh -c "head -c 100 '$d/image_0.png' > broken.png; \"$bin\" run --model out/model.bin --input input=broken.png --output-dir o5" ;;
  modifier)
    # hb_model_modifier's role: int8 input and output; run reads and writes int8 .npy files.
    config "$data/nonhybrid_int8_output/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    allow_bin=1
    expect 0 "wrote 'out/model_modified.bin'" -- "$bin" modifier out/model.bin -a Quantize -r output_HzDequantize
    expect 0 "removed boundary nodes: input_HzQuantize output_HzDequantize" -- "$bin" info out/model_modified.bin
    expect 2 "is float32, not int8|is int8 but holds" -- "$bin" run --model out/model_modified.bin --input "input=$data/nonhybrid_int8_output/input_0.npy" --output-dir o
    expect 2 "remove_node_name 'nope' is not a boundary node of the model \(removable: none\)" -- "$bin" modifier out/model_modified.bin -r nope -o x.bin
    expect 2 "give -r NODE or -a TYPE" -- "$bin" modifier out/model.bin ;;
  pack_infer)
    # hb_pack: two models in one file, chosen with --model-name; infer dumps both runs paired by name.
    config "$data/nonhybrid/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    allow_bin=1
    cp out/model.bin first.bin
    config "$data/hybrid/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    cp out/model.bin second.bin
    expect 0 "wrote 'both.bin' with 2 models: first, second" -- "$bin" pack first.bin second.bin -o both.bin
    expect 0 "packed file 'both.bin': 2 models: first second" -- "$bin" info both.bin
    expect 0 "output '.*' shape" -- "$bin" run --model both.bin --model-name second --input "$data/hybrid/input_0.npy" --output-dir p
    "$bin" run --model second.bin --input "$data/hybrid/input_0.npy" --output-dir s > /dev/null || { echo "FAIL: run"; exit 1; }
    for f in s/*.npy; do cmp "$f" "p/$(basename "$f")" || { echo "FAIL: packed run differs: $f"; exit 1; }; done
    expect 2 "packs 2 models \(first, second\): choose one with --model-name" -- "$bin" run --model both.bin --input "$data/hybrid/input_0.npy"
    expect 2 "has no model named 'third'" -- "$bin" perf both.bin -m third
    expect 2 "already a packed file" -- "$bin" pack both.bin first.bin -o again.bin
    [ -e again.bin ] && { echo "FAIL: again.bin written"; exit 1; }
    expect 2 "is a packed file; modify each .bin before packing" -- "$bin" modifier both.bin -a Quantize
    expect 0 "Perf result: frame latency average .* p99 .* FPS" -- "$bin" run --model first.bin --input "$data/nonhybrid/input_0.npy" --output-dir f --frame-count 6 --thread-num 2
    expect 0 "profile over 5 runs: .* ms per inference" -- "$bin" run --model both.bin -m second --input "$data/hybrid/input_0.npy" --output-dir f --profile-path prof
    [ "$(head -1 prof/profiler.csv)" = "index,device,segment,op,node,time_ms,share" ] && grep -q '^[0-9]*,CPU,' prof/profiler.csv &&
      grep -q '^[0-9]*,BPU,0,CONV2D,' prof/profiler.csv && grep -q '"total_ms"' prof/profiler.json || { echo "FAIL: profile files"; exit 1; }
    expect 0 "CPU 0 .* \(host CPU\)" -- "$bin" perf both.bin -m second --measure 2 --output-dir pp
    grep -q "Host ms: the simulator's mean time on this machine over 2 runs" all.txt || { echo "FAIL: perf --measure"; exit 1; }
    expect 2 "--thread-num must be in \[1, 8\]" -- "$bin" run --model first.bin --input "$data/nonhybrid/input_0.npy" --frame-count 2 --thread-num 9
    expect 0 "infer: [0-9]+ tensors of the .bin, [0-9]+ of the QAT model, [0-9]+ paired" -- "$bin" infer --model first.bin --onnx "$data/nonhybrid/model.onnx" --input "$data/nonhybrid/input_0.npy" --output-dir d
    out_file=$(sed -n 2p d/layer_index.csv >/dev/null; awk -F, 'NR>1 && $4!="" && $5!="" {print $4; exit}' d/layer_index.csv)
    [ -n "$out_file" ] && [ -f "d/$out_file" ] && [ -f "d/onnx/${out_file#bin/}" ] || { echo "FAIL: paired dump files missing"; cat d/layer_index.csv; exit 1; }
    expect 0 "infer: 0 tensors of the .bin, [1-9][0-9]* of the QAT model" -- "$bin" infer --onnx "$data/nonhybrid/model.onnx" --input "input=$data/nonhybrid/input_0.npy" --output-dir q
    expect 2 "give a .bin \(--model\), a QAT ONNX \(--onnx\) or both" -- "$bin" infer --input "input=x.npy" --output-dir z
    [ -e z ] && { echo "FAIL: z written"; exit 1; }
    true ;;
  missing_onnx)
    config "no_such_model.onnx" bayes
    expect 3 "onnx_model: file '.*no_such_model.onnx' does not exist" -- "$bin" makertbin -c config.yaml --model-type onnx ;;
  yaml_syntax)
    printf 'model_parameters:\n  onnx_model: [unclosed\n  march: bayes\n' > config.yaml
    expect 3 "config 'config.yaml': YAML syntax error at line" -- "$bin" makertbin -c config.yaml --model-type onnx ;;
  invalid_onnx)
    head -c 3000 /dev/urandom > bad.onnx
    printf '\xff\xff\xff\xff' >> bad.onnx
    config "bad.onnx" bayes
    expect 4 "model '.*bad.onnx' is not a valid ONNX file" -- "$bin" makertbin -c config.yaml --model-type onnx ;;
  wrong_march)
    # An unknown march is a config error naming the known ones; a .bin run with --march of another march is
    # refused naming both.
    config "$data/nonhybrid/model.onnx" xj9
    expect 3 "model_parameters.march: 'xj9'.*allowed values: bayes, bayes-e, bernoulli2" -- "$bin" makertbin -c config.yaml --model-type onnx
    config "$data/nonhybrid/model.onnx" bayes-e
    expect 0 "" -- "$bin" makertbin -c config.yaml --model-type onnx
    allow_bin=1
    expect 8 "compiled for march 'bayes-e' but 'bernoulli2' was asked for" -- "$bin" run --model out/model.bin --march bernoulli2 --input "input=$data/nonhybrid/input_0.npy" --output-dir o
    expect 8 "compiled for march 'bayes-e' but 'bayes' was asked for" -- "$bin" perf out/model.bin --march bayes
    expect 2 "--march 'x3' is not known" -- "$bin" info out/model.bin --march x3
    expect 0 "march            bayes-e" -- "$bin" info out/model.bin --march bayes-e
    expect 0 "bayes-e estimate" -- "$bin" perf out/model.bin --output-dir p ;;
  missing_config)
    expect 3 "config 'nowhere.yaml' does not exist" -- "$bin" makertbin -c nowhere.yaml --model-type onnx ;;
  bad_model_type)
    config "$data/nonhybrid/model.onnx" bayes
    expect 2 "--model-type 'caffe' is not supported" -- "$bin" makertbin -c config.yaml --model-type caffe ;;
  usage)
    expect 2 "--config is required" -- "$bin" makertbin --model-type onnx ;;
  corrupt_bin)
    head -c 4096 /dev/urandom > model.dat
    expect 8 "model 'model.dat' is not a bpu-mapper .bin" -- "$bin" run --model model.dat --input "input=$data/nonhybrid/input_0.npy" --output-dir o ;;
  missing_input_file)
    config "$data/nonhybrid/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    mv out/model.bin model.keep
    expect 7 "npy file 'nope.npy' does not exist" -- "$bin" run --model model.keep --input input=nope.npy --output-dir o ;;
  compile_and_run)
    config "$data/nonhybrid/model.onnx" bayes
    expect 0 "BPU nodes: 9 \(100.0%\), CPU nodes: 0" -- "$bin" makertbin -c config.yaml --model-type onnx
    [ -f out/model.bin ] || { echo "FAIL: no out/model.bin"; exit 1; }
    for f in model_original_float_model.onnx model_optimized_float_model.onnx model_quantized_model.onnx model_report.json model_placement.json; do
      [ -f "out/$f" ] || { echo "FAIL: no out/$f"; exit 1; }
    done
    grep -q "Cosine Similarity" all.txt && grep -q "Chebyshev Distance" all.txt || { echo "FAIL: accuracy tables"; exit 1; }
    if grep -q $'\r' all.txt; then echo "FAIL: progress output when not on a terminal"; exit 1; fi
    [ -f bpu_mapper_makertbin.log ] && grep -q "node placement" bpu_mapper_makertbin.log || { echo "FAIL: log file"; exit 1; }
    expect 0 "latency over 3 runs: median" -- "$bin" run --model out/model.bin --input "input=$data/nonhybrid/input_0.npy" --output-dir o --repeat 3
    [ -f o/output.npy ] || { echo "FAIL: no o/output.npy"; exit 1; } ;;
  unknown_node)
    bash "$scripts/make_config.sh" "$data/hybrid/model.onnx" bayes model out "  run_on_cpu: 'Conv_32'" > config.yaml
    expect 3 "run_on_cpu: no node named 'Conv_32' in the model; closest names:" -- "$bin" makertbin -c config.yaml --model-type onnx ;;
  bpu_refused)
    bash "$scripts/make_config.sh" "$data/hybrid/model.onnx" bayes model out "  run_on_bpu: '/conv0/Conv'" > config.yaml
    expect 5 "'/conv0/Conv' \(Conv\) is placed on the BPU by calibration_parameters.run_on_bpu but cannot run there: NO_QUANT_WEIGHT" -- "$bin" makertbin -c config.yaml --model-type onnx ;;
  checker)
    expect 0 "BPU nodes: 5 \(41.7%\), CPU nodes: 7 \(58.3%\), BPU segments: 3, CPU segments: 4" -- "$bin" checker --model "$data/hybrid/model.onnx" --march bayes --input-shape input 1x3x64x64
    find . -name '*.bin' | grep -q . && { echo "FAIL: checker wrote a .bin"; exit 1; }
    grep -q "node placement" bpu_mapper_checker.log || { echo "FAIL: checker log"; exit 1; }
    expect 3 "1x3x32x32 for input 'input' conflicts with the model's static shape 1x3x64x64" -- "$bin" checker --model "$data/hybrid/model.onnx" --march bayes --input-shape input 1x3x32x32
    expect 4 "is not a valid ONNX file" -- "$bin" checker --model "$0" --march bayes ;;
  hybrid_run)
    config "$data/hybrid/model.onnx" bayes
    expect 0 "/conv0/Conv +CPU +- +Conv +NO_QUANT_WEIGHT" -- "$bin" makertbin -c config.yaml --model-type onnx
    grep -q '"reason_code": "NO_QUANT_WEIGHT"' out/model_placement.json || { echo "FAIL: placement json"; exit 1; }
    expect 0 "vs reference: cosine 1.0000000" -- "$bin" run --model out/model.bin --input "$data/hybrid/input_1.npy" --reference "$data/hybrid/qat_output_1.npy" --output-dir o ;;
  info_disasm)
    config "$data/hybrid/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    allow_bin=1
    expect 0 "output  float32 1x16x32x32 NCHW" -- "$bin" info out/model.bin
    grep -q "compiler version" all.txt && grep -q "march            bayes" all.txt && grep -q "calibration_type: 'load'" all.txt \
      && grep -q "BPU 2: 1 instructions" all.txt || { echo "FAIL: info content"; cat all.txt; exit 1; }
    expect 0 "0000 CONV2D .*; /layer2.0/Conv" -- "$bin" disasm out/model.bin --segment 1
    expect 2 "--segment 7: the model has 3 BPU segments" -- "$bin" disasm out/model.bin --segment 7
    head -c 300 out/model.bin > cut.dat
    expect 8 "model 'cut.dat' is .* bytes but its header says" -- "$bin" info cut.dat ;;
  deterministic)
    mkdir a b
    bash "$scripts/make_config.sh" "$data/hybrid/model.onnx" bayes model out > a/config.yaml
    cp a/config.yaml b/config.yaml
    (cd a && OMP_NUM_THREADS=1 "$bin" makertbin -c config.yaml --model-type onnx > /dev/null) || { echo "FAIL: compile a"; exit 1; }
    (cd / && OMP_NUM_THREADS=2 "$bin" makertbin -c "$work/b/config.yaml" --model-type onnx > /dev/null) || { echo "FAIL: compile b"; exit 1; }
    cmp a/out/model.bin b/out/model.bin || { echo "FAIL: .bin files differ"; exit 1; }
    echo "ok: byte-identical" ;;
  verify)
    config "$data/resnet18/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    allow_bin=1
    expect 0 "verify: PASSED" -- "$bin" verify --model out/model.bin --onnx "$data/resnet18/model.onnx" --input "$data/resnet18/input_0.npy"
    # Input 2: torch's float32 run is 2 LSB off exact at the logits (its pool ties); the .bin is exact.
    expect 6 "departs from .* by more than 1.000000 LSB, first at node .*verify --exact shows whether" -- "$bin" verify --model out/model.bin --onnx "$data/resnet18/model.onnx" --input "$data/resnet18/input_2.npy"
    expect 0 "verify: PASSED, every compared tensor within 0 LSB of the exact run" -- "$bin" verify --exact --tolerance-lsb 0 --model out/model.bin --onnx "$data/resnet18/model.onnx" --input "$data/resnet18/input_2.npy"
    # Against another network with the same input and output names: the outputs depart, exit 6.
    expect 6 "verify: '.*' departs from '.*mobilenet_v2/model.onnx' by more than 1.000000 LSB, first at node" -- "$bin" verify --model out/model.bin --onnx "$data/mobilenet_v2/model.onnx" --input "$data/resnet18/input_2.npy" ;;
  verify_exact)
    # The .bin against the QAT graph in float64: the summary lines, 0 codes on resnet18's input 0 where torch's
    # float32 run is off at 6 of 10 logits (its pool ties); the exact_tie fixture, built on ties, passes at
    # tolerance 0 while float32 differs (NumPy's golden count).
    config "$data/resnet18/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    allow_bin=1
    expect 0 "logits: .bin vs exact: 0 of 10 codes differ \(max 0 LSB\); float32 QAT vs exact: 6 of 10 codes differ" -- "$bin" verify --exact --model out/model.bin --onnx "$data/resnet18/model.onnx" --input "$data/resnet18/input_0.npy"
    grep -q "verify: PASSED, every compared tensor within 1 LSB of the exact run" all.txt || { echo "FAIL: no PASSED line"; exit 1; }
    expect 2 "--exact and --isolated do not combine" -- "$bin" verify --exact --isolated --model out/model.bin --onnx "$data/resnet18/model.onnx" --input "$data/resnet18/input_0.npy"
    mkdir tie && bash "$scripts/make_config.sh" "$data/exact_tie/model.onnx" bayes model out > tie/config.yaml
    "$bin" makertbin -c tie/config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile exact_tie"; exit 1; }
    expect 0 "verify: PASSED, every compared tensor within 0 LSB of the exact run" -- "$bin" verify --exact --tolerance-lsb 0 --model tie/out/model.bin --onnx "$data/exact_tie/model.onnx" --input "$data/exact_tie/input_0.npy"
    grep -q "output: .bin vs exact: 0 of 8 codes differ (max 0 LSB); float32 QAT vs exact: 1 of 8 codes differ (max 1 LSB)" all.txt || { echo "FAIL: exact_tie summary"; cat all.txt; exit 1; } ;;
  perf)
    config "$data/hybrid/model.onnx" bayes
    "$bin" makertbin -c config.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    allow_bin=1
    expect 0 "model latency .* ms \(BPU segments only\), .* FPS" -- "$bin" perf out/model.bin --output-dir pics
    [ -f pics/model_perf.svg ] && grep -q "BPU segment 2" pics/model_perf.svg || { echo "FAIL: no picture"; exit 1; }
    grep -q '"performance_estimate"' out/model_report.json || { echo "FAIL: report lacks the estimate"; exit 1; }
    page=pics/model_perf.html
    for want in "bpu-mapper perf: model.bin" "BPU segment 2" "CPU segment" "<h2>Segments</h2>" "<h2>Layers</h2>" \
                "<h2>Placement</h2>" "Accuracy per output" "Cosine\|cosine"; do
      grep -q "$want" "$page" || { echo "FAIL: $page lacks '$want'"; exit 1; }
    done
    # Self-contained: nothing to fetch (no scripts, links, images or URLs).
    if grep -Eq '<script|<link|<img|<iframe|url\(' "$page"; then echo "FAIL: $page fetches something"; exit 1; fi
    grep -Eo 'https?://[^" ]*' "$page" | grep -v '^http://www.w3.org/2000/svg$' && { echo "FAIL: $page has a URL"; exit 1; }
    # Without the report JSON beside the .bin, the page says so instead of showing the tables.
    mkdir alone && cp out/model.bin alone/
    expect 0 "page: pics2/model_perf.html" -- "$bin" perf alone/model.bin --output-dir pics2
    grep -q "No report JSON beside the .bin" pics2/model_perf.html || { echo "FAIL: page without report"; exit 1; } ;;
  shape_conflict)
    # A smaller and a larger input_shape than the static model's: exit 3 naming both shapes, nothing written.
    for shape in 1x3x32x32 1x3x96x96; do
      bash "$scripts/make_config.sh" "$data/nonhybrid/model.onnx" bayes model out > config.yaml
      sed -i "s/^input_parameters:/input_parameters:\n  input_shape: '$shape'/" config.yaml
      expect 3 "input_shape: $shape for input 'input' conflicts with the model's static shape 1x3x64x64" -- "$bin" makertbin -c config.yaml --model-type onnx
      [ -e out ] && { echo "FAIL: working_dir created by a failing compile"; find out; exit 1; }
    done
    # After a good build, a failing one into the same working_dir leaves the earlier files as they were.
    bash "$scripts/make_config.sh" "$data/nonhybrid/model.onnx" bayes model out > good.yaml
    "$bin" makertbin -c good.yaml --model-type onnx > /dev/null || { echo "FAIL: compile"; exit 1; }
    before=$(cd out && ls -A | sort && md5sum model*)
    allow_bin=1
    expect 3 "conflicts with the model's static shape" -- "$bin" makertbin -c config.yaml --model-type onnx
    after=$(cd out && ls -A | sort && md5sum model*)
    [ "$before" == "$after" ] || { echo "FAIL: earlier build changed"; echo "$before"; echo "$after"; exit 1; } ;;
  dynamic_shape)
    # N x 3 x H x W export: compiled at two input_shapes (input_name left out), each equal to the QAT goldens.
    for k in 0 1; do
      shape=$([ $k = 0 ] && echo 1x3x16x16 || echo 2x3x24x20)
      bash "$scripts/make_config.sh" "$data/dynamic_shape/model.onnx" bayes model "out$k" > config.yaml
      sed -i "s/^input_parameters:/input_parameters:\n  input_shape: '$shape'/" config.yaml
      expect 0 "BPU nodes: " -- "$bin" makertbin -c config.yaml --model-type onnx
      allow_bin=1
      expect 0 "output 'output' vs reference: cosine 1.0000000[0-9]*, max \|diff\| 0$" -- "$bin" run --model "out$k/model.bin" --input "$data/dynamic_shape/input_$k.npy" --reference "$data/dynamic_shape/qat_output_$k.npy" --output-dir o
      expect 0 "verify: PASSED" -- "$bin" verify --model "out$k/model.bin" --onnx "$data/dynamic_shape/model.onnx" --input "$data/dynamic_shape/input_$k.npy" --input-shape "input:$shape"
    done
    # input_batch on the static nonhybrid model: compiled at batch 2, verified at batch 2.
    bash "$scripts/make_config.sh" "$data/nonhybrid/model.onnx" bayes model outb > config.yaml
    sed -i "s/^input_parameters:/input_parameters:\n  input_batch: 2/" config.yaml
    expect 0 "BPU nodes: " -- "$bin" makertbin -c config.yaml --model-type onnx
    # A batch-2 input: the .npy header (128 bytes, shape (1, 3, 64, 64)) with batch 2, then the data twice.
    { head -c 128 "$data/nonhybrid/input_0.npy" | LC_ALL=C sed 's/(1, 3, 64, 64)/(2, 3, 64, 64)/'
      tail -c +129 "$data/nonhybrid/input_0.npy"; tail -c +129 "$data/nonhybrid/input_0.npy"; } > b2.npy
    expect 0 "verify: PASSED" -- "$bin" verify --model outb/model.bin --onnx "$data/nonhybrid/model.onnx" --input b2.npy
    expect 2 "the .bin was compiled for input 2x3x24x20" -- "$bin" verify --model out1/model.bin --onnx "$data/dynamic_shape/model.onnx" --input "$data/dynamic_shape/input_1.npy" --input-shape input:1x3x24x20
    allow_bin=0; rm -rf out0 out1 outb
    bash "$scripts/make_config.sh" "$data/dynamic_shape/model.onnx" bayes model out > config.yaml
    expect 4 "input 'input' has the dynamic or zero dimensions batchx3xheightxwidth; set input_parameters.input_shape" -- "$bin" makertbin -c config.yaml --model-type onnx ;;
  strict_config)
    # Every problem in one run, one error line, exit 3; nothing written.
    bash "$scripts/make_config.sh" "$data/nonhybrid/model.onnx" bayes model out "  cal_data_dir: 'no_such_dir'" > config.yaml
    sed -i "s/input_type_train: 'featuremap'/input_type_train: ''/; s/optimize_level:/optimise_level:/" config.yaml
    printf '  core_num: 9\n' >> config.yaml
    expect 3 "4 problems" -- "$bin" makertbin -c config.yaml --model-type onnx
    for f in "input_type_train: is empty" "optimise_level: unknown key; did you mean compiler_parameters.optimize_level" \
             "core_num: '9' is invalid; allowed: 1 or 2" "cal_data_dir: folder '.*no_such_dir' does not exist"; do
      grep -Eq -- "$f" all.txt || { echo "FAIL: lacks /$f/"; cat all.txt; exit 1; }
    done
    [ -e out ] && { echo "FAIL: working_dir created"; exit 1; }
    grep -q "error config .*4 problems" bpu_mapper_makertbin.log || { echo "FAIL: error not in the log"; exit 1; } ;;
  parallel_identical)
    # 4 parallel compiles of one model into different working_dirs, from differently written YAMLs (prefix,
    # comments, quoting, key order, run from other folders): byte-identical .bins, no shared temporary path.
    for i in 1 2 3 4; do
      mkdir "j$i"
      bash "$scripts/make_config.sh" "$data/nonhybrid/model.onnx" bayes "p$i" "wd$i" > "j$i/config.yaml"
    done
    sed -i "1i # CI job two" j2/config.yaml
    sed -i "s/'O3'/O3   # fast/" j3/config.yaml
    sed -i "s/compile_mode: 'latency'//; s/march: 'bayes'/march: \"bayes\"/" j4/config.yaml
    for i in 1 2 3 4; do (cd "j$i" && "$bin" makertbin -c config.yaml --model-type onnx > log.txt 2>&1; echo $? > rc) & done
    wait
    for i in 1 2 3 4; do [ "$(cat j$i/rc)" = 0 ] || { echo "FAIL: job $i"; cat "j$i/log.txt"; exit 1; }; done
    for i in 2 3 4; do cmp j1/wd1/p1.bin "j$i/wd$i/p$i.bin" || { echo "FAIL: .bin $i differs"; exit 1; }; done
    find . -name '.bpu_mapper_tmp_*' | grep -q . && { echo "FAIL: temporary folder left"; exit 1; }
    echo "ok: 4 byte-identical .bins" ;;
  same_working_dir)
    # Two compiles into the same working_dir at once: both succeed, every file whole, no temporary left.
    bash "$scripts/make_config.sh" "$data/resnet18/model.onnx" bayes model out > a.yaml
    cp a.yaml b.yaml
    "$bin" makertbin -c a.yaml --model-type onnx > a.txt 2>&1 & pa=$!
    "$bin" makertbin -c b.yaml --model-type onnx > b.txt 2>&1 & pb=$!
    wait $pa || { echo "FAIL: a"; cat a.txt; exit 1; }
    wait $pb || { echo "FAIL: b"; cat b.txt; exit 1; }
    allow_bin=1
    expect 0 "march            bayes" -- "$bin" info out/model.bin
    for f in out/model_report.json out/model_placement.json; do
      [ "$(tail -c 2 "$f")" = "}" ] || { echo "FAIL: torn $f"; exit 1; }
    done
    expect 0 "latency" -- "$bin" run --model out/model.bin --input "$data/resnet18/input_0.npy" --output-dir o --repeat 1
    find . -name '.bpu_mapper_tmp_*' -o -name '*.tmp.*' | grep -q . && { echo "FAIL: temporary left"; exit 1; }
    echo "ok: both compiles whole" ;;
  crash_log)
    # The log is on disk while the compile runs (unbuffered); a fatal signal adds the phase and the last message,
    # and the staging folder and the working_dir the compile created are removed.
    bash "$scripts/make_config.sh" "$data/mobilenet_v2/model.onnx" bayes model out > config.yaml
    "$bin" makertbin -c config.yaml --model-type onnx > run.txt 2>&1 & p=$!
    for _ in $(seq 1 600); do
      grep -q "imported '" bpu_mapper_makertbin.log 2>/dev/null && break
      kill -0 $p 2>/dev/null || { echo "FAIL: the log was not written while the compile ran"; cat bpu_mapper_makertbin.log; exit 1; }
      sleep 0.02
    done
    kill -SEGV $p; wait $p; rc=$?
    [ "$rc" = 139 ] || { echo "FAIL: exit $rc after SIGSEGV (or the compile ended first)"; exit 1; }
    grep -Eq "^F fatal SIGSEGV during phase '[a-z ]+'; last message: " bpu_mapper_makertbin.log || { echo "FAIL: no crash line"; cat bpu_mapper_makertbin.log; exit 1; }
    [ -e out ] && { echo "FAIL: working_dir left after the crash"; find out; exit 1; }
    echo "ok: crash logged, nothing left" ;;
  *) echo "unknown case $case_name"; exit 1 ;;
esac
