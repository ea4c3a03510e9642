#!/usr/bin/env bash
# A long fuzz campaign (issue 13's millions of executions): builds the libFuzzer targets hardened for speed
# (-DBPU_FUZZ_HARDENED=ON: UBSan + _GLIBCXX_ASSERTIONS at -O2 instead of ASan, no tests or Python module) into
# build-fuzz-campaign/ and runs fuzz_onnx, fuzz_config and fuzz_bin at once for SECONDS each, at niceness
# BPU_FUZZ_NICE (default 19, so builds and tests on the same machine keep priority), each with its own seeds and
# a corpus kept in build-fuzz-campaign/corpus between runs. Prints each target's line and the total; exits 1 on any
# finding (reproducers in build-fuzz-campaign/findings/). The test command's short ASan+UBSan rounds stay
# scripts/fuzz.sh's. Usage: scripts/fuzz_campaign.sh SECONDS. docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: scripts/fuzz_campaign.sh SECONDS}"
dir=build-fuzz-campaign
export BPU_FUZZ_DIR="$dir" BPU_FUZZ_NO_BUILD=1 BPU_FUZZ_NICE="${BPU_FUZZ_NICE:-19}" BPU_FUZZ_ARGS="${BPU_FUZZ_ARGS:--entropic=0}"
launcher=""
command -v ccache > /dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
BPU_BUILD_DIR="$dir" BPU_CMAKE_ARGS="-DCMAKE_CXX_COMPILER=clang++ -DBPU_FUZZ=ON -DBPU_FUZZ_HARDENED=ON \
  -DBPU_MAPPER_BUILD_TESTS=OFF -DBPU_MAPPER_PYTHON=OFF $launcher" scripts/setup.sh > /dev/null
pids=()
for t in onnx config bin; do
  BPU_FUZZ_TARGETS=$t BPU_FUZZ_SEEDS="$dir/seeds_$t" scripts/fuzz.sh "$seconds" > "$dir/campaign_$t.txt" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
total=0
for t in onnx config bin; do
  grep "^fuzz: $t:" "$dir/campaign_$t.txt" || { cat "$dir/campaign_$t.txt"; status=1; }
  total=$(( total + $(sed -n "s/^fuzz: $t: \([0-9]*\) executions.*/\1/p" "$dir/campaign_$t.txt") ))
done
echo "fuzz campaign: total $total executions, $( [ $status = 0 ] && echo 0 || echo 'some' ) finding(s)"
exit $status
