#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test: the release build, then the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer, and the multi-session tests
# under ThreadSanitizer; then a short libFuzzer run of every file and input reader.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# Tests that measure an algorithm's complexity or the default model's quality on megabytes of
# text: the release run checks them; under the sanitizers they took minutes and check nothing more.
measure_only='^(TokenizerComplexity\.|BpeComplexity\.TwoMillion|DefaultModel\.HeldOut|.*MegabyteTexts)'
for config in release sanitize; do
  echo "== $config: build"
  scripts/build.sh "$config"
  echo "== $config: test"
  exclude=()
  [ "$config" = sanitize ] && exclude=(-E "$measure_only")
  (cd "build/$config" && ctest --output-on-failure -j "$(nproc)" --timeout 600 "${exclude[@]}")
done

# ThreadSanitizer on the tests of what runs on several threads: sessions sharing a model, each
# with tiles on two threads; the server's scheduler with its HTTP-side threads; the prefix-state
# stores; the tiled GEMM, quantizer and batched decode. Just those executables are built, in
# build/tsan.
echo "== tsan: build (multi-threaded tests)"
tsan_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAMBA2_TSAN=ON -DMAMBA2_BUILD_BENCH=OFF)
[ -n "${CI:-}" ] && tsan_flags+=(-DMAMBA2_WERROR=ON)
cmake -S . -B build/tsan -G Ninja "${tsan_flags[@]}" >/dev/null
cmake --build build/tsan -j "$(nproc)" --target runtime_concurrency_test apps_server_scheduler_test \
  apps_state_store_test kernels_matmul_f32_panels_test runtime_gguf_requantize_test \
  runtime_batch_decoder_test runtime_wavefront_test runtime_io_test mamba2-server mamba2-loadtest
echo "== tsan: test"
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/runtime/engine/runtime_concurrency_test
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/apps/apps_server_scheduler_test
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/apps/apps_state_store_test
# Tiles split over threads (in this build on plain threads TSan follows, not TBB's: see
# plain_threads.h): the f32 GEMM's row tiles and its per-K choice measured while several models
# load at once, the quantizer's row tiles, the prefill's layer x chunk wavefront, and batches of
# sessions decoding together.
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/kernels/kernels_matmul_f32_panels_test
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/runtime/runtime_gguf_requantize_test \
  --gtest_filter='RequantizeThreads.*'
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/runtime/runtime_wavefront_test
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/runtime/engine/runtime_batch_decoder_test
# The file of timed choices that loading models and measuring sessions share (one lock per file).
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/tests/runtime/runtime_io_test \
  --gtest_filter='TimedChoices.*'
# The whole server (HTTP threads, jobs, scheduler) under a short load with hostile requests; a
# race ends the server with TSan's exit code, which the load test reports as a failure.
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" build/tsan/apps/mamba2-loadtest \
  --server build/tsan/apps/mamba2-server -m models/default.gguf -t 2 --parallel 4 --clients 4 \
  --requests 3 --max-tokens 8 --prompt-lengths 4,40,300 --baseline 1 --hostile 40 --timeout 120

# libFuzzer on every reader of untrusted input, a short time per target (scripts/fuzz.sh, clang,
# ASan + UBSan); the committed regression inputs in tests/fuzz/corpus are replayed first. The
# fuzzers were built with the sanitize configuration, in the same tree.
echo "== fuzz: run (10 s per target)"
scripts/fuzz.sh 10
