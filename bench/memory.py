#!/usr/bin/env python3
"""Peak memory of the webhook receiver under sustained load.

Runs webhook.fcgi under lighttpd (contrib/lighttpd/shiptrack.conf, its
placeholders filled), sends N unique signed events (bench/gen-events.py)
with wrk and bench/ingest.lua, and reports each FastCGI worker's peak RSS
(VmHWM in /proc/PID/status) and current RSS when 10k, 50k and N events
are stored.  The receiver should not grow with the number of requests:
the target is a peak of at most --limit-kb (8 MB) per worker, and the
script exits 1 when a worker goes over it, grows by more than --growth-kb
between the first and the last mark, or is restarted.

    python3 bench/memory.py [--requests 100000] [--connections 16]
                            [--durability normal|full] [--keep DIR]

Needs a built tree (`make`), lighttpd and wrk (Debian: apt-get install
lighttpd wrk).  Run from the top of the tree or set top_builddir.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.environ.get("top_srcdir") or
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BUILD = os.path.abspath(os.environ.get("top_builddir") or TOP)
SECRET = "whsec_bench_secret_0c1d"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_kb(pid, field):
    """A /proc/PID/status value (kB, or a count)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def workers(parent):
    """webhook.fcgi processes whose parent is lighttpd."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().split(b"\0")[0]
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == parent and cmd.endswith(b"webhook.fcgi") and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


def count_events(db):
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--marks", default="10000,50000")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--durability", default="normal", choices=("normal", "full"))
    ap.add_argument("--limit-kb", type=int, default=8192)
    ap.add_argument("--growth-kb", type=int, default=512)
    ap.add_argument("--receiver-threads", type=int,
                    help="threads per webhook.fcgi process (shiptrack.conf `threads`)")
    ap.add_argument("--max-procs", type=int,
                    help="webhook.fcgi processes lighttpd runs (contrib: 2)")
    ap.add_argument("--setenv", action="append", default=[], metavar="VAR=VALUE",
                    help="extra environment for lighttpd and the workers, e.g."
                    " MALLOC_ARENA_MAX=2")
    ap.add_argument("--keep", help="use (and keep) this directory for state")
    a = ap.parse_args()

    for tool in ("wrk", "lighttpd"):
        if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
            sys.exit("memory.py: %s not found (apt-get install %s)" % (tool, tool))
    lighttpd = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
    for prog in ("webhook.fcgi", "shiptrack"):
        if not os.access(os.path.join(BUILD, "cgi", prog), os.X_OK):
            sys.exit("memory.py: build first (make): cgi/%s missing" % prog)

    state = a.keep or tempfile.mkdtemp(prefix="shiptrack-memory-")
    os.makedirs(state, exist_ok=True)
    db = os.path.join(state, "shiptrack.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    conf = os.path.join(state, "shiptrack.conf")
    with open(conf, "w") as f:
        f.write("database = %s\nwebhook_secret = %s\ndurability = %s\nlog_level = warning\n"
                % (db, SECRET, a.durability))
        if a.receiver_threads:
            f.write("threads = %d\n" % a.receiver_threads)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SHIPTRACK_CONFIG": conf}
    for kv in a.setenv:
        k, _, v = kv.partition("=")
        env[k] = v
    subprocess.run([os.path.join(BUILD, "cgi", "shiptrack"), "migrate"], env=env, check=True,
                   stdout=subprocess.DEVNULL)

    events = os.path.join(state, "events-%d.tsv" % a.requests)
    if not os.path.exists(events):
        print("generating %d signed events ..." % a.requests, flush=True)
        subprocess.run([sys.executable, os.path.join(TOP, "bench", "gen-events.py"),
                        str(a.requests), SECRET, events], check=True)

    port = free_port()
    with open(os.path.join(TOP, "contrib", "lighttpd", "shiptrack.conf")) as f:
        text = f.read()
    for k, v in {"@WEBROOT@": os.path.join(TOP, "web"), "@PORT@": str(port),
                 "@STATEDIR@": state, "@LIBEXECDIR@": os.path.join(BUILD, "cgi"),
                 "@CONFIG@": conf}.items():
        text = text.replace(k, v)
    if a.max_procs:
        # Only the /webhook block's: it comes first in the contrib file.
        text = re.sub(r'("max-procs"\s*=>\s*)\d+', r"\g<1>%d" % a.max_procs, text, count=1)
    lconf = os.path.join(state, "lighttpd.conf")
    with open(lconf, "w") as f:
        f.write(text)
    httpd = subprocess.Popen([lighttpd, "-D", "-f", lconf], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(state, "lighttpd.stderr"), "ab"),
                             env=env)
    wrk = None
    rc = 0
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or httpd.poll() is not None:
                    sys.exit("memory.py: lighttpd did not start (see %s)" % state)
                time.sleep(0.1)
        # lighttpd spawns the workers at start.
        time.sleep(0.5)
        pids = workers(httpd.pid)
        if not pids:
            sys.exit("memory.py: no webhook.fcgi workers under lighttpd")
        base = {p: (status_kb(p, "VmHWM"), status_kb(p, "VmRSS")) for p in pids}
        print("lighttpd on port %d, webhook.fcgi workers %s, durability %s, threads %s%s"
              % (port, pids, a.durability, a.receiver_threads or "16 (default)",
                 "".join(", " + kv for kv in a.setenv)))
        print("%-10s %s" % ("at start", "  ".join("pid %d: peak %d kB, rss %d kB" % (p, h, r)
                                                   for p, (h, r) in base.items())))
        wenv = dict(os.environ, EVENTS=events, WRK_THREADS=str(a.threads))
        t0 = time.monotonic()
        wrk_out = open(os.path.join(state, "wrk.out"), "w+")
        wrk = subprocess.Popen(["wrk", "-t%d" % a.threads, "-c%d" % a.connections, "-d3600s",
                                "--timeout", "10s", "-s", os.path.join(TOP, "bench", "ingest.lua"),
                                "http://127.0.0.1:%d/webhook" % port],
                               env=wenv, stdout=wrk_out, stderr=subprocess.STDOUT)
        marks = [int(m) for m in a.marks.split(",") if m] + [a.requests]
        results = []
        last, progress = -1, time.monotonic()
        while marks:
            time.sleep(0.2)
            n = count_events(db)
            if n is None:
                continue
            if n >= marks[0]:
                row = (marks.pop(0), n, time.monotonic() - t0,
                       {p: (status_kb(p, "VmHWM"), status_kb(p, "VmRSS")) for p in pids})
                results.append(row)
                print("%-10s %s" % ("%dk" % (row[0] // 1000),
                                    "  ".join("pid %d: peak %s kB, rss %s kB" % (p, h, r)
                                              for p, (h, r) in row[3].items())), flush=True)
                for p in pids:
                    print("%-10s pid %d: anon %s kB, file %s kB, shmem %s kB, threads %s"
                          % ("", p, status_kb(p, "RssAnon"), status_kb(p, "RssFile"),
                             status_kb(p, "RssShmem"), status_kb(p, "Threads")))
                # A WAL that never restarts grows the wal-index the workers map.
                print("%-10s database %d kB, WAL %d kB" % (
                    "", os.path.getsize(db) // 1024,
                    os.path.getsize(db + "-wal") // 1024 if os.path.exists(db + "-wal")
                    else 0), flush=True)
            if wrk.poll() is not None:
                print("memory.py: wrk ended early:\n" + open(wrk_out.name).read())
                rc = 1
                break
            if n != last:
                last, progress = n, time.monotonic()
            elif time.monotonic() - progress > 30:
                print("memory.py: no event stored for 30 s, at %d" % n)
                rc = 1
                break
        elapsed = time.monotonic() - t0
        wrk.send_signal(signal.SIGINT)   # wrk prints its summary on SIGINT
        try:
            wrk.wait(15)
        except subprocess.TimeoutExpired:
            wrk.kill()
            wrk.wait()
        wrk_out.seek(0)
        summary = wrk_out.read()
        after = workers(httpd.pid)
        print("\n%d events stored in %.1f s (%.0f/s)" % (results[-1][1] if results else 0,
                                                         elapsed, (results[-1][1] if results
                                                                   else 0) / elapsed))
        for line in summary.splitlines():
            if "Non-2xx" in line or "Socket errors" in line or "Requests/sec" in line:
                print("wrk: " + line.strip())
        if after != pids:
            print("FAIL: workers changed from %s to %s (restarted?)" % (pids, after))
            rc = 1
        if results:
            for p in pids:
                first, final = results[0][3][p][0], results[-1][3][p][0]
                if final is None:
                    continue
                verdict = "ok"
                if final > a.limit_kb:
                    verdict = "OVER the %d kB target" % a.limit_kb
                    rc = 1
                if first is not None and final - first > a.growth_kb:
                    verdict += "; GREW by %d kB" % (final - first)
                    rc = 1
                print("pid %d: peak %d kB at %dk, %d kB at %dk: %s"
                      % (p, first, results[0][0] // 1000, final, results[-1][0] // 1000,
                         verdict))
        print("state kept in %s" % state if a.keep else "")
    finally:
        if wrk is not None and wrk.poll() is None:
            wrk.kill()
            wrk.wait()
        kids = workers(httpd.pid)
        httpd.send_signal(signal.SIGTERM)
        try:
            httpd.wait(10)
        except subprocess.TimeoutExpired:
            httpd.kill()
            httpd.wait()
        time.sleep(0.5)
        for k in kids:   # spawned by our lighttpd: ours to end if still there
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        if not a.keep:
            shutil.rmtree(state, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
