#!/usr/bin/env python3
"""A stand-in AfterShip Tracking API server for shiptrack's tests (stdlib only).

    python3 tests/aftership_stub.py --port 0 --port-file PATH [--api-key KEY] [--state FILE]

It listens on 127.0.0.1 and serves two API families at once, following
shared/spec/aftership.md:

  /tracking/YYYY-MM   date-versioned API; key header `as-api-key` only. The version is echoed in
                      the `as-api-version` response header. By the version served:
                        >= 2024-07  bodies and single-tracking answers are not wrapped
                                    (`data` is the tracking); older ones wrap in {"tracking": ..}
                        >= 2024-10  list pages by cursor (data.pagination {total, next_cursor,
                                    has_next_page}, data.trackings); slug+number routes are gone
                        >= 2025-01  `*_iso3` fields are named `*_country_region`
  /v4                 legacy API; key header `aftership-api-key` or `as-api-key`; wrapped bodies,
                      `page` pagination (page, limit, count, trackings), slug+number routes.

Faithful to AfterShip (as far as the spec tells):
  * envelope {"meta": {"code", "message", "type"}, "data": {...}} on every API answer;
  * errors: 401/401 bad key; 400/4001 invalid JSON; 400/4003 already exists (create);
    404/4004 type "BadRequest" unknown tracking; 400/4005 invalid number; 400/4006 v4 body
    without its "tracking" wrapper; 400/4007 number missing; 400/4008 invalid parameter (e.g. an
    `updated_at_min` whose `+` arrived unencoded and decoded to a space); 400/4010 unknown slug;
    400/4012 courier cannot be detected; 429/429 "TooManyRequests"; 5xx with a plain-text body;
  * per-endpoint rate limits in a one-second fixed window (versioned: POST /trackings 20/s,
    GET /trackings 6/s, GET|PUT|DELETE /trackings/{id} 5/s shared; v4: 10/s per account for
    everything) and X-RateLimit-Limit/-Remaining/-Reset (Unix seconds) on every JSON answer;
  * tracking objects with the fields shiptrack reads, nulls where AfterShip gives nulls, and the
    date forms the spec lists (YYYY-MM-DD, local time without offset, +01:00, .000Z).

Simplified / invented (deterministic so tests can rely on it):
  * any non-empty key is accepted unless --api-key is given; the account is the key;
  * courier detection: "1Z..." -> ups, "TBA..." -> amazon, 12 or 15 digits -> fedex,
    20 or 22 digits -> usps, 10 digits -> dhl, AA123456789GB -> royal-mail, else 4012;
    known slugs: see KNOWN_SLUGS; a number is valid if it fully matches `number_rule`
    (default [A-Za-z0-9]{5,40}), else 4005;
  * `id` (32 hex) and `legacy_id` (24 hex) are both accepted by every version's /trackings/{id};
  * 4003 answers carry empty `data` unless the `duplicate_returns_id` knob is on, so a client
    has to find the id through `GET /trackings?tracking_numbers=` as the spec says;
  * lists are ordered by (updated_at, id); `updated_at_min` is inclusive; unknown routes answer
    404 with meta.code 404 type "NotFound" (deliberately not 4004, so that a wrong base URL
    does not look like "tracking does not exist"); wrong methods 405.
  * retired versions: with the `oldest_version` knob set, an older version is silently served
    as that one (and the header says so); without it every YYYY-MM is served by its own rules.

Control API for tests (not AfterShip; under /_control/, no auth, plain JSON, not rate limited,
not logged in the request log, not subject to faults; errors {"ok": false, "error": "..."}):
  GET  /_control/health      {"ok": true, "port": N}
  POST /_control/seed        bulk preload, in memory, one sort at the end (100k in about a second):
       {"trackings": [{"tracking_number", "slug"?, "tag"?, "subtag"?, "title"?, "order_id"?,
         "created_at"?, "updated_at"?, "checkpoints"?: [{...}], "expected_delivery"?,
         "edd_fields"?, "delivered_at"?, "id"?, "legacy_id"?, "fields"?}, ...],
        "generate"?: {"count", "prefix" (default "1ZSEED"), "width" (8), "start" (0), "slug"?,
         "tag"?, "subtag"?, "expected_delivery"?, "updated_at"? (base), "step_s"? (0)},
        "quiet"?: true}
       -> {"ok", "seeded", "trackings": [{id, legacy_id, tracking_number, slug}]} (empty if quiet)
       An existing number+slug is updated in place. Slug defaults to detection, else "ups".
  POST /_control/advance     {"id" | "tracking_number" (+ "slug" if ambiguous),
        "tag"?, "subtag"? (default TAG_001), "subtag_message"?,
        "message"?, "location"?, "city"?, "state"?, "zip"?, "country"?, "checkpoint_time"?,
        "checkpoint"? (force a checkpoint on/off; default: on if any checkpoint field is given),
        "expected_delivery"? (string or null), "edd_fields"? (subset of ["latest", "courier",
        "legacy"], default all), "delivered_at"?, "updated_at"? (default now),
        "title"?, "order_id"?, "active"?, "courier_tracking_link"?, "origin_country"?,
        "destination_country"?, "pickup_location"?, "pickup_note"?, "signed_by"?,
        "courier_estimate"? / "aftership_estimate"? ({"date", "min", "max"} or null:
        courier_estimated_delivery_date / aftership_estimated_delivery_date),
        "latest_estimate"? ({"type", "source", "datetime", "datetime_min", "datetime_max"}
        or null: latest_estimated_delivery as given),
        "fields"? ({raw field: value} merged into the tracking as-is)}
       -> {"ok", "tracking": <2025-07 rendering>}. Without checkpoint_time the stub cycles
       through four forms: local no offset, +01:00, .000Z, -05:00. Delivered/Expired set
       active=false; Delivered without delivered_at sets shipment_delivery_date.
  POST /_control/faults      any of (GET shows the current values):
        {"reset": true}                          back to defaults (applied first)
        {"status_5xx": {"count": N, "code": 503}} next N API requests: that code, text/plain body
        {"slow_ms": N, "slow_count": K}          delay answers by N ms (K requests; no K: all)
        {"malformed_json_count": N}              next N answers: body cut in half (status kept)
        {"drop_count": N}                        next N requests: close without answering
        {"rate_limits": {"create"|"list"|"get"|"other"|"v4": N or null (no limit)}}
        {"retry_after": true}                    add Retry-After to 429s
        {"quota_exhausted": true}                every API request 429 (reset: next UTC midnight)
        {"oldest_version": "2024-07"}            serve older versions as this one
        {"reverse_checkpoints": true}            checkpoints newest first in GET answers
        {"number_rule": "regex"}                 what a valid tracking number fully matches
        {"create_errors": {"NUMBER": 4011}}      create of NUMBER fails with that meta.code
        {"duplicate_returns_id": true}           4003 answers carry {id, slug, tracking_number}
        {"endless_list": "fresh" | "repeat" | null}  list requests (not tracking_numbers=
                                                 lookups) never reach a last page:
             "fresh"   every page offers a next one: a new cursor each time (cursor form), or a
                       `count` always past this page (page form); page 1 carries the real first
                       page, and every page one made-up tracking of its own (1ZENDLESS<page>,
                       never stored), so no two pages are alike;
             "repeat"  every page is the real first page plus made-up tracking 1ZENDLESS00000001,
                       with the same next_cursor each time (cursor form), or the same content
                       whatever `page` asks for (page form).
        {"headers": {"Name": "value" | null}}    on every JSON API answer, set these headers
                                                 as given (replacing the stand-in's own, e.g.
                                                 Retry-After or X-RateLimit-Reset on a 429);
                                                 null: leave that header out
  GET  /_control/log[?since=SEQ]  {"ok", "requests": [{seq, time, method, path, query, version,
        key_header, key_present, content_type, body, fault, bucket, status, meta_code, ms}]}
        (the key value itself is never recorded)
  POST /_control/log/clear
  GET  /_control/trackings[?tracking_number=N&version=YYYY-MM|v4]  {"ok", "count", "trackings"}
  POST /_control/reset       forget everything (trackings, faults, log, rate windows,
                             and requests still sleeping in a slow_ms fault)
  POST /_control/save        write --state now (it is also written on SIGTERM/SIGINT)
"""

import argparse
import base64
import bisect
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections import deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TAGS = ("Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail",
        "Delivered", "AvailableForPickup", "Exception", "Expired")
FINAL_TAGS = ("Delivered", "Expired")
KNOWN_SLUGS = ("ups", "fedex", "usps", "dhl", "amazon", "royal-mail", "canada-post",
               "australia-post", "dpd", "gls", "ontrac", "lasership")
SUBTAG_MESSAGES = {
    "Pending_001": "Pending", "InfoReceived_001": "Info Received",
    "InTransit_001": "In Transit", "InTransit_002": "Acceptance scan",
    "InTransit_003": "In transit to next facility", "InTransit_004": "Arrived at destination",
    "OutForDelivery_001": "Out for Delivery", "AttemptFail_001": "Failed Attempt",
    "Delivered_001": "Delivered", "AvailableForPickup_001": "Available for Pickup",
    "Exception_001": "Exception", "Exception_013": "Shipment lost",
    "Expired_001": "Expired",
}
TRACKING_LINKS = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={}",
}
DEFAULT_LIMITS = {"create": 20, "list": 6, "get": 5, "other": 10, "v4": 10}
DEFAULT_NUMBER_RULE = r"[A-Za-z0-9]{5,40}"
ERROR_MESSAGES = {
    4001: "Invalid JSON data.", 4003: "Tracking already exists.",
    4004: "Tracking does not exist.", 4005: "The value of `tracking_number` is invalid.",
    4006: "tracking object is required.", 4007: "tracking_number is required.",
    4009: "tracking_postal_code is required.",
    4010: "The value of `slug` is invalid.",
    4011: "Missing or invalid value of the required fields for this courier. Besides "
          "tracking_number, also required: destination_country_iso3",
    4012: "Cannot detect courier. Activate courier at https://admin.aftership.com/settings/couriers.",
    4017: "The format of `tracking_number` is invalid.",
}
CHECKPOINT_KEYS = frozenset(("message", "location", "checkpoint_time", "city", "state", "zip",
                             "country"))
ISO_STRICT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


# ---------------------------------------------------------------- time helpers

def iso(ts):
    """AfterShip's created_at/updated_at form: seconds, explicit +00:00."""
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_iso_strict(s):
    """Query-parameter times: full date-time with Z or +-HH:MM, else None."""
    if not isinstance(s, str) or not ISO_STRICT.fullmatch(s):
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_time_lenient(v):
    """Control-API times: epoch number, ISO with or without offset (UTC assumed), or a date."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("bad time: %r" % v)
        if d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        return int(d.timestamp())
    raise ValueError("bad time: %r" % (v,))


def checkpoint_time_form(ts, n):
    """Carrier-local checkpoint times in the four forms the spec lists, chosen by n."""
    d = datetime.fromtimestamp(int(ts), timezone.utc)
    form = n % 4
    if form == 0:   # local time (UTC+1 here), offset not given
        return (d + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    if form == 1:
        return (d + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    if form == 2:
        return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return (d - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S-05:00")


# ---------------------------------------------------------------- errors

class ApiError(Exception):
    """An AfterShip-style error answer: HTTP status, meta.code, meta.type, meta.message."""

    def __init__(self, http, code, etype="BadRequest", message=None, data=None):
        super().__init__(message)
        self.http, self.code, self.etype = http, code, etype
        self.message = message or ERROR_MESSAGES.get(code, "Bad request.")
        self.data = data if data is not None else {}


def invalid_param(name):
    return ApiError(400, 4008, "BadRequest", "The value of `%s` is invalid." % name)


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- courier rules

def detect_slug(number):
    """Deterministic stand-in for AfterShip's courier detection; None means 4012."""
    up = number.upper()
    if up.startswith("1Z"):
        return "ups"
    if up.startswith("TBA"):
        return "amazon"
    if number.isdigit():
        return {12: "fedex", 15: "fedex", 20: "usps", 22: "usps", 10: "dhl"}.get(len(number))
    if re.fullmatch(r"[A-Z]{2}\d{9}GB", up):
        return "royal-mail"
    return None


def make_edd(value, fields):
    """The three places AfterShip puts an expected delivery; `fields` picks which are filled."""
    fields = fields if fields is not None else ("latest", "courier", "legacy")
    if value is None:
        return None, None, None
    latest = {"type": "specific", "source": "Carrier EDD", "datetime": value,
              "datetime_min": None, "datetime_max": None} if "latest" in fields else None
    courier = {"estimated_delivery_date": value[:10], "estimated_delivery_date_min": None,
               "estimated_delivery_date_max": None} if "courier" in fields else None
    legacy = value if "legacy" in fields else None
    return latest, courier, legacy


# ---------------------------------------------------------------- the store

class Store:
    """All trackings, in memory. Indexed by id, legacy id and number; `order` is a sorted list
    of (updated_at, id) so that list queries bisect to their start instead of scanning."""

    def __init__(self):
        self.lock = threading.RLock()
        self.clear()

    def clear(self):
        with self.lock:
            self.by_id, self.by_legacy, self.by_number = {}, {}, {}
            self.order = []
            self.seq = 0

    # -- records
    def new_record(self, number, slug, now, title=None, order_id=None, seed=None):
        if seed is None:
            self.seq += 1
            seed = "%d|%s|%s" % (self.seq, number, slug)
        seed = seed.encode()
        link = TRACKING_LINKS.get(slug)
        return {
            "id": hashlib.md5(seed).hexdigest(), "legacy_id": hashlib.sha1(seed).hexdigest()[:24],
            "tracking_number": number, "slug": slug,
            "title": title if title is not None else number, "order_id": order_id,
            "active": True, "tag": "Pending", "subtag": "Pending_001",
            "subtag_message": "Pending", "created_at": now, "updated_at": now,
            "shipment_delivery_date": None, "latest_estimated_delivery": None,
            "courier_estimated_delivery_date": None, "expected_delivery": None,
            "courier_tracking_link": link.format(number) if link else None,
            "aftership_estimated_delivery_date": None,
            "pickup_location": None, "pickup_note": None, "signed_by": None,
            "origin_country": None, "destination_country": None,
            "checkpoints": [], "extra": {},
        }

    def insert(self, rec, keep_order=True):
        self.by_id[rec["id"]] = rec
        self.by_legacy[rec["legacy_id"]] = rec["id"]
        self.by_number.setdefault(rec["tracking_number"], {})[rec["slug"]] = rec["id"]
        if keep_order:
            bisect.insort(self.order, (rec["updated_at"], rec["id"]))

    def remove(self, rec):
        self._unorder(rec)
        del self.by_id[rec["id"]]
        self.by_legacy.pop(rec["legacy_id"], None)
        slugs = self.by_number.get(rec["tracking_number"], {})
        slugs.pop(rec["slug"], None)
        if not slugs:
            self.by_number.pop(rec["tracking_number"], None)

    def _unorder(self, rec):
        key = (rec["updated_at"], rec["id"])
        i = bisect.bisect_left(self.order, key)
        if i < len(self.order) and self.order[i] == key:
            del self.order[i]

    def touch(self, rec, ts):
        """Change updated_at, keeping `order` sorted."""
        self._unorder(rec)
        rec["updated_at"] = int(ts)
        bisect.insort(self.order, (rec["updated_at"], rec["id"]))

    def get(self, ident):
        rec = self.by_id.get(ident)
        if rec is None and ident in self.by_legacy:
            rec = self.by_id.get(self.by_legacy[ident])
        return rec

    def find(self, number, slug=None):
        slugs = self.by_number.get(number, {})
        if slug is not None:
            return self.by_id.get(slugs.get(slug))
        return [self.by_id[i] for i in slugs.values()]

    # -- persistence
    def dump(self):
        with self.lock:
            return {"seq": self.seq, "trackings": list(self.by_id.values())}

    def load(self, data):
        with self.lock:
            self.clear()
            self.seq = data.get("seq", 0)
            for rec in data.get("trackings", []):
                self.insert(rec, keep_order=False)
            self.order = sorted((r["updated_at"], r["id"]) for r in self.by_id.values())


# ---------------------------------------------------------------- faults and knobs

class Faults:
    """Test knobs, all set through POST /_control/faults. Counters count API requests."""

    KEYS = ("reset", "status_5xx", "slow_ms", "slow_count", "malformed_json_count",
            "drop_count", "rate_limits", "retry_after", "quota_exhausted", "oldest_version",
            "reverse_checkpoints", "number_rule", "create_errors", "duplicate_returns_id",
            "endless_list", "headers")

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.status_5xx_count, self.status_5xx_code = 0, 503
        self.slow_ms, self.slow_count = 0, None          # slow_count None: every request
        self.malformed_json_count = 0
        self.drop_count = 0
        self.limits = dict(DEFAULT_LIMITS)
        self.retry_after = False
        self.quota_exhausted = False
        self.oldest_version = None
        self.reverse_checkpoints = False
        self.number_rule = re.compile(DEFAULT_NUMBER_RULE)
        self.create_errors = {}                          # tracking number -> meta.code
        self.duplicate_returns_id = False
        self.endless_list = None                         # None | "fresh" | "repeat"
        self.extra_headers = {}                          # name -> value, or None: left out

    def apply(self, body):
        unknown = set(body) - set(self.KEYS)
        if unknown:
            raise ControlError(400, "unknown fault keys: %s" % ", ".join(sorted(unknown)))
        with self.lock:
            if body.get("reset"):
                self.reset()
            if "status_5xx" in body:
                spec = body["status_5xx"] or {}
                self.status_5xx_count = int(spec.get("count", 1))
                self.status_5xx_code = int(spec.get("code", 503))
                if not 500 <= self.status_5xx_code <= 599:
                    raise ControlError(400, "status_5xx.code must be 5xx")
            if "slow_ms" in body:
                self.slow_ms = int(body["slow_ms"] or 0)
                self.slow_count = None
            if "slow_count" in body:
                self.slow_count = None if body["slow_count"] is None else int(body["slow_count"])
            for key in ("malformed_json_count", "drop_count"):
                if key in body:
                    setattr(self, key, int(body[key] or 0))
            for key in ("retry_after", "quota_exhausted", "reverse_checkpoints",
                        "duplicate_returns_id"):
                if key in body:
                    setattr(self, key, bool(body[key]))
            if "rate_limits" in body:
                for name, value in (body["rate_limits"] or {}).items():
                    if name not in DEFAULT_LIMITS:
                        raise ControlError(400, "rate_limits: unknown bucket %r (known: %s)"
                                           % (name, ", ".join(DEFAULT_LIMITS)))
                    self.limits[name] = None if value is None else int(value)
            if "oldest_version" in body:
                v = body["oldest_version"]
                if v is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(v)):
                    raise ControlError(400, "oldest_version must be YYYY-MM or null")
                self.oldest_version = v
            if "number_rule" in body:
                try:
                    self.number_rule = re.compile(body["number_rule"] or DEFAULT_NUMBER_RULE)
                except re.error as e:
                    raise ControlError(400, "number_rule: %s" % e)
            if "create_errors" in body:
                for number, code in (body["create_errors"] or {}).items():
                    if code is None:
                        self.create_errors.pop(number, None)
                    else:
                        self.create_errors[number] = int(code)
            if "endless_list" in body:
                if body["endless_list"] not in (None, "fresh", "repeat"):
                    raise ControlError(400, 'endless_list must be "fresh", "repeat" or null')
                self.endless_list = body["endless_list"]
            if "headers" in body:
                for name, value in (body["headers"] or {}).items():
                    if not re.fullmatch(r"[A-Za-z0-9-]+", name) or not (
                            value is None or (isinstance(value, str)
                                              and not re.search(r"[\r\n]", value))):
                        raise ControlError(400, "headers: %r: a token name and a one-line "
                                           "string value, or null" % name)
                    self.extra_headers[name] = value

    def show(self):
        with self.lock:
            return {"status_5xx": {"count": self.status_5xx_count, "code": self.status_5xx_code},
                    "slow_ms": self.slow_ms, "slow_count": self.slow_count,
                    "malformed_json_count": self.malformed_json_count,
                    "drop_count": self.drop_count, "rate_limits": dict(self.limits),
                    "retry_after": self.retry_after, "quota_exhausted": self.quota_exhausted,
                    "oldest_version": self.oldest_version,
                    "reverse_checkpoints": self.reverse_checkpoints,
                    "number_rule": self.number_rule.pattern,
                    "create_errors": dict(self.create_errors),
                    "duplicate_returns_id": self.duplicate_returns_id,
                    "endless_list": self.endless_list,
                    "headers": dict(self.extra_headers)}

    def override_headers(self, headers):
        """The answer's headers with the `headers` knob applied."""
        with self.lock:
            extra = dict(self.extra_headers)
        if not extra:
            return headers
        names = {n.lower() for n in extra}
        return [(n, v) for n, v in headers if n.lower() not in names] + \
            [(n, v) for n, v in extra.items() if v is not None]

    def take(self):
        """Decide the fault for one API request: (delay in s, None | 'drop' | '5xx' | 'malformed')."""
        with self.lock:
            delay = 0.0
            if self.slow_ms > 0 and (self.slow_count is None or self.slow_count > 0):
                delay = self.slow_ms / 1000.0
                if self.slow_count is not None:
                    self.slow_count -= 1
            for name in ("drop_count", "status_5xx_count", "malformed_json_count"):
                if getattr(self, name) > 0:
                    setattr(self, name, getattr(self, name) - 1)
                    return delay, {"drop_count": "drop", "status_5xx_count": "5xx",
                                   "malformed_json_count": "malformed"}[name]
            return delay, None


class RateLimiter:
    """Fixed one-second windows per (account, bucket), as AfterShip's X-RateLimit-* describe."""

    def __init__(self, faults):
        self.faults = faults
        self.lock = threading.Lock()
        self.windows = {}   # (account, bucket) -> [second, used]

    def clear(self):
        with self.lock:
            self.windows.clear()

    def take(self, account, bucket, consume=True):
        """Returns (allowed, limit, remaining, reset)."""
        now = time.time()
        sec = int(now)
        limit = self.faults.limits.get(bucket)
        with self.lock:
            win = self.windows.get((account, bucket))
            if win is None or win[0] != sec:
                win = self.windows[(account, bucket)] = [sec, 0]
            if limit is None:       # unlimited
                return True, 1000000, 1000000, sec + 1
            allowed = win[1] < limit
            if allowed and consume:
                win[1] += 1
            return allowed, limit, max(0, limit - win[1]), sec + 1


# ---------------------------------------------------------------- API context and rendering

class Ctx:
    """What the request's base path implies."""

    def __init__(self, family, version):
        self.family, self.version = family, version          # 'v4' | 'versioned'
        v = version or "0000-00"
        legacy = family == "v4"
        self.wrapped = legacy or v < "2024-07"
        self.cursor_pages = not legacy and v >= "2024-10"
        self.slug_routes = legacy or v < "2024-10"
        self.country_key = "country_region" if not legacy and v >= "2025-01" else "country_iso3"


def parse_base(path, faults):
    """Split '/tracking/2025-07/trackings/x' into (Ctx, '/trackings/x'); None if no API base."""
    if path == "/v4" or path.startswith("/v4/"):
        return Ctx("v4", None), path[3:]
    m = re.fullmatch(r"/tracking/(\d{4})-(\d{2})(/.*)?", path)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    version = "%s-%s" % (m.group(1), m.group(2))
    oldest = faults.oldest_version
    if oldest and version < oldest:
        version = oldest      # retired version: silently served by the oldest supported one
    return Ctx("versioned", version), m.group(3) or ""


def render_checkpoint(cp, rec, ctx):
    return {"slug": cp.get("slug", rec["slug"]), "checkpoint_time": cp.get("checkpoint_time"),
            "created_at": cp.get("created_at"), "message": cp.get("message"),
            "tag": cp.get("tag"), "subtag": cp.get("subtag"),
            "subtag_message": cp.get("subtag_message"), "location": cp.get("location"),
            "city": cp.get("city"), "state": cp.get("state"), "zip": cp.get("zip"),
            ctx.country_key: cp.get("country"), "coordinates": [], "raw_tag": None}


def render(rec, ctx, reverse=False):
    ck = ctx.country_key
    cps = [render_checkpoint(cp, rec, ctx) for cp in rec["checkpoints"]]
    if reverse:
        cps.reverse()
    out = {
        "id": rec["id"], "legacy_id": rec["legacy_id"],
        "tracking_number": rec["tracking_number"], "slug": rec["slug"],
        "title": rec["title"], "order_id": rec["order_id"], "order_id_path": None,
        "active": rec["active"], "tag": rec["tag"], "subtag": rec["subtag"],
        "subtag_message": rec["subtag_message"],
        "created_at": iso(rec["created_at"]), "updated_at": iso(rec["updated_at"]),
        "source": "api", "shipment_type": None, "shipment_package_count": None,
        "shipment_pickup_date": None, "shipment_delivery_date": rec["shipment_delivery_date"],
        "signed_by": rec.get("signed_by"), "tracked_count": len(rec["checkpoints"]),
        "origin_" + ck: rec["origin_country"], "destination_" + ck: rec["destination_country"],
        "latest_estimated_delivery": rec["latest_estimated_delivery"],
        "courier_estimated_delivery_date": rec["courier_estimated_delivery_date"],
        "expected_delivery": rec["expected_delivery"],
        "courier_tracking_link": rec["courier_tracking_link"],
        "aftership_estimated_delivery_date": rec.get("aftership_estimated_delivery_date"),
        "pickup_location": rec.get("pickup_location"), "pickup_note": rec.get("pickup_note"),
        "transit_time": None, "on_time_status": None, "return_to_sender": False,
        "language": None, "note": None, "custom_fields": None,
        "checkpoints": cps,
    }
    out.update(rec["extra"])
    return out


def encode_cursor(key):
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(s):
    try:
        ts, ident = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        return (int(ts), str(ident))
    except Exception:
        raise invalid_param("cursor")


# ---------------------------------------------------------------- the application

class App:
    def __init__(self, api_key, state_file):
        self.api_key = api_key
        self.state_file = state_file
        self.store = Store()
        self.generation = 0      # bumped by /_control/reset
        self.faults = Faults()
        self.limiter = RateLimiter(self.faults)
        self.log = deque(maxlen=200000)
        self.log_lock = threading.Lock()
        self.log_seq = 0
        self.cp_seq = 0
        self.port = None
        if state_file and os.path.exists(state_file):
            with open(state_file) as f:
                self.store.load(json.load(f))

    def save(self):
        if not self.state_file:
            return False
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.store.dump(), f)
        os.replace(tmp, self.state_file)
        return True

    def record(self, entry):
        with self.log_lock:
            self.log_seq += 1
            entry["seq"] = self.log_seq
            self.log.append(entry)

    # -- API routing: returns (bucket, handler, args) or raises ApiError
    def route(self, ctx, method, rest):
        parts = [p for p in rest.split("/") if p]
        v4 = ctx.family == "v4"
        if parts[:1] == ["trackings"]:
            if len(parts) == 1:
                table = {"POST": ("create", self.api_create), "GET": ("list", self.api_list)}
                allow = "GET, POST"
            elif len(parts) == 2 or (len(parts) == 3 and ctx.slug_routes):
                table = {"GET": ("get", self.api_get), "PUT": ("get", self.api_put),
                         "DELETE": ("get", self.api_delete)}
                allow = "GET, PUT, DELETE"
            else:
                table, allow = None, None
            if table is not None:
                if method not in table:
                    raise ApiError(405, 405, "MethodNotAllowed",
                                   "The method is not allowed for the requested URL.",
                                   data={"_allow": allow})
                bucket, handler = table[method]
                return ("v4" if v4 else bucket), handler, parts[1:]
        raise ApiError(404, 404, "NotFound",
                       "The URI requested is invalid or the resource requested does not exist.")

    def lookup(self, args):
        if len(args) == 2:
            rec = self.store.find(args[1], args[0])
        else:
            rec = self.store.get(args[0])
        if rec is None:
            raise ApiError(404, 4004, "BadRequest")
        return rec

    def wrap(self, ctx, obj):
        return {"tracking": obj} if ctx.wrapped else obj

    def body_tracking(self, ctx, raw):
        try:
            obj = json.loads(raw.decode("utf-8") if raw else "")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, 4001)
        if not isinstance(obj, dict):
            raise ApiError(400, 4001)
        if ctx.wrapped:
            obj = obj.get("tracking")
            if not isinstance(obj, dict):
                raise ApiError(400, 4006)
        return obj

    def api_create(self, ctx, args, query, raw):
        t = self.body_tracking(ctx, raw)
        number = t.get("tracking_number")
        if number is None or number == "":
            raise ApiError(400, 4007)
        if not isinstance(number, str):
            raise ApiError(400, 4005)
        forced = self.faults.create_errors.get(number)
        if forced:
            raise ApiError(404 if forced == 4004 else 400, forced)
        if not self.faults.number_rule.fullmatch(number):
            raise ApiError(400, 4005)
        slug = t.get("slug")
        if slug in (None, ""):
            slug = detect_slug(number)
            if slug is None:
                raise ApiError(400, 4012)
        elif not isinstance(slug, str) or slug not in KNOWN_SLUGS:
            raise ApiError(400, 4010)
        with self.store.lock:
            existing = self.store.find(number, slug)
            if existing is not None:
                data = {}
                if self.faults.duplicate_returns_id:
                    data = self.wrap(ctx, {"id": existing["id"], "slug": slug,
                                           "tracking_number": number})
                raise ApiError(400, 4003, data=data)
            rec = self.store.new_record(number, slug, int(time.time()),
                                        title=t.get("title"), order_id=t.get("order_id"))
            self.store.insert(rec)
            return 201, self.wrap(ctx, render(rec, ctx))

    def api_get(self, ctx, args, query, raw):
        with self.store.lock:
            rec = self.lookup(args)
            return 200, self.wrap(ctx, render(rec, ctx, self.faults.reverse_checkpoints))

    def api_put(self, ctx, args, query, raw):
        t = self.body_tracking(ctx, raw)
        with self.store.lock:
            rec = self.lookup(args)
            for key in ("title", "order_id"):
                if key in t:
                    rec[key] = t[key]
            self.store.touch(rec, max(int(time.time()), rec["updated_at"]))
            return 200, self.wrap(ctx, render(rec, ctx))

    def api_delete(self, ctx, args, query, raw):
        with self.store.lock:
            rec = self.lookup(args)
            self.store.remove(rec)
            return 200, self.wrap(ctx, render(rec, ctx))

    def api_list(self, ctx, args, query, raw):
        q = parse_qs(query, keep_blank_values=True)

        def one(name):
            v = q.get(name)
            return v[-1] if v else None

        limit = one("limit")
        if limit is None:
            limit = 100
        else:
            if not re.fullmatch(r"\d{1,4}", limit) or not 1 <= int(limit) <= 200:
                raise invalid_param("limit")
            limit = int(limit)
        numbers = None
        if one("tracking_numbers") is not None:
            numbers = [n.strip() for n in one("tracking_numbers").split(",") if n.strip()]
            if len(numbers) > 50:
                raise invalid_param("tracking_numbers")
        bounds = {}
        for name in ("updated_at_min", "updated_at_max"):
            if one(name) is not None:
                bounds[name] = parse_iso_strict(one(name))
                if bounds[name] is None:
                    raise invalid_param(name)
        slug, tag = one("slug"), one("tag")
        after, page = None, 1
        endless = self.faults.endless_list if numbers is None else None
        if ctx.cursor_pages:
            if endless and (one("cursor") or "").startswith("endless."):
                page = int(one("cursor")[8:])       # a cursor only endless pages give
            elif one("cursor"):
                after = decode_cursor(one("cursor"))
        elif one("page") is not None:
            if not re.fullmatch(r"\d{1,9}", one("page")) or int(one("page")) < 1:
                raise invalid_param("page")
            page = int(one("page"))

        with self.store.lock:
            st = self.store
            if numbers is not None:
                keys = sorted((r["updated_at"], r["id"])
                              for n in dict.fromkeys(numbers) for r in st.find(n))
            else:
                start = 0
                if "updated_at_min" in bounds:      # bisect: cost follows what changed since
                    start = bisect.bisect_left(st.order, (bounds["updated_at_min"],))
                keys = st.order[start:]
            lo, hi = bounds.get("updated_at_min"), bounds.get("updated_at_max")
            if lo is not None or hi is not None or slug or tag:
                keys = [k for k in keys
                        if (lo is None or k[0] >= lo) and (hi is None or k[0] <= hi)
                        and (not slug or st.by_id[k[1]]["slug"] == slug)
                        and (not tag or st.by_id[k[1]]["tag"] == tag)]
            total = len(keys)
            if ctx.cursor_pages:
                first = bisect.bisect_right(keys, after) if after else 0
            else:
                first = (page - 1) * limit
            chosen = keys[first:first + limit]
            rev = self.faults.reverse_checkpoints
            if endless:
                chosen = keys[:limit] if page == 1 or endless == "repeat" else []
            trackings = [render(st.by_id[k[1]], ctx, rev) for k in chosen]
        if endless:
            return self.endless_page(ctx, endless, page, limit, trackings)
        if ctx.cursor_pages:
            more = first + limit < total
            return 200, {"pagination": {"total": total, "has_next_page": more,
                                        "next_cursor": encode_cursor(chosen[-1]) if more else None},
                         "trackings": trackings}
        return 200, {"page": page, "limit": limit, "count": total, "keyword": "", "slug": slug or "",
                     "origin": [], "destination": [], "tag": tag or "", "fields": "",
                     "created_at_min": None, "created_at_max": None, "trackings": trackings}

    def endless_page(self, ctx, mode, page, limit, trackings):
        """A list page of the endless_list knob (see the module's docstring)."""
        n = page if mode == "fresh" else 1
        number = "1ZENDLESS%08d" % n
        made_up = self.store.new_record(number, "ups", int(time.time()), seed="endless|%d" % n)
        trackings = trackings + [render(made_up, ctx)]
        total = (page + 1) * limit + 1
        if ctx.cursor_pages:
            return 200, {"pagination": {"total": total, "has_next_page": True,
                                        "next_cursor": "endless.%d" % (n + 1)},
                         "trackings": trackings}
        return 200, {"page": page, "limit": limit, "count": total, "keyword": "", "slug": "",
                     "origin": [], "destination": [], "tag": "", "fields": "",
                     "created_at_min": None, "created_at_max": None, "trackings": trackings}

    # -- control API
    def control(self, method, path, query, raw):
        q = parse_qs(query)
        body = {}
        if method == "POST" and raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ControlError(400, "invalid JSON")
            if not isinstance(body, dict):
                raise ControlError(400, "body must be a JSON object")
        routes = {
            ("GET", "/_control/health"): lambda: {"ok": True, "port": self.port},
            ("GET", "/_control/faults"): lambda: {"ok": True, "faults": self.faults.show()},
            ("POST", "/_control/faults"): lambda: self.faults.apply(body) or
            {"ok": True, "faults": self.faults.show()},
            ("GET", "/_control/log"): lambda: self.ctl_log(q),
            ("POST", "/_control/log/clear"): self.ctl_log_clear,
            ("GET", "/_control/trackings"): lambda: self.ctl_trackings(q),
            ("POST", "/_control/seed"): lambda: self.ctl_seed(body),
            ("POST", "/_control/advance"): lambda: self.ctl_advance(body),
            ("POST", "/_control/reset"): self.ctl_reset,
            ("POST", "/_control/save"): lambda: {"ok": self.save()},
        }
        handler = routes.get((method, path.rstrip("/")))
        if handler is None:
            if any(p == path.rstrip("/") for _, p in routes):
                raise ControlError(405, "method not allowed")
            raise ControlError(404, "unknown control route")
        return handler()

    def ctl_log(self, q):
        since = int(q.get("since", ["0"])[-1])
        with self.log_lock:
            entries = [e for e in self.log if e["seq"] > since]
        return {"ok": True, "requests": entries}

    def ctl_log_clear(self):
        with self.log_lock:
            self.log.clear()
        return {"ok": True}

    def ctl_reset(self):
        self.generation += 1
        self.store.clear()
        with self.faults.lock:
            self.faults.reset()
        self.limiter.clear()
        self.ctl_log_clear()
        return {"ok": True}

    def ctl_trackings(self, q):
        v = q.get("version", ["2025-07"])[-1]
        ctx = Ctx("v4", None) if v == "v4" else Ctx("versioned", v)
        with self.store.lock:
            if "tracking_number" in q:
                recs = self.store.find(q["tracking_number"][-1])
            else:
                recs = [self.store.by_id[k[1]] for k in self.store.order]
            return {"ok": True, "count": len(recs), "trackings": [render(r, ctx) for r in recs]}

    def find_for_control(self, body):
        if body.get("id"):
            rec = self.store.get(body["id"])
        else:
            number = body.get("tracking_number")
            if not number:
                raise ControlError(400, "id or tracking_number required")
            if body.get("slug"):
                rec = self.store.find(number, body["slug"])
            else:
                recs = self.store.find(number)
                if len(recs) > 1:
                    raise ControlError(409, "several trackings with that number: give slug")
                rec = recs[0] if recs else None
        if rec is None:
            raise ControlError(404, "no such tracking")
        return rec

    def apply_fields(self, rec, item, now):
        """Shared by seed and advance: tag, checkpoint, dates and raw field overrides."""
        tag = item.get("tag")
        if tag is not None:
            if tag not in TAGS:
                raise ControlError(400, "tag must be one of %s" % ", ".join(TAGS))
            rec["tag"] = tag
            rec["subtag"] = item.get("subtag") or tag + "_001"
            rec["subtag_message"] = item.get("subtag_message",
                                             SUBTAG_MESSAGES.get(rec["subtag"], tag))
            rec["active"] = tag not in FINAL_TAGS
        elif "subtag" in item:
            rec["subtag"] = item["subtag"]
            rec["subtag_message"] = item.get("subtag_message", SUBTAG_MESSAGES.get(item["subtag"]))
        cp = None
        if item.get("checkpoint", not CHECKPOINT_KEYS.isdisjoint(item)):
            self.cp_seq += 1
            cp = {"checkpoint_time": item.get("checkpoint_time")
                  or checkpoint_time_form(now, self.cp_seq),
                  "created_at": iso(now), "message": item.get("message", rec["subtag_message"]),
                  "tag": rec["tag"], "subtag": rec["subtag"],
                  "subtag_message": rec["subtag_message"], "location": item.get("location"),
                  "city": item.get("city"), "state": item.get("state"), "zip": item.get("zip"),
                  "country": item.get("country"), "slug": rec["slug"]}
            rec["checkpoints"].append(cp)
        for cp_in in item.get("checkpoints") or ():
            c = dict(cp_in)
            c.setdefault("country", c.pop("country_region", None) or c.pop("country_iso3", None))
            c.setdefault("created_at", iso(now))
            c.setdefault("slug", rec["slug"])
            rec["checkpoints"].append(c)
        if "expected_delivery" in item:
            (rec["latest_estimated_delivery"], rec["courier_estimated_delivery_date"],
             rec["expected_delivery"]) = make_edd(item["expected_delivery"], item.get("edd_fields"))
        if "delivered_at" in item:
            rec["shipment_delivery_date"] = item["delivered_at"]
        elif rec["tag"] == "Delivered" and rec["shipment_delivery_date"] is None:
            rec["shipment_delivery_date"] = cp["checkpoint_time"] if cp else iso(now)
        for key in ("title", "order_id", "active", "courier_tracking_link",
                    "pickup_location", "pickup_note", "signed_by"):
            if key in item:
                rec[key] = item[key]
        self.apply_estimates(rec, item)
        for key in ("origin_country", "destination_country"):
            if key in item:
                rec[key] = item[key]
        if item.get("fields"):
            rec["extra"].update(item["fields"])

    @staticmethod
    def apply_estimates(rec, item):
        """The estimate objects by their AfterShip shapes (each null to clear):
        "courier_estimate" / "aftership_estimate": {"date", "min", "max"} ->
        courier_estimated_delivery_date / aftership_estimated_delivery_date;
        "latest_estimate": {"type", "source", "datetime", "datetime_min",
        "datetime_max"} -> latest_estimated_delivery as given."""
        for key, field in (("courier_estimate", "courier_estimated_delivery_date"),
                           ("aftership_estimate", "aftership_estimated_delivery_date")):
            if key not in item:
                continue
            e = item[key]
            if e is None:
                rec[field] = None
                continue
            rec[field] = {"estimated_delivery_date": e.get("date"),
                          "estimated_delivery_date_min": e.get("min"),
                          "estimated_delivery_date_max": e.get("max")}
            if key == "aftership_estimate":
                rec[field]["confidence_code"] = e.get("confidence_code")
        if "latest_estimate" in item:
            e = item["latest_estimate"]
            rec["latest_estimated_delivery"] = None if e is None else {
                k: e.get(k) for k in ("type", "source", "datetime", "datetime_min",
                                      "datetime_max")}

    def ctl_advance(self, body):
        now = int(time.time())
        with self.store.lock:
            rec = self.find_for_control(body)
            try:
                ts = parse_time_lenient(body["updated_at"]) if "updated_at" in body else now
            except ValueError as e:
                raise ControlError(400, str(e))
            self.apply_fields(rec, body, now)
            self.store.touch(rec, ts)
            return {"ok": True, "tracking": render(rec, Ctx("versioned", "2025-07"))}

    def ctl_seed(self, body):
        items = list(body.get("trackings") or [])
        gen = body.get("generate")
        if gen:
            prefix, width = gen.get("prefix", "1ZSEED"), int(gen.get("width", 8))
            base = gen.get("updated_at")
            step = int(gen.get("step_s", 0))
            for i in range(int(gen.get("start", 0)), int(gen.get("start", 0)) + int(gen["count"])):
                item = {"tracking_number": "%s%0*d" % (prefix, width, i)}
                for key in ("slug", "tag", "subtag", "expected_delivery"):
                    if key in gen:
                        item[key] = gen[key]
                if base is not None:
                    item["updated_at"] = parse_time_lenient(base) + step * i
                items.append(item)
        quiet = bool(body.get("quiet"))    # big batches: skip the id list in the answer
        now = int(time.time())
        out, fresh = [], {}     # fresh: id -> record not yet in the sorted order
        with self.store.lock:
            st = self.store
            for item in items:
                number = item.get("tracking_number")
                if not isinstance(number, str) or not number:
                    raise ControlError(400, "every tracking needs a tracking_number")
                slug = item.get("slug") or detect_slug(number) or "ups"
                try:
                    created = parse_time_lenient(item.get("created_at", now))
                    updated = parse_time_lenient(item.get("updated_at", created))
                except ValueError as e:
                    raise ControlError(400, str(e))
                rec = st.find(number, slug)
                if rec is None:
                    rec = st.new_record(number, slug, created, item.get("title"), None)
                    if item.get("id"):
                        rec["id"] = item["id"]
                    if item.get("legacy_id"):
                        rec["legacy_id"] = item["legacy_id"]
                    st.insert(rec, keep_order=False)
                    fresh[rec["id"]] = rec
                    self.apply_fields(rec, item, updated)
                    rec["updated_at"] = int(updated)
                elif rec["id"] in fresh:            # same number twice in one batch
                    self.apply_fields(rec, item, updated)
                    rec["updated_at"] = int(updated)
                else:
                    self.apply_fields(rec, item, updated)
                    st.touch(rec, updated)
                if not quiet:
                    out.append({"id": rec["id"], "legacy_id": rec["legacy_id"],
                                "tracking_number": number, "slug": slug})
            keys = [(r["updated_at"], i) for i, r in fresh.items()]
            if len(keys) > 64:      # bulk: one sort beats many insorts
                st.order.extend(keys)
                st.order.sort()
            else:
                for key in keys:
                    bisect.insort(st.order, key)
        return {"ok": True, "seeded": len(items), "trackings": out}


# ---------------------------------------------------------------- HTTP layer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive, like the real service
    server_version = "aftership-stub/1"
    timeout = 60                      # idle keep-alive connections go away eventually

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
        pass    # one compact line per request is written by dispatch()

    def log_message(self, fmt, *args):
        sys.stderr.write("aftership-stub: %s\n" % (fmt % args))

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

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
        t0 = time.time()
        split = urlsplit(self.path)
        path, query = split.path, split.query
        raw = self.read_body()
        if path == "/_control" or path.startswith("/_control/"):
            try:
                status, obj = 200, app.control(method, path, query, raw)
            except ControlError as e:
                status, obj = e.status, {"ok": False, "error": str(e)}
            except (ValueError, TypeError, KeyError) as e:
                status, obj = 400, {"ok": False, "error": "bad control request: %r" % (e,)}
            self.send(status, json.dumps(obj).encode())
            self.note(method, path, status, t0)
            return
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                 "method": method, "path": path, "query": query,
                 "content_type": self.headers.get("Content-Type"),
                 "body": raw[:2000].decode("utf-8", "replace") if raw else None}
        status = self.api(app, method, path, query, raw, entry)
        entry["status"] = status
        entry["ms"] = round((time.time() - t0) * 1000, 1)
        if not entry.get("forgotten"):      # nor in the log a reset cleared
            app.record(entry)
        self.note(method, path + ("?" + query if query else ""), status, t0)

    def note(self, method, target, status, t0):
        sys.stderr.write("aftership-stub: %s %s %s %.1fms\n"
                         % (method, target, status or "dropped", (time.time() - t0) * 1000))

    def api(self, app, method, path, query, raw, entry):
        """Serve one API request; returns the HTTP status (0 when the connection was dropped)."""
        base = parse_base(path, app.faults)
        ctx, rest = base if base else (None, None)
        headers = []
        if ctx is not None and ctx.family == "versioned":
            headers.append(("as-api-version", ctx.version))
        entry["version"] = ctx.version if ctx else None
        # Which key header did the client send? (the value itself is never logged)
        if ctx is not None and ctx.family == "v4":
            hdr = next((h for h in ("aftership-api-key", "as-api-key") if self.headers.get(h)), None)
        else:
            hdr = "as-api-key" if self.headers.get("as-api-key") else None
        entry["key_header"] = hdr
        entry["key_present"] = bool(self.headers.get("as-api-key")
                                    or self.headers.get("aftership-api-key"))

        generation = app.generation
        delay, fault = app.faults.take()
        entry["fault"] = fault
        if delay:
            time.sleep(delay)
        # A reset while this request slept forgets it too: a slow answer from
        # before must not register a tracking in the next test's fresh state.
        if generation != app.generation:
            self.close_connection = True
            entry["forgotten"] = True
            return 0
        if fault == "drop":
            self.close_connection = True
            return 0
        if fault == "5xx":
            code = app.faults.status_5xx_code
            text = "%d %s\n" % (code, self.responses.get(code, ("Server Error",))[0])
            self.send(code, text.encode(), "text/plain; charset=utf-8")
            return code

        key = self.headers.get(hdr) if hdr else None
        account = hashlib.sha1((key or "").encode()).hexdigest()[:12]
        bucket = None
        try:
            if ctx is None:
                bucket = "other"
                self.rate(app, account, bucket, headers)
                raise ApiError(404, 404, "NotFound",
                               "The URI requested is invalid or the resource requested "
                               "does not exist.")
            bucket = "v4" if ctx.family == "v4" else "other"
            if not key or (app.api_key is not None
                           and not hmac.compare_digest(key.encode(), app.api_key.encode())):
                _, limit, _, reset = app.limiter.take(account, bucket, consume=False)
                headers += [("X-RateLimit-Limit", limit), ("X-RateLimit-Remaining", limit),
                            ("X-RateLimit-Reset", reset)]
                raise ApiError(401, 401, "Unauthorized", "Invalid API key.")
            try:
                bucket, handler, args = app.route(ctx, method, rest)
            except ApiError as e:
                if e.http == 405:
                    headers.append(("Allow", e.data.pop("_allow")))
                self.rate(app, account, bucket, headers)
                raise
            self.rate(app, account, bucket, headers)
            status, data = handler(ctx, args, query, raw)
            meta = {"code": status, "message": "Created" if status == 201 else "OK",
                    "type": "Created" if status == 201 else "OK"}
        except ApiError as e:
            status, data = e.http, e.data
            meta = {"code": e.code, "message": e.message, "type": e.etype}
        except Exception:       # a bug in the stub: say so loudly, answer like AfterShip would
            traceback.print_exc()
            status, data = 500, {}
            meta = {"code": 500, "message": "Something went wrong on AfterShip's end.",
                    "type": "InternalError"}
        entry["bucket"], entry["meta_code"] = bucket, meta["code"]
        body = json.dumps({"meta": meta, "data": data}).encode()
        if fault == "malformed":
            body = body[:max(1, len(body) // 2)]     # valid HTTP, truncated JSON
        self.send(status, body, headers=app.faults.override_headers(headers))
        return status

    def rate(self, app, account, bucket, headers):
        """Apply quota and rate limit; adds X-RateLimit-* to headers; raises 429."""
        f = app.faults
        if f.quota_exhausted:
            now = datetime.now(timezone.utc)
            midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
            reset = int(midnight.timestamp())
            headers += [("X-RateLimit-Limit", f.limits.get(bucket) or 0),
                        ("X-RateLimit-Remaining", 0), ("X-RateLimit-Reset", reset)]
            if f.retry_after:
                headers.append(("Retry-After", max(1, reset - int(time.time()))))
            raise ApiError(429, 429, "TooManyRequests",
                           "You have exceeded the API call quota of your plan.")
        allowed, limit, remaining, reset = app.limiter.take(account, bucket)
        headers += [("X-RateLimit-Limit", limit), ("X-RateLimit-Remaining", remaining),
                    ("X-RateLimit-Reset", reset)]
        if not allowed:
            if f.retry_after:
                headers.append(("Retry-After", max(1, reset - int(time.time()))))
            raise ApiError(429, 429, "TooManyRequests",
                           "You have exceeded the API call rate limit. The limit is %d "
                           "requests per second." % limit)


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
    ap = argparse.ArgumentParser(description="AfterShip Tracking API stand-in for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here once listening (atomically)")
    ap.add_argument("--api-key", help="the only key accepted (default: any non-empty key)")
    ap.add_argument("--state", help="JSON file loaded at start, written at shutdown")
    opts = ap.parse_args()

    app = App(opts.api_key, opts.state)
    server = Server((opts.host, opts.port), Handler)
    server.app = app
    app.port = server.server_address[1]
    if opts.port_file:
        tmp = "%s.tmp.%d" % (opts.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % app.port)
        os.replace(tmp, opts.port_file)
    sys.stderr.write("aftership-stub: listening on %s:%d\n" % (opts.host, app.port))

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    signal.sigwait(STOP_SIGNALS)
    server.shutdown()
    server.server_close()
    if app.save():
        sys.stderr.write("aftership-stub: state written to %s\n" % opts.state)
    sys.stderr.write("aftership-stub: stopped\n")


if __name__ == "__main__":
    main()
