# Shared helpers for the shell end-to-end tests (sourced, not run).
set -u
AIOS=${AIOS_BIN:?AIOS_BIN must point at the built aios}
FAILS=0
CHECKS=0
TMP=$(mktemp -d "${AIOS_TEST_TMP:-/tmp}/e2e.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }
# expect_rc WANT DESCRIPTION -- CMD...: runs CMD, stdout to $TMP/out, stderr to $TMP/err.
expect_rc() {
    want=$1; desc=$2; shift 3
    CHECKS=$((CHECKS + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    if [ "$got" != "$want" ]; then
        fail "$desc: exit $got, want $want"; sed 's/^/  stderr: /' "$TMP/err" | head -5 >&2
    fi
}
# expect_grep FILE PATTERN DESCRIPTION
expect_grep() {
    CHECKS=$((CHECKS + 1))
    grep -qE -- "$2" "$1" || { fail "$3: /$2/ not in $(basename "$1")"; head -5 "$1" | sed 's/^/  /' >&2; }
}
fixtures_or_skip() {
    FIX=${AIOS_FIXTURES:-${AIOS_SOURCE_DIR:-.}/../shared/fixtures}
    if [ ! -d "$FIX" ]; then
        if [ "${CI:-}" = true ]; then echo "fixtures missing at $FIX (required under CI)" >&2; exit 1; fi
        echo "SKIP: fixtures missing at $FIX"; exit 77
    fi
}
finish() {
    echo "$CHECKS checks, $FAILS failed"
    [ "$FAILS" = 0 ] && [ "$CHECKS" -gt 0 ]
    exit $?
}
