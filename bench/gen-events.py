#!/usr/bin/env python3
"""Write N signed ~1.5 KB Rye events (unique ids): bench/rawsqlite inserts them,
bench/loadgen --gen-events sends the same ones (bench/run checks the first 64
are identical), bench/ingest.lua (bench/memory.py) sends them through wrk.

Output: one line per request, "<base64 signature>\t<body>", bodies have no
tabs or newlines.  Usage: gen-events.py N SECRET OUT [--orders K]
"""
import base64, hashlib, hmac, json, sys

def main():
    n, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
    orders = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--orders" else n
    pad = "x" * 900
    types = ["PAYMENT_SUCCEEDED", "ORDER_SUBMISSION_STARTED", "ORDER_PLACED", "TRACKING_OBTAINED"]
    with open(out, "w") as f:
        for i in range(n):
            t = types[i % len(types)]
            data = {"marketplace": "shopify", "note": pad,
                    "order": {"trackingNumber": f"1Z{i:016d}", "courierName": "UPS",
                              "courierUrl": f"https://www.ups.com/track?tracknum=1Z{i:016d}"}}
            body = json.dumps({"id": f"evt_bench_{i:09d}", "type": t,
                               "requestId": f"ord_bench_{i % orders:09d}",
                               "developerId": "bench", "createdAt":
                               f"2025-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.{i % 1000:03d}Z",
                               "data": data}, separators=(",", ":"))
            sig = base64.b64encode(hmac.new(secret, body.encode(), hashlib.sha256).digest()).decode()
            f.write(sig + "\t" + body + "\n")

if __name__ == "__main__":
    main()
