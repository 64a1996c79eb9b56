#!/usr/bin/env python3
"""A stand-in Rye API server for shiptrack's tests (stdlib only).

    python3 tests/rye_stub.py --port 0 --port-file PATH [--api-key KEY]

It listens on 127.0.0.1 and serves both generations of shared/spec/rye-api.md on one port.

Gen 2, REST (GET only; anything else under /api/ answers 405 MethodNotAllowedError):
  /api/v1/checkout-intents/{id}            CheckoutIntent
  /api/v1/checkout-intents                 page; filters `id`, `state` (repeat the key for more)
  /api/v1/checkout-intents/{id}/shipments  page of that intent's shipments; 404 if the intent is unknown
  /api/v1/checkout-intents/{id}/order      Order; 404 until one exists
  /api/v1/shipments/{id}                   Shipment
  /api/v1/shipments                        page; filters `ids`, `status`
  /api/v1/orders/{id}, /api/v1/orders      Order, page
  /api/v1/events/{id}, /api/v1/events      Event, page (paging only, no filters)
  Paging: `limit` 1-100 (default 100), `after` / `before` (opaque cursors, base64url); answer
  {"data": [...], "pageInfo": {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}}
  (both cursors null on an empty page). A cursor from another list, or garbage: 400.
  Authorization: `Bearer <key>` or `Basic <key>`, the raw key (rye-api.md: the key works with
  both; the `rest_schemes` knob narrows that). Any non-empty key is an account unless --api-key
  is given, then only that key.
  Errors: {"name", "message"}: 400 BadRequestError, 401 UnauthorizedError, 404 NotFoundError,
  405 MethodNotAllowedError, 429 RateLimitError (+ "retryAfter" with a knob), 5xx
  InternalServerError / ServiceUnavailableError. Paths outside /api/ and /v1/query: 404 text/plain
  (as a wrong base URL would meet: not Rye's JSON).
  Rate limit, as rye-api.md: reads 10/s per key, enforced for real in a SLIDING one-second window
  (Rye's window kind is not documented; sliding is the stricter). Every answer carries
  `RateLimit-Policy: "default";q=<limit>;w=1` and `RateLimit: "default";r=<R>;t=<T>`: R = requests
  left in the window after this one, T = whole seconds (rounded up) until the oldest request in
  the window leaves it, 0 when the window is empty. A 429 is not counted; nor is a 401.

Gen 1, GraphQL: POST /v1/query, `Authorization: Basic <key>` only (a Bearer header is a bad key),
  body {"query", "variables": {"id"}}. The query must ask for orderByID; the id comes from
  variables.id or an inline `orderByID(id: "...")`. The answer always has the selection of
  rye-api.md's query: {"data": {"orderByID": {id, status, marketplace, marketplaceOrderIds,
  shipments {carrierName carrierTrackingNumber carrierTrackingUrl}, events {__typename id createdAt
  (+ reason on OrderFailedOrderEvent / OrderCancelFailedOrderEvent)}}}}; unknown id: orderByID
  null (HTTP 200). A query without orderByID or without an id: 200 {"errors": [...], "data": null};
  a body that is not JSON: 400 {"errors": [...]}. A bad key: 401 {"errors": [{"message":
  "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]} (INVENTED: rye-api.md says the
  code for a bad key is not documented; the `graphql_auth_status` knob makes it a 200).
  Rate limit 100/s per key, sliding window, headers Ratelimit-Limit, Ratelimit-Remaining,
  Ratelimit-Tier ("default"), Ratelimit-Reset (seconds, rounded up, until a slot frees).

ORDER OF LISTS: every list is served NEWEST FIRST (the item created last comes first; for events,
  the one appended last). Real Rye's order is NOT documented (rye-api.md: "Sort order: not
  documented"); a client must not rely on this one.

Control API for tests (not Rye; under /_control/, no auth, not rate limited, not logged, no
faults; errors {"ok": false, "error": "..."}):
  GET  /_control/health           {"ok": true, "port": N}
  POST /_control/intents          {"intents": [{...}]}: create, or merge into the one with that id.
        Filled in when absent: id "ci_<hex>", createdAt (now), state "retrieving_offer". Every
        other key is served as given (nulls and odd types too). -> {"ok", "intents": [...]}
  POST /_control/shipments        {"shipments": [{...}]}: the same; filled in: id "shp_<hex>",
        createdAt, updatedAt (now; an update moves updatedAt unless given), status "ordered".
        Served as given, so either shipment form (current or older) can be seeded.
        `checkoutIntentId` ties it to an intent. -> {"ok", "shipments": [...]}
  POST /_control/events           {"events": [{...} | {"raw": "<JSON object text>"}]}: appended.
        Filled in: id "evt_<hex>", object "event", createdAt. A "raw" event is served byte for byte
        as given (it must be a JSON object; no id is added to it). -> {"ok", "events": [{"id",
        "raw"}]}: "raw" is the exact text the events pages will carry.
  POST /_control/orders           gen-1 orders {"orders": [{...}]}: create or merge. Filled in:
        id (a UUID), status "PENDING", marketplace "SHOPIFY", marketplaceOrderIds [], shipments [],
        events []. Status is any string.
  POST /_control/v2orders         gen-2 orders {"orders": [{"checkoutIntentId", ...}]}: filled in:
        id "ord_<hex>", createdAt, updatedAt, cancellation null.
  POST /_control/faults           any of (GET shows the current values):
        {"reset": true}                              back to defaults (applied first)
        {"status_5xx": {"count": N, "code": 503, "plain": false}}
                                                     next N API requests: that code; Rye's JSON
                                                     error body, or text/plain when plain
        {"error_status": {"count": N, "code": C, "name"?, "message"?}}
                                                     next N: that code with a Rye error body
        {"slow_ms": N, "slow_count": K}              delay answers N ms (K requests; no K: all)
        {"malformed_json_count": N}                  next N answers: body cut in half (status kept)
        {"drop_count": N}                            next N: close the connection, no answer
        {"huge_body": {"count": N, "bytes": B}}      next N 2xx answers padded to B bytes (still
                                                     valid JSON: a "_padding" member)
        {"endless_paging": "new" | "repeat" | null}  lists say hasNextPage true forever: "new", a
                                                     fresh endCursor each time; "repeat", the same
                                                     one; following such a cursor serves the first
                                                     page again
        {"rate_limit": N | null}                     gen-2 reads/s per key (null: unlimited, and no
                                                     RateLimit headers)
        {"graphql_rate_limit": N | null}             gen-1 requests/s per key (default 100)
        {"ratelimit_headers": "all" | "not_on_429" | "none"}
        {"force_429": {"count": N, "retry_after"?: header value, "body_retry_after"?: value}}
                                                     next N API requests: 429 whatever the window
        {"retry_after_header": true}                 real 429s carry Retry-After: T
        {"retry_after_body": true}                   real 429s carry "retryAfter": T
        {"ratelimit_report": {"count": N, "r": R, "t": T}}
                                                     next N gen-2 answers report this RateLimit
        {"rest_schemes": ["Bearer", "Basic"]}        schemes gen 2 accepts
        {"graphql_auth_status": 401 | 200}
        {"echo_key": true}                           401 messages quote the key presented (a
                                                     careless server; clients must mask it)
  GET  /_control/log[?since=SEQ]  {"ok", "requests": [{seq, time, mono, method, path, query, gen,
        scheme, key_ok, status, error, fault, r, t, ms}]}, oldest first. `time`/`mono`: when the
        request reached the stub (wall / monotonic seconds). The key itself is never recorded.
  POST /_control/log/clear
  POST /_control/reset            forget everything (data, faults, log, rate windows)
"""

import argparse
import base64
import binascii
import bisect
import json
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_RATE = 10
DEFAULT_GQL_RATE = 100
PAGE_MAX = 100
ERROR_NAMES = {400: "BadRequestError", 401: "UnauthorizedError", 403: "ForbiddenError",
               404: "NotFoundError", 405: "MethodNotAllowedError", 409: "ConflictError",
               422: "ValidationError", 429: "RateLimitError", 500: "InternalServerError",
               502: "BadGatewayError", 503: "ServiceUnavailableError"}
REASON_EVENTS = ("OrderFailedOrderEvent", "OrderCancelFailedOrderEvent")


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (datetime.now(timezone.utc).microsecond // 1000)


def new_hex():
    return uuid.uuid4().hex[:16]


class RyeError(Exception):
    """A gen-2 error answer."""

    def __init__(self, status, message, name=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.name = name or ERROR_NAMES.get(status, "Error")


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- data

class Item:
    """One stored object: its creation sequence (the list order) and its JSON text."""

    def __init__(self, seq, obj, raw=None):
        self.seq, self.obj = seq, obj
        self.raw = raw if raw is not None else json.dumps(obj)

    def refresh(self):
        self.raw = json.dumps(self.obj)


class Store:
    KINDS = ("intent", "shipment", "event", "order", "v2order")

    def __init__(self):
        self.lock = threading.RLock()
        self.clear()

    def clear(self):
        with self.lock:
            self.seq = 0
            self.by_kind = {k: {} for k in self.KINDS}    # id -> Item, insertion ordered
            self.sorted = {}        # kind -> newest-first list, until the next write

    def upsert(self, kind, obj, defaults, touch=None):
        """Create (defaults filled) or merge into the item with obj's id."""
        if not isinstance(obj, dict):
            raise ControlError(400, "%s: each item must be an object" % kind)
        with self.lock:
            items = self.by_kind[kind]
            ident = obj.get("id")
            if ident is not None and ident in items:
                item = items[ident]
                item.obj.update(obj)
                if touch and touch not in obj:
                    item.obj[touch] = now_iso()
                item.refresh()
                self.sorted.pop(kind, None)
                return item
            full = dict(defaults())
            full.update(obj)
            if not isinstance(full.get("id"), str) or not full["id"]:
                raise ControlError(400, "%s: id must be a non-empty string" % kind)
            self.seq += 1
            item = Item(self.seq, full)
            items[full["id"]] = item
            self.sorted.pop(kind, None)
            return item

    def append_raw(self, kind, raw):
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise ControlError(400, "raw is not JSON: %s" % e)
        if not isinstance(obj, dict):
            raise ControlError(400, "raw must be a JSON object")
        with self.lock:
            self.seq += 1
            ident = obj.get("id") if isinstance(obj.get("id"), str) else "_noid_%d" % self.seq
            item = Item(self.seq, obj, raw)
            self.by_kind[kind][ident] = item
            self.sorted.pop(kind, None)
            return item

    def get(self, kind, ident):
        with self.lock:
            return self.by_kind[kind].get(ident)

    def newest_first(self, kind, keep=None, ids=None):
        """Items newest first; only those keep() takes, and with ids only those ids
        (looked up, not scanned: the by-id lists of a large account stay cheap)."""
        with self.lock:
            if ids is not None:
                items = [self.by_kind[kind][i] for i in dict.fromkeys(ids)
                         if i in self.by_kind[kind]]
                return sorted([i for i in items if keep is None or keep(i.obj)],
                              key=lambda i: -i.seq)
            if kind not in self.sorted:
                self.sorted[kind] = sorted(self.by_kind[kind].values(), key=lambda i: -i.seq)
            items = self.sorted[kind]
        return items if keep is None else [i for i in items if keep(i.obj)]


# ---------------------------------------------------------------- cursors and pages

def encode_cursor(kind, value):
    return base64.urlsafe_b64encode(("%s:%s" % (kind, value)).encode()).decode().rstrip("=")


def decode_cursor(kind, cursor):
    """The position a cursor names: an int, or ("loop", n) for endless-paging cursors."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise RyeError(400, "Invalid cursor")
    k, _, v = text.partition(":")
    if k != kind:
        raise RyeError(400, "Invalid cursor")
    if v.startswith("loop"):
        return ("loop", v)
    if not v.isdigit():
        raise RyeError(400, "Invalid cursor")
    return int(v)


def page_params(q):
    raw = q.get("limit", [str(PAGE_MAX)])[-1]
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= PAGE_MAX:
        raise RyeError(400, "limit must be an integer from 1 to 100")
    after = q.get("after", [None])[-1]
    before = q.get("before", [None])[-1]
    if after and before:
        raise RyeError(400, "Use either after or before, not both")
    return int(raw), after, before


class Pager:
    """Pages over a newest-first list of Items; knows the endless-paging fault."""

    def __init__(self, faults):
        self.faults = faults
        self.loop_n = 0
        self.lock = threading.Lock()

    def page(self, kind, items, q):
        """items: newest first (seq descending), as Store.newest_first gives them."""
        limit, after, before = page_params(q)
        keys = [-i.seq for i in items]
        pos_after = decode_cursor(kind, after) if after else None
        pos_before = decode_cursor(kind, before) if before else None
        if isinstance(pos_after, tuple) or isinstance(pos_before, tuple):
            chosen = items[:limit]                       # a loop cursor: the first page again
        elif pos_after is not None:
            start = bisect.bisect_left(keys, -pos_after + 1)    # the first with seq < after
            chosen = items[start:start + limit]
        elif pos_before is not None:
            end = bisect.bisect_left(keys, -pos_before)         # those with seq > before
            chosen = items[max(0, end - limit):end]
        else:
            chosen = items[:limit]
        # items are newest first (seq descending): the rest lies on either side.
        first = bisect.bisect_left(keys, -chosen[0].seq) if chosen else 0
        info = {
            "hasNextPage": bool(chosen) and first + len(chosen) < len(items),
            "hasPreviousPage": bool(chosen) and first > 0,
            "startCursor": encode_cursor(kind, chosen[0].seq) if chosen else None,
            "endCursor": encode_cursor(kind, chosen[-1].seq) if chosen else None,
        }
        mode = self.faults.endless_paging
        if mode is not None:
            with self.lock:
                self.loop_n += 1
                n = self.loop_n
            info["hasNextPage"] = True
            info["endCursor"] = encode_cursor(kind, "loop" if mode == "repeat" else "loop%d" % n)
        # The items' own texts, byte for byte (raw events are served as given).
        return ('{"data":[' + ",".join(i.raw for i in chosen) + '],"pageInfo":' +
                json.dumps(info) + "}")


# ---------------------------------------------------------------- faults

class Faults:
    KEYS = ("reset", "status_5xx", "error_status", "slow_ms", "slow_count",
            "malformed_json_count", "drop_count", "huge_body", "endless_paging", "rate_limit",
            "graphql_rate_limit", "ratelimit_headers", "force_429", "retry_after_header",
            "retry_after_body", "ratelimit_report", "rest_schemes", "graphql_auth_status",
            "echo_key")

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.status_5xx = {"count": 0, "code": 503, "plain": False}
        self.error_status = {"count": 0}
        self.slow_ms, self.slow_count = 0, None
        self.malformed_json_count = 0
        self.drop_count = 0
        self.huge_body = {"count": 0, "bytes": 0}
        self.endless_paging = None
        self.rate_limit = DEFAULT_RATE
        self.graphql_rate_limit = DEFAULT_GQL_RATE
        self.ratelimit_headers = "all"
        self.force_429 = {"count": 0}
        self.retry_after_header = False
        self.retry_after_body = False
        self.ratelimit_report = {"count": 0}
        self.rest_schemes = ["Bearer", "Basic"]
        self.graphql_auth_status = 401
        self.echo_key = False

    def show(self):
        with self.lock:
            return {k: getattr(self, k) for k in self.KEYS if k != "reset"}

    def apply(self, body):
        if not isinstance(body, dict):
            raise ControlError(400, "faults: an object expected")
        unknown = set(body) - set(self.KEYS)
        if unknown:
            raise ControlError(400, "unknown fault keys: %s" % ", ".join(sorted(unknown)))
        with self.lock:
            if body.get("reset"):
                self.reset()
            for key in ("status_5xx", "error_status", "huge_body", "force_429",
                        "ratelimit_report"):
                if key in body:
                    spec = dict(body[key] or {})
                    spec["count"] = int(spec.get("count", 1))
                    setattr(self, key, dict(getattr(self, key), **spec)
                            if key == "status_5xx" else spec)
            code = self.status_5xx.get("code", 503)
            if not 500 <= int(code) <= 599:
                raise ControlError(400, "status_5xx.code must be 5xx")
            if "error_status" in body and not 400 <= int(self.error_status.get("code", 0)) <= 599:
                raise ControlError(400, "error_status.code must be 4xx or 5xx")
            if "slow_ms" in body:
                self.slow_ms, self.slow_count = int(body["slow_ms"] or 0), None
            if "slow_count" in body:
                self.slow_count = None if body["slow_count"] is None else int(body["slow_count"])
            for key in ("malformed_json_count", "drop_count"):
                if key in body:
                    setattr(self, key, int(body[key] or 0))
            if "endless_paging" in body:
                if body["endless_paging"] not in (None, "new", "repeat"):
                    raise ControlError(400, "endless_paging: new, repeat or null")
                self.endless_paging = body["endless_paging"]
            for key in ("rate_limit", "graphql_rate_limit"):
                if key in body:
                    v = body[key]
                    if v is not None and int(v) < 1:
                        raise ControlError(400, "%s must be >= 1 or null" % key)
                    setattr(self, key, None if v is None else int(v))
            if "ratelimit_headers" in body:
                if body["ratelimit_headers"] not in ("all", "not_on_429", "none"):
                    raise ControlError(400, "ratelimit_headers: all, not_on_429 or none")
                self.ratelimit_headers = body["ratelimit_headers"]
            for key in ("retry_after_header", "retry_after_body", "echo_key"):
                if key in body:
                    setattr(self, key, bool(body[key]))
            if "rest_schemes" in body:
                self.rest_schemes = [str(s) for s in body["rest_schemes"] or []]
            if "graphql_auth_status" in body:
                if body["graphql_auth_status"] not in (200, 401):
                    raise ControlError(400, "graphql_auth_status: 200 or 401")
                self.graphql_auth_status = body["graphql_auth_status"]

    def take(self, name):
        """Consume one use of a counted fault; its spec, or None."""
        with self.lock:
            spec = getattr(self, name)
            if isinstance(spec, dict):
                if spec.get("count", 0) <= 0:
                    return None
                spec["count"] -= 1
                return spec
            if spec <= 0:
                return None
            setattr(self, name, spec - 1)
            return True

    def slow(self):
        with self.lock:
            if self.slow_ms <= 0:
                return 0
            if self.slow_count is not None:
                if self.slow_count <= 0:
                    return 0
                self.slow_count -= 1
            return self.slow_ms


class Windows:
    """Sliding one-second windows, per (key, generation)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.win = {}

    def clear(self):
        with self.lock:
            self.win = {}

    def take(self, key, gen, limit, now, count=True):
        """(allowed, remaining, seconds until a slot frees); counts the request if allowed."""
        with self.lock:
            dq = self.win.setdefault((key, gen), deque())
            while dq and dq[0] <= now - 1.0:
                dq.popleft()
            allowed = len(dq) < limit
            if allowed and count:
                dq.append(now)
            remaining = max(0, limit - len(dq))
            reset = math.ceil(dq[0] + 1.0 - now) if dq else 0
            return allowed, remaining, max(0, reset)


# ---------------------------------------------------------------- the application

class App:
    def __init__(self, api_key):
        self.api_key = api_key
        self.store = Store()
        self.faults = Faults()
        self.windows = Windows()
        self.pager = Pager(self.faults)
        self.log = []
        self.log_seq = 0
        self.log_lock = threading.Lock()
        self.port = None

    def record(self, entry):
        with self.log_lock:
            self.log_seq += 1
            entry["seq"] = self.log_seq
            self.log.append(entry)

    # -- control
    def control(self, method, path, query, raw):
        q = parse_qs(query)
        body = None
        if method == "POST" and raw:
            try:
                body = json.loads(raw)
            except ValueError as e:
                raise ControlError(400, "body is not JSON: %s" % e)
        routes = {
            ("GET", "/_control/health"): lambda: {"ok": True, "port": self.port},
            ("GET", "/_control/faults"): lambda: {"ok": True, "faults": self.faults.show()},
            ("POST", "/_control/faults"): lambda: self.faults.apply(body or {}) or
            {"ok": True, "faults": self.faults.show()},
            ("GET", "/_control/log"): lambda: self.ctl_log(q),
            ("POST", "/_control/log/clear"): self.ctl_log_clear,
            ("POST", "/_control/reset"): self.ctl_reset,
            ("POST", "/_control/intents"): lambda: self.ctl_upsert(body, "intents", "intent"),
            ("POST", "/_control/shipments"): lambda: self.ctl_upsert(body, "shipments",
                                                                     "shipment"),
            ("POST", "/_control/events"): lambda: self.ctl_events(body),
            ("POST", "/_control/orders"): lambda: self.ctl_upsert(body, "orders", "order"),
            ("POST", "/_control/v2orders"): lambda: self.ctl_upsert(body, "orders", "v2order"),
        }
        handler = routes.get((method, path))
        if handler is None:
            raise ControlError(404, "no control route %s %s" % (method, path))
        return handler()

    def ctl_log(self, q):
        since = int(q.get("since", ["0"])[-1])
        with self.log_lock:
            return {"ok": True, "requests": [e for e in self.log if e["seq"] > since]}

    def ctl_log_clear(self):
        with self.log_lock:
            self.log = []
        return {"ok": True}

    def ctl_reset(self):
        self.store.clear()
        self.faults.reset()
        self.windows.clear()
        self.ctl_log_clear()
        return {"ok": True}

    DEFAULTS = {
        "intent": lambda: {"id": "ci_" + new_hex(), "createdAt": now_iso(),
                           "state": "retrieving_offer"},
        "shipment": lambda: {"id": "shp_" + new_hex(), "createdAt": now_iso(),
                             "updatedAt": now_iso(), "status": "ordered"},
        "order": lambda: {"id": str(uuid.uuid4()), "status": "PENDING", "marketplace": "SHOPIFY",
                          "marketplaceOrderIds": [], "shipments": [], "events": []},
        "v2order": lambda: {"id": "ord_" + new_hex(), "createdAt": now_iso(),
                            "updatedAt": now_iso(), "cancellation": None},
    }

    def ctl_upsert(self, body, key, kind):
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise ControlError(400, "expected {\"%s\": [...]}" % key)
        touch = "updatedAt" if kind in ("shipment", "v2order") else None
        items = [self.store.upsert(kind, o, self.DEFAULTS[kind], touch) for o in body[key]]
        return {"ok": True, key: [i.obj for i in items]}

    def ctl_events(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise ControlError(400, "expected {\"events\": [...]}")
        out = []
        for o in body["events"]:
            if isinstance(o, dict) and set(o) == {"raw"}:
                item = self.store.append_raw("event", o["raw"])
            else:
                item = self.store.upsert("event", o, lambda: {
                    "id": "evt_" + new_hex(), "object": "event", "createdAt": now_iso()})
            out.append({"id": item.obj.get("id"), "raw": item.raw})
        return {"ok": True, "events": out}

    # -- gen 2
    def rest(self, path, q):
        """The answer text for one authorised gen-2 GET."""
        if not path.startswith("/api/v1/"):
            raise RyeError(404, "Route not found")
        parts = [unquote(p) for p in path.split("/")[3:]]      # after "", "api", "v1"
        s = self.store
        if parts == ["checkout-intents"]:
            ids, states = q.get("id"), q.get("state")
            return self.pager.page("intent", s.newest_first(
                "intent", (lambda o: o.get("state") in states) if states else None,
                ids or None), q)
        if parts == ["shipments"]:
            ids, statuses = q.get("ids"), q.get("status")
            return self.pager.page("shipment", s.newest_first(
                "shipment", (lambda o: o.get("status") in statuses) if statuses else None,
                ids or None), q)
        if parts in (["orders"], ["events"]):
            kind = "v2order" if parts == ["orders"] else "event"
            return self.pager.page(kind, s.newest_first(kind), q)
        if len(parts) == 2 and parts[1]:
            kind = {"checkout-intents": "intent", "shipments": "shipment",
                    "orders": "v2order", "events": "event"}.get(parts[0])
            item = s.get(kind, parts[1]) if kind else None
            if item is None:
                raise RyeError(404, "%s not found" % (kind or "route").replace("v2", ""))
            return item.raw
        if len(parts) == 3 and parts[0] == "checkout-intents" and parts[1] and \
                parts[2] in ("shipments", "order"):
            if s.get("intent", parts[1]) is None:
                raise RyeError(404, "Checkout intent not found")
            if parts[2] == "shipments":
                return self.pager.page("shipment", s.newest_first(
                    "shipment", lambda o: o.get("checkoutIntentId") == parts[1]), q)
            orders = s.newest_first("v2order", lambda o: o.get("checkoutIntentId") == parts[1])
            if not orders:
                raise RyeError(404, "Order not found")
            return orders[0].raw
        raise RyeError(404, "Route not found")

    # -- gen 1
    def graphql(self, raw):
        """(status, answer object) for one authorised POST /v1/query."""
        try:
            req = json.loads(raw or b"")
        except ValueError:
            return 400, {"errors": [{"message": "Body is not valid JSON"}]}
        query = req.get("query") if isinstance(req, dict) else None
        if not isinstance(query, str) or "orderByID" not in query:
            return 200, {"errors": [{"message": "This stand-in answers orderByID only"}],
                         "data": None}
        variables = req.get("variables") if isinstance(req.get("variables"), dict) else {}
        ident = variables.get("id")
        m = re.search(r'orderByID\s*\(\s*id\s*:\s*"([^"]*)"', query)
        if ident is None and m:
            ident = m.group(1)
        if not isinstance(ident, str):
            return 200, {"errors": [{"message": 'Variable "$id" of required type "ID!" was '
                                                'not provided.'}], "data": None}
        item = self.store.get("order", ident)
        return 200, {"data": {"orderByID": render_order(item.obj) if item else None}}


def render_order(o):
    """The selection of rye-api.md's query, from a stored gen-1 order."""
    def event(e):
        if not isinstance(e, dict):
            return e
        out = {"__typename": e.get("__typename"), "id": e.get("id"),
               "createdAt": e.get("createdAt")}
        if e.get("__typename") in REASON_EVENTS:
            out["reason"] = e.get("reason")
        return out

    def shipment(s):
        if not isinstance(s, dict):
            return s
        return {k: s.get(k) for k in ("carrierName", "carrierTrackingNumber",
                                      "carrierTrackingUrl")}
    ships, events = o.get("shipments"), o.get("events")
    return {"id": o.get("id"), "status": o.get("status"), "marketplace": o.get("marketplace"),
            "marketplaceOrderIds": o.get("marketplaceOrderIds"),
            "shipments": [shipment(s) for s in ships] if isinstance(ships, list) else ships,
            "events": [event(e) for e in events] if isinstance(events, list) else events}


# ---------------------------------------------------------------- HTTP layer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive, like the real service
    server_version = "rye-stub/1"
    timeout = 60

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, fmt, *args):
        sys.stderr.write("rye-stub: %s\n" % (fmt % args))

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if 0 < length <= 10 << 20 else b""

    def send(self, status, body, ctype="application/json; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(body)

    def dispatch(self, method):
        app = self.server.app
        entry = {"time": time.time(), "mono": time.monotonic(), "method": method}
        split = urlsplit(self.path)
        path, query = split.path, split.query
        raw = self.read_body()
        if path == "/_control" or path.startswith("/_control/"):
            try:
                status, obj = 200, app.control(method, path, query, raw)
            except ControlError as e:
                status, obj = e.status, {"ok": False, "error": str(e)}
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                status, obj = 400, {"ok": False, "error": "bad control request: %r" % (e,)}
            self.send(status, json.dumps(obj).encode())
            return
        entry.update({"path": path, "query": query, "gen": None, "scheme": None,
                      "key_ok": None, "status": None, "error": None, "fault": None,
                      "r": None, "t": None})
        try:
            self.api(app, method, path, query, raw, entry)
        except Exception:       # a bug in the stub: say so loudly, answer like a server would
            traceback.print_exc()
            entry["status"] = 500
            self.reply(app, entry, 500, b'{"name":"InternalServerError","message":"stub bug"}')
        sys.stderr.write("rye-stub: %s %s%s %s %s\n" % (
            method, path, "?" + query if query else "", entry["status"] or "dropped",
            entry["fault"] or ""))

    def reply(self, app, entry, status, body, ctype="application/json; charset=utf-8",
              headers=()):
        """Log the request, then answer (status None: drop the connection). Logged first, so
        that a client that has its answer finds the request in the log."""
        if "seq" not in entry:
            entry["ms"] = round((time.monotonic() - entry["mono"]) * 1000, 1)
            app.record(entry)
        if status is None:
            self.close_connection = True
            return
        self.send(status, body, ctype, headers)

    # -- the API
    def api(self, app, method, path, query, raw, entry):
        f = app.faults
        if path.startswith("/api/"):
            entry["gen"] = 2
        elif path == "/v1/query":
            entry["gen"] = 1
        else:
            entry["status"] = 404
            self.reply(app, entry, 404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        if f.take("drop_count"):
            entry["fault"] = "drop"
            self.reply(app, entry, None, b"")
            return
        if entry["gen"] == 2:
            status, body, headers = self.gen2(app, method, path, query, entry)
        else:
            status, body, headers = self.gen1(app, method, raw, entry)
        self.finish_answer(app, status, body, headers, entry)

    def auth(self, app, schemes, entry):
        """The key presented with one of schemes, or None."""
        value = self.headers.get("Authorization") or ""
        scheme, _, key = value.partition(" ")
        # Logged only when it is a scheme: a bare key must never reach the log.
        entry["scheme"] = scheme if scheme in ("Bearer", "Basic") else (
            "other" if value else None)
        ok = scheme in schemes and key != "" and (app.api_key is None or key == app.api_key)
        entry["key_ok"] = ok
        return key if ok else None, key

    def gen2(self, app, method, path, query, entry):
        f = app.faults
        headers = []
        key, presented = self.auth(app, f.rest_schemes, entry)
        limit = f.rate_limit
        if key is None:
            msg = "Invalid API key" + (" %s" % presented if f.echo_key and presented else "")
            self.rate_headers(app, presented or "-", limit, entry, headers, count=False,
                              status=401)
            return self.rye_error(RyeError(401, msg), entry, headers)
        forced = f.take("force_429")
        allowed = self.rate_headers(app, key, limit, entry, headers, count=forced is None,
                                    status=None)
        if forced is not None or not allowed:
            return self.too_many(f, forced, entry, headers)
        try:
            if method != "GET":
                raise RyeError(405, "Method not allowed")
            spec = f.take("status_5xx")
            if spec is not None:
                entry["fault"] = "5xx"
                if spec.get("plain"):
                    entry["status"] = spec["code"]
                    return spec["code"], b"Service Unavailable\n", headers + [
                        ("Content-Type", "text/plain")]
                raise RyeError(int(spec["code"]), "Something went wrong")
            spec = f.take("error_status")
            if spec is not None:
                entry["fault"] = "error_status"
                raise RyeError(int(spec["code"]), spec.get("message") or "Refused",
                               spec.get("name"))
            body = app.rest(path, parse_qs(query, keep_blank_values=True))
        except RyeError as e:
            return self.rye_error(e, entry, headers)
        entry["status"] = 200
        return 200, body.encode(), headers

    def rate_headers(self, app, key, limit, entry, headers, count, status):
        """Account the request (gen 2); add RateLimit headers; False when over the limit."""
        if limit is None:
            return True
        allowed, r, t = app.windows.take(key, 2, limit, entry["mono"], count)
        report = app.faults.take("ratelimit_report") if status is None else None
        if report is not None:
            r, t = int(report.get("r", r)), int(report.get("t", t))
            entry["fault"] = "ratelimit_report"
        entry["r"], entry["t"] = r, t
        headers += [("RateLimit-Policy", '"default";q=%d;w=1' % limit),
                    ("RateLimit", '"default";r=%d;t=%d' % (r, t))]
        return allowed

    def too_many(self, f, forced, entry, headers):
        body = {"name": "RateLimitError", "message": "Too many requests"}
        t = entry["t"] if entry["t"] is not None else 1
        if forced is not None:
            entry["fault"] = "force_429"
            if forced.get("retry_after") is not None:
                headers.append(("Retry-After", forced["retry_after"]))
            if "body_retry_after" in forced:
                body["retryAfter"] = forced["body_retry_after"]
        else:
            if f.retry_after_header:
                headers.append(("Retry-After", max(1, t)))
            if f.retry_after_body:
                body["retryAfter"] = max(1, t)
        entry["status"], entry["error"] = 429, "RateLimitError"
        return 429, json.dumps(body).encode(), headers

    def rye_error(self, e, entry, headers):
        entry["status"], entry["error"] = e.status, e.name
        return e.status, json.dumps({"name": e.name, "message": e.message}).encode(), headers

    def gen1(self, app, method, raw, entry):
        f = app.faults
        headers = []
        key, _ = self.auth(app, ("Basic",), entry)
        if key is None:
            status = f.graphql_auth_status
            entry["status"], entry["error"] = status, "UNAUTHENTICATED"
            return status, json.dumps({"errors": [{"message": "Unauthorized", "extensions": {
                "code": "UNAUTHENTICATED"}}]}).encode(), headers
        limit = f.graphql_rate_limit
        forced = f.take("force_429")
        if limit is not None:
            allowed, r, t = app.windows.take(key, 1, limit, entry["mono"], forced is None)
            entry["r"], entry["t"] = r, t
            headers += [("Ratelimit-Limit", limit), ("Ratelimit-Remaining", r),
                        ("Ratelimit-Tier", "default"), ("Ratelimit-Reset", t)]
        else:
            allowed = True
        if forced is not None or not allowed:
            entry["fault"] = "force_429" if forced is not None else None
            if forced is not None and forced.get("retry_after") is not None:
                headers.append(("Retry-After", forced["retry_after"]))
            entry["status"], entry["error"] = 429, "RATE_LIMITED"
            return 429, json.dumps({"errors": [{"message": "Too many requests"}]}).encode(), \
                headers
        if method != "POST":
            entry["status"] = 405
            return 405, json.dumps({"errors": [{"message": "Use POST"}]}).encode(), \
                headers + [("Allow", "POST")]
        spec = f.take("status_5xx")
        if spec is not None:
            entry["fault"], entry["status"] = "5xx", spec["code"]
            return spec["code"], b"Service Unavailable\n", headers + [
                ("Content-Type", "text/plain")]
        status, obj = app.graphql(raw)
        entry["status"] = status
        if obj.get("errors"):
            entry["error"] = "errors"
        return status, json.dumps(obj).encode(), headers

    def finish_answer(self, app, status, body, headers, entry):
        """Output faults, then send."""
        f = app.faults
        ctype = "application/json; charset=utf-8"
        out = []
        for name, value in headers:
            if name == "Content-Type":
                ctype = value
                continue
            out.append((name, value))
        mode = f.ratelimit_headers
        if mode == "none" or (mode == "not_on_429" and status == 429):
            out = [(n, v) for n, v in out if not n.lower().startswith("ratelimit")]
        if 200 <= status < 300:
            spec = f.take("huge_body")
            if spec is not None and len(body) < int(spec.get("bytes", 0)):
                entry["fault"] = "huge_body"
                pad = int(spec["bytes"]) - len(body) - len(',"_padding":""')
                body = body[:-1] + b',"_padding":"' + b"x" * max(0, pad) + b'"}'
        if f.take("malformed_json_count"):
            entry["fault"] = "malformed"
            body = body[:max(1, len(body) // 2)]
        delay = f.slow()
        if delay:
            entry["fault"] = entry["fault"] or "slow"
            time.sleep(delay / 1000.0)
        self.reply(app, entry, status, body, ctype, out)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


# SIGTERM and SIGINT stop the stub: the main thread takes them with
# sigwait().  A handler that set a threading.Event could deadlock on the
# Event's own lock when it ran while the main thread held that lock (inside
# Event.wait()): the stub then outlived SIGTERM, and a caller's plain wait
# for it never returned.  They are blocked before any thread starts (every
# thread inherits the mask), so none is ever delivered to a thread.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def take_stop_signals():
    for s in STOP_SIGNALS:  # SIGINT comes ignored to a shell's background job
        signal.signal(s, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def main():
    take_stop_signals()
    ap = argparse.ArgumentParser(description="Rye API stand-in for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here once listening (atomically)")
    ap.add_argument("--api-key", help="the only key accepted (default: any non-empty key)")
    opts = ap.parse_args()

    app = App(opts.api_key)
    server = Server((opts.host, opts.port), Handler)
    server.app = app
    app.port = server.server_address[1]
    if opts.port_file:
        tmp = "%s.tmp.%d" % (opts.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % app.port)
        os.replace(tmp, opts.port_file)
    sys.stderr.write("rye-stub: listening on %s:%d\n" % (opts.host, app.port))

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    signal.sigwait(STOP_SIGNALS)
    server.shutdown()
    server.server_close()
    sys.stderr.write("rye-stub: stopped\n")


if __name__ == "__main__":
    main()
