#!/usr/bin/env bash
# Configures and builds one configuration: release (default) or sanitize (ASan + UBSan).
# Usage: scripts/build.sh [release|sanitize] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

config=${1:-release}
shift || true
case "$config" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  sanitize) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAMBA2_SANITIZE=ON -DMAMBA2_BUILD_BENCH=OFF) ;;
  *) echo "scripts/build.sh: unknown configuration '$config' (release or sanitize)" >&2; exit 1 ;;
esac
[ -n "${CI:-}" ] && flags+=(-DMAMBA2_WERROR=ON)

cmake -S . -B "build/$config" -G Ninja "${flags[@]}" "$@" >/dev/null
cmake --build "build/$config" -j "$(nproc)"
