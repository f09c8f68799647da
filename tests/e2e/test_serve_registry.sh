#!/usr/bin/env bash
# The registry meets quantize and serve: `aios quantize --register` records
# lineage (IN as a reference or as a file found by its hash, kind inherited,
# NAME@N and NAME@ALIAS targets, checks made before any work), and `aios
# serve --model NAME@ALIAS` serves the version the alias points at (seen in
# /v1/models and in a completion identical to serving the file directly),
# while a registered file that changed or vanished is refused at start-up.
. "$(dirname "$0")/lib.sh"
fixtures_or_skip
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }
M=$(realpath "$FIX/models")
export AIOS_LOG_LEVEL=warn
unset AIOS_TEST_PAUSE_AT AIOS_PROGRESS
export AIOS_DATA_DIR=$TMP/data
pid=""
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
eq() { CHECKS=$((CHECKS + 1)); [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

# ---- quantize --register -----------------------------------------------------
expect_rc 0 "register the F32 source" -- "$AIOS" model add "$M/llama-F32.gguf" --name llama-f32 --kind proprietary
# IN as a reference; the target gets an alias.
expect_rc 0 "quantize a reference" -- "$AIOS" quantize --pure llama-f32 "$TMP/q4.gguf" Q4_0 --register llama-q@production
expect_grep "$TMP/out" "^input llama-f32 is llama-f32@1 " "input resolved"
expect_grep "$TMP/out" "^registered llama-q@1 \(quantize of llama-f32@1\)" "registered with lineage"
expect_grep "$TMP/out" "^llama-q@production -> version 1" "alias set"
CHECKS=$((CHECKS + 1))
cmp -s "$TMP/q4.gguf" "$M/llama-Q4_0.gguf" || fail "quantized output differs from the fixture"
expect_rc 0 "show --json" -- "$AIOS" model show llama-q@production --json
eq "$(jq -r .lineage.source "$TMP/out")" llama-f32@1 "lineage source"
eq "$(jq -r .lineage.how "$TMP/out")" quantize "lineage how"
eq "$(jq -r .file_type "$TMP/out")" Q4_0 "file type"
eq "$(jq -r .source "$TMP/out")" "$TMP/q4.gguf" "path registered"
eq "$(jq -r .sha256 "$TMP/out")" "$(sha256sum "$TMP/q4.gguf" | cut -d' ' -f1)" "hash registered"
expect_rc 0 "show model" -- "$AIOS" model show llama-q --json
eq "$(jq -r .kind "$TMP/out")" proprietary "a new model inherits the source's kind"
# IN as a file: its registered version is found by hash; NAME@N when N is next.
expect_rc 0 "quantize a registered file" -- "$AIOS" quantize --pure "$M/llama-F32.gguf" "$TMP/q8.gguf" Q8_0 --register llama-q@2
expect_rc 0 "show v2" -- "$AIOS" model show llama-q@2 --json
eq "$(jq -r .lineage.source "$TMP/out")" llama-f32@1 "lineage found by hash"
eq "$(jq -r .file_type "$TMP/out")" Q8_0 "v2 file type"
# An unregistered input: registered without lineage, with a note.
cp "$M/qwen2-F32.gguf" "$TMP/qwen-f32.gguf"
expect_rc 0 "quantize an unregistered file" -- "$AIOS" quantize --pure "$TMP/qwen-f32.gguf" "$TMP/qw.gguf" Q8_0 --register qwen-q
expect_grep "$TMP/out" "is not registered; qwen-q will have no lineage" "no-lineage note"
expect_rc 0 "show qwen-q" -- "$AIOS" model show qwen-q@1 --json
eq "$(jq -r .lineage "$TMP/out")" null "no lineage"
# Checked before quantizing: nothing is written.
expect_rc 1 "wrong version number" -- "$AIOS" quantize --pure llama-f32 "$TMP/no1.gguf" Q4_0 --register llama-q@7
expect_grep "$TMP/err" "next version of llama-q will be 3" "wrong version message"
expect_rc 2 "bad target name" -- "$AIOS" quantize --pure llama-f32 "$TMP/no2.gguf" Q4_0 --register "bad name"
expect_rc 1 "unknown reference" -- "$AIOS" quantize --pure ghost@1 "$TMP/no3.gguf" Q4_0 --register g
expect_grep "$TMP/err" "model 'ghost' is not registered" "unknown reference message"
expect_rc 1 "no such file" -- "$AIOS" quantize --pure "$TMP/none/x.gguf" "$TMP/no4.gguf" Q4_0
expect_grep "$TMP/err" "no such file" "missing input message"
CHECKS=$((CHECKS + 1))
ls "$TMP"/no*.gguf >/dev/null 2>&1 && fail "a refused quantize left output behind"
expect_rc 0 "list" -- "$AIOS" model list --json
eq "$(jq -r '[.registered_models[] | .name + "@" + .latest_versions[0].version] | join(",")' "$TMP/out")" \
    llama-f32@1,llama-q@2,qwen-q@1 "registry after the refusals"

# ---- serve by alias ------------------------------------------------------------
"$AIOS" serve --port 0 --parallel 1 --ctx 128 --threads 2 --api-key k \
    --model llama-q@production --model direct="$TMP/q4.gguf" >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
url=""
for _ in $(seq 300); do
    url=$(grep -o 'http://[0-9.:]*' "$TMP/serve.out" 2>/dev/null | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
CHECKS=$((CHECKS + 1))
if [ -z "$url" ]; then
    fail "server did not start"; cat "$TMP/serve.out" "$TMP/serve.err" >&2; finish
fi
expect_grep "$TMP/serve.out" "^aios: model llama-q@production is llama-q@1 \($TMP/q4.gguf, Q4_0, .*\); sha256 verified in [0-9.]+ ms" "start-up line with the hash time"
grep -o "sha256 verified in [0-9.]* ms" "$TMP/serve.out"
K=(-H "Authorization: Bearer k")
curl -s "${K[@]}" "$url/v1/models" >"$TMP/models"
eq "$(jq -r '[.data[].id] | sort | join(",")' "$TMP/models")" direct,llama-q@production "/v1/models ids"
eq "$(jq -r '.data[] | select(.id == "llama-q@production") | .registry.name + "@" + .registry.version' "$TMP/models")" \
    llama-q@1 "/v1/models says which version is served"
eq "$(jq -r '.data[] | select(.id == "llama-q@production") | .registry.sha256' "$TMP/models")" \
    "$(sha256sum "$TMP/q4.gguf" | cut -d' ' -f1)" "/v1/models hash"
eq "$(jq -r '.data[] | select(.id == "direct") | has("registry")' "$TMP/models")" false "a plain file has no registry entry"
curl -s "${K[@]}" "$url/v1/models/llama-q@production" >"$TMP/model"
eq "$(jq -r .registry.version "$TMP/model")" 1 "/v1/models/ID says the version too"
# Greedy completions from the alias and from the file itself are the same.
for id in llama-q@production direct; do
    curl -s "${K[@]}" -H "Content-Type: application/json" "$url/v1/completions" \
        -d "{\"model\":\"$id\",\"prompt\":\"The network is\",\"max_tokens\":8,\"temperature\":0}" >"$TMP/c.$id"
done
eq "$(jq -r .model "$TMP/c.llama-q@production")" llama-q@production "completion model id"
eq "$(jq -r '.usage.completion_tokens' "$TMP/c.llama-q@production")" 8 "completion tokens"
eq "$(jq -r '.choices[0].text' "$TMP/c.llama-q@production")" "$(jq -r '.choices[0].text' "$TMP/c.direct")" \
    "alias and file generate the same"
# The registry API is served too, over the same data directory.
curl -s "${K[@]}" "$url/api/v1/models/llama-q/aliases/production" >"$TMP/alias"
eq "$(jq -r .model_version.version "$TMP/alias")" 1 "registry API next to the served model"
kill -TERM "$pid"
CHECKS=$((CHECKS + 1))
wait "$pid" || fail "server exit status $?"
pid=""

# ---- refused at start-up ---------------------------------------------------------
cp "$M/llama-Q8_0.gguf" "$TMP/mut.gguf"
expect_rc 0 "register mut" -- "$AIOS" model add "$TMP/mut.gguf" --name mut
expect_rc 0 "alias mut" -- "$AIOS" model alias mut 1 prod
# One byte of the last tensor's data changes; the size stays.
printf '\x5a' | dd of="$TMP/mut.gguf" bs=1 seek=$(($(stat -c %s "$TMP/mut.gguf") - 3)) conv=notrunc 2>/dev/null
expect_rc 1 "changed file refused" -- "$AIOS" serve --port 0 --model mut@prod
expect_grep "$TMP/err" "no longer matches mut@1 in the registry: sha256" "changed-file message"
expect_grep "$TMP/err" "refusing to serve it" "refusal named"
truncate -s 1000 "$TMP/mut.gguf"
expect_rc 1 "truncated file refused" -- "$AIOS" serve --port 0 --model mut
expect_grep "$TMP/err" "1000 bytes, registered" "size message"
rm "$TMP/mut.gguf"
expect_rc 1 "missing file refused" -- "$AIOS" serve --port 0 --model mut@1
expect_grep "$TMP/err" "the file of mut@1" "missing-file message"
expect_rc 1 "unknown alias" -- "$AIOS" serve --port 0 --model llama-q@staging
expect_grep "$TMP/err" "has no alias 'staging'" "unknown alias message"
expect_rc 2 "twice the same id" -- "$AIOS" serve --port 0 --model llama-q@1 --model llama-q@1
finish
