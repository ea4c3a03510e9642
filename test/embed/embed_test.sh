#!/usr/bin/env bash
# The install + embed test: installs the already-built tree into a temporary prefix, moves the prefix (the package
# must be relocatable), builds examples/embed against it with find_package(bpu_mapper), compiles the hybrid
# fixture with the installed CLI and checks that `embed` writes the same files, byte for byte, as `bpu-mapper run`.
# Usage: embed_test.sh BUILD_DIR SOURCE_DIR CXX_COMPILER "EXTRA_LINK_FLAGS"
set -eu
build="$1"; src="$2"; cxx="$3"; link_flags="${4:-}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
for f in bin/bpu-mapper include/bpu_mapper/runtime.h include/bpu_mapper/model.hpp include/bpu_mapper/compiler.hpp \
         include/bpu_mapper/version.h lib/cmake/bpu_mapper/bpu_mapperConfig.cmake lib/cmake/bpu_mapper/bpu_mapperConfigVersion.cmake; do
  [ -e "$work/prefix/$f" ] || { echo "FAIL: install lacks $f"; exit 1; }
done
# No internal header is installed: the public headers include only each other and the standard library.
if grep -h '#include' "$work/prefix/include/bpu_mapper/"* | grep -v '<[a-z_]*\(\.h\)\?>\|"bpu_mapper/' ; then
  echo "FAIL: a public header includes an internal one"; exit 1
fi
mv "$work/prefix" "$work/moved"
cc=cc
case "$cxx" in *clang++*) cc="${cxx/clang++/clang}" ;; esac  # a sanitized clang build: its C compiler and runtime
cmake -S "$src/examples/embed" -B "$work/embed" -DCMAKE_PREFIX_PATH="$work/moved" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
      -DCMAKE_EXE_LINKER_FLAGS="$link_flags" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/embed" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
cli="$work/moved/bin/bpu-mapper"
embed_version=$("$work/embed/embed" 2>&1 | sed -n 's/.*(bpu-mapper \(.*\))/\1/p' || true)
[ -n "$embed_version" ] && [ "$("$cli" --version)" = "bpu-mapper $embed_version" ] || { echo "FAIL: versions differ: '$embed_version'"; exit 1; }
cd "$work"
bash "$src/scripts/make_config.sh" "$src/test/data/hybrid/model.onnx" bayes model out > config.yaml
"$cli" makertbin -c config.yaml --model-type onnx > makertbin.log 2>&1 || { cat makertbin.log; exit 1; }
for i in 0 1; do
  "$cli" run --model out/model.bin --input "$src/test/data/hybrid/input_$i.npy" --output-dir "cli_$i" > run.log 2>&1 || { cat run.log; exit 1; }
  "$work/embed/embed" out/model.bin "$src/test/data/hybrid/input_$i.npy" "embed_$i" > embed.log || { cat embed.log; exit 1; }
  diff <(cd "cli_$i" && ls) <(cd "embed_$i" && ls) || { echo "FAIL: different output files"; exit 1; }
  for f in "cli_$i"/*.npy; do cmp "$f" "embed_$i/$(basename "$f")" || { echo "FAIL: $f differs"; exit 1; }; done
  echo "ok: input_$i: $(ls "cli_$i" | wc -l) output(s) identical"
done
# Errors come back as a status and one message.
set +e
"$work/embed/embed" "$src/test/data/hybrid/model.onnx" "$src/test/data/hybrid/input_0.npy" bad > bad.log 2>&1
code=$?
set -e
[ "$code" = 8 ] && grep -q "ERROR bpu_model_load: .*model.onnx" bad.log || { echo "FAIL: bad .bin: exit $code"; cat bad.log; exit 1; }
echo "ok: a non-.bin file gives status 8: $(cat bad.log)"
