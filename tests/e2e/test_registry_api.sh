#!/usr/bin/env bash
# End-to-end tests of the model registry's HTTP API (/api/v1/models) on the
# real server with the GGUF fixtures: every endpoint, the MLflow shapes,
# every failure path with its status, code and the field it names, API
# keys, that the CLI and the API see one registry, and atomicity seen from
# outside: failed registrations leave nothing (no model, no used version
# number), and a server killed -9 in the middle of a registration leaves
# all or nothing and a store that checks clean. Registration reads only
# files inside --model-dirs: paths outside (however spelled: `..`,
# symlinks, a sibling with a common prefix; existing or not) are 403.
. "$(dirname "$0")/lib.sh"
fixtures_or_skip
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }
M=$(realpath "$FIX/models")
export AIOS_LOG_LEVEL=warn
unset AIOS_TEST_PAUSE_AT AIOS_PROGRESS
DATA=$TMP/data
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# The API may register from A (first) and the fixtures (second, as every
# registration below but those of "model directories" comes from there).
A=$TMP/models
mkdir -p "$A/sub" "$TMP/models2" "$TMP/outside"
A=$(realpath "$A")
DIRS=(--model-dirs "$A:$M")
# start_server OUTPREFIX [env...]: starts aios serve on DATA with ${DIRS[@]},
# sets $url and $spid.
start_server() {
    local out=$1
    shift
    env "$@" "$AIOS" serve --port 0 --api-key k1 --data-dir "$DATA" ${DIRS[@]+"${DIRS[@]}"} \
        >"$out.out" 2>"$out.err" &
    spid=$!
    pids+=("$spid")
    url=""
    for _ in $(seq 200); do
        url=$(grep -o 'http://[0-9.:]*' "$out.out" 2>/dev/null | head -1)
        [ -n "$url" ] && break
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$url" ] || { echo "server did not start"; cat "$out.out" "$out.err"; exit 1; }
}

KEY=(-H "Authorization: Bearer k1")
# api METHOD PATH [BODY]: sets $code; the body is in $TMP/body.
api() {
    local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$1" "${KEY[@]}")
    [ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data-binary "$3")
    code=$(curl "${args[@]}" "$U$2")
}
# want CODE [JQ_EXPR EXPECTED]...: checks the last response.
want() {
    local c=$1
    shift
    CHECKS=$((CHECKS + 1))
    [ "$code" = "$c" ] || fail "$what: status $code, want $c: $(head -c 300 "$TMP/body")"
    while [ $# -ge 2 ]; do
        CHECKS=$((CHECKS + 1))
        got=$(jq -r "$1" "$TMP/body" 2>/dev/null)
        [ "$got" = "$2" ] || fail "$what: $1 is '$got', want '$2' ($(head -c 300 "$TMP/body"))"
        shift 2
    done
}
# werr CODE PARAM ERROR_CODE: an error in the server's one shape naming PARAM.
werr() {
    want "$1" '.error.param // "null"' "$2" .error.code "$3" '.error.message | length > 0' true
}

start_server "$TMP/s1"
U=$url

# ---- auth --------------------------------------------------------------------
what="no key"; code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$U/api/v1/models"); want 401 .error.type invalid_request_error
what="wrong key"; code=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer nope" \
    -X POST -d '{}' "$U/api/v1/models"); want 401 .error.code invalid_api_key
what="delete without key"; code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X DELETE "$U/api/v1/models/x"); want 401
what="empty list"; api GET /api/v1/models; want 200 '.registered_models | length' 0 'has("next_page_token")' false

# ---- register ----------------------------------------------------------------
what="register v1"
api POST /api/v1/models "{\"name\":\"llama\",\"path\":\"$M/llama-F16.gguf\",\"kind\":\"base\",
    \"description\":\"tiny llama\",\"tags\":[{\"key\":\"stage\",\"value\":\"dev\"},{\"key\":\"owner\",\"value\":\"netops\"}]}"
want 201 .model_version.name llama .model_version.version 1 .model_version.status READY \
    .model_version.source "$M/llama-F16.gguf" .model_version.file_type F16 \
    .model_version.sha256 "$(sha256sum "$M/llama-F16.gguf" | cut -d' ' -f1)" \
    .model_version.size_bytes "$(stat -c %s "$M/llama-F16.gguf")" \
    '.model_version.tags | map(.key + "=" + .value) | join(",")' "owner=netops,stage=dev" \
    .model_version.lineage null
what="register v2 with lineage, tags as an object"
api POST /api/v1/models "{\"name\":\"llama\",\"path\":\"$M/llama-Q4_0.gguf\",\"source\":\"llama@1\",
    \"how\":\"quantize\",\"tags\":{\"bits\":\"4\"}}"
want 201 .model_version.version 2 .model_version.lineage.source llama@1 .model_version.lineage.how quantize \
    '.model_version.tags[0].key' bits
what="register through /NAME/versions"
api POST /api/v1/models/qwen/versions "{\"path\":\"$M/qwen2-Q4_K_M.gguf\",\"kind\":\"proprietary\"}"
want 201 .model_version.name qwen .model_version.version 1 .model_version.architecture qwen2

# The CLI reads the same registry while the server runs.
expect_rc 0 "cli show" -- "$AIOS" model show llama --json --data-dir "$DATA"
CHECKS=$((CHECKS + 1))
[ "$(jq -r '.versions | length' "$TMP/out")" = 2 ] || fail "cli sees $(jq -r '.versions | length' "$TMP/out") versions"
expect_rc 0 "cli add" -- "$AIOS" model add "$M/bert-F32.gguf" --name bge --data-dir "$DATA"
what="API sees the CLI's model"; api GET /api/v1/models/bge; want 200 .registered_model.latest_versions[0].architecture bert
expect_rc 0 "cli list --filter" -- "$AIOS" model list --json --filter "kind = 'proprietary'" --data-dir "$DATA"
CHECKS=$((CHECKS + 1))
[ "$(jq -r '[.registered_models[].name] | join(",")' "$TMP/out")" = qwen ] || fail "cli filter: $(cat "$TMP/out")"
expect_rc 2 "cli bad filter" -- "$AIOS" model list --filter "size > 3" --data-dir "$DATA"
expect_grep "$TMP/err" "cannot search by 'size'" "cli bad filter message"

# ---- read --------------------------------------------------------------------
what="list"; api GET /api/v1/models
want 200 '[.registered_models[].name] | join(",")' bge,llama,qwen '.registered_models[1].latest_versions[0].version' 2 \
    '.registered_models[1].kind' base '.registered_models[2].kind' proprietary
what="search name LIKE"; api GET "/api/v1/models?filter=name%20LIKE%20%27l%25%27"
want 200 '[.registered_models[].name] | join(",")' llama
what="search ILIKE AND"; api GET "/api/v1/models?filter=name%20ILIKE%20%27%25W%25%27%20AND%20kind%20%3D%20%27proprietary%27"
want 200 '[.registered_models[].name] | join(",")' qwen
what="page 1"; api GET "/api/v1/models?max_results=2"
want 200 '[.registered_models[].name] | join(",")' bge,llama .next_page_token llama
what="page 2"; api GET "/api/v1/models?max_results=2&page_token=llama"
want 200 '[.registered_models[].name] | join(",")' qwen 'has("next_page_token")' false
what="model"; api GET /api/v1/models/llama
want 200 .registered_model.name llama .registered_model.description "tiny llama" '.registered_model.versions | length' 2 \
    '.registered_model.latest_versions[0].version' 2
what="versions"; api GET /api/v1/models/llama/versions; want 200 '[.model_versions[].version] | join(",")' 1,2
what="version 1"; api GET /api/v1/models/llama/versions/1; want 200 .model_version.version 1 .model_version.file_type F16
what="version latest"; api GET /api/v1/models/llama/versions/latest; want 200 .model_version.version 2

# ---- aliases -----------------------------------------------------------------
what="set alias (string version)"; api POST /api/v1/models/llama/aliases '{"alias":"production","version":"1"}'
want 200 .model_version.version 1 '.model_version.aliases | join(",")' production
what="set alias (integer version)"; api POST /api/v1/models/llama/aliases '{"alias":"canary","version":2}'
want 200 .model_version.version 2
what="by alias"; api GET /api/v1/models/llama/aliases/production; want 200 .model_version.version 1
what="alias list"; api GET /api/v1/models/llama/aliases
want 200 '[.aliases[] | .alias + "=" + .version] | join(",")' canary=2,production=1
what="move alias"; api POST /api/v1/models/llama/aliases '{"alias":"production","version":"2","name":"llama"}'
want 200 .model_version.version 2
what="moved"; api GET /api/v1/models/llama/aliases/production; want 200 .model_version.version 2
expect_rc 0 "cli resolves the API's alias" -- "$AIOS" model show llama@production --json --data-dir "$DATA"
CHECKS=$((CHECKS + 1))
[ "$(jq -r .version "$TMP/out")" = 2 ] || fail "cli alias: $(head -c 200 "$TMP/out")"

# ---- failures: 400 names the field, 404 and 409 ------------------------------
what="missing name"; api POST /api/v1/models "{\"path\":\"$M/llama-Q8_0.gguf\"}"; werr 400 name INVALID_PARAMETER_VALUE
what="bad name"; api POST /api/v1/models "{\"name\":\"has space\",\"path\":\"$M/llama-Q8_0.gguf\"}"; werr 400 name INVALID_PARAMETER_VALUE
what="name type"; api POST /api/v1/models "{\"name\":7,\"path\":\"$M/llama-Q8_0.gguf\"}"; werr 400 name INVALID_PARAMETER_VALUE
what="missing path"; api POST /api/v1/models '{"name":"x"}'; werr 400 path INVALID_PARAMETER_VALUE
what="relative path"; api POST /api/v1/models '{"name":"x","path":"models/a.gguf"}'; werr 400 path INVALID_PARAMETER_VALUE
what="missing file"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/none.gguf\"}"; werr 400 path INVALID_PARAMETER_VALUE
what="not a GGUF"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/README.md\"}"; werr 400 path INVALID_PARAMETER_VALUE
expect_grep "$TMP/body" "GGUF" "not-a-GGUF message"
what="directory"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$A/sub\"}"; werr 400 path INVALID_PARAMETER_VALUE
what="bad kind"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"kind\":\"weird\"}"; werr 400 kind INVALID_PARAMETER_VALUE
what="kind conflict"; api POST /api/v1/models "{\"name\":\"llama\",\"path\":\"$M/llama-Q8_0.gguf\",\"kind\":\"proprietary\"}"
werr 409 kind INVALID_STATE
what="same file twice"; api POST /api/v1/models "{\"name\":\"llama\",\"path\":\"$M/llama-F16.gguf\"}"
werr 409 path RESOURCE_ALREADY_EXISTS
expect_grep "$TMP/body" "llama@1" "duplicate names the version"
what="bad tag key"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"tags\":[{\"key\":\"ok\",\"value\":\"1\"},{\"key\":\"bad key\",\"value\":\"v\"}]}"
werr 400 'tags[1]' INVALID_PARAMETER_VALUE
what="bad tag shape"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"tags\":[{\"k\":\"a\"}]}"
werr 400 'tags[0]' INVALID_PARAMETER_VALUE
what="tag value type"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"tags\":{\"a\":1}}"
werr 400 tags.a INVALID_PARAMETER_VALUE
what="tags type"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"tags\":\"a=b\"}"
werr 400 tags INVALID_PARAMETER_VALUE
what="unknown source"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"source\":\"ghost@1\",\"how\":\"quantize\"}"
werr 404 source RESOURCE_DOES_NOT_EXIST
what="source without how"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"source\":\"llama@1\"}"
werr 400 how INVALID_PARAMETER_VALUE
what="bad how"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"source\":\"llama@1\",\"how\":\"magic\"}"
werr 400 how INVALID_PARAMETER_VALUE
what="how without source"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"how\":\"train\"}"
werr 400 source INVALID_PARAMETER_VALUE
what="bad source ref"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"source\":\"a b\",\"how\":\"train\"}"
werr 400 source INVALID_PARAMETER_VALUE
what="unknown field"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$M/llama-Q8_0.gguf\",\"run_id\":\"r\"}"
werr 400 run_id INVALID_PARAMETER_VALUE
what="name differs from URL"; api POST /api/v1/models/llama/versions "{\"name\":\"qwen\",\"path\":\"$M/llama-Q8_0.gguf\"}"
werr 400 name INVALID_PARAMETER_VALUE
what="not JSON"; api POST /api/v1/models '{"name":'; want 400 .error.code invalid_json
what="JSON array"; api POST /api/v1/models '[1]'; want 400 .error.code invalid_type
what="unknown model"; api GET /api/v1/models/ghost; werr 404 null RESOURCE_DOES_NOT_EXIST
expect_grep "$TMP/body" "model 'ghost' is not registered" "unknown model message"
what="bad name in URL"; api GET /api/v1/models/-x; werr 400 name INVALID_PARAMETER_VALUE
what="unknown version"; api GET /api/v1/models/llama/versions/9; werr 404 null RESOURCE_DOES_NOT_EXIST
what="bad version"; api GET /api/v1/models/llama/versions/abc; werr 400 version INVALID_PARAMETER_VALUE
what="unknown alias"; api GET /api/v1/models/llama/aliases/staging; werr 404 null RESOURCE_DOES_NOT_EXIST
expect_grep "$TMP/body" "no alias 'staging'" "unknown alias message"
what="reserved alias"; api GET /api/v1/models/llama/aliases/latest; werr 400 alias INVALID_PARAMETER_VALUE
what="unknown sub-resource"; api GET /api/v1/models/llama/tags; want 404
what="too deep"; api GET /api/v1/models/llama/versions/1/x; want 404
what="alias to a missing version"; api POST /api/v1/models/llama/aliases '{"alias":"qa","version":"9"}'; werr 404 null RESOURCE_DOES_NOT_EXIST
what="alias of a missing model"; api POST /api/v1/models/ghost/aliases '{"alias":"qa","version":"1"}'; werr 404 null RESOURCE_DOES_NOT_EXIST
what="bad alias"; api POST /api/v1/models/llama/aliases '{"alias":"1qa","version":"1"}'; werr 400 alias INVALID_PARAMETER_VALUE
what="alias without version"; api POST /api/v1/models/llama/aliases '{"alias":"qa"}'; werr 400 version INVALID_PARAMETER_VALUE
what="alias version 0"; api POST /api/v1/models/llama/aliases '{"alias":"qa","version":"0"}'; werr 400 version INVALID_PARAMETER_VALUE
what="POST on a model"; api POST /api/v1/models/llama '{}'; want 405 .error.code method_not_allowed
what="PUT"; api PUT /api/v1/models; want 405
what="bad filter"; api GET "/api/v1/models?filter=size%3D1"; werr 400 filter INVALID_PARAMETER_VALUE
what="bad max_results"; api GET "/api/v1/models?max_results=0"; werr 400 max_results INVALID_PARAMETER_VALUE
what="bad page_token"; api GET "/api/v1/models?page_token=a%20b"; werr 400 page_token INVALID_PARAMETER_VALUE
what="delete version latest"; api DELETE /api/v1/models/llama/versions/latest; werr 400 version INVALID_PARAMETER_VALUE
what="delete unknown alias"; api DELETE /api/v1/models/llama/aliases/staging; werr 404 null RESOURCE_DOES_NOT_EXIST
what="delete unknown model"; api DELETE /api/v1/models/ghost; werr 404 null RESOURCE_DOES_NOT_EXIST
what="delete unknown version"; api DELETE /api/v1/models/llama/versions/9; werr 404 null RESOURCE_DOES_NOT_EXIST

# ---- model directories ---------------------------------------------------------
# Copies of small fixtures under $TMP (nothing is written into the fixtures).
cp "$M/llama-Q4_0.gguf" "$A/tiny.gguf"
cp "$M/llama-Q8_0.gguf" "$A/sub/other.gguf"
cp "$M/llama-Q4_0.gguf" "$TMP/models2/tiny.gguf"
cp "$M/llama-Q4_0.gguf" "$TMP/outside/tiny.gguf"
ln -s ../outside/tiny.gguf "$A/escape.gguf"
ln -s ../outside "$A/outdir"
ln -s sub/other.gguf "$A/alias.gguf"
what="inside the first directory"; api POST /api/v1/models "{\"name\":\"local\",\"path\":\"$A/tiny.gguf\"}"
want 201 .model_version.version 1 .model_version.source "$A/tiny.gguf"
what="symlink staying inside, stored canonical"
api POST /api/v1/models/local/versions "{\"path\":\"$A/alias.gguf\"}"
want 201 .model_version.version 2 .model_version.source "$A/sub/other.gguf"
what="delete local"; api DELETE /api/v1/models/local; want 200
# deny WHAT PATH [URL]: 403 naming path and the allowed directories.
deny() {
    what=$1
    api POST "${3:-/api/v1/models}" "{\"name\":\"x\",\"path\":\"$2\"}"
    werr 403 path PERMISSION_DENIED
    expect_grep "$TMP/body" "is not a file inside the directories .*$A:$M" "$1: names the directories"
}
deny "outside, existing GGUF" "$TMP/outside/tiny.gguf"
msg_exists=$(jq -r .error.message "$TMP/body")
deny "outside, missing" "$TMP/outside/none.gguf"
CHECKS=$((CHECKS + 1))
[ "$(jq -r .error.message "$TMP/body")" = "${msg_exists/tiny.gguf/none.gguf}" ] ||
    fail "an outside file that exists answers differently from one that does not"
deny "/etc/passwd" /etc/passwd
deny "/proc" /proc/self/environ
deny ".. escape" "$A/../outside/tiny.gguf"
deny ".. escape past a missing directory" "$A/none/../../outside/tiny.gguf"
deny "symlink leading out" "$A/escape.gguf"
deny "directory symlink leading out" "$A/outdir/tiny.gguf"
deny "sibling with a common prefix" "$TMP/models2/tiny.gguf"
deny "the directory itself" "$A"
deny "outside through /NAME/versions" "$TMP/outside/tiny.gguf" /api/v1/models/x/versions
what="missing file inside"; api POST /api/v1/models "{\"name\":\"x\",\"path\":\"$A/none.gguf\"}"
werr 400 path INVALID_PARAMETER_VALUE
expect_grep "$TMP/body" "not found" "missing file inside: message"
expect_rc 1 "serve with a missing model dir" -- "$AIOS" serve --port 0 --data-dir "$DATA" \
    --model-dirs "$A:$TMP/nope"
expect_grep "$TMP/err" "model_dirs: .*nope" "missing model dir: message"
expect_rc 1 "serve with an empty model_dirs entry" -- "$AIOS" serve --port 0 --data-dir "$DATA" \
    --model-dirs "$A::$M"
expect_grep "$TMP/err" "empty entry" "empty model_dirs entry: message"

# ---- atomicity seen through the API -------------------------------------------
# None of the failures above created model x or used a version number of llama.
what="no trace of x"; api GET /api/v1/models/x; want 404
what="next version is 3"; api POST /api/v1/models "{\"name\":\"llama\",\"path\":\"$M/llama-Q8_0.gguf\"}"
want 201 .model_version.version 3
# kill -9 in the middle of a registration (rows written, not committed): a
# second server on the same store pauses there and is killed.
start_server "$TMP/s2" AIOS_TEST_PAUSE_AT=registry.insert AIOS_TEST_PAUSE_S=30
U2=$url
curl -s -o /dev/null -X POST "${KEY[@]}" -d "{\"name\":\"crashy\",\"path\":\"$M/qwen2-Q8_0.gguf\",\"tags\":{\"a\":\"b\"}}" \
    "$U2/api/v1/models" &
cpid=$!
for _ in $(seq 200); do grep -q "paused at registry.insert" "$TMP/s2.err" && break; sleep 0.05; done
CHECKS=$((CHECKS + 1))
grep -q "paused at registry.insert" "$TMP/s2.err" || fail "server 2 never reached the pause point"
kill -9 "$spid"; wait "$spid" 2>/dev/null; wait "$cpid" 2>/dev/null
what="killed registration left nothing"; api GET /api/v1/models/crashy; want 404
what="list after the kill"; api GET /api/v1/models; want 200 '[.registered_models[].name] | join(",")' bge,llama,qwen
expect_rc 0 "store check after kill -9" -- "$AIOS" store check --data-dir "$DATA"
what="register after the kill"; api POST /api/v1/models "{\"name\":\"crashy\",\"path\":\"$M/qwen2-Q8_0.gguf\"}"
want 201 .model_version.version 1

# Six registrations into one new model at once: all succeed, and the
# version numbers are 1..6, each given once.
i=0
cpids=()
for f in llama-Q6_K llama-Q4_K_M qwen2-Q8_0 qwen2-F16 chatglm-Q8_0 baichuan7b-Q8_0; do
    i=$((i + 1))
    curl -s -o "$TMP/par.$i" -w '%{http_code}\n' -X POST "${KEY[@]}" \
        -d "{\"name\":\"par\",\"path\":\"$M/$f.gguf\"}" "$U/api/v1/models" >"$TMP/par.code.$i" &
    cpids+=($!)
done
for p in "${cpids[@]}"; do wait "$p"; done
CHECKS=$((CHECKS + 1))
[ "$(cat "$TMP"/par.code.* | sort -u)" = 201 ] || fail "parallel registrations: $(cat "$TMP"/par.code.*)"
CHECKS=$((CHECKS + 1))
got=$(cat "$TMP"/par.[0-9] | jq -r .model_version.version | sort -n | tr '\n' ,)
[ "$got" = "1,2,3,4,5,6," ] || fail "parallel versions: $got"
what="parallel model"; api GET /api/v1/models/par/versions; want 200 '.model_versions | length' 6
what="delete par"; api DELETE /api/v1/models/par; want 200

# ---- delete ------------------------------------------------------------------
what="alias on v1"; api POST /api/v1/models/llama/aliases '{"alias":"old","version":"1"}'; want 200
what="delete alias"; api DELETE /api/v1/models/llama/aliases/canary; want 200 'length' 0
what="alias gone"; api GET /api/v1/models/llama/aliases/canary; want 404
what="delete version 1"; api DELETE /api/v1/models/llama/versions/1; want 200
what="version 1 gone"; api GET /api/v1/models/llama/versions/1; want 404
what="its alias went with it"; api GET /api/v1/models/llama/aliases/old; want 404
what="other alias stays"; api GET /api/v1/models/llama/aliases/production; want 200 .model_version.version 2
what="numbers not reused"; api POST /api/v1/models "{\"name\":\"llama\",\"path\":\"$M/llama-F16.gguf\"}"
want 201 .model_version.version 4
what="delete model"; api DELETE /api/v1/models/qwen; want 200
what="model gone"; api GET /api/v1/models/qwen; want 404
what="list at the end"; api GET /api/v1/models; want 200 '[.registered_models[].name] | join(",")' bge,crashy,llama
grep -q 'aios_http_requests_total{method="DELETE",path="/api/v1/models/",status="200"}' \
    <(curl -s "${KEY[@]}" "$U/metrics") || fail "registry requests in /metrics"
CHECKS=$((CHECKS + 1))

# Without --model-dirs: DATA_DIR/models (created at start) and nothing else.
DIRS=()
start_server "$TMP/s3"
U3=$url
CHECKS=$((CHECKS + 1))
[ -d "$DATA/models" ] || fail "DATA_DIR/models was not created"
cp "$M/llama-Q4_0.gguf" "$DATA/models/dflt.gguf"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "${KEY[@]}" \
    -d "{\"name\":\"dflt\",\"path\":\"$DATA/models/dflt.gguf\"}" "$U3/api/v1/models")
what="default directory"; want 201 .model_version.source "$(realpath "$DATA/models/dflt.gguf")"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "${KEY[@]}" \
    -d "{\"name\":\"dflt\",\"path\":\"$M/llama-Q8_0.gguf\"}" "$U3/api/v1/models")
what="fixtures outside the default"; werr 403 path PERMISSION_DENIED
expect_grep "$TMP/body" "\($(realpath "$DATA/models"); setting model_dirs\)" "default directory named"
kill -TERM "$spid"
CHECKS=$((CHECKS + 1))
wait "$spid" || fail "server 3 exit status $?"

kill -TERM "${pids[0]}"
CHECKS=$((CHECKS + 1))
wait "${pids[0]}" || fail "server exit status $?"
finish
