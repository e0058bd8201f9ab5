#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build/sanitize, the tree of the sanitized
# tests (scripts/build.sh sanitize), makes their seed corpora from the fixtures in ../shared, and
# runs each target for a bounded time, two at a time. Every input in tests/fuzz/corpus/<target>/
# (the regression corpus) is replayed first. Exits non-zero if any target finds a crash, a hang
# or an out-of-memory; the input is kept in build/sanitize/crashes/.
# Usage: scripts/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shared=$(realpath "${MAMBA2_SHARED_DIR:-../shared}")
neox="$shared/data/gpt-neox-20b-tokenizer.json"
build=build/sanitize

scripts/build.sh sanitize -DMAMBA2_FUZZ_TOKENIZER="$neox" --target fuzzers
# The targets are the fuzzers tests/fuzz/CMakeLists.txt declares: <name>_fuzz.
mapfile -t targets < <(cd "$build/tests/fuzz" && ls -- *_fuzz | sed 's/_fuzz$//')

work=$(mktemp -d "${TMPDIR:-/tmp}/mamba2-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
seeds="$work/seeds"
"$build/tests/fuzz/make_fuzz_seeds" "$shared/fixtures" "$neox" "$seeds"
for fixture in tiny small_groups; do
  cp "$shared/fixtures/$fixture/config.json" "$seeds/config_json/$fixture.json"
done
cp "$shared/fixtures/tiny/model.safetensors" "$seeds/safetensors/tiny.safetensors"
cp "$shared/fixtures/tiny/pytorch_model.bin" "$seeds/torch_bin/tiny.bin"
# A mamba2-jax forecaster's parameters, as .npz and as the directory's params.safetensors.
mkdir -p "$seeds/npz" "$seeds/mamba2_jax"
cp "$shared/fixtures/fc_sine/params.npz" "$seeds/npz/fc_sine.npz"
cp "$shared/fixtures/fc_sine/params.safetensors" "$seeds/mamba2_jax/fc_sine.safetensors"
# The other two dialects the config reader accepts: transformers' Mamba2Config, Mistral's params.
echo '{"model_type": "mamba2", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 256,
  "state_size": 16, "head_dim": 16, "num_heads": 8, "n_groups": 1, "expand": 2}' \
  >"$seeds/config_json/hf.json"
echo '{"dim": 64, "n_layers": 2, "vocab_size": 256, "n_groups": 1, "d_state": 16,
  "patch_size": 1, "head_dim": 16}' >"$seeds/config_json/params.json"

crashes="$build/crashes"
rm -rf "$crashes"
# run_target NAME: fuzzes one target; its log, corpus and findings stay in $work and $crashes.
run_target() {
  local name=$1 max_len=()
  case "$name" in
    tokenize | spm_tokenize) max_len=(-max_len=4096) ;;
    safetensors) max_len=(-max_len=16384) ;;  # the header is at the start of the file
  esac
  mkdir -p "$work/corpus/$name" "$crashes/$name" "$seeds/$name"
  local regression=()
  [ -d "tests/fuzz/corpus/$name" ] && regression=("tests/fuzz/corpus/$name")
  "$build/tests/fuzz/${name}_fuzz" "$work/corpus/$name" "$seeds/$name" "${regression[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/$name/" "${max_len[@]}" >"$work/$name.log" 2>&1 &&
    echo ok >"$work/$name.status" || echo failed >"$work/$name.status"
}
export -f run_target
export work seeds crashes build seconds
printf '%s\n' "${targets[@]}" | xargs -P 2 -I{} bash -c 'run_target {}'

status=0
printf '%-20s %12s %8s %8s\n' target executions corpus crashes
for name in "${targets[@]}"; do
  log="$work/$name.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(grep -oE "corp: [0-9]+" "$log" | tail -1 | cut -d" " -f2 || true)
  found=$(find "$crashes/$name" -type f | wc -l)
  printf '%-20s %12s %8s %8s\n' "$name" "${execs:-?}" "${corpus:-?}" "$found"
  if [ "$(cat "$work/$name.status")" != ok ] || [ "$found" -gt 0 ]; then
    status=1
    echo "== $name failed; the end of its log:"
    tail -40 "$log"
    for input in "$crashes/$name"/*; do
      [ -f "$input" ] && echo "reproduce: $build/tests/fuzz/${name}_fuzz $input"
    done
  fi
done
exit $status
