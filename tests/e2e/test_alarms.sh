#!/usr/bin/env bash
# End-to-end checks of alarm intake against `aios serve` (no model needed):
# an Alertmanager v4 webhook with curl, deduplication of a resend, a
# resolution, a generic alarm, 400s that name the bad field with nothing
# stored, the payload bounds (1001 alerts: 400; a body past the limit: 413),
# incidents over HTTP, an API key, and the CLI listings on the same data
# directory (also while the server runs).
set -u
AIOS_BIN=${AIOS_BIN:-build/aios}
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
tmp=$(mktemp -d "${AIOS_TEST_TMP:-/tmp}/alarms.XXXXXX" 2>/dev/null || mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

fails=0
checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$AIOS_BIN" checks init --data-dir "$tmp/data" >/dev/null || fail "checks init"
"$AIOS_BIN" serve --port 0 --api-key k1 --data-dir "$tmp/data" --http-max-body-mb 1 \
    --alarm-group-by cluster,service \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=""
for _ in $(seq 100); do
    url=$(grep -o 'http://[^ ]*' "$tmp/out" 2>/dev/null | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ -n "$url" ] || { echo "server did not start"; cat "$tmp/out" "$tmp/err"; exit 1; }

K=(-H "Authorization: Bearer k1")
req() { # req METHOD PATH [curl args...]: sets $code and $body
    local m=$1 p=$2
    shift 2
    body=$(curl -s -o - -w '\n%{http_code}' -X "$m" "${K[@]}" "$@" "$url$p")
    code=${body##*$'\n'}
    body=${body%$'\n'*}
}
post() { req POST /api/v1/alarms -H "Content-Type: application/json" --data-binary "$1"; }
expect() { # expect CODE SUBSTRING...
    local want=$1
    shift
    checks=$((checks + 1))
    [ "$code" = "$want" ] || fail "$what: status $code, expected $want ($body)"
    for s in "$@"; do
        case $body in *"$s"*) ;; *) fail "$what: body lacks $s: $body" ;; esac
    done
}
# jq-free field access: py 'EXPR' evaluates EXPR with j = the JSON of $body.
py() { python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($1)" <<<"$body"; }
eq() { checks=$((checks + 1)); [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

alert() { # alert STATUS NAME INSTANCE
    printf '{"status":"%s","labels":{"alertname":"%s","cluster":"prod","service":"api","instance":"%s","severity":"critical"},"annotations":{"summary":"%s on %s"},"startsAt":"2026-11-29T09:00:00.000Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"%s"}' \
        "$1" "$2" "$3" "$2" "$3" "$4"
}
webhook() { # webhook STATUS ALERTS...
    local st=$1
    shift
    local IFS=,
    printf '{"version":"4","groupKey":"{}:{alertname=\\"HighLatency\\"}","truncatedAlerts":0,"status":"%s","receiver":"aios","groupLabels":{"alertname":"HighLatency"},"commonLabels":{"alertname":"HighLatency"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093","alerts":[%s]}' \
        "$st" "$*"
}

what="intake without key"
body=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$url/api/v1/alarms")
eq "$body" 401 "$what"

what="webhook firing"
post "$(webhook firing "$(alert firing HighLatency web-1 a1b2c3d4e5f60001)" "$(alert firing HighLatency web-2 a1b2c3d4e5f60002)")"
expect 200 '"kind":"alertmanager"' '"accepted":2' '"created":2'
inc=$(py 'j["alarms"][0]["incident_id"]')
eq "$(py 'j["alarms"][1]["incident_id"]')" "$inc" "two instances, one incident"

what="webhook resend (dedup)"
post "$(webhook firing "$(alert firing HighLatency web-1 a1b2c3d4e5f60001)")"
expect 200 '"action":"updated"' '"created":0'
req GET /api/v1/alarms
expect 200 '"object":"list"'
eq "$(py 'len(j["data"])')" 2 "alarms after a resend"
eq "$(py '[a["count"] for a in j["data"] if a["fingerprint"]=="a1b2c3d4e5f60001"][0]')" 2 "resend counted"

what="webhook resolved"
post "$(webhook resolved "$(alert resolved HighLatency web-1 a1b2c3d4e5f60001)")"
expect 200 '"action":"resolved"' '"resolved":1'
req GET '/api/v1/alarms?status=firing'
eq "$(py 'len(j["data"])')" 1 "firing after a resolution"
req GET '/api/v1/alarms?status=resolved'
eq "$(py 'j["data"][0]["fingerprint"]')" a1b2c3d4e5f60001 "the resolved one"

what="generic alarm"
post '{"source":"zabbix","name":"DiskFull","severity":"major","labels":{"host":"db1","cluster":"prod"},"annotations":{"summary":"/var at 97%"}}'
expect 200 '"kind":"generic"' '"created":1'
ginc=$(py 'j["alarms"][0]["incident_id"]')
[ "$ginc" != "$inc" ] || fail "generic alarm of another name joined the webhook's incident"

# Bad payloads: 400 naming the field, and nothing stored.
req GET /api/v1/alarms
before=$(py 'len(j["data"])')
what="labels not an object"
post "$(webhook firing "$(alert firing A i1 01)" "$(alert firing A i2 02)" "$(alert firing A i3 03)" '{"status":"firing","labels":"oops","startsAt":"2026-11-29T09:00:00Z"}')"
expect 400 '"param":"alerts[3].labels"' 'alerts[3].labels: expected an object' '"type":"invalid_request_error"'
what="bad status"
post "$(webhook firing '{"status":"on fire","labels":{},"startsAt":"2026-11-29T09:00:00Z"}')"
expect 400 '"param":"alerts[0].status"'
what="bad time"
post "$(webhook firing '{"status":"firing","labels":{},"startsAt":"yesterday"}')"
expect 400 '"param":"alerts[0].startsAt"'
what="generic without name"
post '{"severity":"critical"}'
expect 400 '"param":"name"' 'required field is missing'
what="generic unknown field"
post '{"name":"X","lables":{}}'
expect 400 '"param":"lables"' 'unknown field'
what="not JSON"
post '{"alerts": [}'
expect 400 '"code":"invalid_json"'
what="1001 alerts"
post "$(python3 -c 'import json; a={"status":"firing","labels":{"alertname":"Flood","i":"x"},"startsAt":"2026-11-29T09:00:00Z"}; print(json.dumps({"version":"4","alerts":[a]*1001}))')"
expect 400 '"param":"alerts"' '1001 alarms'
what="body past the limit"
python3 -c 'import json; print(json.dumps({"name":"Big","annotations":{"a%d"%i:"x"*60000 for i in range(20)}}))' >"$tmp/huge.json"
req POST /api/v1/alarms -H "Content-Type: application/json" --data-binary "@$tmp/huge.json"
expect 413 '"code":"request_too_large"'
req GET /api/v1/alarms
eq "$(py 'len(j["data"])')" "$before" "alarms after rejected payloads"

# Incidents over HTTP.
what="incidents list"
req GET /api/v1/incidents
expect 200 '"object":"list"'
eq "$(py 'len(j["data"])')" 2 "incidents"
what="incident get"
req GET "/api/v1/incidents/$inc"
expect 200 '"status":"open"' '"title":"HighLatency (cluster=prod, service=api)"'
eq "$(py 'len(j["alarms"])')" 2 "alarms of the incident"
eq "$(py 'j["firing_count"]')" 1 "firing alarms of the incident"
what="grouping setting"
post '{"name":"ErrorRate","labels":{"cluster":"prod","service":"api"}}'
expect 200
eq "$(py 'j["alarms"][0]["incident_id"]')" "$inc" "--alarm-group-by cluster,service: another alertname joins"
what="incident missing"
req GET /api/v1/incidents/999
expect 404
req GET /api/v1/incidents/abc
expect 404
what="bad filter"
req GET '/api/v1/alarms?status=burning'
expect 400 '"param":"status"'

what="checks catalogue"
req GET /api/v1/checks
expect 200 '"object":"list"' '"problems":[]' '"name":"host_oom_kill"'
eq "$(py 'len(j["data"])')" 8 "checks over HTTP"

# The CLI reads the same store while the server runs.
D=(--data-dir "$tmp/data")
"$AIOS_BIN" alarms list "${D[@]}" >"$tmp/list" 2>&1 || fail "alarms list: $(cat "$tmp/list")"
checks=$((checks + 1))
grep -q "HighLatency" "$tmp/list" && grep -q "DiskFull" "$tmp/list" || fail "alarms list text: $(cat "$tmp/list")"
"$AIOS_BIN" alarms list "${D[@]}" --status resolved --json >"$tmp/list.json" || fail "alarms list --json"
body=$(cat "$tmp/list.json")
eq "$(py 'len(j)')" 1 "alarms list --status resolved --json"
"$AIOS_BIN" incidents list "${D[@]}" >"$tmp/inc" || fail "incidents list"
checks=$((checks + 1))
grep -q "HighLatency (cluster=prod, service=api)" "$tmp/inc" || fail "incidents list text: $(cat "$tmp/inc")"
"$AIOS_BIN" incidents show "$inc" "${D[@]}" --json >"$tmp/show.json" || fail "incidents show"
body=$(cat "$tmp/show.json")
eq "$(py 'j["id"]')" "$inc" "incidents show --json"
"$AIOS_BIN" alarms list "${D[@]}" --status burning >/dev/null 2>&1
eq $? 2 "alarms list --status burning exits 2"
"$AIOS_BIN" incidents show 999 "${D[@]}" >/dev/null 2>&1
eq $? 1 "incidents show of a missing incident exits 1"

# CLI intake (the same function as the HTTP route), then seen over HTTP.
printf '%s' '{"alarms":[{"name":"CliAlarm","labels":{"cluster":"prod"}},{"name":"CliAlarm","labels":{"cluster":"prod"}}]}' >"$tmp/cli.json"
"$AIOS_BIN" alarms post "$tmp/cli.json" "${D[@]}" >"$tmp/post.json" || fail "alarms post: $(cat "$tmp/post.json")"
body=$(cat "$tmp/post.json")
eq "$(py 'j["created"], j["updated"]')" "1 1" "alarms post with a duplicate"
printf '{"name": 3}' | "$AIOS_BIN" alarms post - "${D[@]}" >/dev/null 2>"$tmp/post.err"
eq $? 1 "alarms post of a bad payload exits 1"
checks=$((checks + 1))
grep -q "name: expected a string" "$tmp/post.err" || fail "alarms post error: $(cat "$tmp/post.err")"
req GET '/api/v1/alarms?limit=1'
eq "$(py 'j["data"][0]["name"]')" CliAlarm "CLI intake seen over HTTP"

# The incident window, set on the command line: 1 s.
W=(--data-dir "$tmp/w" --incident-window-s 1)
printf '%s' '{"name":"Flap","status":"resolved","labels":{"cluster":"c"}}' >"$tmp/flap.json"
"$AIOS_BIN" alarms post "$tmp/flap.json" "${W[@]}" >"$tmp/w1.json" || fail "window post 1"
"$AIOS_BIN" alarms post "$tmp/cli.json" "${W[@]}" >/dev/null || fail "window post 2"
sleep 1.2
"$AIOS_BIN" incidents list "${W[@]}" --status closed --json >"$tmp/w2.json" || fail "window list"
body=$(cat "$tmp/w2.json")
eq "$(py 'len(j)')" 1 "the resolved-only incident closed after the 1 s window"
"$AIOS_BIN" alarms post "$tmp/flap.json" "${W[@]}" >"$tmp/w3.json" || fail "window post 3"
body=$(cat "$tmp/w1.json")
first=$(py 'j["alarms"][0]["incident_id"]')
body=$(cat "$tmp/w3.json")
checks=$((checks + 1))
[ "$(py 'j["alarms"][0]["incident_id"]')" != "$first" ] || fail "an alarm after the window reopened the closed incident"

kill "$pid"
wait "$pid" 2>/dev/null
pid=""
"$AIOS_BIN" store check "${D[@]}" >"$tmp/check" 2>&1 || fail "store check: $(cat "$tmp/check")"
checks=$((checks + 1))
grep -q "migration alarms 1" "$tmp/check" || fail "alarms migration not recorded: $(cat "$tmp/check")"

echo "$checks checks, $fails failed"
[ "$fails" = 0 ]
