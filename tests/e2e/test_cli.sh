#!/usr/bin/env bash
# The aios command line: help for every command, usage errors, version,
# configuration precedence (flag > env > file > default).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
unset AIOS_DATA_DIR AIOS_PORT AIOS_THREADS AIOS_CONFIG AIOS_LOG_LEVEL

expect_rc 0 "aios help" -- "$AIOS" help
expect_grep "$TMP/out" '^  version' "help lists version"
cmds=$(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$TMP/out")
[ -n "$cmds" ] || fail "no commands parsed from aios help"
for c in $cmds; do
    expect_rc 0 "aios $c --help" -- "$AIOS" "$c" --help
    expect_grep "$TMP/out" "usage: aios $c" "aios $c --help shows usage"
    expect_rc 0 "aios help $c" -- "$AIOS" help "$c"
done

expect_rc 2 "no command" -- "$AIOS"
expect_rc 2 "unknown command" -- "$AIOS" frobnicate
expect_grep "$TMP/err" "unknown command 'frobnicate'" "unknown command message"
expect_grep "$TMP/err" "^usage: aios" "unknown command prints usage"
expect_rc 2 "bad flag" -- "$AIOS" version --nope
expect_grep "$TMP/err" "unknown option '--nope'" "bad flag message"
expect_rc 2 "extra argument" -- "$AIOS" version extra
expect_rc 2 "bad setting value" -- "$AIOS" version --port eighty
expect_grep "$TMP/err" "integer" "bad setting value message"
expect_rc 2 "unknown subcommand" -- "$AIOS" config frob
expect_rc 2 "missing flag value" -- "$AIOS" config show --port

expect_rc 0 "version" -- "$AIOS" version
expect_grep "$TMP/out" '^aios [0-9]+\.[0-9]+\.[0-9]+' "version line"
expect_grep "$TMP/out" '^build: ' "build type"
expect_grep "$TMP/out" '^compiler: ' "compiler"
expect_grep "$TMP/out" '^features: ' "cpu features"

# Precedence: default, then file, then env, then flag.
expect_rc 0 "config show defaults" -- "$AIOS" config show
expect_grep "$TMP/out" '^port +8080 +default' "port default"
printf 'port = 9001\nthreads = 3\n' >aios.conf
AIOS_THREADS=4 expect_rc 0 "config show file+env" -- "$AIOS" config show
expect_grep "$TMP/out" '^port +9001 +file' "port from file"
expect_grep "$TMP/out" '^threads +4 +env' "threads from env beats file"
AIOS_PORT=9002 expect_rc 0 "config show flag" -- "$AIOS" config show --port 9003
expect_grep "$TMP/out" '^port +9003 +flag' "flag beats env and file"
expect_rc 0 "config show --json" -- "$AIOS" config show --json --data-dir=/x
expect_grep "$TMP/out" '"source": "flag"' "json shows source"
printf 'port = 1\n' >other.conf
expect_rc 0 "--config FILE" -- "$AIOS" config show --config other.conf
expect_grep "$TMP/out" '^port +1 +file' "--config file used"
expect_rc 2 "--config missing" -- "$AIOS" config show --config nothere.conf
printf 'bogus = 1\n' >aios.conf
expect_rc 2 "bad config file" -- "$AIOS" version
expect_grep "$TMP/err" "aios.conf:1: unknown setting 'bogus'" "bad config names file and line"
rm aios.conf
AIOS_LOG_LEVEL=loud expect_rc 2 "bad log level" -- "$AIOS" version
finish
