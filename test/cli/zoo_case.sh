#!/usr/bin/env bash
# One model-zoo case (test/data/zoo_*, from scripts/gen_zoo_fixtures.py): compiles the fixture with its own
# config.yaml and checks the state measured in docs/models.md. MODE compile: makertbin succeeds and
# `verify --isolated` passes (every node within 1 LSB of the QAT graph given the .bin's own inputs); exact: as
# compile, the .bin's every output equals torch's float64 golden (exact_output*, the QAT model's exact value;
# qat_output*, its float32 run, where the generator wrote no exact one) exactly, and `verify --exact
# --tolerance-lsb 0` passes; refused:REGEX: makertbin fails with
# exit 5 and one error line matching REGEX, leaving no .bin (a known limit of issue 12: when it is lifted, this
# case fails and moves to compile). Usage: zoo_case.sh BPU_MAPPER DATA_DIR FIXTURE MODE
set -u
bin="$1"; fixture="$2/$3"; mode="$4"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
sed -e "s|'model.onnx'|'$fixture/model.onnx'|" -e "s|'model_output'|'out'|" "$fixture/config.yaml" > config.yaml
prefix=$(sed -n "s/^ *output_model_file_prefix: '\(.*\)'/\1/p" config.yaml)

"$bin" makertbin -c config.yaml --model-type onnx > log.txt 2>&1
rc=$?
case "$mode" in
  refused:*)
    pattern="${mode#refused:}"
    [ "$rc" = 5 ] || { echo "FAIL: exit $rc, expected the known refusal (exit 5)"; tail -5 log.txt; exit 1; }
    [ "$(grep -c '^E ' log.txt)" = 1 ] || { echo "FAIL: expected exactly one error line"; cat log.txt; exit 1; }
    grep -Eq -- "$pattern" log.txt || { echo "FAIL: error lacks /$pattern/"; grep '^E ' log.txt; exit 1; }
    find . -name '*.bin' | grep -q . && { echo "FAIL: .bin left behind"; exit 1; }
    echo "ok: refused as known: $(grep '^E ' log.txt)"; exit 0 ;;
esac
[ "$rc" = 0 ] || { echo "FAIL: makertbin exit $rc"; tail -5 log.txt; exit 1; }
grep -o 'BPU nodes: .*' log.txt
"$bin" verify --model "out/$prefix.bin" --onnx "$fixture/model.onnx" --input "$fixture/input_0.npy" --isolated > verify.txt 2>&1 \
  || { echo "FAIL: verify --isolated"; cat verify.txt; exit 1; }
grep -q "verify: PASSED" verify.txt || { echo "FAIL: verify did not pass"; cat verify.txt; exit 1; }
echo "ok: verify --isolated passed"
if [ "$mode" = exact ]; then
  refs=()
  kind=exact_output; ls "$fixture"/exact_output*_0.npy > /dev/null 2>&1 || kind=qat_output
  for golden in "$fixture"/${kind}*_0.npy; do
    out=$(basename "$golden" _0.npy); out=${out#"$kind"}; out=${out#_}
    [ -n "$out" ] || out=$("$bin" info "out/$prefix.bin" | sed -n '/^outputs:/,/^segments/s/^  \([^ ]*\) .*/\1/p' | head -1)
    refs+=(--reference "$out=$golden")
  done
  "$bin" run --model "out/$prefix.bin" --input "$fixture/input_0.npy" --output-dir run "${refs[@]}" > run.txt 2>&1 \
    || { echo "FAIL: run"; cat run.txt; exit 1; }
  n=$(grep -c "vs reference: .*max |diff| 0$" run.txt)
  [ "$n" = $(( ${#refs[@]} / 2 )) ] && [ "$n" -gt 0 ] || { echo "FAIL: not equal to torch's golden ($kind)"; grep "vs reference" run.txt; exit 1; }
  echo "ok: $n output(s) equal torch's golden ($kind)"
  "$bin" verify --exact --tolerance-lsb 0 --model "out/$prefix.bin" --onnx "$fixture/model.onnx" --input "$fixture/input_0.npy" > exact.txt 2>&1 \
    || { echo "FAIL: verify --exact --tolerance-lsb 0"; grep -E "vs exact|FAILED" exact.txt; exit 1; }
  grep -E "node outputs \(" exact.txt
fi
