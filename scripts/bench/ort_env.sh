# Sourced by the benchmark scripts: installs onnxruntime-node 1.30.0 from npm into $build/bench-ort once (with
# ONNXRUNTIME_NODE_INSTALL=skip: no download outside the npm registry) and defines ort_median MODEL INPUT RUNS,
# which prints onnxruntime's one-thread median in ms, or "n/a" when onnxruntime cannot run the model.
# onnxruntime is a benchmark reference only, never a build or test dependency.
ort_dir="$root/$build/bench-ort"
if [ ! -d "$ort_dir/node_modules/onnxruntime-node" ]; then
  mkdir -p "$ort_dir"
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node@1.30.0 > install.log 2>&1)
fi
ort_median() {
  local out
  out=$(NODE_PATH="$ort_dir/node_modules" node "$root/scripts/bench/ort_latency.js" "$1" "$2" "${3:-20}" 2>&1 || true)
  local ms
  ms=$(echo "$out" | sed -n 's/ort_median_ms \([0-9.]*\).*/\1/p')
  echo "${ms:-n/a}"
}
