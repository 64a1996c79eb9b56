#!/usr/bin/env bash
# Self-check for tests/rye_stub.py: starts the stand-in on a free port, drives it with curl
# (both generations, paging, auth, the sliding-window 429, the fault knobs), checks the answers
# with small python3 JSON asserts, and stops it again (trap).
# Exit 0 when everything passed, 1 otherwise (each failure is printed).
set -u

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
KEY=selftest-rye-key-5d1f
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

python3 "$here/rye_stub.py" --port 0 --port-file "$tmp/port" --api-key "$KEY" \
	2>"$tmp/stub.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
if [ ! -s "$tmp/port" ]; then echo "FAIL: stub did not start"; cat "$tmp/stub.log"; exit 1; fi
ROOT=http://127.0.0.1:$(cat "$tmp/port")
V=$ROOT/api/v1
GQL=$ROOT/v1/query

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# call METHOD URL BODY [curl args...]: sets $code; body in $tmp/body, headers in $tmp/hdr.
# API requests are paced below the stand-in's 10 reads/s, so that a fast
# machine never meets the real limit outside the checks that burst on
# purpose (those call curl themselves).
call() {
	local m=$1 u=$2 b=$3
	shift 3
	case "$u" in */_control/*) ;; *) sleep 0.12 ;; esac
	local args=(-sS --max-time 10 -X "$m" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}')
	if [ -n "$b" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$b"); fi
	: >"$tmp/body"
	code=$(curl "${args[@]}" "$@" "$u" 2>"$tmp/curlerr") || code="curl-exit-$?"
}
api() { call GET "$1" "" -H "Authorization: Bearer $KEY" -H 'Accept: application/json'; }
gql() { call POST "$GQL" "$1" -H "Authorization: Basic $KEY"; }
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
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
# header NAME: its value in the last answer of $tmp/hdr (a multi-URL curl appends every answer's)
header() { tr -d '\r' <"$tmp/hdr" | awk -v h="$1" 'BEGIN{IGNORECASE=1} index(tolower($0), tolower(h)":")==1 {sub(/^[^:]*: */,""); v=$0} /^HTTP\// {v=""} END {print v}'; }
# wait until the rate windows of earlier requests have emptied
quiet() { sleep 1.1; }

echo "stub at $ROOT"

# --- seed through the control API ------------------------------------------------------------
ctl POST intents '{"intents":[{"id":"ci_self1","state":"completed","orderId":"ord_1",
 "referenceId":"order-1234","buyer":{"email":"john@example.com","postalCode":"10001","country":"US"}}]}'
expect "seed intent" "$code/$(j 'd["intents"][0]["state"]')" 200/completed
expect "intent createdAt filled" "$(j '"createdAt" in d["intents"][0]')" True
ctl POST shipments '{"shipments":[
 {"id":"shp_a","checkoutIntentId":"ci_self1","marketplaceOrderId":"112-3","status":"shipped",
  "tracking":{"number":"1Z999AA10123456784","carrierName":"UPS","url":null,"deliveryDate":null},
  "trackingEvents":[]},
 {"id":"shp_b","checkoutIntentId":"ci_self1","status":"out_for_delivery",
  "tracking":{"number":"9400","carrierName":"USPS","estimatedDeliveryDate":"2025-02-07T00:00:00Z"},
  "trackingEvents":[{"description":"Out","displayDate":"Feb 6","displayTime":"7:02 AM","location":"NY"}]},
 {"id":"shp_c","checkoutIntentId":"ci_self1"}]}'
expect "seed shipments" "$code/$(j 'len(d["shipments"])')" 200/3
expect "shipment status default" "$(j 'd["shipments"][2]["status"]')" ordered
evs='{"events":['
for i in $(seq 1 250); do
	evs="$evs{\"id\":\"evt_$i\",\"type\":\"shipment.updated\",\"source\":{\"type\":\"shipment\",\"id\":\"shp_a\"}},"
done
evs="$evs{\"raw\":\"{ \\\"id\\\" : \\\"evt_raw\\\", \\\"type\\\":\\\"checkout_intent.completed\\\" }\"}]}"
ctl POST events "$evs"
expect "seed events" "$code/$(j 'len(d["events"])')" 200/251
expect "raw event kept as given" "$(j 'd["events"][-1]["raw"]')" '{ "id" : "evt_raw", "type":"checkout_intent.completed" }'
expect "event object filled" "$(j 'json.loads(d["events"][0]["raw"])["object"]')" event
ctl POST orders '{"orders":[{"id":"00401732-8a19","status":"SUCCEEDED","marketplace":"SHOPIFY",
 "marketplaceOrderIds":["5523456789"],"shipments":[{"carrierName":"UPS","carrierTrackingNumber":"1Z9",
 "carrierTrackingUrl":null,"extra":"not selected"}],"events":[{"__typename":"TrackingObtainedOrderEvent",
 "id":"3c1d","createdAt":"2023-04-13T09:02:11Z","reason":"not selected"},{"__typename":
 "OrderFailedOrderEvent","id":"e2","createdAt":"2023-04-13T10:00:00Z","reason":"declined"}]}]}'
expect "seed order" "$code" 200

# --- gen 2: objects, headers, errors -----------------------------------------------------------
api "$V/checkout-intents/ci_self1"
expect "intent" "$code/$(j 'd["id"], d["buyer"]["postalCode"]')" "200/('ci_self1', '10001')"
expect "RateLimit-Policy" "$(header RateLimit-Policy)" '"default";q=10;w=1'
case "$(header RateLimit)" in
'"default";r='[0-9]*';t='[0-9]*) ;;
*) fail "RateLimit header: '$(header RateLimit)'" ;;
esac
api "$V/checkout-intents/ci_nope"
expect "unknown intent" "$code/$(j 'd["name"]')" 404/NotFoundError
[ -n "$(j 'd["message"]')" ] || fail "404 without message"
expect "404 carries RateLimit too" "$(header RateLimit-Policy)" '"default";q=10;w=1'
api "$V/shipments/shp_b"
expect "older-form shipment served as given" "$(j 'd["tracking"]["estimatedDeliveryDate"]')" 2025-02-07T00:00:00Z
api "$V/checkout-intents/ci_self1/shipments?limit=2"
expect "shipments page 1" "$(j '[s["id"] for s in d["data"]], d["pageInfo"]["hasNextPage"]')" "(['shp_c', 'shp_b'], True)"
api "$V/checkout-intents/ci_self1/shipments?limit=2&after=$(j 'd["pageInfo"]["endCursor"]')"
expect "shipments page 2" "$(j '[s["id"] for s in d["data"]], d["pageInfo"]["hasNextPage"]')" "(['shp_a'], False)"
api "$V/checkout-intents/ci_nope/shipments"
expect "shipments of an unknown intent" "$code" 404
api "$V/checkout-intents/ci_self1/order"
expect "no gen-2 order yet" "$code/$(j 'd["name"]')" 404/NotFoundError
api "$V/checkout-intents?state=completed&state=failed"
expect "intents filtered by state" "$(j '[i["id"] for i in d["data"]]')" "['ci_self1']"
api "$V/events?limit=0"
expect "limit 0" "$code/$(j 'd["name"]')" 400/BadRequestError
api "$V/events?limit=101"
expect "limit 101" "$code" 400
api "$V/events?after=garbage!"
expect "bad cursor" "$code" 400
call POST "$V/events" "{}" -H "Authorization: Bearer $KEY"
expect "POST to a read" "$code/$(j 'd["name"]')" 405/MethodNotAllowedError
call GET "$ROOT/elsewhere/api/v1/events" "" -H "Authorization: Bearer $KEY"
expect "outside /api: plain 404" "$code/$(header Content-Type)" "404/text/plain; charset=utf-8"

# --- gen 2: auth --------------------------------------------------------------------------------
call GET "$V/checkout-intents/ci_self1" "" -H "Authorization: Basic $KEY"
expect "Basic also works for gen 2" "$code" 200
call GET "$V/checkout-intents/ci_self1" ""
expect "no key" "$code/$(j 'd["name"]')" 401/UnauthorizedError
call GET "$V/checkout-intents/ci_self1" "" -H "Authorization: Bearer wrong"
expect "wrong key" "$code/$(j 'd["name"]')" 401/UnauthorizedError
call GET "$V/checkout-intents/ci_self1" "" -H "Authorization: $KEY"
expect "key without a scheme" "$code" 401
ctl POST faults '{"rest_schemes":["Basic"]}'
api "$V/checkout-intents/ci_self1"
expect "rest_schemes Basic refuses Bearer" "$code" 401
ctl POST faults '{"rest_schemes":["Bearer","Basic"],"echo_key":true}'
call GET "$V/checkout-intents/ci_self1" "" -H "Authorization: Bearer not-the-key-77"
expect "echo_key quotes the key presented" "$(j '"not-the-key-77" in d["message"]')" True
ctl POST faults '{"reset":true}'

# --- gen 2: paging the events, newest first --------------------------------------------------
quiet
seen=0 cursor="" pages=0 first="" last=""
while :; do
	api "$V/events?limit=100${cursor:+&after=$cursor}"
	[ "$code" = 200 ] || { fail "events page $pages: $code"; break; }
	pages=$((pages + 1))
	n=$(j 'len(d["data"])')
	seen=$((seen + n))
	[ -z "$first" ] && first=$(j 'd["data"][0]["id"]')
	last=$(j 'd["data"][-1]["id"]')
	more=$(j 'd["pageInfo"]["hasNextPage"]')
	cursor=$(j 'd["pageInfo"]["endCursor"]')
	[ "$more" = True ] || break
	[ $pages -lt 10 ] || { fail "events paging did not end"; break; }
done
expect "events pages" "$pages" 3
expect "events seen" "$seen" 251
expect "newest first" "$first/$last" evt_raw/evt_1
expect "last page prev" "$(j 'd["pageInfo"]["hasPreviousPage"]')" True
grep -q '{ "id" : "evt_raw", "type":"checkout_intent.completed" }' "$tmp/body" ||
	api "$V/events?limit=1"
grep -q '{ "id" : "evt_raw", "type":"checkout_intent.completed" }' "$tmp/body" ||
	fail "raw event not served byte for byte"
api "$V/events?limit=3"
api "$V/events?limit=2&before=$(j 'd["pageInfo"]["endCursor"]')"
expect "before: the two just newer" "$(j '[e["id"] for e in d["data"]]')" "['evt_raw', 'evt_250']"
api "$V/events/evt_7"
expect "one event" "$(j 'd["id"], d["source"]["id"]')" "('evt_7', 'shp_a')"
api "$V/checkout-intents?limit=5&after=$cursor"
expect "a cursor from another list" "$code" 400

# --- gen 2: real 429s in a sliding one-second window -------------------------------------------
quiet
ctl POST faults '{"rate_limit":3}'
args=()
for _ in 1 2 3 4 5 6 7 8 9; do args+=(-o /dev/null "$V/checkout-intents/ci_self1"); done
args+=(-o "$tmp/body" -D "$tmp/hdr" "$V/checkout-intents/ci_self1")
codes=$(curl -s --max-time 10 -H "Authorization: Bearer $KEY" -w '%{http_code} ' "${args[@]}")
case "$codes" in
"200 200 200 429 "*) ;;
*) fail "rate limit 3/s: $codes" ;;
esac
expect "429 body" "$(j 'd["name"]')" RateLimitError
expect "429 policy" "$(header RateLimit-Policy)" '"default";q=3;w=1'
expect "429 remaining" "$(header RateLimit)" '"default";r=0;t=1'
ctl GET log
expect "log: the window was full at each 429" "$(j 'all(r["r"] == 0 for r in d["requests"] if r["status"] == 429)')" True
expect "log: r counts down" "$(j '[r["r"] for r in d["requests"][-10:-7]]')" "[2, 1, 0]"
expect "log never holds the key" "$(grep -c "$KEY" "$tmp/body")" 0
quiet
api "$V/checkout-intents/ci_self1"
expect "after the window slid" "$code" 200
ctl POST faults '{"rate_limit":3,"retry_after_header":true,"retry_after_body":true}'
args=()
for _ in 1 2 3; do args+=(-o /dev/null "$V/checkout-intents/ci_self1"); done
args+=(-o "$tmp/body" -D "$tmp/hdr" "$V/checkout-intents/ci_self1")
curl -s --max-time 10 -H "Authorization: Bearer $KEY" "${args[@]}" >/dev/null
expect "Retry-After on a real 429" "$(header Retry-After)" 1
expect "retryAfter in the body" "$(j 'd["retryAfter"]')" 1
ctl POST faults '{"reset":true}'
quiet

# --- gen 2: fault knobs --------------------------------------------------------------------------
ctl POST faults '{"force_429":{"count":1,"retry_after":"7","body_retry_after":5}}'
api "$V/checkout-intents/ci_self1"
expect "forced 429" "$code/$(header Retry-After)/$(j 'd["retryAfter"]')" 429/7/5
ctl POST faults '{"force_429":{"count":1},"ratelimit_headers":"not_on_429"}'
api "$V/checkout-intents/ci_self1"
expect "429 without headers" "$code/$(header RateLimit)/$(header Retry-After)" "429//"
api "$V/checkout-intents/ci_self1"
expect "headers back after the 429" "$code/$(header RateLimit-Policy)" '200/"default";q=10;w=1'
ctl POST faults '{"reset":true,"status_5xx":{"count":2,"code":502}}'
api "$V/checkout-intents/ci_self1"
expect "5xx with Rye's body" "$code/$(j 'd["name"]')" 502/BadGatewayError
ctl POST faults '{"status_5xx":{"count":1,"code":503,"plain":true}}'
api "$V/checkout-intents/ci_self1"
expect "5xx plain" "$code/$(header Content-Type)" "503/text/plain"
ctl POST faults '{"error_status":{"count":1,"code":403}}'
api "$V/checkout-intents/ci_self1"
expect "error_status 403" "$code/$(j 'd["name"]')" 403/ForbiddenError
api "$V/checkout-intents/ci_self1"
expect "after the counted faults" "$code" 200
ctl POST faults '{"malformed_json_count":1}'
api "$V/checkout-intents/ci_self1"
expect "malformed" "$code/$(j 'd')" "200/<JSONDecodeError>"
ctl POST faults '{"drop_count":1}'
api "$V/checkout-intents/ci_self1"
expect "dropped connection (curl exit 52)" "$code" curl-exit-52
ctl POST faults '{"huge_body":{"count":1,"bytes":5000000}}'
api "$V/checkout-intents/ci_self1"
expect "huge body, still JSON" "$code/$(stat -c %s "$tmp/body")/$(j 'd["id"]')" 200/5000000/ci_self1
ctl POST faults '{"ratelimit_report":{"count":1,"r":0,"t":2}}'
api "$V/checkout-intents/ci_self1"
expect "ratelimit_report" "$(header RateLimit)" '"default";r=0;t=2'
ctl POST faults '{"slow_ms":300,"slow_count":1}'
t0=$(date +%s%N)
api "$V/checkout-intents/ci_self1"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 300 ] || fail "slow_ms: answered in $(((t1 - t0) / 1000000)) ms"
quiet

ctl POST faults '{"endless_paging":"repeat"}'
api "$V/events?limit=100"
c1=$(j 'd["pageInfo"]["endCursor"]')
api "$V/events?limit=100&after=$c1"
expect "repeat: hasNextPage" "$(j 'd["pageInfo"]["hasNextPage"]')" True
expect "repeat: same cursor" "$(j 'd["pageInfo"]["endCursor"]')" "$c1"
expect "repeat: first page again" "$(j 'd["data"][0]["id"]')" evt_raw
ctl POST faults '{"endless_paging":"new"}'
api "$V/events?limit=100"
c1=$(j 'd["pageInfo"]["endCursor"]')
api "$V/events?limit=100&after=$c1"
c2=$(j 'd["pageInfo"]["endCursor"]')
[ "$c1" != "$c2" ] || fail "new: the cursor did not change"
expect "new: hasNextPage" "$(j 'd["pageInfo"]["hasNextPage"]')" True
ctl POST faults '{"reset":true}'

# --- gen 1: GraphQL ------------------------------------------------------------------------------
Q='query OrderById($id: ID!) { orderByID(id: $id) { id status marketplace marketplaceOrderIds shipments { carrierName carrierTrackingNumber carrierTrackingUrl } events { __typename id createdAt ... on OrderFailedOrderEvent { reason } ... on OrderCancelFailedOrderEvent { reason } } } }'
gql "{\"query\":\"$Q\",\"variables\":{\"id\":\"00401732-8a19\"}}"
expect "orderByID" "$code/$(j 'd["data"]["orderByID"]["status"]')" 200/SUCCEEDED
expect "orderByID selection" "$(j 'sorted(d["data"]["orderByID"]["shipments"][0])')" \
	"['carrierName', 'carrierTrackingNumber', 'carrierTrackingUrl']"
expect "reason only where the query asks" "$(j '[e.get("reason") for e in d["data"]["orderByID"]["events"]]')" "[None, 'declined']"
expect "gen-1 headers" "$(header Ratelimit-Limit)/$(header Ratelimit-Tier)" 100/default
gql "{\"query\":\"$Q\",\"variables\":{\"id\":\"unknown\"}}"
expect "unknown order" "$code/$(j 'd["data"]["orderByID"]')" 200/None
gql '{"query":"{ orderByID(id: \"00401732-8a19\") { id } }"}'
expect "inline id" "$(j 'd["data"]["orderByID"]["id"]')" 00401732-8a19
gql '{"query":"{ viewer { id } }"}'
expect "not orderByID: errors" "$code/$(j 'd["errors"][0]["message"] != ""')" 200/True
gql '{"query":'
expect "not JSON" "$code/$(j 'len(d["errors"])')" 400/1
call POST "$GQL" "{\"query\":\"$Q\",\"variables\":{\"id\":\"x\"}}" -H "Authorization: Bearer $KEY"
expect "gen 1 wants Basic" "$code/$(j 'd["errors"][0]["extensions"]["code"]')" 401/UNAUTHENTICATED
ctl POST faults '{"graphql_auth_status":200}'
call POST "$GQL" "{\"query\":\"$Q\"}" -H "Authorization: Basic wrong"
expect "bad key as a 200" "$code/$(j 'd["errors"][0]["extensions"]["code"]')" 200/UNAUTHENTICATED
ctl POST faults '{"reset":true,"graphql_rate_limit":2}'
quiet
codes=$(curl -s --max-time 10 -H "Authorization: Basic $KEY" -H 'Content-Type: application/json' \
	--data-binary "{\"query\":\"$Q\",\"variables\":{\"id\":\"x\"}}" -w '%{http_code} ' \
	-o /dev/null "$GQL" -o /dev/null "$GQL" -o /dev/null "$GQL")
expect "gen-1 rate limit 2/s" "$codes" "200 200 429 "

# --- log, reset ----------------------------------------------------------------------------------
ctl GET log
expect "log gens" "$(j 'sorted(set(r["gen"] for r in d["requests"] if r["gen"]))')" "[1, 2]"
expect "log schemes (a bare key is 'other')" "$(j 'sorted(set(r["scheme"] for r in d["requests"] if r["scheme"]))')" "['Basic', 'Bearer', 'other']"
[ "$(grep -c "$KEY" "$tmp/body")" = 0 ] || fail "the log holds the key"
ctl POST log/clear
ctl GET log
expect "log cleared" "$(j 'len(d["requests"])')" 0
ctl POST reset
api "$V/checkout-intents/ci_self1"
expect "reset forgets the data" "$code" 404

kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	fail "stub still running 5 s after SIGTERM"
else
	wait "$pid"
	expect "exit status after SIGTERM" "$?" 0
	pid=
fi

if [ "$fails" -ne 0 ]; then
	echo "--- stub log (tail) ---"
	tail -n 30 "$tmp/stub.log"
	echo "$fails check(s) FAILED"
	exit 1
fi
echo "all rye stub checks passed"
exit 0
