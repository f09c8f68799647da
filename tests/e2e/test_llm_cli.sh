#!/usr/bin/env bash
# aios logits / generate / embed against the fixture models: logits written
# by the CLI match llama.cpp's reference within the manifest tolerance, greedy
# generation is deterministic, embeddings match, and bad input fails cleanly.
. "$(dirname "$0")/lib.sh"
fixtures_or_skip
M=$FIX/models
PROMPT=1,167,937,905,26,707,943,425,263,531,645,988,460,778,436,152,481,73,370,132,56,605,793,101

compare() { # compare GOT REF TOL: max |got-ref| over float32 files
    python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
g = open(sys.argv[1], 'rb').read(); r = open(sys.argv[2], 'rb').read()
if len(g) != len(r): print("size %d != %d" % (len(g), len(r))); sys.exit(1)
n = len(g) // 4
a = struct.unpack('<%df' % n, g); b = struct.unpack('<%df' % n, r)
d = max(abs(x - y) for x, y in zip(a, b))
print("max_abs %.3g" % d); sys.exit(0 if d <= float(sys.argv[3]) else 1)
PY
}

for f in llama-F32 qwen2-Q8_0 chatglm-Q4_K_M; do
    expect_rc 0 "logits $f" -- "$AIOS" logits -m "$M/$f.gguf" --tokens "$PROMPT" --out "$TMP/$f.bin"
    tol=$(python3 -c "import json;print(json.load(open('$M/manifest.json'))['files']['$f.gguf']['tolerance']['max_abs'])")
    CHECKS=$((CHECKS + 1))
    compare "$TMP/$f.bin" "$M/$f.logits.f32" "$tol" >"$TMP/cmp" || fail "logits $f: $(cat "$TMP/cmp") > $tol"
done

# Greedy generation is deterministic; sampling with a seed is reproducible.
expect_rc 0 "generate greedy" -- "$AIOS" generate -m "$M/llama-Q4_0.gguf" -p "Hello world" -n 16 --temp 0
cp "$TMP/out" "$TMP/g1"
expect_grep "$TMP/err" 'prompt: [0-9]+ tokens .* tok/s\); generation: 16 tokens' "timing line"
expect_rc 0 "generate greedy again" -- "$AIOS" generate -m "$M/llama-Q4_0.gguf" -p "Hello world" -n 16 --temp 0 --threads 1
CHECKS=$((CHECKS + 1)); cmp -s "$TMP/out" "$TMP/g1" || fail "greedy output differs between runs"
expect_rc 0 "generate seeded" -- "$AIOS" generate -m "$M/qwen2-F16.gguf" -p "The" -n 12 --seed 7
cp "$TMP/out" "$TMP/s1"
expect_rc 0 "generate seeded again" -- "$AIOS" generate -m "$M/qwen2-F16.gguf" -p "The" -n 12 --seed 7
CHECKS=$((CHECKS + 1)); cmp -s "$TMP/out" "$TMP/s1" || fail "seeded output differs between runs"

# Embeddings of the fixture texts match the reference (tolerance embd_max_abs 1e-4 for F32).
mapfile -t texts <"$M/bert_texts.txt"
expect_rc 0 "embed --json" -- "$AIOS" embed -m "$M/bert-F32.gguf" --json "${texts[@]}"
CHECKS=$((CHECKS + 1))
python3 - "$TMP/out" "$M/bert-F32.embd.f32" <<'PY' || fail "embeddings differ from the reference"
import json, struct, sys
got = json.load(open(sys.argv[1])); raw = open(sys.argv[2], 'rb').read()
ref = struct.unpack('<%df' % (len(raw) // 4), raw)
flat = [x for row in got for x in row]
assert len(got) == 4 and len(flat) == len(ref), (len(got), len(flat), len(ref))
d = max(abs(a - b) for a, b in zip(flat, ref)); print("embd max_abs", d); sys.exit(0 if d <= 1e-4 else 1)
PY
expect_rc 0 "embed plain" -- "$AIOS" embed -m "$M/bert-Q8_0.gguf" "one" "two"
CHECKS=$((CHECKS + 1)); [ "$(wc -l <"$TMP/out")" = 2 ] || fail "embed prints one line per text"

# Chat and generate run unchanged on every decoder family (the template is
# the model's own or the built-in one for its architecture).
for f in llama-Q4_0 qwen2-Q8_0 chatglm-Q4_K_M baichuan7b-Q8_0 baichuan13b-Q4_0; do
    printf 'hello\nsecond turn\n' >"$TMP/in"
    expect_rc 0 "chat $f" -- sh -c "\"$AIOS\" chat -m \"$M/$f.gguf\" --temp 0 -n 6 --system 'be brief' <\"$TMP/in\""
    CHECKS=$((CHECKS + 1)); [ "$(wc -l <"$TMP/out")" -ge 2 ] || fail "chat $f: two replies expected"
    expect_rc 0 "generate $f" -- "$AIOS" generate -m "$M/$f.gguf" -p "Hello" -n 4 --temp 0
done
expect_rc 1 "chat with an embedding model" -- sh -c "echo hi | \"$AIOS\" chat -m \"$M/bert-F32.gguf\""
expect_grep "$TMP/err" "embedding model" "chat refuses an embedding model"
expect_rc 1 "unknown architecture" -- "$AIOS" generate -m "$FIX/tokenizer/ggml-vocab-command-r.gguf" -p hi
expect_grep "$TMP/err" "supported: llama, qwen2, chatglm, baichuan, bert" "unknown arch lists the supported ones"

# Failures: clear one-line errors, exit 1 (or 2 for usage).
expect_rc 1 "missing model" -- "$AIOS" generate -m "$TMP/nope.gguf" -p hi
expect_grep "$TMP/err" "nope.gguf" "missing model named"
expect_rc 1 "vocab-only file" -- "$AIOS" logits -m "$FIX/tokenizer/ggml-vocab-llama-spm.gguf" --tokens 1 --out "$TMP/x"
expect_grep "$TMP/err" "missing" "vocab-only file error names what is missing"
expect_rc 1 "token out of vocab" -- "$AIOS" logits -m "$M/llama-F32.gguf" --tokens 1,99999 --out "$TMP/x"
expect_grep "$TMP/err" "99999" "bad token named"
expect_rc 2 "bad token list" -- "$AIOS" logits -m "$M/llama-F32.gguf" --tokens 1,x --out "$TMP/x"
expect_rc 2 "generate without prompt" -- "$AIOS" generate -m "$M/llama-F32.gguf"
expect_rc 2 "bad top-p" -- "$AIOS" generate -m "$M/llama-F32.gguf" -p hi --top-p 2
expect_rc 1 "embed with a decoder" -- "$AIOS" embed -m "$M/llama-F32.gguf" hi
expect_grep "$TMP/err" "not an embedding model" "embed refuses decoders"
printf 'GGUF\3\0\0\0garbage' >"$TMP/bad.gguf"
expect_rc 1 "corrupt model" -- "$AIOS" generate -m "$TMP/bad.gguf" -p hi
finish
