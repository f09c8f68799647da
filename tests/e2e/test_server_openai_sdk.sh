#!/usr/bin/env bash
# Runs openai_basic.mjs (the official openai npm client, pinned in
# package.json) against `aios serve` on a free port.
set -u
AIOS_BIN=${AIOS_BIN:-build/aios}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/openai" ]; then
    [ "${CI:-}" = true ] && { echo "node or tests/e2e/node_modules missing (scripts/test-deps.sh)"; exit 1; }
    echo "SKIP: node or the openai package is missing (run scripts/test-deps.sh)"
    exit 77
fi
tmp=$(mktemp -d "${AIOS_TEST_TMP:-/tmp}/server_sdk.XXXXXX" 2>/dev/null || mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

key=sdk-test-key-$$
"$AIOS_BIN" serve --port 0 --api-key "$key" --data-dir "$tmp" >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=""
for _ in $(seq 100); do
    url=$(grep -o 'http://[^ ]*' "$tmp/out" 2>/dev/null | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ -n "$url" ] || { echo "server did not start"; cat "$tmp/out" "$tmp/err"; exit 1; }
AIOS_URL=$url AIOS_KEY=$key node "$here/openai_basic.mjs"
rc=$?
[ "$rc" = 0 ] || tail -20 "$tmp/err"
exit "$rc"
