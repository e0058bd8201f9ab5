#!/usr/bin/env bash
# Installs what is missing, builds, and starts mamba2-chat on the embedded default model.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release
model=models/default.gguf
if [ ! -f "$model" ] || [ ! -x build/release/apps/mamba2-chat ]; then
  echo "mamba2-chat and the embedded default model are not built yet (issues 5 and 6)." >&2
  echo "The build succeeded; see README.md for what works today." >&2
  exit 1
fi
exec build/release/apps/mamba2-chat "$model" "$@"
