#!/bin/sh
# Runs every fuzz target in BUILD/fuzz for SECONDS each, starting from the
# seed corpus in tests/fuzz/corpus/NAME (copied, so the seeds stay as they are).
set -eu
build=$1
secs=$2
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for f in "$build"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    work="$build/fuzz-corpus/$name"
    mkdir -p "$work"
    [ -d "$root/tests/fuzz/corpus/$name" ] && cp -n "$root/tests/fuzz/corpus/$name"/* "$work"/ 2>/dev/null || true
    echo "fuzz: $name for ${secs}s"
    if ! "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$build/fuzz-$name-" "$work" \
        >"$build/fuzz-$name.log" 2>&1; then
        echo "fuzz: $name FAILED; see $build/fuzz-$name.log" >&2
        tail -30 "$build/fuzz-$name.log" >&2
        status=1
    else
        grep -E 'stat::number_of_executed_units|cov:' "$build/fuzz-$name.log" | tail -2
    fi
done
exit $status
