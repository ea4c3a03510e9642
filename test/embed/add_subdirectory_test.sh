#!/usr/bin/env bash
# A parent project that add_subdirectory()s bpu-mapper: it must configure (paths relative to the subproject, no
# tests of ours added), and the parent's own target must get none of bpu-mapper's compile flags.
# Usage: add_subdirectory_test.sh SOURCE_DIR CXX_COMPILER
set -eu
src="$1"; cxx="$2"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir "$work/parent"
cat > "$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(parent LANGUAGES CXX)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
add_subdirectory("$src" bpu_mapper)
add_executable(parent_app main.cpp)
target_link_libraries(parent_app PRIVATE bpu_mapper::runtime)
CMAKE
printf '#include <bpu_mapper/runtime.h>\n#include <cstdio>\nint main() { std::puts(bpu_version()); }\n' > "$work/parent/main.cpp"
cmake -S "$work/parent" -B "$work/build" -DCMAKE_CXX_COMPILER="$cxx" -DBPU_MAPPER_PYTHON=OFF > "$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
entry=$(grep '"command".*/parent/main.cpp' "$work/build/compile_commands.json")
for flag in -ffp-contract=off -march=x86-64-v3 -fsanitize; do
  if grep -q -- "$flag" <<< "$entry"; then echo "FAIL: $flag leaked into the parent's target: $entry"; exit 1; fi
done
grep -q -- "bpu_mapper.*include\|/include" <<< "$entry" || { echo "FAIL: parent target lacks the public include path: $entry"; exit 1; }
if grep -q 'bpu_unit_tests' "$work/build/bpu_mapper/Makefile" 2>/dev/null; then echo "FAIL: our tests were added to the parent"; exit 1; fi
echo "ok: parent configured; its target has the public include path and none of bpu-mapper's flags"
