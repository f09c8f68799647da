#!/usr/bin/env bash
# `aios template`: every fixture template x context renders byte-identical to
# llama.cpp's expected text; a template's raise_exception exits 1 with its
# message and prints nothing; the built-in templates print their formats;
# -m reads tokenizer.chat_template and the BOS/EOS texts from a GGUF file;
# usage and template errors.
. "$(dirname "$0")/lib.sh"
fixtures_or_skip
CHAT="$FIX/chat"
NOW=1721952000 # the fixtures' clock, 2024-07-26

# every stored render
n=0
for input in "$CHAT"/inputs/*.json; do
    base=$(basename "$input" .json)
    tmpl=${base%%__*}
    expected="$CHAT/expected/$base.txt"
    [ -f "$expected" ] || continue
    n=$((n + 1))
    expect_rc 0 "render $base" -- "$AIOS" template --template "$CHAT/templates/$tmpl.jinja" \
        --context "$input" --now "$NOW"
    CHECKS=$((CHECKS + 1))
    cmp -s "$TMP/out" "$expected" || fail "$base: output differs from llama.cpp's render"
done
[ "$n" -ge 79 ] || fail "only $n fixture renders found"

# raise_exception: exit 1, the template's message, no output
cat >"$TMP/two_users.json" <<'EOF'
{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
 "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"}
EOF
expect_rc 1 "Mistral rejects two user turns" -- "$AIOS" template \
    --template "$CHAT/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja" --context "$TMP/two_users.json"
expect_grep "$TMP/err" "line 18: After the optional system message, conversation roles must alternate" \
    "raise_exception message with its line"
CHECKS=$((CHECKS + 1))
[ ! -s "$TMP/out" ] || fail "a rejected render printed something"

# built-in templates
cat >"$TMP/chat.json" <<'EOF'
{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
              {"role": "assistant", "content": "A"}, {"role": "user", "content": "V"}],
 "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"}
EOF
check_name() { # check_name NAME EXPECTED (printf format)
    expect_rc 0 "--name $1" -- "$AIOS" template --name "$1" --context "$TMP/chat.json"
    # shellcheck disable=SC2059
    printf "$2" >"$TMP/want"
    CHECKS=$((CHECKS + 1))
    cmp -s "$TMP/out" "$TMP/want" || { fail "--name $1 output"; cat -A "$TMP/out" | head -5 >&2; }
}
check_name chatml '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nV<|im_end|>\n<|im_start|>assistant\n'
check_name llama3 '<s><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nV<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'
check_name llama2 '<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] V [/INST]'
check_name chatglm3 '[gMASK]sop<|system|>\n S<|user|>\n U<|assistant|>\n A<|user|>\n V<|assistant|>'
check_name chatglm4 '[gMASK]<sop><|system|>\nS<|user|>\nU<|assistant|>\nA<|user|>\nV<|assistant|>\n'
check_name baichuan2 'S<reserved_106>U<reserved_107>A<reserved_106>V<reserved_107>'
expect_rc 1 "unknown built-in" -- "$AIOS" template --name nosuch --context "$TMP/chat.json"
expect_grep "$TMP/err" "chatml" "unknown name lists the built-in names"

# a model file's template, with its BOS/EOS texts (the context sets none)
echo '{"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": true}' >"$TMP/hi.json"
expect_rc 0 "-m qwen2 vocab" -- "$AIOS" template -m "$FIX/tokenizer/ggml-vocab-qwen2.gguf" --context "$TMP/hi.json"
expect_grep "$TMP/out" '^<\|im_start\|>user$' "qwen2 template renders the user turn"
expect_rc 0 "-m phi-3 vocab" -- "$AIOS" template -m "$FIX/tokenizer/ggml-vocab-phi-3.gguf" --context "$TMP/hi.json"
expect_grep "$TMP/out" '^<s><\|user\|>$' "phi-3 template starts with the model's BOS text"
expect_rc 0 "-m --variant tool_use" -- "$AIOS" template -m "$FIX/tokenizer/ggml-vocab-command-r.gguf" \
    --variant tool_use --context "$TMP/hi.json"
expect_grep "$TMP/out" "Available Tools" "command-r tool_use template"
expect_rc 1 "-m --variant missing" -- "$AIOS" template -m "$FIX/tokenizer/ggml-vocab-qwen2.gguf" \
    --variant nosuch --context "$TMP/hi.json"
expect_grep "$TMP/err" "tokenizer.chat_template.nosuch" "missing variant named"
expect_rc 1 "-m without a template" -- "$AIOS" template -m "$FIX/models/llama-F32.gguf" --context "$TMP/hi.json"
expect_grep "$TMP/err" "no tokenizer.chat_template" "missing template named"
expect_rc 0 "-m with --name" -- "$AIOS" template -m "$FIX/models/llama-F32.gguf" --name llama2 --context "$TMP/hi.json"
expect_grep "$TMP/out" '^<s>\[INST\] hi \[/INST\]$' "model BOS text with a built-in template"

# usage and template errors
expect_rc 1 "-m missing file with --name" -- "$AIOS" template -m "$TMP/nofile.gguf" --name llama2 --context "$TMP/hi.json"
expect_rc 2 "no --context" -- "$AIOS" template --name chatml
expect_rc 2 "two template sources" -- "$AIOS" template --name chatml --template x.jinja --context "$TMP/hi.json"
printf 'line one\n{%% for m in messages %%}\n{{ m.content }\n' >"$TMP/bad.jinja"
expect_rc 1 "syntax error" -- "$AIOS" template --template "$TMP/bad.jinja" --context "$TMP/hi.json"
expect_grep "$TMP/err" "template line 3" "syntax error names the line"
echo '[1, 2]' >"$TMP/arr.json"
expect_rc 1 "context not an object" -- "$AIOS" template --name chatml --context "$TMP/arr.json"
finish
