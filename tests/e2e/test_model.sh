#!/usr/bin/env bash
# End-to-end tests of `aios model` (the model registry) and `aios store
# check`, driving the real binary on the GGUF fixtures: every subcommand,
# the failure paths (corrupt, truncated and missing files, bad names and
# references, usage errors), a kill -9 in the middle of a registration and
# of a removal (the store must show all or nothing and check clean), kills
# at random moments, and two processes registering into one data directory
# at the same time.
set -u

AIOS=${AIOS_BIN:-build/aios}
SRC=${AIOS_SOURCE_DIR:-.}
FX=${AIOS_FIXTURES:-$SRC/../shared/fixtures}
if [ ! -d "$FX/models" ]; then
    if [ "${CI:-}" = true ]; then
        echo "fixtures ($FX) missing, and CI requires them"
        exit 1
    fi
    echo "SKIP: fixtures ($FX) missing"
    exit 77
fi
M=$FX/models
command -v jq >/dev/null || { echo "SKIP: jq is needed"; exit 77; }

BASE=${AIOS_TEST_TMP:-/tmp}
mkdir -p "$BASE"
TMP=$(mktemp -d "$BASE/e2e_model.XXXXXX")
export AIOS_DATA_DIR=$TMP/data
export AIOS_LOG_LEVEL=warn
unset AIOS_TEST_PAUSE_AT AIOS_PROGRESS
failures=0
bgpids=()
cleanup() {
    for p in "${bgpids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run EXPECTED_RC STDERR_PATTERN -- command...: checks the exit status and
# that stderr matches the pattern (empty pattern: anything).
run() {
    local want=$1 pat=$2
    shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        fail "'$*' exited $rc, expected $want; stderr: $(head -c 300 "$TMP/err")"
    elif [ -n "$pat" ] && ! grep -q -- "$pat" "$TMP/err"; then
        fail "'$*': stderr lacks '$pat': $(head -c 300 "$TMP/err")"
    fi
}

# eq ACTUAL EXPECTED WHAT
eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# ---- the happy path ---------------------------------------------------------
run 0 "" -- "$AIOS" model add "$M/llama-F16.gguf" --name llama --description "tiny llama" \
    --tag stage=dev --tag owner=netops
grep -q "registered llama@1 (llama, F16" "$TMP/out" || fail "add output: $(cat "$TMP/out")"
run 0 "" -- "$AIOS" model add "$M/llama-Q4_0.gguf" --name llama --from llama@1 --how quantize --json
eq "$(jq -r .version "$TMP/out")" 2 "add --json version"
eq "$(jq -r .file_type "$TMP/out")" Q4_0 "add --json file_type"
eq "$(jq -r .lineage.source "$TMP/out")" llama@1 "lineage source"
eq "$(jq -r .lineage.how "$TMP/out")" quantize "lineage how"
eq "$(jq -r .sha256 "$TMP/out")" "$(sha256sum "$M/llama-Q4_0.gguf" | cut -d' ' -f1)" "sha256"
eq "$(jq -r .size_bytes "$TMP/out")" "$(stat -c %s "$M/llama-Q4_0.gguf")" "size"
eq "$(jq -r .source "$TMP/out")" "$(realpath "$M/llama-Q4_0.gguf")" "absolute path"
run 0 "" -- "$AIOS" model add "$M/qwen2-Q4_K_M.gguf" --name qwen --kind proprietary
run 0 "" -- "$AIOS" model alias llama 1 production
run 0 "" -- "$AIOS" model show llama@production --json
eq "$(jq -r .version "$TMP/out")" 1 "alias resolves"
eq "$(jq -r '.tags | map(.key + "=" + .value) | join(",")' "$TMP/out")" "owner=netops,stage=dev" "tags"
eq "$(jq -r '.aliases[0]' "$TMP/out")" production "version aliases"
run 0 "" -- "$AIOS" model alias llama 2 production
run 0 "" -- "$AIOS" model show llama@production --json
eq "$(jq -r .version "$TMP/out")" 2 "alias moved"
run 0 "" -- "$AIOS" model show llama --json
eq "$(jq -r '.versions | length' "$TMP/out")" 2 "show NAME lists every version"
eq "$(jq -r '.latest_versions[0].version' "$TMP/out")" 2 "latest_versions"
eq "$(jq -r .kind "$TMP/out")" base "default kind"
eq "$(jq -r .description "$TMP/out")" "tiny llama" "description"
run 0 "" -- "$AIOS" model show llama@latest
grep -q "lineage:      quantize from llama@1" "$TMP/out" || fail "show text: $(cat "$TMP/out")"
run 0 "" -- "$AIOS" model list --json
eq "$(jq -r '[.registered_models[].name] | join(",")' "$TMP/out")" "llama,qwen" "list --json"
eq "$(jq -r '.registered_models[1].kind' "$TMP/out")" proprietary "kind"
run 0 "" -- "$AIOS" model list
grep -q "^llama .*production@2" "$TMP/out" || fail "list text: $(cat "$TMP/out")"
run 0 "" -- "$AIOS" store check
grep -q "aios.db (sqlite): ok" "$TMP/out" || fail "store check: $(cat "$TMP/out")"
grep -q "migration registry 1 (" "$TMP/out" || fail "store check migrations: $(cat "$TMP/out")"

# Progress bar (forced: stderr is not a terminal here).
AIOS_PROGRESS=1 run 0 "hashing \[#" -- "$AIOS" model add "$M/llama-F32.gguf" --name bar
grep -q "100%" "$TMP/err" || fail "progress bar did not reach 100%"

# ---- failure paths ----------------------------------------------------------
head -c 1000 "$M/llama-F16.gguf" >"$TMP/truncated.gguf"
run 1 "not a valid GGUF" -- "$AIOS" model add "$TMP/truncated.gguf" --name broken
head -c 3000000 "$M/llama-F16.gguf" >"$TMP/cut-data.gguf"
run 1 "not a valid GGUF" -- "$AIOS" model add "$TMP/cut-data.gguf" --name broken
printf 'this is not a model\n' >"$TMP/text.gguf"
run 1 "not a valid GGUF" -- "$AIOS" model add "$TMP/text.gguf" --name broken
run 1 "No such file" -- "$AIOS" model add "$TMP/absent.gguf" --name broken
run 1 "not a regular file" -- "$AIOS" model add "$TMP" --name broken
run 1 "not registered" -- "$AIOS" model show broken
run 2 "--name is required" -- "$AIOS" model add "$M/llama-F16.gguf"
run 2 "unknown option" -- "$AIOS" model add "$M/llama-F16.gguf" --name x --frobnicate
run 2 "go together" -- "$AIOS" model add "$M/llama-F16.gguf" --name x --from llama@1
run 2 "missing argument" -- "$AIOS" model add --name x
run 1 "model name" -- "$AIOS" model add "$M/llama-F16.gguf" --name "bad name"
run 1 "registered as base" -- "$AIOS" model add "$M/llama-Q8_0.gguf" --name llama --kind proprietary
run 1 "kind 'weird'" -- "$AIOS" model add "$M/llama-Q8_0.gguf" --name new --kind weird
run 1 "already registered as llama@1" -- "$AIOS" model add "$M/llama-F16.gguf" --name llama
run 1 "no version 9" -- "$AIOS" model add "$M/llama-Q8_0.gguf" --name llama --from llama@9 --how quantize
run 1 "not quantize, finetune or train" -- "$AIOS" model add "$M/llama-Q8_0.gguf" --name llama \
    --from llama@1 --how steal
run 1 "is not key=value" -- "$AIOS" model add "$M/llama-Q8_0.gguf" --name llama --tag oops
run 1 "no version 7" -- "$AIOS" model show llama@7
run 1 "no alias 'canary'" -- "$AIOS" model show llama@canary
run 1 "version must be a number" -- "$AIOS" model show llama@0
run 1 "no version 5" -- "$AIOS" model alias llama 5 canary
run 2 "VERSION must be a number" -- "$AIOS" model alias llama two canary
run 1 "reserved" -- "$AIOS" model alias llama 1 latest
run 1 "not an alias" -- "$AIOS" model rm llama@production
run 1 "not registered" -- "$AIOS" model rm ghost
run 2 "unknown subcommand" -- "$AIOS" model frob
# None of the failures wrote anything or used a version number.
run 0 "" -- "$AIOS" model add "$M/llama-Q8_0.gguf" --name llama
grep -q "registered llama@3" "$TMP/out" || fail "version after failures: $(cat "$TMP/out")"

# ---- removal ----------------------------------------------------------------
run 0 "" -- "$AIOS" model rm llama@2
run 1 "no version 2" -- "$AIOS" model show llama@2
run 1 "no alias 'production'" -- "$AIOS" model show llama@production
run 0 "" -- "$AIOS" model add "$M/llama-Q4_0.gguf" --name llama
grep -q "registered llama@4" "$TMP/out" || fail "numbers are not reused: $(cat "$TMP/out")"
run 0 "" -- "$AIOS" model rm llama
run 0 "" -- "$AIOS" model list --json
eq "$(jq -r '[.registered_models[].name] | join(",")' "$TMP/out")" "bar,qwen" "after rm"
run 0 "" -- "$AIOS" store check

# ---- kill -9 inside the transaction -----------------------------------------
# wait_paused FILE: until the paused process has said so (10 s at most).
wait_paused() {
    for _ in $(seq 1 100); do
        grep -q "paused at" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

AIOS_TEST_PAUSE_AT=registry.insert AIOS_TEST_PAUSE_S=60 \
    "$AIOS" model add "$M/llama-Q6_K.gguf" --name crash --tag t=1 >/dev/null 2>"$TMP/pause.err" &
pid=$!
bgpids+=("$pid")
if wait_paused "$TMP/pause.err"; then
    # A reader is not blocked by the open write transaction and does not
    # see it.
    run 0 "" -- timeout 10 "$AIOS" model list --json
    eq "$(jq -r '[.registered_models[].name] | index("crash")' "$TMP/out")" null "uncommitted add visible"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    run 1 "not registered" -- "$AIOS" model show crash
    run 0 "" -- "$AIOS" store check
    run 0 "" -- "$AIOS" model add "$M/llama-Q6_K.gguf" --name crash
    grep -q "registered crash@1" "$TMP/out" || fail "add after a killed add: $(cat "$TMP/out")"
else
    fail "the paused add never paused: $(cat "$TMP/pause.err")"
    kill -9 "$pid" 2>/dev/null
fi

AIOS_TEST_PAUSE_AT=registry.delete AIOS_TEST_PAUSE_S=60 \
    "$AIOS" model rm crash >/dev/null 2>"$TMP/pause.err" &
pid=$!
bgpids+=("$pid")
if wait_paused "$TMP/pause.err"; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    run 0 "" -- "$AIOS" model show crash@1 --json
    eq "$(jq -r .file_type "$TMP/out")" Q6_K "version survives a killed rm"
    run 0 "" -- "$AIOS" store check
else
    fail "the paused rm never paused: $(cat "$TMP/pause.err")"
    kill -9 "$pid" 2>/dev/null
fi

# Kills at arbitrary moments of registrations and removals (timing varies
# run to run; each outcome must be all or nothing).
for i in $(seq 1 12); do
    "$AIOS" model add "$M/qwen2-F16.gguf" --name killed --tag i="$i" >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$AIOS" model rm killed >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 5))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
run 0 "" -- "$AIOS" store check
run 0 "" -- "$AIOS" model list --json
n=$(jq -r '[.registered_models[] | select(.name == "killed")] | length' "$TMP/out")
if [ "$n" = 1 ]; then
    run 0 "" -- "$AIOS" model show killed --json
    # Every version is whole: its one tag is there.
    eq "$(jq -r '[.versions[] | .tags | length] | unique | join(",")' "$TMP/out")" 1 "killed add tags"
fi

# ---- several processes opening a fresh data directory at once ---------------
# Creating the file, switching it to WAL and migrating must happen once,
# whoever wins; the others wait and find it done.
for r in 1 2 3 4 5; do
    fresh=$TMP/fresh$r
    pids=()
    for i in 1 2 3 4; do
        AIOS_DATA_DIR=$fresh "$AIOS" model list >/dev/null 2>"$TMP/fresh$r.$i.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        wait "$p" || fail "concurrent first open failed: $(cat "$TMP"/fresh$r.*.err)"
    done
    AIOS_DATA_DIR=$fresh run 0 "" -- "$AIOS" store check
    eq "$(grep -c "migration registry" "$TMP/out")" 1 "migrations applied once"
done

# ---- two writers at once ----------------------------------------------------
# Each process registers six files into its own model and into a shared
# one; none may fail, and the shared model must get versions 1..12.
writer() {
    local fam=$1 rc=0
    for q in F16 F32 Q4_0 Q4_K_M Q6_K Q8_0; do
        "$AIOS" model add "$M/$fam-$q.gguf" --name "shared" --tag by="$fam" >/dev/null || rc=1
        "$AIOS" model add "$M/$fam-$q.gguf" --name "own-$fam" >/dev/null || rc=1
        "$AIOS" model list --json >/dev/null || rc=1
    done
    return $rc
}
writer llama 2>"$TMP/w1.err" &
w1=$!
writer qwen2 2>"$TMP/w2.err" &
w2=$!
bgpids+=("$w1" "$w2")
wait "$w1" || fail "writer 1 failed: $(head -c 500 "$TMP/w1.err")"
wait "$w2" || fail "writer 2 failed: $(head -c 500 "$TMP/w2.err")"
run 0 "" -- "$AIOS" model show shared --json
eq "$(jq -r '[.versions[].version] | join(",")' "$TMP/out")" "1,2,3,4,5,6,7,8,9,10,11,12" "shared versions"
eq "$(jq -r '[.versions[].tags[0].value] | sort | unique | join(",")' "$TMP/out")" "llama,qwen2" "both writers"
run 0 "" -- "$AIOS" model show own-llama --json
eq "$(jq -r '.versions | length' "$TMP/out")" 6 "own-llama"
run 0 "" -- "$AIOS" model show own-qwen2 --json
eq "$(jq -r '.versions | length' "$TMP/out")" 6 "own-qwen2"
run 0 "" -- "$AIOS" store check

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "ok"
