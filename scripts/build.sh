#!/usr/bin/env bash
# Configures and builds one configuration: release (default, GCC) or sanitize (ASan + UBSan with
# clang, the tests and the libFuzzer targets in one tree: the library is compiled once for both).
# Usage: scripts/build.sh [release|sanitize] [extra cmake args...] [--target name...]
# Without --target, everything is built.
set -euo pipefail
cd "$(dirname "$0")/.."

config=${1:-release}
shift || true
case "$config" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  sanitize)
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAMBA2_FUZZ=ON -DCMAKE_C_COMPILER=clang
           -DCMAKE_CXX_COMPILER=clang++ -DMAMBA2_BUILD_BENCH=OFF)
    ;;
  *) echo "scripts/build.sh: unknown configuration '$config' (release or sanitize)" >&2; exit 1 ;;
esac
[ -n "${CI:-}" ] && flags+=(-DMAMBA2_WERROR=ON)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) targets+=(--target "$2"); shift 2 ;;
    *) flags+=("$1"); shift ;;
  esac
done

cmake -S . -B "build/$config" -G Ninja "${flags[@]}" >/dev/null
cmake --build "build/$config" -j "$(nproc)" "${targets[@]}"
