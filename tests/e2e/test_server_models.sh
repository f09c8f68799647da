#!/usr/bin/env bash
# The real server with real (tiny, random-weight) fixture models, driven by
# the official openai npm client: chat, streaming, completions with
# logprobs, n > 1, tools, embeddings against llama.cpp's reference, errors,
# and a load test of 64 concurrent streaming clients that checks every
# stream completes and no memory is left held afterwards.
. "$(dirname "$0")/lib.sh"
fixtures_or_skip
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/openai" ]; then
    [ "${CI:-}" = true ] && { echo "node or tests/e2e/node_modules missing"; exit 1; }
    echo "SKIP: node or the openai package is missing"; exit 77
fi
M=$FIX/models
"$AIOS" serve --port 0 --parallel 4 --ctx 256 --threads 2 --data-dir "$TMP/data" \
    --model llama=$M/llama-Q4_0.gguf --model qwen=$M/qwen2-Q8_0.gguf --model bge=$M/bert-F32.gguf \
    >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
url=""
for _ in $(seq 200); do
    url=$(grep -o 'http://[0-9.:]*' "$TMP/serve.out" 2>/dev/null | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
CHECKS=$((CHECKS + 1))
if [ -z "$url" ]; then
    fail "server did not start"; cat "$TMP/serve.out" "$TMP/serve.err" >&2
    finish
fi
CHECKS=$((CHECKS + 1))
AIOS_URL=$url AIOS_PID=$pid AIOS_FIX=$FIX node "$here/openai_models.mjs" || fail "openai_models.mjs"
# promtool accepts the metrics with the engine's numbers in them.
if command -v promtool >/dev/null; then
    curl -s "$url/metrics" >"$TMP/metrics"
    CHECKS=$((CHECKS + 1))
    promtool check metrics <"$TMP/metrics" >"$TMP/promtool" 2>&1 || { fail "promtool"; cat "$TMP/promtool" >&2; }
    expect_grep "$TMP/metrics" '^aios_generation_tokens_total\{model="llama"\} [1-9]' "generated tokens counted"
fi
kill -TERM "$pid"
CHECKS=$((CHECKS + 1))
wait "$pid" || fail "server exit status $?"
finish
