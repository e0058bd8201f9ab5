#!/usr/bin/env bash
# Runs openai_client.mjs (the official OpenAI SDK, on Node) against a mamba2-server started here on
# 127.0.0.1 and a free port. The `openai` package is installed once per build directory, into
# WORK_DIR; without node, npm or the npm registry the test is skipped (exit 77, ctest's
# SKIP_RETURN_CODE) with the reason.
# Usage: run_openai_sdk_test.sh SERVER_BIN MODEL CLIENT_SCRIPT WORK_DIR
set -uo pipefail
server_bin=$1 model=$2 client_script=$3 work_dir=$4
readonly skip=77
# The major version whose engines field takes Node 20 (openai 7 wants Node 22).
readonly sdk=openai@6

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit $skip; }
done
mkdir -p "$work_dir" || exit 1
if [ ! -f "$work_dir/node_modules/openai/package.json" ]; then
  # A lock keeps two ctest runs sharing a build directory from installing at once.
  if ! (flock 9 && [ -f "$work_dir/node_modules/openai/package.json" ] ||
        timeout 120 npm install --no-audit --no-fund --prefix "$work_dir" "$sdk" \
          >"$work_dir/npm-install.log" 2>&1) 9>"$work_dir/.lock"; then
    echo "SKIP: npm install $sdk failed (no npm registry?): $(tail -n 3 "$work_dir/npm-install.log")"
    exit $skip
  fi
fi
# Next to node_modules, so that `import 'openai'` finds the package.
cp "$client_script" "$work_dir/openai_client.mjs" || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$server_bin" -m "$model" -t 1 --host 127.0.0.1 --port 0 --api-key sdk-test-key 2>"$log" &
server_pid=$!
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  rm -f "$log"
}
trap stop_server EXIT

port=
for _ in $(seq 600); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "FAILED: the server did not start:"
  cat "$log"
  exit 1
fi

timeout 120 node "$work_dir/openai_client.mjs" "http://127.0.0.1:$port/v1" sdk-test-key
status=$?
[ $status -eq 0 ] || { echo "FAILED (exit $status); the server said:"; cat "$log"; }
exit $status
