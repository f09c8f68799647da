#!/usr/bin/env bash
# `aios quantize` against llama-quantize: every fixture model quantized from
# its F32 file must come out byte-identical to the file llama-quantize made
# (Q8_0, Q4_0, Q6_K, F16 with --pure as the fixtures were made; Q4_K_M with
# llama-quantize's default mix). Then fallbacks and errors.
. "$(dirname "$0")/lib.sh"
fixtures_or_skip
M="$FIX/models"

for m in llama qwen2 chatglm baichuan7b baichuan13b bert; do
    for t in Q8_0 Q4_0 Q6_K F16 Q4_K_M; do
        ref="$M/$m-$t.gguf"
        [ -f "$ref" ] || continue
        flags=--pure
        [ "$t" = Q4_K_M ] && flags=
        expect_rc 0 "quantize $m $t" -- "$AIOS" quantize $flags "$M/$m-F32.gguf" "$TMP/o.gguf" "$t"
        CHECKS=$((CHECKS + 1))
        cmp -s "$TMP/o.gguf" "$ref" || fail "$m $t: output differs from llama-quantize's $ref"
    done
done
expect_grep "$TMP/out" '^\[ *[0-9]+/ *[0-9]+\] .* F32 -> (Q4_K|Q6_K|F32)' "progress line per tensor"

# 32-wide rows cannot hold 256-value blocks: Q4_K falls back to Q5_0, Q6_K to Q8_0.
expect_rc 0 "baichuan Q4_K_M (fallback)" -- "$AIOS" quantize "$M/baichuan7b-F32.gguf" "$TMP/b.gguf" Q4_K_M
expect_grep "$TMP/out" 'blk\.0\.attn_q\.weight .* F32 -> Q5_0' "Q4_K falls back to Q5_0"
expect_grep "$TMP/out" 'blk\.31\.ffn_down\.weight .* F32 -> Q8_0' "Q6_K falls back to Q8_0"
expect_rc 0 "info of the result" -- "$AIOS" gguf info "$TMP/b.gguf"
expect_grep "$TMP/out" 'general\.file_type +uint32 +15' "file_type set to Q4_K_M"

# An F16 input is widened to F32 first (exact), so its Q8_0 equals the one
# made from F32 wherever the F32 weights are themselves F16-exact; here only
# check that it runs and that BF16 output is written.
expect_rc 0 "F16 input -> Q4_0" -- "$AIOS" quantize --pure "$M/llama-F16.gguf" "$TMP/f.gguf" Q4_0
expect_grep "$TMP/out" 'blk\.0\.attn_q\.weight .* F16 -> Q4_0' "F16 source converted"
expect_rc 0 "BF16 output" -- "$AIOS" quantize "$M/llama-F32.gguf" "$TMP/b16.gguf" BF16
expect_grep "$TMP/out" 'token_embd\.weight .* F32 -> BF16' "BF16 target"

# Errors: one line, exit 1; usage errors exit 2; nothing left at OUT.
expect_rc 1 "unknown type" -- "$AIOS" quantize "$M/llama-F32.gguf" "$TMP/x.gguf" Q9_9
expect_grep "$TMP/err" 'unknown type' "unknown type message"
expect_rc 1 "requantize refused" -- "$AIOS" quantize "$M/llama-Q8_0.gguf" "$TMP/x.gguf" Q4_0
expect_grep "$TMP/err" 'requantiz' "requantize message"
expect_rc 0 "requantize allowed" -- "$AIOS" quantize --allow-requantize "$M/llama-Q8_0.gguf" "$TMP/x.gguf" Q4_0
expect_rc 1 "missing input" -- "$AIOS" quantize "$TMP/nope.gguf" "$TMP/y.gguf" Q4_0
CHECKS=$((CHECKS + 1))
[ ! -e "$TMP/y.gguf" ] || fail "output left behind after a failure"
expect_rc 2 "missing argument" -- "$AIOS" quantize "$M/llama-F32.gguf" Q4_0
finish
