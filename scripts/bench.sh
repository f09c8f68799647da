#!/bin/sh
# Runs every benchmark program in BUILD/bench with its defaults and prints
# their figures. Benchmarks are never part of `make test`.
set -u
build=$1
for b in "$build"/bench/*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || echo "bench $(basename "$b") failed with status $?"
done
