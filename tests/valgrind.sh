#!/bin/bash
# webhook.fcgi and api.fcgi as plain CGI under valgrind: a representative
# set of requests (a good event, its duplicate, a bad signature, invalid
# JSON, the URL handshake, tracking, the operator's order view and list,
# health), each run under memcheck with definite and indirect leaks
# counted as errors.  Any error, or an answer other than the expected
# status, fails the test.
#
# Not part of a --enable-sanitizers build's tests (valgrind cannot run
# ASan programs: tests/Makefile.inc leaves it out there); CI installs
# valgrind, so its absence is a failure, not a skip.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
webhook=$top_builddir/cgi/webhook.fcgi
api=$top_builddir/cgi/api.fcgi
cli=$top_builddir/cgi/shiptrack

if ! command -v valgrind >/dev/null; then
  echo "not ok - valgrind is not installed (apt-get install valgrind)"; exit 1
fi
if grep -qa __asan_init "$webhook"; then
  echo "not ok - built with -fsanitize=address: valgrind cannot run it"; exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shiptrack-valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
db=$tmp/shiptrack.db
secret=whsec_test_secret_7f3a9c
token=tok_test_operator_5b1e2d
failed=0 n=0

export SHIPTRACK_CONFIG=/dev/null SHIPTRACK_DATABASE=$db \
  SHIPTRACK_WEBHOOK_SECRET=$secret SHIPTRACK_API_TOKEN=$token \
  SHIPTRACK_LOOKUP_SECRET=lk_test_lookup_5d2e9a SHIPTRACK_DURABILITY=normal \
  GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1
"$cli" migrate >/dev/null || { echo "not ok - shiptrack migrate"; exit 1; }

vg=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no
    --num-callers=30)

sign() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$secret" -binary | base64 -w0; }

# run NAME EXPECTED_STATUS PROGRAM [VAR=VALUE...] -- BODY
run() {
  local name=$1 want=$2 prog=$3 body out status rc
  shift 3
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  body=$2
  n=$((n + 1))
  out=$tmp/out.$n
  printf '%s' "$body" | env "${vars[@]}" "${vg[@]}" --log-file="$tmp/vg.$n" \
    "$prog" > "$out" 2> "$tmp/err.$n"
  rc=$?
  status=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$out" | tr -d '\r')
  if [ $rc -ne 0 ] || [ "$status" != "$want" ] || [ -s "$tmp/vg.$n" ]; then
    echo "not ok - $name: exit $rc, status ${status:-none} (expected $want)"
    sed 's/^/#   /' "$tmp/vg.$n" | head -120
    head -c 600 "$out" | sed 's/^/#   answer: /'
    tail -5 "$tmp/err.$n" | sed 's/^/#   stderr: /'
    failed=$((failed + 1))
  else
    echo "ok - $name ($status)"
  fi
}

post() {  # post NAME STATUS BODY [SIGNATURE]
  local sig=${4-$(sign "$3")}
  run "$1" "$2" "$webhook" REQUEST_METHOD=POST CONTENT_LENGTH=${#3} \
    HTTP_RYE_HMAC_SIGNATURE_V1="$sig" -- "$3"
}

get() {  # get NAME STATUS PATH_INFO [QUERY_STRING]
  run "$1" "$2" "$api" REQUEST_METHOD=GET PATH_INFO="$3" QUERY_STRING="${4-}" \
    HTTP_AUTHORIZATION="Bearer $token" -- ""
}

order=ord_valgrind_1
placed='{"id":"evt_vg_1","requestId":"'$order'","createdAt":"2025-03-01T09:00:00Z","type":"ORDER_PLACED","data":{"marketplace":"shopify"}}'
tracking='{"id":"evt_vg_2","requestId":"'$order'","createdAt":"2025-03-01T09:05:00.250Z","type":"TRACKING_OBTAINED","data":{"marketplace":"shopify","order":{"trackingNumber":"1ZVALGRIND1","courierName":"UPS","courierUrl":"https://ups.example/1ZVALGRIND1"},"shipments":[{"carrierTrackingNumber":"9400VALGRIND"},{"carrierName":"FedEx"}]}}'
handshake='{"id":"evt_vg_hs","createdAt":"2025-03-01T09:00:00Z","type":"WEBHOOK_URL_VERIFICATION","data":{"challenge":"chal_vg"}}'
gen2='{"id":"evt_vg_3","object":"event","type":"checkout_intent.completed","createdAt":"2025-03-01T09:10:00Z","source":{"type":"checkout_intent","id":"ci_valgrind_1"}}'

post "good event" 200 "$placed"
post "duplicate" 200 "$placed"
post "tracking event" 200 "$tracking"
post "bad signature" 401 "$placed" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
post "invalid JSON" 400 '{"id":"evt_vg_bad","type":'
post "missing field" 400 '{"id":"evt_vg_nofield","type":"ORDER_PLACED"}'
post "handshake" 200 "$handshake"
run "gen-2 event" 200 "$webhook" REQUEST_METHOD=POST CONTENT_LENGTH=${#gen2} \
  HTTP_X_RYE_SIGNATURE="v0=$(printf '%s' "$gen2" | openssl dgst -sha256 -hmac "$secret" -hex | sed 's/.*= //')" \
  -- "$gen2"
run "wrong method" 405 "$webhook" REQUEST_METHOD=GET -- ""
get "API order view" 200 "/v1/orders/$order"
get "API unknown order" 404 "/v1/orders/ord_nobody"
get "API order list" 200 "/v1/orders" "limit=10"
get "API list, bad parameter" 400 "/v1/orders" "limit=abc"
get "API health" 200 "/v1/health"
get "API stats" 200 "/v1/stats"

echo "# $n requests under valgrind, $failed failed"
[ $failed -eq 0 ]
