#!/usr/bin/env bash
# aios model synth: writes a loadable random-weight model of the preset's
# shape, with its own or a given vocabulary; bad arguments fail cleanly.
. "$(dirname "$0")/lib.sh"
fixtures_or_skip
expect_rc 0 "synth tiny Q8_0" -- "$AIOS" model synth --preset tiny --type Q8_0 "$TMP/t.gguf"
expect_grep "$TMP/err" 'output.weight +Q8_0 +256 x 260' "progress line per tensor"
expect_rc 0 "gguf info of synth" -- "$AIOS" gguf info --json "$TMP/t.gguf"
expect_grep "$TMP/out" '"llama.block_count"' "metadata written"
expect_rc 0 "generate on synth" -- "$AIOS" generate -m "$TMP/t.gguf" -p "hi" -n 4 --temp 0
expect_rc 0 "synth with vocab Q4_K_M" -- "$AIOS" model synth --preset tiny --type Q4_K_M \
    --vocab "$FIX/tokenizer/ggml-vocab-llama-spm.gguf" "$TMP/v.gguf"
expect_grep "$TMP/err" 'output.weight +Q6_K' "Q4_K_M keeps output at Q6_K"
expect_grep "$TMP/err" 'blk.0.attn_q.weight +Q4_K' "Q4_K_M uses Q4_K for attn_q"
expect_rc 0 "tokenize with synth vocab" -- "$AIOS" generate -m "$TMP/v.gguf" -p "Hello world" -n 2 --temp 0
expect_rc 1 "bge-small without a vocab" -- "$AIOS" model synth --preset bge-small "$TMP/b.gguf"
expect_grep "$TMP/err" "needs --vocab" "bert preset asks for a vocabulary"
expect_rc 0 "synth bge-small" -- "$AIOS" model synth --preset bge-small --type Q8_0 \
    --vocab "$FIX/tokenizer/ggml-vocab-bert-bge.gguf" "$TMP/b.gguf"
expect_rc 0 "embed with synth bge-small" -- "$AIOS" embed -m "$TMP/b.gguf" --json "disk full" "cpu high"
CHECKS=$((CHECKS + 1))
python3 -c "import json,sys; v=json.load(open('$TMP/out')); assert len(v)==2 and len(v[0])==384 and abs(sum(x*x for x in v[0])-1)<1e-4" \
    || fail "bge-small embeddings: 2 unit vectors of 384"
expect_rc 2 "synth without preset" -- "$AIOS" model synth --type Q8_0 "$TMP/x.gguf"
expect_rc 1 "synth unknown preset" -- "$AIOS" model synth --preset 70b "$TMP/x.gguf"
expect_grep "$TMP/err" "unknown preset '70b'" "unknown preset named"
expect_rc 1 "synth bad type" -- "$AIOS" model synth --preset tiny --type Q9_9 "$TMP/x.gguf"
expect_rc 1 "synth to missing dir" -- "$AIOS" model synth --preset tiny "$TMP/no/such/dir/x.gguf"
CHECKS=$((CHECKS + 1)); [ ! -e "$TMP/x.gguf" ] || fail "a failed synth left a file"
finish
