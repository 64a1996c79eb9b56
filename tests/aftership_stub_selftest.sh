#!/usr/bin/env bash
# Self-check for tests/aftership_stub.py: starts the stub on a free port, drives it with curl,
# checks the answers with small python3 JSON asserts, and stops it again (trap).
# Exit 0 when everything passed, 1 otherwise (each failure is printed).
set -u

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
KEY=selftest-key
pid=

# shellcheck disable=SC2317  # called through the trap
cleanup() {
	# Bounded: a stub that outlived SIGTERM must not hold the test for ever.
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

python3 "$here/aftership_stub.py" --port 0 --port-file "$tmp/port" --api-key "$KEY" \
	--state "$tmp/state.json" 2>"$tmp/stub.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
if [ ! -s "$tmp/port" ]; then echo "FAIL: stub did not start"; cat "$tmp/stub.log"; exit 1; fi
ROOT=http://127.0.0.1:$(cat "$tmp/port")
V=$ROOT/tracking/2025-07
V4=$ROOT/v4

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# call METHOD URL BODY [curl args...]: sets $code; body in $tmp/body, headers in $tmp/hdr.
call() {
	local m=$1 u=$2 b=$3
	shift 3
	local args=(-sS --max-time 5 -X "$m" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}')
	if [ -n "$b" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$b"); fi
	: >"$tmp/body"
	code=$(curl "${args[@]}" "$@" "$u" 2>"$tmp/curlerr") || code="curl-exit-$?"
}
api() { call "$1" "$2" "${3-}" -H "as-api-key: $KEY"; }       # versioned key header
api4() { call "$1" "$2" "${3-}" -H "aftership-api-key: $KEY"; } # legacy key header
ctl() { call "$1" "$ROOT/_control/$2" "${3-}"; }

# j EXPR: evaluate a python expression over the last body (bound to d).
j() {
	python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
    print(eval(sys.argv[2]))
except Exception as e:
    print("<%s>" % type(e).__name__)' "$tmp/body" "$1"
}
# expect WHAT ACTUAL WANTED
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
header() { tr -d '\r' <"$tmp/hdr" | awk -v h="$1" 'BEGIN{IGNORECASE=1} index(tolower($0), tolower(h)":")==1 {sub(/^[^:]*: */,""); print}'; }
# wait until just after the start of the next one-second rate-limit window
next_second() { python3 -c 'import time; time.sleep(1.02 - time.time() % 1)'; }

echo "stub at $ROOT"

# --- a reset forgets a request still sleeping in a slow fault ---------------------------------
ctl POST reset
ctl POST faults '{"slow_ms": 1500, "slow_count": 1}'
call POST "$V/trackings" '{"tracking_number": "1ZSLOWRESET000001", "slug": "ups"}' \
	-H "as-api-key: $KEY" --max-time 0.3
ctl POST reset
sleep 1.6
api GET "$V/trackings?tracking_numbers=1ZSLOWRESET000001"
expect "a slow create answered after a reset registers nothing" "$(j 'len(d["data"]["trackings"])')" 0


# --- create, duplicate, detection errors ------------------------------------------------
api POST "$V/trackings" '{"tracking_number":"1Z999AA10123456784","title":"selftest"}'
expect "create status" "$code" 201
expect "create meta.code" "$(j 'd["meta"]["code"]')" 201
expect "create detected slug" "$(j 'd["data"]["slug"]')" ups
expect "create starts Pending" "$(j 'd["data"]["tag"]+"/"+d["data"]["subtag"]')" Pending/Pending_001
expect "create id length" "$(j 'len(d["data"]["id"])')" 32
expect "create legacy_id length" "$(j 'len(d["data"]["legacy_id"])')" 24
expect "create no checkpoints" "$(j 'd["data"]["checkpoints"]')" "[]"
expect "as-api-version header" "$(header as-api-version)" 2025-07
expect "X-RateLimit-Limit on create" "$(header X-RateLimit-Limit)" 20
[ -n "$(header X-RateLimit-Reset)" ] || fail "no X-RateLimit-Reset header"
ID=$(j 'd["data"]["id"]')

api POST "$V/trackings" '{"tracking_number":"1Z999AA10123456784"}'
expect "duplicate status" "$code" 400
expect "duplicate meta.code" "$(j 'd["meta"]["code"]')" 4003

api POST "$V/trackings" '{"tracking_number":"NOCOURIER42"}'
expect "undetectable status" "$code" 400
expect "undetectable meta.code" "$(j 'd["meta"]["code"]')" 4012

api POST "$V/trackings" '{"tracking_number":"NOCOURIER42","slug":"no-such-courier"}'
expect "unknown slug meta.code" "$(j 'd["meta"]["code"]')" 4010

api POST "$V/trackings" '{"tracking_number":"AB 12"}'
expect "invalid number meta.code" "$(j 'd["meta"]["code"]')" 4005

api POST "$V/trackings" '{"title":"no number"}'
expect "missing number meta.code" "$(j 'd["meta"]["code"]')" 4007

api POST "$V/trackings" '{"tracking_number":'
expect "invalid JSON meta.code" "$(j 'd["meta"]["code"]')" 4001

# --- get by id, unknown id ----------------------------------------------------------------
api GET "$V/trackings/$ID"
expect "get status" "$code" 200
expect "get unwrapped id" "$(j 'd["data"]["id"]')" "$ID"
expect "get number" "$(j 'd["data"]["tracking_number"]')" 1Z999AA10123456784

api GET "$V/trackings/0123456789abcdef0123456789abcdef"
expect "unknown id status" "$code" 404
expect "unknown id meta" "$(j 'd["meta"]["code"], d["meta"]["type"]')" "(4004, 'BadRequest')"

api GET "$V/trackings/ups/1Z999AA10123456784"
expect "slug+number route gone in 2025-07" "$code" 404

api GET "$V/nothing-here"
expect "unknown route" "$code/$(j 'd["meta"]["code"]')" 404/404

api DELETE "$V/trackings"
expect "wrong method" "$code" 405

# --- advance via control API, then list with updated_at_min -------------------------------
ctl POST advance '{"tracking_number":"1Z999AA10123456784","tag":"InTransit","message":"Departed","location":"Louisville, KY","updated_at":"2030-01-01T00:00:00Z","expected_delivery":"2030-01-03"}'
expect "advance status" "$code" 200
api GET "$V/trackings?updated_at_min=2029-12-31T23:00:00%2B00:00"
expect "list since status" "$code" 200
expect "list since only the advanced one" "$(j '[t["id"] for t in d["data"]["trackings"]] == ["'"$ID"'"]')" True
expect "advanced tag" "$(j 'd["data"]["trackings"][0]["tag"]')" InTransit
expect "advanced checkpoint" "$(j 'd["data"]["trackings"][0]["checkpoints"][0]["message"]')" Departed
expect "advanced edd" "$(j 'd["data"]["trackings"][0]["latest_estimated_delivery"]["datetime"]')" 2030-01-03
expect "2025-07 uses country_region" "$(j '"country_region" in d["data"]["trackings"][0]["checkpoints"][0]')" True

api GET "$V/trackings?updated_at_min=2029-12-31T23:00:00+00:00"
expect "unencoded + status" "$code" 400
expect "unencoded + meta.code" "$(j 'd["meta"]["code"]')" 4008

# --- cursor walk over three pages ---------------------------------------------------------
ctl POST seed '{"trackings":[
 {"tracking_number":"SELFCUR001","slug":"dhl","updated_at":"2031-01-01T00:00:07Z"},
 {"tracking_number":"SELFCUR002","slug":"dhl","updated_at":"2031-01-01T00:00:01Z"},
 {"tracking_number":"SELFCUR003","slug":"dhl","updated_at":"2031-01-01T00:00:05Z"},
 {"tracking_number":"SELFCUR004","slug":"dhl","updated_at":"2031-01-01T00:00:02Z","tag":"Delivered"},
 {"tracking_number":"SELFCUR005","slug":"dhl","updated_at":"2031-01-01T00:00:03Z"},
 {"tracking_number":"SELFCUR006","slug":"dhl","updated_at":"2031-01-01T00:00:06Z"},
 {"tracking_number":"SELFCUR007","slug":"dhl","updated_at":"2031-01-01T00:00:04Z"}]}'
expect "seed" "$code/$(j 'd["seeded"]')" 200/7
NUMS=SELFCUR001,SELFCUR002,SELFCUR003,SELFCUR004,SELFCUR005,SELFCUR006,SELFCUR007
next_second
seen=""
cursor=""
for page in 1 2 3; do
	api GET "$V/trackings?tracking_numbers=$NUMS&limit=3${cursor:+&cursor=$cursor}"
	expect "cursor page $page status" "$code" 200
	expect "cursor page $page total" "$(j 'd["data"]["pagination"]["total"]')" 7
	seen="$seen$(j '"".join(t["tracking_number"][-1] for t in d["data"]["trackings"])')"
	cursor=$(j 'd["data"]["pagination"]["next_cursor"] or ""')
	more=$(j 'd["data"]["pagination"]["has_next_page"]')
	if [ "$page" -lt 3 ]; then expect "page $page has_next_page" "$more" True; fi
done
expect "cursor walk order (by updated_at)" "$seen" 2457361
expect "last page has_next_page" "$more" False
expect "last page next_cursor" "$cursor" ""

# --- legacy v4: wrapped bodies, page pagination, slug+number route --------------------------
api4 POST "$V4/trackings" '{"tracking":{"tracking_number":"TBA123456789000","order_id":"ord-1"}}'
expect "v4 create status" "$code" 201
expect "v4 wrapped slug" "$(j 'd["data"]["tracking"]["slug"]')" amazon
expect "v4 no version header" "$(header as-api-version)" ""
expect "v4 rate limit" "$(header X-RateLimit-Limit)" 10
api4 POST "$V4/trackings" '{"tracking_number":"TBA123456789001"}'
expect "v4 unwrapped body" "$code/$(j 'd["meta"]["code"]')" 400/4006
api4 GET "$V4/trackings/amazon/TBA123456789000"
expect "v4 slug+number route" "$code/$(j 'd["data"]["tracking"]["order_id"]')" 200/ord-1
expect "v4 uses country_iso3" "$(j '"origin_country_iso3" in d["data"]["tracking"]')" True
call GET "$V4/trackings?limit=4&page=1" "" -H "as-api-key: $KEY"
expect "v4 accepts as-api-key" "$code" 200
count=$(j 'd["data"]["count"]')
expect "v4 count" "$count" 9
ids=$(j '" ".join(t["id"] for t in d["data"]["trackings"])')
for page in 2 3; do
	api4 GET "$V4/trackings?limit=4&page=$page"
	expect "v4 page $page" "$(j 'd["data"]["page"], d["data"]["limit"]')" "($page, 4)"
	ids="$ids $(j '" ".join(t["id"] for t in d["data"]["trackings"])')"
done
expect "v4 pages cover all once" "$(echo "$ids" | tr ' ' '\n' | sort -u | wc -l)" "$count"

# --- auth -----------------------------------------------------------------------------------
call GET "$V/trackings/$ID" "" -H "as-api-key: wrong"
expect "wrong key" "$code/$(j 'd["meta"]["code"]')" 401/401
call GET "$V/trackings/$ID" "" -H "aftership-api-key: $KEY"
expect "versioned refuses aftership-api-key" "$code" 401
call GET "$V/trackings/$ID" ""
expect "missing key" "$code" 401

# --- rate limit: GET /trackings/{id} is 5/s ----------------------------------------------
codes=""
for _ in 1 2 3; do
	next_second
	args=()
	for _ in 1 2 3 4 5 6 7; do args+=(-o /dev/null "$V/trackings/$ID"); done
	args+=(-o "$tmp/body" "$V/trackings/$ID")
	codes=$(curl -s --max-time 5 -H "as-api-key: $KEY" -w '%{http_code} ' "${args[@]}")
	[ "$codes" = "200 200 200 200 200 429 429 429 " ] && break
done
expect "rate limit 5/s" "$codes" "200 200 200 200 200 429 429 429 "
expect "429 meta" "$(j 'd["meta"]["code"], d["meta"]["type"]')" "(429, 'TooManyRequests')"

# --- faults -----------------------------------------------------------------------------------
next_second
ctl POST faults '{"status_5xx":{"count":1,"code":503}}'
expect "set 5xx fault" "$code" 200
api GET "$V/trackings/$ID"
expect "fault 503 status" "$code" 503
expect "fault 503 is plain text" "$(header Content-Type)" "text/plain; charset=utf-8"
expect "fault 503 body not JSON" "$(j 'd')" "<JSONDecodeError>"
api GET "$V/trackings/$ID"
expect "after the fault" "$code" 200

ctl POST faults '{"malformed_json_count":1}'
api GET "$V/trackings/$ID"
expect "malformed status" "$code" 200
expect "malformed body" "$(j 'd')" "<JSONDecodeError>"

ctl POST faults '{"drop_count":1}'
api GET "$V/trackings/$ID"
expect "dropped connection (curl exit 52)" "$code" curl-exit-52

ctl POST faults '{"quota_exhausted":true,"retry_after":true}'
api GET "$V/trackings/$ID"
expect "quota exhausted" "$code/$(j 'd["meta"]["code"]')" 429/429
[ -n "$(header Retry-After)" ] || fail "no Retry-After with retry_after knob"
ctl POST faults '{"headers":{"Retry-After":"9223372036854775807","X-RateLimit-Reset":null}}'
expect "set headers knob" "$code" 200
api GET "$V/trackings/$ID"
expect "headers knob: Retry-After as given" "$(header Retry-After)" 9223372036854775807
expect "headers knob: X-RateLimit-Reset left out" "$(header X-RateLimit-Reset)" ""
ctl POST faults '{"headers":{"Bad Name":"x"}}'
expect "headers knob refuses a bad name" "$code" 400
ctl POST faults '{"reset":true}'
api GET "$V/trackings/$ID"
expect "after faults reset" "$code" 200
expect "after faults reset: own X-RateLimit-Reset" "$([ -n "$(header X-RateLimit-Reset)" ] && echo yes)" yes

# --- endless list pages -------------------------------------------------------------------------
next_second
ctl POST faults '{"endless_list":"fresh"}'
expect "set endless_list" "$code" 200
api GET "$V/trackings?limit=200"
expect "endless page 1 more" "$(j 'd["data"]["pagination"]["has_next_page"]')" True
expect "endless page 1 holds the real ones" "$(j 'len(d["data"]["trackings"]) > 1')" True
c1=$(j 'd["data"]["pagination"]["next_cursor"]')
api GET "$V/trackings?limit=200&cursor=$c1"
expect "endless page 2" "$(j 'd["data"]["pagination"]["has_next_page"], [t["tracking_number"] for t in d["data"]["trackings"]]')" "(True, ['1ZENDLESS00000002'])"
c2=$(j 'd["data"]["pagination"]["next_cursor"]')
[ "$c1" != "$c2" ] || fail "endless fresh: the same cursor twice ($c1)"
api4 GET "$V4/trackings?limit=200&page=7"
expect "endless v4 page 7" "$(j 'd["data"]["page"], d["data"]["page"] * d["data"]["limit"] < d["data"]["count"], [t["tracking_number"] for t in d["data"]["trackings"]]')" "(7, True, ['1ZENDLESS00000007'])"
api GET "$V/trackings?tracking_numbers=1Z999AA10123456784"
expect "endless: lookups end" "$(j 'd["data"]["pagination"]["has_next_page"]')" False
ctl POST faults '{"endless_list":"repeat"}'
api GET "$V/trackings?limit=200&cursor=$c2"
r1=$(j 'd["data"]["pagination"]["next_cursor"], [t["id"] for t in d["data"]["trackings"]]')
api GET "$V/trackings?limit=200&cursor=$(j 'd["data"]["pagination"]["next_cursor"]')"
expect "endless repeat: the same page again" "$(j 'd["data"]["pagination"]["next_cursor"], [t["id"] for t in d["data"]["trackings"]]')" "$r1"
ctl POST faults '{"endless_list":"sometimes"}'
expect "endless_list refuses other values" "$code" 400
ctl POST faults '{"reset":true}'
api GET "$V/trackings?limit=200"
expect "endless off after reset" "$(j 'd["data"]["pagination"]["has_next_page"]')" False

# --- request log ------------------------------------------------------------------------------
ctl GET log
expect "log records key header" "$(j 'd["requests"][-1]["key_header"]')" as-api-key
expect "log never holds the key" "$(grep -c "$KEY" "$tmp/body")" 0
ctl POST log/clear
ctl GET log
expect "log cleared" "$(j 'len(d["requests"])')" 0

# --- clean shutdown writes --state --------------------------------------------------------------
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	fail "stub still running 5 s after SIGTERM"
else
	wait "$pid"
	expect "exit status after SIGTERM" "$?" 0
	pid=
	cp "$tmp/state.json" "$tmp/body" 2>/dev/null
	expect "state file holds the trackings" "$(j 'len(d["trackings"])')" 9
fi

if [ "$fails" -ne 0 ]; then
	echo "--- stub log (tail) ---"
	tail -n 30 "$tmp/stub.log"
	echo "$fails check(s) FAILED"
	exit 1
fi
echo "all aftership stub checks passed"
exit 0
