#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan+UBSan; the same build holds the sanitized unit tests, which
# scripts/test.sh runs there) into build-fuzz/ and runs each for SECONDS,
# one after the other: fuzz.sh SECONDS. Prints executions, seconds and findings per target and in total; exits 1
# when any target found something (the reproducers are left in build-fuzz/findings/). docs/fuzzing.md.
# Environment: BPU_FUZZ_TARGETS (default "onnx config bin"), BPU_FUZZ_NICE (niceness, default 0),
# BPU_FUZZ_TIMEOUT (seconds one input may take, default 30), BPU_FUZZ_ARGS (more libFuzzer flags),
# BPU_FUZZ_CORPUS (corpus folder, default build-fuzz/corpus; kept between runs), BPU_FUZZ_SEEDS (seed folder,
# default build-fuzz/seeds, remade by every run: give two runs at once different ones), BPU_FUZZ_DIR (build folder,
# default build-fuzz; scripts/fuzz_campaign.sh's hardened build with BPU_FUZZ_NO_BUILD=1).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: scripts/fuzz.sh SECONDS}"
dir="${BPU_FUZZ_DIR:-build-fuzz}"
root="$PWD"

# clang, its libFuzzer/sanitizer runtimes and the library's dependencies (Debian packages; setup.sh installs the
# missing ones and builds every target of the configuration).
launcher=""
command -v ccache > /dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
if [ "${BPU_FUZZ_NO_BUILD:-0}" != 1 ]; then  # BPU_FUZZ_NO_BUILD=1: use the fuzz targets already in build-fuzz/
  BPU_BUILD_DIR="$dir" BPU_CMAKE_ARGS="-DCMAKE_CXX_COMPILER=clang++ -DBPU_FUZZ=ON $launcher" \
    scripts/setup.sh
fi

# Seeds: the small fixture models, the bundled configs and fuzz/seeds, and .bins compiled from the fixtures.
seeds="${BPU_FUZZ_SEEDS:-$dir/seeds}"
rm -rf "$seeds"
mkdir -p "$seeds/onnx" "$seeds/config" "$dir/findings"
models=()
for m in test/data/*/model.onnx; do
  [ "$(stat -c %s "$m")" -le 65536 ] || continue  # the full-size networks make every mutation slow
  cp "$m" "$seeds/onnx/$(basename "$(dirname "$m")").onnx"
  models+=("$m")
done
cp configs/*.yaml fuzz/seeds/config/*.yaml "$seeds/config/"
"$dir/bin/fuzz_make_bin_seeds" "$seeds/bin" "${models[@]}" > /dev/null

corpus="${BPU_FUZZ_CORPUS:-$dir/corpus}"
# Crashes, sanitizer reports, timeouts, leaks and OOMs; libFuzzer's "slow-unit-" files only report the slowest
# input so far (they are kept in findings/ but are not failures: on a loaded machine any input can be slow).
count_findings() { ls "$dir/findings" | grep "^$1-" | grep -vc -- '-slow-unit-' || true; }
total_execs=0
total_findings=0
for t in ${BPU_FUZZ_TARGETS:-onnx config bin}; do
  mkdir -p "$corpus/$t"
  extra=()
  [ -f "fuzz/$t.dict" ] && extra+=("-dict=fuzz/$t.dict")
  before=$(count_findings "$t")
  log="$dir/fuzz_$t.log"
  status=0
  nice -n "${BPU_FUZZ_NICE:-0}" "$dir/bin/fuzz_$t" -max_total_time="$seconds" -timeout="${BPU_FUZZ_TIMEOUT:-30}" \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/findings/$t-" \
    "${extra[@]}" ${BPU_FUZZ_ARGS:-} "$corpus/$t" "$seeds/$t" > "$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  findings=$(( $(count_findings "$t") - before ))
  if [ "$status" -ne 0 ] && [ "$findings" -eq 0 ]; then findings=1; fi  # e.g. a crash before an artifact
  echo "fuzz: $t: ${execs:-0} executions in ${secs:-$seconds} s, $findings finding(s), corpus $(ls "$corpus/$t" | wc -l) files (log $log)"
  if [ "$findings" -ne 0 ]; then
    grep -m1 -A12 -E "^==[0-9]+==ERROR|runtime error|deadly signal|uncaught exception|ALARM|out-of-memory" "$log" || tail -20 "$log"
  fi
  total_execs=$(( total_execs + ${execs:-0} ))
  total_findings=$(( total_findings + findings ))
done
echo "fuzz: total $total_execs executions, $total_findings finding(s)"
[ "$total_findings" -eq 0 ]
