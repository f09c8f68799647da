#!/usr/bin/env bash
# End-to-end checks of the checks catalogue CLI: `aios checks init` writes
# the examples, `list` shows them (text and JSON), `validate` accepts good
# files and names file and field for bad ones, and a bad file in the
# directory is reported (exit 1) while the other files still list.
. "$(dirname "$0")/lib.sh"
D=(--data-dir "$TMP/data")

expect_rc 0 "list without a catalogue" -- "$AIOS" checks list "${D[@]}"
expect_grep "$TMP/out" "no checks in .*checks init" "hint to init"
expect_rc 0 "init" -- "$AIOS" checks init "${D[@]}"
expect_grep "$TMP/out" "wrote .*/checks/examples.yaml" "init says what it wrote"
expect_rc 1 "init again" -- "$AIOS" checks init "${D[@]}"
expect_grep "$TMP/err" "exists \(--force replaces it\)" "init refuses to overwrite"
expect_rc 0 "init --force" -- "$AIOS" checks init "${D[@]}" --force
expect_rc 0 "list" -- "$AIOS" checks list "${D[@]}"
expect_grep "$TMP/out" "^host_high_cpu_load +yes +ewma +warning +metric +runbooks/" "list row"
expect_grep "$TMP/out" "^host_oom_kill .* log " "log check row"
expect_rc 0 "list --json" -- "$AIOS" checks list "${D[@]}" --json
expect_grep "$TMP/out" '"detector": "holt_winters"' "json detector"
expect_grep "$TMP/out" '"problems": \[\]' "json problems empty"
expect_rc 0 "validate examples" -- "$AIOS" checks validate "$TMP/data/checks/examples.yaml"
expect_grep "$TMP/out" "examples.yaml: ok \(8 checks\)" "validate counts"

cat >"$TMP/bad.yaml" <<'YAML'
checks:
  - name: api_errors
    metric: rate(http_errors_total[5m])
    detector: ewma
    params: {alpha: 3}
    severity: critical
    runbook: runbooks/api-errors.md
YAML
expect_rc 1 "validate a bad file" -- "$AIOS" checks validate "$TMP/bad.yaml"
expect_grep "$TMP/err" "bad.yaml: checks\[0\]\.params\.alpha: 3 is outside \[1e-05, 1\] for detector ewma" \
    "validate names file and field"
printf 'checks: [\n' >"$TMP/broken.yaml"
expect_rc 1 "validate broken YAML" -- "$AIOS" checks validate "$TMP/broken.yaml"
expect_grep "$TMP/err" "broken.yaml: line [0-9]+, column [0-9]+" "YAML error position"
expect_rc 1 "validate a missing file" -- "$AIOS" checks validate "$TMP/nope.yaml"

cp "$TMP/bad.yaml" "$TMP/data/checks/bad.yaml"
expect_rc 1 "list with a bad file" -- "$AIOS" checks list "${D[@]}"
expect_grep "$TMP/out" "^kubernetes_pod_crash_looping " "good files still list"
expect_grep "$TMP/err" "checks/bad.yaml: checks\[0\]\.params\.alpha" "bad file reported"
expect_rc 1 "list --json with a bad file" -- "$AIOS" checks list "${D[@]}" --json
expect_grep "$TMP/out" '"file": ".*bad.yaml"' "json names the bad file"
finish
