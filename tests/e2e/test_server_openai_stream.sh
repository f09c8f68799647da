#!/usr/bin/env bash
# The openai npm client against the server with a fake backend (the
# `--serve` mode of the unit test binary test_server_stream): checks that
# the SDK parses our SSE streams, usage chunks, tool-call deltas and base64
# embeddings.
set -u
AIOS_BIN=${AIOS_BIN:-build/aios}
here=$(cd "$(dirname "$0")" && pwd)
fake="$(dirname "$AIOS_BIN")/tests/unit_test_server_stream"
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/openai" ]; then
    [ "${CI:-}" = true ] && { echo "node or tests/e2e/node_modules missing (scripts/test-deps.sh)"; exit 1; }
    echo "SKIP: node or the openai package is missing (run scripts/test-deps.sh)"
    exit 77
fi
[ -x "$fake" ] || { echo "missing $fake"; exit 1; }
tmp=$(mktemp -d "${AIOS_TEST_TMP:-/tmp}/server_stream.XXXXXX" 2>/dev/null || mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$fake" --serve >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=""
for _ in $(seq 100); do
    url=$(grep -o 'http://[^ ]*' "$tmp/out" 2>/dev/null | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ -n "$url" ] || { echo "fake server did not start"; cat "$tmp/out" "$tmp/err"; exit 1; }
AIOS_URL=$url node "$here/openai_stream.mjs"
rc=$?
kill -TERM "$pid"
wait "$pid" || { echo "fake server exited with $?"; tail -20 "$tmp/err"; rc=1; }
pid=""
exit "$rc"
