#!/usr/bin/env python3
"""bench/run's own parts, without measuring anything.

The benchmark's figures cannot be tested (they depend on the machine), but
what bench/run makes of them can: which window of a sustained row breaks
the tail bounds and whether a target counts as met; what it says about the
disk under its work directory (a sysfs tree laid out as the kernel lays it
out for partitions, NVMe, virtio and device-mapper, and this machine's own
/sys); that it reads the real bench/loadgen's JSON into a row (against a
small HTTP/1.1 server here); and that it refuses to run when loadgen's
generated events are no longer bench/gen-events.py's.
"""
import http.server
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shiptrack_test as st  # noqa: E402
from shiptrack_test import check, eq  # noqa: E402

RUN = os.path.join(st.TOP_SRCDIR, "bench", "run")
GEN_EVENTS = os.path.join(st.TOP_SRCDIR, "bench", "gen-events.py")
LOADGEN = os.path.join(st.TOP_BUILDDIR, "bench", "loadgen")
TMP = st.tempdir("shiptrack-benchrun-")


def load_run():
    loader = importlib.machinery.SourceFileLoader("bench_run", RUN)
    spec = importlib.util.spec_from_loader("bench_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


br = load_run()


def window(start, p99, p999, mx, requests=1000):
    return {"start": start, "requests": requests, "rps": requests / 5.0, "p50": 1.0,
            "p99": p99, "p999": p999, "max": mx}


def sustained_row(key, rps, windows):
    r = br.Row(key, key)
    r.rps, r.sustained, r.window = rps, True, 5
    r.windows = windows
    r.max = max(w["max"] for w in windows)
    r.p99 = max(w["p99"] for w in windows)
    r.p999 = max(w["p999"] for w in windows)
    r.load = 0.1
    return r


def plain_row(key, rps):
    r = br.Row(key, key)
    r.rps, r.load = rps, 0.1
    return r


# --- targets ----------------------------------------------------------------------

def test_one_slow_window_misses_the_sustained_target():
    clean = [window(s, 4.0, 9.0, 30.0) for s in range(0, 60, 5)]
    slow = list(clean)
    slow[7] = window(35, 31.0, 60.0, 80.0)      # one periodic stall
    rows = {"raw-full": plain_row("raw-full", 1000),
            "ingest-full-sustained": sustained_row("ingest-full-sustained", 950, clean)}
    c = br.sustained_check(rows, "ingest-full-sustained", "raw-full", 0.9, "full")
    eq(c.met, True, "clean windows at 0.95 of the ceiling")
    rows["ingest-full-sustained"] = sustained_row("ingest-full-sustained", 950, slow)
    c = br.sustained_check(rows, "ingest-full-sustained", "raw-full", 0.9, "full")
    eq(c.met, False, "one window over p99 20 ms")
    check("p99 31.0 ms in 35-40 s" in c.detail, "the window is named: %r" % c.detail)
    check("p99.9 60.0 ms in 35-40 s" in c.detail, "its p99.9 too: %r" % c.detail)


def test_max_and_empty_windows_and_rate_each_miss():
    ok = [window(s, 4.0, 9.0, 30.0) for s in range(0, 10, 5)]
    rows = {"hello": plain_row("hello", 1000)}
    rows["r"] = sustained_row("r", 700, [ok[0], window(5, 4.0, 9.0, 300.0)])
    eq(br.tail_breaches(rows["r"]), ["max 300 ms"], "max over 250 ms, whole run")
    rows["r"] = sustained_row("r", 700, [ok[0], window(5, 0, 0, 0, requests=0)])
    eq(br.tail_breaches(rows["r"]), ["no answer in 5-10 s"], "a window without answers")
    rows["r"] = sustained_row("r", 500, ok)
    c = br.sustained_check(rows, "r", "hello", 0.6, "normal")
    eq((c.met, c.detail), (False, "0.50 < 0.6"), "rate below the ratio, tails fine")
    eq(br.sustained_check(rows, "missing", "hello", 0.6, "x").met, None, "not measured")


def test_report_names_each_missed_target_and_marks_windows():
    rows = {"raw-full": plain_row("raw-full", 1000), "hello": plain_row("hello", 2000)}
    rows["ingest-full-sustained"] = sustained_row(
        "ingest-full-sustained", 950, [window(0, 4.0, 9.0, 30.0), window(5, 4.0, 9.0, 30.0)])
    rows["ingest-normal-sustained"] = sustained_row(
        "ingest-normal-sustained", 1500, [window(0, 25.0, 9.0, 30.0), window(5, 4, 9, 30)])
    lines = br.target_lines(rows, br.checks(rows))
    last = lines[-1]
    check(last.startswith("targets: 1 met, 1 missed: sustained ingest normal / C hello"),
          "the last line: %r" % last)
    check("5 not measured" in last and "view / best PHP (-)" in last and
          "ingest full on PostgreSQL, 2x8 / raw libpq full" in last,
          "the PHP and PostgreSQL comparisons are not measured here: %r" % last)
    wl = br.window_lines([rows["ingest-full-sustained"], rows["ingest-normal-sustained"]])
    check("25.0* [9.0/30.0]" in wl[2] and "*" not in wl[1].split(":", 1)[1],
          "only the slow window is marked: %r" % wl)


def test_view_ratios_are_shown_beside_the_readme_not_judged():
    rows = {"hello": plain_row("hello", 2000), "view": plain_row("view", 2200)}
    rows["hello"].spread, rows["view"].spread = 0.03, 0.04
    lines = br.view_lines(rows)
    v = [l for l in lines if l.startswith("view / C hello")][0]
    check("1.10" in v and "+/- 0.06" in v and "README before: 1.17" in v, v)
    check("met" not in v and "MISSED" not in v, "no pass/fail: %r" % v)


# --- the machine ------------------------------------------------------------------

def sysfs_disk(root, name, majmin, rotational, driver=None, parts=(), model=None):
    """A whole disk as the kernel lays it out, with partitions name+suffix."""
    dev = os.path.join(root, "devices", "pci0", name)
    os.makedirs(os.path.join(dev, "queue"))
    with open(os.path.join(dev, "queue", "rotational"), "w") as f:
        f.write("%d\n" % rotational)
    os.makedirs(os.path.join(dev, "device"))
    if driver:
        os.makedirs(os.path.join(root, "bus", "drivers", driver), exist_ok=True)
        os.symlink(os.path.join(root, "bus", "drivers", driver),
                   os.path.join(dev, "device", "driver"))
    if model:
        with open(os.path.join(dev, "device", "model"), "w") as f:
            f.write(model + "\n")
    for d in ("block", "dev/block", "class/block"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.symlink(dev, os.path.join(root, "block", name))
    os.symlink(dev, os.path.join(root, "class", "block", name))
    os.symlink(dev, os.path.join(root, "dev", "block", majmin))
    major = majmin.split(":")[0]
    for i, suffix in enumerate(parts, 1):
        p = os.path.join(dev, name + suffix)
        os.makedirs(p)
        with open(os.path.join(p, "partition"), "w") as f:
            f.write("%d\n" % i)
        os.symlink(p, os.path.join(root, "dev", "block", "%s:%d" % (major, i)))
        os.symlink(p, os.path.join(root, "class", "block", name + suffix))
    return dev


def test_disk_behind_a_partition_an_nvme_and_a_virtual_disk():
    root = os.path.join(TMP, "sys")
    sysfs_disk(root, "sda", "8:0", 0, driver="sd", parts=("1", "2"), model="Samsung SSD 870")
    sysfs_disk(root, "nvme0n1", "259:0", 0, driver="nvme", parts=("p1",))
    sysfs_disk(root, "vda", "254:0", 1, driver="virtio_blk")
    sysfs_disk(root, "xvdb", "202:16", 1)

    d, text = br.describe_disk("8:2", "ext4", "/dev/sda2", root)
    eq((d["device"], d["kind"], d["rotational"]), ("sda", "scsi/sata", False), "sda2's disk")
    check("SSD (rotational=0)" in text and "Samsung SSD 870" in text, text)
    d, text = br.describe_disk("259:1", "xfs", "/dev/nvme0n1p1", root)
    eq((d["device"], d["kind"]), ("nvme0n1", "nvme"), "the NVMe namespace's partition")
    d, text = br.describe_disk("254:0", "ext4", "/dev/vda", root)
    eq(d["kind"], "virtio", "virtio from its driver")
    check("declares HDD" in text and "not proof" in text,
          "a virtual disk's rotational flag is not taken at its word: %r" % text)
    d, _ = br.describe_disk("202:16", "ext4", "/dev/xvdb", root)
    eq(d["kind"], "xen", "xen from the name when there is no driver link")
    # btrfs: an anonymous device number, the source names the disk.
    d, _ = br.describe_disk("0:45", "btrfs", "/dev/sda1", root)
    eq(d["device"], "sda", "btrfs through its source")
    d, text = br.describe_disk("0:51", "overlay", "overlay", root)
    eq(d["kind"], "unknown", "overlay")
    check(text.startswith("disk unknown"), text)
    d, text = br.describe_disk("0:30", "tmpfs", "tmpfs", root)
    eq(text, "no disk (tmpfs: memory)", "tmpfs")


def test_device_mapper_is_described_by_the_disk_under_it():
    root = os.path.join(TMP, "sys-dm")
    sysfs_disk(root, "nvme0n1", "259:0", 0, driver="nvme", parts=("p1",))
    dm = sysfs_disk(root, "dm-0", "253:0", 0)
    os.makedirs(os.path.join(dm, "slaves"))
    os.symlink(os.path.join(root, "class", "block", "nvme0n1p1"),
               os.path.join(dm, "slaves", "nvme0n1p1"))
    d, text = br.describe_disk("253:0", "ext4", "/dev/mapper/vg-root", root)
    eq((d["device"], d["kind"]), ("dm-0", "nvme"), "dm-0 over an NVMe partition")
    check(text.startswith("disk dm-0 on nvme0n1: nvme"), text)


def test_mount_of_takes_the_longest_and_latest_mount():
    mi = os.path.join(TMP, "mountinfo")
    with open(mi, "w") as f:
        f.write("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
                "40 27 8:1 / /var/tmp rw - xfs /dev/sda1 rw\n"
                "41 27 0:30 / /var/tmp/my\\040dir rw - tmpfs tmpfs rw\n"
                "42 40 8:2 / /var/tmp rw - ext4 /dev/sda2 rw\n")
    eq(br.mount_of("/var/tmp/x", mi)[:3], ("/var/tmp", "8:2", "ext4"), "the later mount")
    eq(br.mount_of("/var/tmp/my dir/y", mi)[2], "tmpfs", "an escaped mount point")
    eq(br.mount_of("/usr", mi)[:3], ("/", "254:0", "ext4"), "the root")
    eq(br.mount_of("/var/tmpx", mi)[0], "/", "a prefix that is not a parent")


def test_machine_line_on_this_machine():
    m, line = br.machine(TMP)
    check(line.startswith("machine: %d CPUs (" % (os.cpu_count() or 1)), line)
    check("kernel %s" % os.uname().release in line, line)
    check(m["fs"] != "?" and m["fs"] in line, "the filesystem: %r" % line)
    check(m["disk"]["kind"] != "unknown" or "unknown" in line,
          "an undetected disk says so: %r" % line)


# --- loadgen ----------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536        # headers and body in one write (flushed per request)

    def do_GET(self):
        body = b'{"ok":true}'
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # loadgen leaves with requests in flight: those resets are expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def loadgen_json(path, seconds=2, window=1):
    srv = Server(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        p = subprocess.run([LOADGEN, "--port", str(srv.server_address[1]), "--path", path,
                            "--threads", "1", "--connections", "2", "--duration",
                            str(seconds), "--warmup", "0", "--window", str(window)],
                           capture_output=True, text=True, timeout=60)
    finally:
        srv.shutdown()
        srv.server_close()
    eq(p.returncode, 0, "loadgen's exit (%s)" % p.stderr)
    return p.stdout


def test_a_row_from_loadgens_json():
    row = br.Row("x", "x")
    br.fill_row(row, br.read_loadgen(loadgen_json("/ok")), 1)
    check(row.requests > 0 and row.rps > 0, "requests %r" % row.requests)
    check(0 < row.p50 <= row.p99 <= row.p999 <= row.max, "ordered percentiles %r" % (
        (row.p50, row.p99, row.p999, row.max),))
    eq(len(row.windows), 2, "one window a second")
    eq(row.notes, [], "no notes for 200s")
    row = br.Row("y", "y")
    j = br.read_loadgen(loadgen_json("/missing"))
    br.fill_row(row, j, 1)
    # loadgen counts every answer's status, also those after the last
    # recorded one: at least as many as the recorded requests.
    check(j["non2xx"] + j["unanswered"] == row.requests > 0,
          "every measured 404 counted, and the requests still unanswered: %r" % j)
    eq(row.notes, ["%d non-2xx" % j["non2xx"]], "the 404s noted")


def test_unreadable_loadgen_output_is_a_harness_error():
    for out in ("", "loadgen: connect: Connection refused\n", '{"requests": 1}\n'):
        try:
            br.read_loadgen(out)
        except br.HarnessError:
            continue
        raise AssertionError("accepted %r" % out)


def test_loadgen_and_gen_events_make_the_same_events():
    h = br.Harness.__new__(br.Harness)
    h.loadgen_bin = LOADGEN
    path = os.path.join(TMP, "events.txt")
    subprocess.run([sys.executable, GEN_EVENTS, "100", br.SECRET, path, "--orders", "26"],
                   check=True)
    h.check_events_agree(path, 26)
    # The same file checked against other orders: event 25 is the first to differ.
    try:
        h.check_events_agree(path, 25)
    except br.HarnessError as e:
        check("first difference at event 25" in str(e), str(e))
    else:
        raise AssertionError("different events accepted")
    with open(path) as f:
        lines = f.readlines()
    lines[40] = lines[40].replace('"courierName":"UPS"', '"courierName":"DHL"')
    with open(path, "w") as f:
        f.writelines(lines)
    try:
        h.check_events_agree(path, 26)
    except br.HarnessError as e:
        check("first difference at event 40" in str(e), str(e))
    else:
        raise AssertionError("a changed event accepted")


if __name__ == "__main__":
    st.run()
