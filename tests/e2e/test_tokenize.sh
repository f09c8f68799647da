#!/usr/bin/env bash
# `aios tokenize` / `aios detokenize` on the fixture vocabularies: ids as
# llama.cpp gives them (.out files), BOS by metadata and --no-bos, special
# text only with --special, stdin read byte for byte, the output formats,
# round trips through detokenize, and usage / input errors (exit 2 / 1).
set -u
AIOS=${AIOS_BIN:?AIOS_BIN must point at the built aios}
FIX=${AIOS_FIXTURES:-${AIOS_SOURCE_DIR:-.}/../shared/fixtures}
if [ ! -d "$FIX/tokenizer" ]; then
    if [ "${CI:-}" = true ]; then echo "fixtures missing at $FIX (required under CI)" >&2; exit 1; fi
    echo "SKIP: fixtures missing at $FIX"; exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tok-e2e.XXXXXX")
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
same() { # same FILE EXPECTED DESC
    CHECKS=$((CHECKS + 1))
    got=$(cat "$1")
    [ "$got" = "$2" ] || fail "$3: got '$got', want '$2'"
}

SPM="$FIX/tokenizer/ggml-vocab-llama-spm.gguf"
BPE="$FIX/tokenizer/ggml-vocab-llama-bpe.gguf"
QWEN="$FIX/tokenizer/ggml-vocab-qwen2.gguf"
BERT="$FIX/tokenizer/ggml-vocab-bert-bge.gguf"

# ids: line 12 of the .out files is "Hello world" (case 11); BOS per metadata
run 0 "spm ids" "$AIOS" tokenize -m "$SPM" --ids "Hello world"
same "$TMP/out" "1 15043 3186" "spm Hello world with BOS"
run 0 "spm ids no bos" "$AIOS" tokenize -m "$SPM" --ids --no-bos "Hello world"
same "$TMP/out" "$(sed -n 12p "$SPM.out" | sed 's/^ //')" "spm Hello world = .out"
run 0 "bpe ids" "$AIOS" tokenize -m "$BPE" --ids "Hello world"
same "$TMP/out" "128000 $(sed -n 12p "$BPE.out" | sed 's/^ //')" "llama-bpe adds BOS"
run 0 "qwen2 ids" "$AIOS" tokenize -m "$QWEN" --ids "Hello world"
same "$TMP/out" "$(sed -n 12p "$QWEN.out" | sed 's/^ //')" "qwen2 adds no BOS"
run 0 "bert ids" "$AIOS" tokenize -m "$BERT" --ids "Hello world"
same "$TMP/out" "101 $(sed -n 12p "$BERT.out" | sed 's/^ //') 102" "bert CLS ... SEP"

# special-token text: parsed only with --special
run 0 "qwen2 special" "$AIOS" tokenize -m "$QWEN" --ids --special "<|im_start|>user"
same "$TMP/out" "151644 872" "qwen2 <|im_start|> parsed"
run 0 "qwen2 no special" "$AIOS" tokenize -m "$QWEN" --ids "<|im_start|>user"
CHECKS=$((CHECKS + 1)); grep -q 151644 "$TMP/out" && fail "special text parsed without --special"

# stdin byte for byte: trailing newlines and spaces are kept
printf '  Hello\n\n' >"$TMP/in"
run 0 "stdin" "$AIOS" tokenize -m "$BPE" --ids --no-bos - <"$TMP/in"
cp "$TMP/out" "$TMP/ids"
run 0 "detok stdin ids" "$AIOS" detokenize -m "$BPE" --no-clean - <"$TMP/ids"
CHECKS=$((CHECKS + 1)); cmp -s "$TMP/out" "$TMP/in" || fail "bpe round trip through stdin"

# round trip of every test string of the SPM vocab (lossless)
inp_case() { # writes case K of an .inp file (separator-delimited) to $TMP/case
    awk -v k="$1" 'BEGIN { RS = "\n__ggml_vocab_test__\n"; ORS = "" } NR == k { print; exit }' "$2" >"$TMP/case"
}
for k in 12 19 21 29 33 46; do
    inp_case "$k" "$SPM.inp"
    run 0 "spm case $k" "$AIOS" tokenize -m "$SPM" --ids --no-bos - <"$TMP/case"
    same "$TMP/out" "$(sed -n "${k}p" "$SPM.out" | sed 's/^ //')" "spm case $k = .out"
    cp "$TMP/out" "$TMP/ids"
    run 0 "spm detok $k" "$AIOS" detokenize -m "$SPM" "$(cat "$TMP/ids")"
    CHECKS=$((CHECKS + 1)); cmp -s "$TMP/out" "$TMP/case" || fail "spm round trip of case $k"
done

# detokenize: comma and space separated, control tokens only with --special
run 0 "detok" "$AIOS" detokenize -m "$SPM" 15043,3186
same "$TMP/out" "Hello world" "detok comma"
run 0 "detok args" "$AIOS" detokenize -m "$SPM" 1 "15043, 3186" 2
same "$TMP/out" " Hello world" "detok BOS EOS hidden (llama.cpp keeps the space after BOS)"
run 0 "detok special" "$AIOS" detokenize -m "$SPM" --special 1 15043 2
same "$TMP/out" "<s> Hello</s>" "detok --special"

# llama.cpp's space clean-up for GPT-2 style vocabs, off with --no-clean
run 0 "tok spaced" "$AIOS" tokenize -m "$BPE" --ids --no-bos "Hello , world 's"
cp "$TMP/out" "$TMP/ids"
run 0 "detok clean" "$AIOS" detokenize -m "$BPE" "$(cat "$TMP/ids")"
same "$TMP/out" "Hello, world's" "clean spaces"
run 0 "detok no clean" "$AIOS" detokenize -m "$BPE" --no-clean "$(cat "$TMP/ids")"
same "$TMP/out" "Hello , world 's" "--no-clean"

# formats
run 0 "default format" "$AIOS" tokenize -m "$SPM" "Hi"
CHECKS=$((CHECKS + 1)); grep -qP '^1\t<s>$' "$TMP/out" || fail "default format: id TAB piece"
run 0 "pieces" "$AIOS" tokenize -m "$SPM" --pieces --no-bos $'a\tb'
CHECKS=$((CHECKS + 1)); grep -qF '\t' "$TMP/out" || fail "pieces escape the tab"
run 0 "json" "$AIOS" tokenize -m "$BPE" --json "Hi"
same "$TMP/out" '{"n_tokens":2,"ids":[128000,13347],"tokens":["<|begin_of_text|>","Hi"],"pieces":["<|begin_of_text|>","Hi"]}' "json"
run 0 "empty" "$AIOS" tokenize -m "$QWEN" --ids ""
same "$TMP/out" "" "empty text, no BOS for qwen2"

# errors
run 2 "no model" "$AIOS" tokenize "x"
run 2 "no text" "$AIOS" tokenize -m "$SPM"
run 2 "two formats" "$AIOS" tokenize -m "$SPM" --ids --json x
run 2 "unknown flag" "$AIOS" tokenize -m "$SPM" --nope x
run 1 "missing file" "$AIOS" tokenize -m "$TMP/none.gguf" x
printf 'GGUF\3\0\0\0' >"$TMP/trunc.gguf"
run 1 "truncated file" "$AIOS" tokenize -m "$TMP/trunc.gguf" x
run 1 "bad id" "$AIOS" detokenize -m "$SPM" 1,x
run 1 "id out of range" "$AIOS" detokenize -m "$SPM" 32000
CHECKS=$((CHECKS + 1)); grep -q "outside the vocabulary" "$TMP/err" || fail "range message"

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
