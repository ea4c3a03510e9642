#!/usr/bin/env bash
# Benchmark: for every fixture under test/data, compile time (median of 5 makertbin runs, wall clock of the
# whole process and the in-process compile time), simulator latency (in-process median and min of
# `run --repeat 20`, all cores), peak memory (RSS) of compile and run, and one thread side by side with
# onnxruntime on the same QAT ONNX file and input (ratio = bpu-mapper / onnxruntime; "n/a" where onnxruntime
# cannot run the model, e.g. Horizon's custom-domain HzQuantize), with the .bin's two-thread median beside it.
# The one-thread, two-thread and onnxruntime medians are taken in BENCH_ROUNDS alternating rounds (default 3)
# and each column shows the lowest of its round medians, so one slow round on a shared host decides nothing.
# Prints a Markdown table.
# Usage: scripts/bench/bench.sh [build_dir]   (builds with scripts/setup.sh first when build/ is missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build="${1:-build}"
[ -x "$build/bin/bpu-mapper" ] || scripts/setup.sh
bin="$build/bin/bpu-mapper"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
source scripts/bench/ort_env.sh

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
lowest() { local v; v=$(printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | head -1); echo "${v:-n/a}"; }

echo "| fixture | nodes | .bin bytes | compile wall ms (median of 5) | compile in-process ms | compile peak RSS MiB | run median ms | run min ms | run peak RSS MiB | 1 thread ms | onnxruntime 1 thread ms | ratio | 2 threads ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for model in test/data/*/model.onnx; do
  case "$model" in test/data/zoo_*) continue ;; esac  # the model zoo has its own harness (zoo.sh); some are refused
  fixture=$(basename "$(dirname "$model")")
  scripts/make_config.sh "$PWD/$model" bayes "$fixture" "$work/out" > "$work/c.yaml"
  walls=(); inproc=(); rss=""
  for i in 1 2 3 4 5; do
    t0=$(date +%s%N)
    log=$( (cd "$work" && "$OLDPWD/$bin" makertbin -c c.yaml --model-type onnx) 2>&1) || {
      echo "| $fixture | refused: $(echo "$log" | grep '^E ' | head -1 | cut -c1-90 | tr '|' '/') | | | | | | | | | | | |"; continue 2; }
    t1=$(date +%s%N)
    walls+=($(( (t1 - t0) / 1000000 )))
    inproc+=($(echo "$log" | sed -n "s/.* in \([0-9.]*\) s, peak memory \([0-9.]*\) MiB/\1/p" | awk '{print $1*1000}'))
    rss=$(echo "$log" | sed -n "s/.*peak memory \([0-9.]*\) MiB/\1/p")
  done
  nodes=$(echo "$log" | sed -n "s/.*BPU nodes: \([0-9]*\).*CPU nodes: \([0-9]*\).*/\1 \2/p" | awk '{print $1 + $2}')
  binfile="$work/out/$fixture.bin"
  inputs=()
  for f in "$(dirname "$model")"/input_0.npy; do inputs+=(--input "$f"); done
  runlog=$("$bin" run --model "$binfile" "${inputs[@]}" --output-dir "$work/run" --repeat 20 2>&1) || true  # image inputs want pictures
  run_median=$(echo "$runlog" | sed -n "s/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms, peak memory \([0-9.]*\) MiB/\1/p")
  run_min=$(echo "$runlog" | sed -n "s/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms, peak memory \([0-9.]*\) MiB/\2/p")
  run_rss=$(echo "$runlog" | sed -n "s/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms, peak memory \([0-9.]*\) MiB/\3/p")
  ones=(); twos=(); orts=()
  for round in $(seq "${BENCH_ROUNDS:-3}"); do
    for threads in 1 2; do
      m=$("$bin" run --model "$binfile" "${inputs[@]}" --output-dir "$work/run" --repeat 20 --threads $threads 2>&1 | sed -n "s/.*median \([0-9.]*\) ms.*/\1/p") || true
      if [ $threads = 1 ]; then ones+=("$m"); else twos+=("$m"); fi
    done
    orts+=("$(ort_median "$PWD/$model" "$(dirname "$model")/input_0.npy" 20)")
  done
  one=$(lowest "${ones[@]}"); two=$(lowest "${twos[@]}"); ort=$(lowest "${orts[@]}")
  ratio=$(awk -v a="$one" -v b="$ort" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }')
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$fixture" "$nodes" "$(stat -c %s "$binfile")" \
    "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${inproc[@]}" | median)" "$rss" "$run_median" "$run_min" "$run_rss" \
    "$one" "$ort" "$ratio" "$two"
done
