#!/usr/bin/env bash
# Installs what is missing, builds, and starts mamba2-chat on the embedded default model.
# Extra arguments go to mamba2-chat, e.g. scripts/chat.sh --temp 0 -p "Once upon a time"
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release

# The default model is byte-level and has no end-of-text token: its training text separates
# stories with the literal "<|endoftext|>", so that string ends a reply, and replies are capped.
args=(--stop "<|endoftext|>")
case " $* " in
  *" -n "* | *" --n-predict "* | *" -n="* | *" --n-predict="*) ;;
  *) args+=(-n 400) ;;
esac
exec build/release/apps/mamba2-chat models/default.gguf "${args[@]}" "$@"
