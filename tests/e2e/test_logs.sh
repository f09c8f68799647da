#!/usr/bin/env bash
# End-to-end test of `aios logs parse`: templates and counts, per-line ids,
# --format, --mask, CRLF input, --json, and the exit codes of bad input.
set -u
BIN=${AIOS_BIN:-build/aios}
TMP=$(mktemp -d "${AIOS_TEST_TMP:-/tmp}/e2e_logs.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# A small log with CRLF line ends, a header, and three kinds of message.
printf '%s\r\n' \
    '2024-01-01 10:00:01 INFO net: Connected to 10.0.0.1 port 22' \
    '2024-01-01 10:00:02 INFO net: Connected to 10.0.0.2 port 2222' \
    '2024-01-01 10:00:03 WARN disk: Disk /dev/sda1 is 91% full' \
    '2024-01-01 10:00:04 INFO net: Connected to 192.168.1.7 port 80' \
    '2024-01-01 10:00:05 WARN disk: Disk /dev/sdb2 is 95% full' \
    '2024-01-01 10:00:06 ERROR job: job 4711 failed after 3 retries' \
    >"$TMP/app.log"
FMT='<Date> <Time> <Level> <Component>: <Content>'

out=$("$BIN" logs parse --format "$FMT" --out "$TMP/ids" "$TMP/app.log")
rc=$?
[ "$rc" -eq 0 ] || fail "parse exited $rc"
# Most frequent first, with counts; no CR left in a template.
expected=$(printf 'ID\tCOUNT\tTEMPLATE\n0\t3\tConnected to <*> port <*>\n1\t2\tDisk <*> is <*>%% full\n2\t1\tjob <*> failed after <*> retries')
[ "$out" = "$expected" ] || fail "templates: got
$out"
case "$out" in *$'\r'*) fail "a CR reached the output" ;; esac
ids=$(tr '\n' ' ' <"$TMP/ids")
[ "$ids" = "0 0 1 0 1 2 " ] || fail "ids: got '$ids'"

# Without --format the header is part of the message, masked (date, time).
out=$("$BIN" logs parse "$TMP/app.log" | sed -n 2p)
[ "$out" = "$(printf '0\t3\t<*> INFO net: Connected to <*> port <*>')" ] || fail "no format: got '$out'"

# --mask: a user regex turns the names into <*>, so even at --st 1 (only
# identical masked messages group) the three lines share one template; ids
# to stdout, templates to stderr.
printf 'start alpha\nstart beta\nstart gamma\n' >"$TMP/m.log"
ids=$("$BIN" logs parse --st 1 --out - "$TMP/m.log" 2>/dev/null | tr '\n' ' ')
[ "$ids" = "0 1 2 " ] || fail "no mask ids: got '$ids'"
ids=$("$BIN" logs parse --st 1 --mask 'alpha|beta|gamma' --out - "$TMP/m.log" 2>"$TMP/err" | tr '\n' ' ')
[ "$ids" = "0 0 0 " ] || fail "mask ids: got '$ids'"
grep -qF "$(printf '0\t3\tstart <*>')" "$TMP/err" || fail "mask template: $(cat "$TMP/err")"

# Standard input and --json.
json=$(printf 'a 1\na 2\n' | "$BIN" logs parse --json -)
echo "$json" | grep -q '"template": "a <\*>"' || fail "json: $json"
echo "$json" | grep -q '"count": 2' || fail "json count: $json"

# Bad input: missing file and bad regex exit 1 with one line; bad flag exits 2.
"$BIN" logs parse "$TMP/nope.log" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] || fail "missing file should exit 1"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "missing file: $(cat "$TMP/err")"
"$BIN" logs parse --mask '(' "$TMP/app.log" >/dev/null 2>&1
[ $? -eq 1 ] || fail "bad regex should exit 1"
"$BIN" logs parse --format 'no content field' "$TMP/app.log" >/dev/null 2>&1
[ $? -eq 1 ] || fail "format without <Content> should exit 1"
"$BIN" logs parse --bogus "$TMP/app.log" >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown flag should exit 2"
"$BIN" logs parse --st 2 "$TMP/app.log" >/dev/null 2>&1
[ $? -eq 1 ] || fail "--st 2 should exit 1"

[ "$fails" -eq 0 ] && echo "ok test_logs" || exit 1
