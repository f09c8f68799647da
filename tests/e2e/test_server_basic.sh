#!/usr/bin/env bash
# End-to-end checks of `aios serve` without a model: health, API keys (flag
# and stored hash), 404/405, OpenAI error shapes with the bad field named,
# the body limit (413), /metrics through promtool, and a clean SIGTERM.
set -u
AIOS_BIN=${AIOS_BIN:-build/aios}
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
tmp=$(mktemp -d "${AIOS_TEST_TMP:-/tmp}/server_basic.XXXXXX" 2>/dev/null || mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A stored key: the file holds its SHA-256, never the key.
mkdir -p "$tmp/data"
printf '# stored keys\n%s ops-team\n' "$(printf '%s' stored-key-2 | sha256sum | cut -d' ' -f1)" \
    > "$tmp/data/api-keys"

"$AIOS_BIN" serve --port 0 --api-key flag-key-1 --data-dir "$tmp/data" --http-max-body-mb 1 \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=""
for _ in $(seq 100); do
    url=$(grep -o 'http://[^ ]*' "$tmp/out" 2>/dev/null | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ -n "$url" ] || { echo "server did not start"; cat "$tmp/out" "$tmp/err"; exit 1; }
grep -q 'no model loaded; start with' "$tmp/out" || fail "no hint on how to add a model"

K1=(-H "Authorization: Bearer flag-key-1")
K2=(-H "Authorization: Bearer stored-key-2")
JSON=(-H "Content-Type: application/json")

# req METHOD PATH [curl args...]: sets $code and $body
req() {
    local m=$1 p=$2
    shift 2
    body=$(curl -s -o - -w '\n%{http_code}' -X "$m" "$@" "$url$p")
    code=${body##*$'\n'}
    body=${body%$'\n'*}
}
expect() { # expect CODE SUBSTRING... (on $code / $body)
    local want=$1
    shift
    [ "$code" = "$want" ] || fail "$what: status $code, expected $want ($body)"
    for s in "$@"; do
        case $body in *"$s"*) ;; *) fail "$what: body lacks $s: $body" ;; esac
    done
}
error_shape='"error":{"message":'

what="health without key"; req GET /health; expect 200 '"status":"ok"'
what="models without key"; req GET /v1/models; expect 401 "$error_shape" '"type":"invalid_request_error"'
what="models wrong key"; req GET /v1/models -H "Authorization: Bearer nope"
expect 401 '"code":"invalid_api_key"'
what="models not bearer"; req GET /v1/models -H "Authorization: Basic ZmxhZy1rZXktMQ=="; expect 401
what="models flag key"; req GET /v1/models "${K1[@]}"; expect 200 '{"object":"list","data":[]}'
what="models stored key"; req GET /v1/models "${K2[@]}"; expect 200 '"data":[]'
what="metrics without key"; req GET /metrics; expect 401
hdrs=$(curl -s -D - -o /dev/null "$url/v1/models")
grep -qi '^WWW-Authenticate: Bearer' <<<"$hdrs" || fail "401 without WWW-Authenticate"

what="unknown path"; req GET /v1/nothing "${K1[@]}"; expect 404 "$error_shape" 'Invalid URL'
what="unknown path no key"; req GET /v1/nothing; expect 404
what="wrong method"; req GET /v1/chat/completions "${K1[@]}"; expect 405 '"code":"method_not_allowed"'
hdrs=$(curl -s -D - -o /dev/null "${K1[@]}" -X DELETE "$url/v1/models")
grep -qi '^Allow: GET' <<<"$hdrs" || fail "405 without Allow: GET"

chat() { req POST /v1/chat/completions "${K1[@]}" "${JSON[@]}" --data-binary "$1"; }
M='"model":"m","messages":[{"role":"user","content":"hi"}]'

what="bad JSON"; chat '{"model": "m", "messages": [}'
expect 400 "$error_shape" 'line 1, column 29' '"code":"invalid_json"'
what="empty body"; chat ''; expect 400 '"code":"invalid_json"'
what="body not object"; chat '[1,2]'; expect 400 '"code":"invalid_type"'
what="missing model"; chat '{"messages":[]}'; expect 400 '"param":"model"' '"code":"missing_required_parameter"'
what="model type"; chat '{"model":3,"messages":[]}'; expect 400 '"param":"model"' '"code":"invalid_type"'
what="missing messages"; chat '{"model":"m"}'; expect 400 '"param":"messages"'
what="empty messages"; chat '{"model":"m","messages":[]}'; expect 400 '"param":"messages"'
what="message content type"
chat '{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":5}]}'
expect 400 '"param":"messages[1].content"' '"code":"invalid_type"'
what="message role"; chat '{"model":"m","messages":[{"role":"wizard","content":"a"}]}'
expect 400 '"param":"messages[0].role"'
what="image part"
chat '{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}'
expect 400 '"param":"messages[0].content[0].type"'
what="temperature type"; chat "{$M,\"temperature\":\"hot\"}"; expect 400 '"param":"temperature"' '"code":"invalid_type"'
what="temperature range"; chat "{$M,\"temperature\":3}"; expect 400 '"param":"temperature"' '"code":"decimal_above_max_value"'
what="top_p range"; chat "{$M,\"top_p\":-0.5}"; expect 400 '"param":"top_p"' '"code":"decimal_below_min_value"'
what="max_tokens type"; chat "{$M,\"max_tokens\":1.5}"; expect 400 '"param":"max_tokens"'
what="max_tokens range"; chat "{$M,\"max_tokens\":0}"; expect 400 '"param":"max_tokens"' '"code":"integer_below_min_value"'
what="n range"; chat "{$M,\"n\":1000}"; expect 400 '"param":"n"'
what="seed type"; chat "{$M,\"seed\":\"x\"}"; expect 400 '"param":"seed"'
what="stop too many"; chat "{$M,\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}"; expect 400 '"param":"stop"'
what="stop item"; chat "{$M,\"stop\":[\"a\",7]}"; expect 400 '"param":"stop[1]"'
what="stream type"; chat "{$M,\"stream\":\"yes\"}"; expect 400 '"param":"stream"'
what="stream_options without stream"; chat "{$M,\"stream_options\":{\"include_usage\":true}}"
expect 400 '"param":"stream_options"'
what="include_usage type"; chat "{$M,\"stream\":true,\"stream_options\":{\"include_usage\":1}}"
expect 400 '"param":"stream_options.include_usage"'
what="top_logprobs without logprobs"; chat "{$M,\"top_logprobs\":3}"; expect 400 '"param":"top_logprobs"'
what="top_logprobs range"; chat "{$M,\"logprobs\":true,\"top_logprobs\":21}"; expect 400 '"param":"top_logprobs"'
what="response_format type"; chat "{$M,\"response_format\":{\"type\":\"yaml\"}}"
expect 400 '"param":"response_format.type"'
what="json_schema name"; chat "{$M,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}}"
expect 400 '"param":"response_format.json_schema.name"'
what="tools shape"; chat "{$M,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bad name!\"}}]}"
expect 400 '"param":"tools[0].function.name"'
what="tool_choice unknown"
chat "{$M,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}}"
expect 400 '"param":"tool_choice.function.name"'
what="valid request, unknown model"
chat "{$M,\"temperature\":0.2,\"max_tokens\":16,\"stream\":true,\"stream_options\":{\"include_usage\":true},\"stop\":[\"\\n\"],\"seed\":1,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_alarms\",\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":\"auto\",\"response_format\":{\"type\":\"json_object\"}}"
expect 404 "$error_shape" "The model 'm' does not exist" '"param":"model"' '"code":"model_not_found"'

what="completions prompt type"
req POST /v1/completions "${K1[@]}" "${JSON[@]}" -d '{"model":"m","prompt":{"a":1}}'
expect 400 '"param":"prompt"'
what="completions logprobs range"
req POST /v1/completions "${K1[@]}" "${JSON[@]}" -d '{"model":"m","prompt":"x","logprobs":6}'
expect 400 '"param":"logprobs"'
what="completions echo type"
req POST /v1/completions "${K1[@]}" "${JSON[@]}" -d '{"model":"m","prompt":"x","echo":"no"}'
expect 400 '"param":"echo"'
what="completions unknown model"
req POST /v1/completions "${K1[@]}" "${JSON[@]}" -d '{"model":"m","prompt":[1,2,3],"echo":true}'
expect 404 '"code":"model_not_found"'
what="embeddings input type"
req POST /v1/embeddings "${K1[@]}" "${JSON[@]}" -d '{"model":"e","input":["ok",{}]}'
expect 400 '"param":"input[1]"'
what="embeddings encoding"
req POST /v1/embeddings "${K1[@]}" "${JSON[@]}" -d '{"model":"e","input":"x","encoding_format":"hex"}'
expect 400 '"param":"encoding_format"'
what="embeddings unknown model"
req POST /v1/embeddings "${K1[@]}" "${JSON[@]}" -d '{"model":"e","input":"x"}'
expect 404 '"code":"model_not_found"'
what="tokenize missing prompt"; req POST /tokenize "${K1[@]}" "${JSON[@]}" -d '{"model":"m"}'
expect 400 '"param":"prompt"'
what="detokenize token type"; req POST /detokenize "${K1[@]}" "${JSON[@]}" -d '{"model":"m","tokens":[1,"a"]}'
expect 400 '"param":"tokens[1]"'
what="tokenize unknown model"; req POST /tokenize "${K1[@]}" "${JSON[@]}" -d '{"model":"m","prompt":"x"}'
expect 404 '"code":"model_not_found"'

# Body limit 1 MiB: declared (Content-Length) and chunked uploads both get 413.
head -c $((2 << 20)) /dev/zero | tr '\0' ' ' >"$tmp/big"
what="413 content-length"; req POST /v1/chat/completions "${K1[@]}" "${JSON[@]}" --data-binary @"$tmp/big"
expect 413 '"code":"request_too_large"'
what="413 chunked"
req POST /v1/chat/completions "${K1[@]}" "${JSON[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$tmp/big"
expect 413 '"code":"request_too_large"'
what="just under the limit is parsed"
{ printf '{"model":"m","messages":[{"role":"user","content":"'; head -c 1000000 /dev/zero | tr '\0' 'a'; printf '"}]}'; } >"$tmp/ok"
req POST /v1/chat/completions "${K1[@]}" "${JSON[@]}" --data-binary @"$tmp/ok"
expect 404 '"code":"model_not_found"'

# Metrics: valid exposition (promtool), and the requests above are counted.
what="metrics"; req GET /metrics "${K2[@]}"; expect 200 '# TYPE aios_http_requests_total counter'
printf '%s\n' "$body" >"$tmp/metrics"
if command -v promtool >/dev/null; then
    promtool check metrics <"$tmp/metrics" >"$tmp/promtool" 2>&1 || fail "promtool: $(cat "$tmp/promtool")"
    [ -s "$tmp/promtool" ] && fail "promtool lint: $(cat "$tmp/promtool")"
else
    fail "promtool is not installed (scripts/deps.sh installs prometheus)"
fi
for s in 'aios_http_requests_total{method="GET",path="/v1/models",status="401"} 4' \
    'aios_http_requests_total{method="POST",path="/v1/chat/completions",status="413"} 2' \
    'aios_time_to_first_token_seconds' 'aios_inter_token_latency_seconds' \
    'aios_kv_cache_usage_ratio 0' 'aios_requests_running 0' 'aios_requests_waiting 0' \
    'aios_prompt_tokens_total' 'aios_generation_tokens_total'; do
    grep -qF "$s" "$tmp/metrics" || fail "metrics lack: $s"
done

# Graceful stop.
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then fail "server still running 5 s after SIGTERM"; else
    wait "$pid"; rc=$?; [ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
    grep -q "aios: stopped" "$tmp/out" || fail "no 'stopped' line"
fi
pid=""

# Startup errors are one line and exit 1 (missing model file) or 2 (usage).
"$AIOS_BIN" serve --port 0 --model m="$tmp/missing.gguf" >/dev/null 2>"$tmp/err1"; rc=$?
[ "$rc" = 1 ] && grep -q "is not a readable file" "$tmp/err1" || fail "missing model file: rc $rc $(cat "$tmp/err1")"
# Without '=' a --model is a registry reference (tests/e2e/test_serve_registry.sh).
"$AIOS_BIN" serve --port 0 --data-dir "$tmp/data" --model nofile >/dev/null 2>"$tmp/err2"; rc=$?
[ "$rc" = 1 ] && grep -q "model 'nofile' is not registered" "$tmp/err2" || fail "--model unregistered: rc $rc $(cat "$tmp/err2")"
"$AIOS_BIN" serve --port 0 --data-dir "$tmp/data" --model no/file >/dev/null 2>"$tmp/err2"; rc=$?
[ "$rc" = 2 ] && grep -q "neither NAME=FILE nor a registry reference" "$tmp/err2" || fail "--model neither: rc $rc $(cat "$tmp/err2")"

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s); server log:"
    tail -20 "$tmp/err"
    exit 1
fi
echo "ok"
