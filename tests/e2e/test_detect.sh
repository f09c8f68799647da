#!/usr/bin/env bash
# `aios detect`: scores a CSV series, flags an injected spike with a reason,
# prints JSON, lists the detectors, and rejects bad input with clear errors.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# 600 points, 5 minutes apart: a smooth wave with a little deterministic
# jitter, and one spike at row 500 (2024-01-02 17:35:00).
awk 'BEGIN { print "timestamp,value"; t = 1704067200
  for (i = 0; i < 600; i++) {
    v = 50 + 10 * sin(i * 2 * 3.14159265 / 288) + ((i * 37) % 11) / 5.0
    if (i == 500) v += 60
    printf "%d,%.3f\n", t + 300 * i, v } }' > spike.csv
spike_ts="2024-01-02 17:40:00"

for d in mad ewma holt_winters ensemble; do
    expect_rc 0 "detect --detector $d" -- "$AIOS" detect --detector "$d" spike.csv
    expect_grep "$TMP/out" "^$spike_ts .*(WARN|CRITICAL)  .*[0-9]" "$d flags the spike with a reason"
    lines=$(wc -l < "$TMP/out")
    [ "$lines" = 600 ] || fail "$d: $lines output lines, want 600"
done

expect_rc 0 "detect --alerts" -- "$AIOS" detect --detector mad --alerts spike.csv
expect_grep "$TMP/out" "^$spike_ts .*sigma above" "alerts-only output has the spike and why"
n=$(wc -l < "$TMP/out")
[ "$n" -lt 20 ] || fail "--alerts printed $n lines for one spike"

expect_rc 0 "detect --json" -- "$AIOS" detect --detector mad --param window=100 --json spike.csv
expect_grep "$TMP/out" '"points_total": 600' "json has the total"
expect_grep "$TMP/out" "\"timestamp\":\"$spike_ts\",\"value\":[0-9.]+,\"score\":0\\.9[0-9]*,\"verdict\":\"(WARN|CRITICAL)\",\"reason\"" "json spike point"
if command -v python3 >/dev/null; then
    CHECKS=$((CHECKS + 1))
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["points"]) == 600' "$TMP/out" \
        || fail "detect --json is not valid JSON with 600 points"
fi

expect_rc 0 "detect --list" -- "$AIOS" detect --list
for d in windowed_gaussian ewma mad seasonal spectral_residual holt_winters level_shift forest ensemble; do
    expect_grep "$TMP/out" "^$d\$" "--list shows $d"
done
expect_rc 0 "detect --list --json" -- "$AIOS" detect --list --json
expect_grep "$TMP/out" '"name": "windowed_gaussian"' "json list"

expect_rc 2 "unknown detector" -- "$AIOS" detect --detector nope spike.csv
expect_grep "$TMP/err" "unknown detector 'nope'" "unknown detector message"
expect_rc 2 "unknown parameter" -- "$AIOS" detect --detector mad --param frob=1 spike.csv
expect_grep "$TMP/err" "no parameter 'frob'" "unknown parameter message"
expect_rc 2 "parameter out of range" -- "$AIOS" detect --detector mad --param window=1 spike.csv
expect_grep "$TMP/err" "outside" "range message"
expect_rc 2 "no file" -- "$AIOS" detect --detector mad
expect_rc 1 "missing file" -- "$AIOS" detect nofile.csv
printf 'timestamp,value\n2024-01-01 00:00:00,1\nnot a time,2\n' > bad.csv
expect_rc 1 "bad timestamp" -- "$AIOS" detect bad.csv
expect_grep "$TMP/err" "line 3: bad timestamp" "bad timestamp names the line"
printf 'timestamp,value\n2024-01-01 00:00:00,abc\n' > bad2.csv
expect_rc 1 "bad value" -- "$AIOS" detect bad2.csv
expect_grep "$TMP/err" "line 2: bad value" "bad value names the line"
finish
