#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test: the release build, then the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
for config in release sanitize; do
  echo "== $config: build"
  scripts/build.sh "$config"
  echo "== $config: test"
  (cd "build/$config" && ctest --output-on-failure -j "$(nproc)" --timeout 600)
done
