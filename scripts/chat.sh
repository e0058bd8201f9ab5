#!/usr/bin/env bash
# Installs what is missing, builds, and starts mamba2-chat on the embedded default model.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release
model=models/default.gguf
if [ ! -f "$model" ]; then
  echo "The embedded default model ($model) is not built yet (issue 6)." >&2
  echo "The build succeeded; chat with any Mamba-2 model (GGUF file or checkpoint directory):" >&2
  echo "  build/release/apps/mamba2-chat MODEL" >&2
  exit 1
fi
exec build/release/apps/mamba2-chat "$model" "$@"
