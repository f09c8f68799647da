#!/usr/bin/env bash
# `aios gguf info` on fixture models: text and --json output, --full, and
# truncated or foreign files, which must exit 1 with a message naming the
# problem.
set -u
AIOS=${AIOS_BIN:?AIOS_BIN must point at the built aios}
FIX=${AIOS_FIXTURES:-${AIOS_SOURCE_DIR:-.}/../shared/fixtures}
if [ ! -d "$FIX/models" ]; then
    if [ "${CI:-}" = true ]; then echo "fixtures missing at $FIX (required under CI)" >&2; exit 1; fi
    echo "SKIP: fixtures missing at $FIX"; exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gguf-e2e.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILS=0
CHECKS=0
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }
run() { # run WANT_RC DESC CMD...
    want=$1; desc=$2; shift 2
    CHECKS=$((CHECKS + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    [ "$got" = "$want" ] || { fail "$desc: exit $got, want $want"; head -3 "$TMP/err" >&2; }
}
has() { # has FILE REGEX DESC
    CHECKS=$((CHECKS + 1))
    grep -qE -- "$2" "$1" || { fail "$3: /$2/ not found"; head -5 "$1" >&2; }
}

M="$FIX/models/llama-Q4_K_M.gguf"
run 0 "info text" "$AIOS" gguf info "$M"
has "$TMP/out" '^version: +3$' "version"
has "$TMP/out" '^alignment: +32$' "alignment"
has "$TMP/out" '^size: +1096928 bytes' "size"
has "$TMP/out" '^metadata \(25\):' "kv count"
has "$TMP/out" '^  general.architecture +string +"llama"$' "architecture"
has "$TMP/out" '^  llama.block_count +uint32 +2$' "block count"
has "$TMP/out" 'tokenizer.ggml.tokens +array +\[1024 strings: "<unk>", "<s>", "</s>", .*, \.\.\. \]$' "summarised tokens"
has "$TMP/out" '^tensors \(21\):' "tensor count"
has "$TMP/out" '^  token_embd.weight +Q4_K +\[256, 1024\] +offset [0-9]+ +147456 bytes$' "tensor line"
has "$TMP/out" '^  blk.1.ffn_down.weight +Q6_K ' "Q4_K_M mix"

run 0 "info --full" "$AIOS" gguf info --full "$M"
# token 1023 of the llama-spm vocabulary ("▁two") appears only when nothing is cut
has "$TMP/out" '"<0xFF>", .*"▁two"\]$' "--full shows every token"

run 0 "info --json" "$AIOS" gguf info --json "$M"
has "$TMP/out" '"n": 1024' "--json array count"
has "$TMP/out" '"truncated": true' "--json summarises"
# python3 is not a declared dependency: the structural check runs where it exists
if command -v python3 >/dev/null 2>&1; then
CHECKS=$((CHECKS + 1))
python3 - "$TMP/out" <<'PY' || fail "--json content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 3 and d["alignment"] == 32 and d["size"] == 1096928, d
assert len(d["metadata"]) == 25
assert d["metadata"]["general.architecture"] == {"type": "string", "value": "llama"}
tok = d["metadata"]["tokenizer.ggml.tokens"]
assert tok["type"] == "array" and tok["elem_type"] == "string" and tok["n"] == 1024
assert tok["truncated"] and tok["value"][:3] == ["<unk>", "<s>", "</s>"]
assert len(d["tensors"]) == 21
t = [x for x in d["tensors"] if x["name"] == "token_embd.weight"][0]
assert t["type"] == "Q4_K" and t["shape"] == [256, 1024] and t["bytes"] == 147456
assert all(x["offset"] % 32 == 0 for x in d["tensors"])
PY
fi

# a vocabulary-only file (no tensors, 150k-entry arrays)
run 0 "vocab info" "$AIOS" gguf info "$FIX/tokenizer/ggml-vocab-qwen2.gguf"
has "$TMP/out" '^tensors \(0\):' "vocab has no tensors"
has "$TMP/out" 'tokenizer.ggml.merges +array +\[[0-9]+ strings: ' "merges summarised"

# truncated: the message names the tensor and the bytes
head -c 100000 "$M" >"$TMP/trunc.gguf"
run 1 "truncated file" "$AIOS" gguf info "$TMP/trunc.gguf"
has "$TMP/err" "^aios gguf info: .*trunc.gguf: tensor '[^']+': data \[[0-9]+, [0-9]+\) past end of file \(size 100000\)$" "truncated message"
run 1 "truncated file --json" "$AIOS" gguf info --json "$TMP/trunc.gguf"
CHECKS=$((CHECKS + 1))
[ -s "$TMP/out" ] && fail "--json printed something for a corrupt file"
head -c 1000 "$M" >"$TMP/short.gguf"
run 1 "truncated metadata" "$AIOS" gguf info "$TMP/short.gguf"
has "$TMP/err" 'truncated|more than' "truncated metadata message"
printf 'not a gguf file at all\n' >"$TMP/text.gguf"
run 1 "foreign file" "$AIOS" gguf info "$TMP/text.gguf"
has "$TMP/err" 'not a GGUF file' "foreign file message"
run 1 "missing file" "$AIOS" gguf info "$TMP/none.gguf"
has "$TMP/err" 'none.gguf: No such file' "missing file message"
run 2 "no file" "$AIOS" gguf info
run 2 "unknown subcommand" "$AIOS" gguf frob

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
