#!/usr/bin/env bash
# aios apikey add: the key is printed once, only its hash is stored, and the
# server accepts it (and nothing else) afterwards.
. "$(dirname "$0")/lib.sh"
D=$TMP/data
expect_rc 0 "apikey add" -- "$AIOS" apikey add --label ops --data-dir "$D"
key=$(cat "$TMP/out")
CHECKS=$((CHECKS + 1)); [[ $key =~ ^aios-[0-9a-f]{48}$ ]] || fail "key format: $key"
CHECKS=$((CHECKS + 1)); grep -q -- "$key" "$D/api-keys" && fail "plaintext key stored"
expect_grep "$D/api-keys" '^[0-9a-f]{64} ops$' "hash and label stored"
expect_rc 0 "apikey add given" -- "$AIOS" apikey add --key "my-own-key-123456" --data-dir "$D"
expect_rc 2 "short key refused" -- "$AIOS" apikey add --key short --data-dir "$D"
"$AIOS" serve --port 0 --data-dir "$D" >"$TMP/serve.out" 2>&1 &
pid=$!
url=""
for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.:]*' "$TMP/serve.out" | head -1); [ -n "$url" ] && break; sleep 0.05
done
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
CHECKS=$((CHECKS + 4))
[ "$(code "$url/v1/models")" = 401 ] || fail "no key must be 401"
[ "$(code -H "Authorization: Bearer $key" "$url/v1/models")" = 200 ] || fail "stored key refused"
[ "$(code -H "Authorization: Bearer my-own-key-123456" "$url/v1/models")" = 200 ] || fail "given key refused"
[ "$(code -H "Authorization: Bearer ${key}x" "$url/v1/models")" = 401 ] || fail "wrong key accepted"
kill -TERM "$pid"; wait "$pid"
finish
