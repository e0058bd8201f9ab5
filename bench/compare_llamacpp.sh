#!/usr/bin/env bash
# Side by side with llama.cpp, as the speed issue measures: on each GGUF file, mamba2-bench and
# llama-bench (and optionally a baseline mamba2-bench) run back to back, the order rotating every
# round, so each ratio is taken within seconds on a machine whose speed drifts from minute to
# minute; then ours with 1 and 8 sessions decoding together. Writes one JSON Lines file per round,
# runtime and model into OUT and prints the medians of the per-round ratios
# (bench/compare_llamacpp_summary.py).
#
# Usage: bench/compare_llamacpp.sh --llama-bench PATH [--baseline PATH] [--rounds N]
#          [--threads N] [--out DIR] MODEL.gguf...
# e.g. bench/compare_llamacpp.sh --llama-bench ../llama.cpp/build/bin/llama-bench \
#        /tmp/m130-f32.gguf /tmp/m130-bf16.gguf /tmp/m130-q8_0.gguf
# The files need a tokenizer for llama.cpp to read them (mamba2-quantize --tokenizer ...).
set -euo pipefail
cd "$(dirname "$0")/.."

ours=build/release/apps/mamba2-bench
llama="" baseline="" rounds=5 threads=2 out=""
models=()
fail() { echo "compare_llamacpp.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --llama-bench | --baseline | --rounds | --threads | --out)
      [ $# -ge 2 ] || fail "$1 needs a value (see --help)"
      case "$1" in
        --llama-bench) llama=$2 ;;
        --baseline) baseline=$2 ;;
        --rounds) rounds=$2 ;;
        --threads) threads=$2 ;;
        --out) out=$2 ;;
      esac
      shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) fail "unknown option '$1' (see --help)" ;;
    *) models+=("$1"); shift ;;
  esac
done
[ -x "$llama" ] || fail "--llama-bench '$llama' is not an executable"
[ -x "$ours" ] || fail "$ours is missing: run scripts/build.sh first"
[ -z "$baseline" ] || [ -x "$baseline" ] || fail "--baseline '$baseline' is not an executable"
for value in "$rounds" "$threads"; do
  [[ "$value" =~ ^[1-9][0-9]{0,3}$ ]] || fail "'$value' is not a count from 1 to 9999 (--rounds, --threads)"
done
[ ${#models[@]} -gt 0 ] || fail "give at least one GGUF file"
for model in "${models[@]}"; do [ -r "$model" ] || fail "cannot read '$model'"; done
out=${out:-$(mktemp -d /tmp/compare_llamacpp.XXXXXX)}
mkdir -p "$out"

tests=(-p 64,512 -n 128 -t "$threads" -r 3)
run() {  # run ROUND RUNTIME MODEL_INDEX
  local model=${models[$3]} file="$out/r$1-$2-m$3.jsonl"
  case "$2" in
    ours) "$ours" "$model" "${tests[@]}" --roofline -o jsonl >"$file" ;;
    baseline) "$baseline" "$model" "${tests[@]}" -o jsonl >"$file" ;;
    llama) "$llama" -m "$model" "${tests[@]}" -o jsonl >"$file" ;;
  esac 2>/dev/null || echo "compare_llamacpp.sh: $2 failed on $model (round $1)" >&2
}
runtimes=(ours llama)
[ -n "$baseline" ] && runtimes+=(baseline)
for round in $(seq 1 "$rounds"); do
  for index in "${!models[@]}"; do
    for slot in "${!runtimes[@]}"; do
      runtime=${runtimes[$(((slot + round) % ${#runtimes[@]}))]}
      echo "$(date +%T) round $round/$rounds ${models[$index]##*/} $runtime" >&2
      run "$round" "$runtime" "$index"
    done
    "$ours" "${models[$index]}" -p 0 -n 128 -t "$threads" -r 3 --sessions 1,8 -o jsonl \
      >"$out/r$round-sessions-m$index.jsonl" 2>/dev/null ||
      echo "compare_llamacpp.sh: ours failed with 8 sessions on ${models[$index]}" >&2
  done
done
echo "results in $out" >&2
python3 bench/compare_llamacpp_summary.py "$out" "${models[@]}"
