"""A strict reader of Prometheus's text exposition format, version 0.0.4
(Python 3 standard library only), for tests that check GET /v1/metrics.

    import promparse
    families = promparse.parse(text)     # raises promparse.Malformed
    families["shiptrack_orders_stale"].value()

What it holds a text to (the format's own rules, as Prometheus's parser
applies them, plus the ones shiptrack promises):
  - every line ends in "\\n"; blank lines and other "#" comments are ignored;
  - "# HELP name text" and "# TYPE name type": at most one of each per
    family, TYPE before the family's first sample; metric names match
    [a-zA-Z_:][a-zA-Z0-9_:]*; HELP escapes only \\\\ and \\n;
  - samples: name, optional {label="value",...} (label names
    [a-zA-Z_][a-zA-Z0-9_]*, not starting "__", each once; values escape
    only \\\\, \\" and \\n; a trailing comma is allowed), one space, a Go
    float (digits, exponent, +Inf, -Inf, NaN), optional integer timestamp;
  - a family's lines are contiguous: once another family starts, it is
    closed;
  - every sample belongs to a family with a TYPE; the same series
    (name and labels) appears once;
  - counters: the family's name ends in _total, samples have exactly that
    name, values are >= 0; gauges: samples have the family's name;
  - histograms: only name_bucket (with an "le" label that is a float),
    name_sum and name_count; per label set the buckets are cumulative
    (never decreasing as le grows), end with le="+Inf", and name_count
    equals that bucket; both _sum and _count are present.
"""

import math
import re

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)\Z")
META = re.compile(r"# (HELP|TYPE) (\S+)(?: (.*))?\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
HIST_SUFFIXES = ("_bucket", "_sum", "_count")


class Malformed(ValueError):
    pass


class Family:
    def __init__(self, name):
        self.name, self.type, self.help = name, None, None
        self.samples = []       # (name, {label: value}, float)

    def value(self, **labels):
        """The one sample with exactly these labels (for counters, gauges)."""
        got = [v for n, l, v in self.samples if n == self.name and l == labels]
        if len(got) != 1:
            raise KeyError("%s%r: %d samples" % (self.name, labels, len(got)))
        return got[0]

    def series(self):
        return {tuple(sorted(l.items())): v for n, l, v in self.samples if n == self.name}


def _fail(n, line, why):
    raise Malformed("line %d: %s: %r" % (n, why, line))


def _unescape(s, allowed, n, line):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                _fail(n, line, "bad escape")
            out.append("\n" if s[i + 1] == "n" else s[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _label_value(line, i, n):
    """The quoted value starting at line[i] == '"'; (value, index after)."""
    j = i + 1
    while j < len(line):
        if line[j] == "\\":
            j += 2
            continue
        if line[j] == '"':
            return _unescape(line[i + 1:j], '\\"n', n, line), j + 1
        j += 1
    _fail(n, line, "unterminated label value")


def _labels(line, i, n):
    """Labels from line[i] == '{'; ({name: value}, index after '}')."""
    labels, i = {}, i + 1
    while True:
        if line[i:i + 1] == "}":
            return labels, i + 1
        m = LABEL_NAME.match(line, i)
        if not m:
            _fail(n, line, "bad label name")
        name = m.group(0)
        if name.startswith("__") or name in labels:
            _fail(n, line, "reserved or repeated label %s" % name)
        i = m.end()
        if line[i:i + 2] != '="':
            _fail(n, line, "expected =\" after a label name")
        labels[name], i = _label_value(line, i + 1, n)
        if line[i:i + 1] == ",":
            i += 1
        elif line[i:i + 1] != "}":
            _fail(n, line, "expected , or } after a label")


def _sample(line, n):
    m = METRIC_NAME.match(line)
    if not m:
        _fail(n, line, "bad metric name")
    name, i, labels = m.group(0), m.end(), {}
    if line[i:i + 1] == "{":
        labels, i = _labels(line, i, n)
    if line[i:i + 1] != " ":
        _fail(n, line, "expected one space before the value")
    parts = line[i + 1:].split(" ")
    if len(parts) not in (1, 2) or not FLOAT.match(parts[0]):
        _fail(n, line, "bad value")
    if len(parts) == 2 and not re.match(r"-?\d+\Z", parts[1]):
        _fail(n, line, "bad timestamp")
    return name, labels, float(parts[0])


def _family_of(name, families):
    if name in families:
        return families[name]
    for suffix in HIST_SUFFIXES:
        base = name[:-len(suffix)]
        if name.endswith(suffix) and base in families and \
                families[base].type == "histogram":
            return families[base]
    return None


def _meta(families, line, n, order):
    m = META.match(line)
    if not m:
        return None     # a plain comment
    kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
    if not METRIC_NAME.fullmatch(name):
        _fail(n, line, "bad metric name")
    f = families.get(name)
    if f is None:
        f = families[name] = Family(name)
        order.append(name)
    if kind == "HELP":
        if f.help is not None:
            _fail(n, line, "second HELP")
        f.help = _unescape(rest, "\\n", n, line)
    else:
        if f.type is not None or f.samples:
            _fail(n, line, "TYPE repeated, or after the family's samples")
        if rest not in TYPES:
            _fail(n, line, "unknown type")
        f.type = rest
    return f


def parse(text):
    """{family name: Family}, or Malformed."""
    if text and not text.endswith("\n"):
        raise Malformed("the text does not end in a newline")
    families, order, closed, current, seen = {}, [], set(), None, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            f = _meta(families, line, n, order)
        else:
            name, labels, value = _sample(line, n)
            f = _family_of(name, families)
            if f is None or f.type is None:
                _fail(n, line, "a sample without a TYPE line")
            key = (name, tuple(sorted(labels.items())))
            if key in seen:
                _fail(n, line, "the same series twice")
            seen.add(key)
            f.samples.append((name, labels, value))
        if f is not None and f is not current:
            if f.name in closed:
                _fail(n, line, "family %s continues after another began" % f.name)
            if current is not None:
                closed.add(current.name)
            current = f
    for name in order:
        _check_family(families[name])
    return families


def _check_family(f):
    if f.type is None:
        raise Malformed("%s: HELP without TYPE" % f.name)
    if f.type == "counter":
        if not f.name.endswith("_total"):
            raise Malformed("%s: a counter's name must end in _total" % f.name)
        for name, labels, v in f.samples:
            if name != f.name or not v >= 0:
                raise Malformed("%s: counter sample %s %r" % (f.name, name, v))
    elif f.type == "histogram":
        _check_histogram(f)
    else:
        for name, _, _ in f.samples:
            if name != f.name:
                raise Malformed("%s: sample named %s" % (f.name, name))


def _check_histogram(f):
    groups = {}
    for name, labels, v in f.samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == f.name + "_bucket":
            if "le" not in labels or not FLOAT.match(labels["le"]):
                raise Malformed("%s: bucket without a float le" % f.name)
            g["buckets"].append((float(labels["le"]), v))
        elif name == f.name + "_sum":
            g["sum"] = v
        elif name == f.name + "_count":
            g["count"] = v
        else:
            raise Malformed("%s: sample %s in a histogram" % (f.name, name))
    for rest, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            raise Malformed("%s%r: no le=\"+Inf\" bucket last" % (f.name, rest))
        if any(b[k][0] >= b[k + 1][0] or b[k][1] > b[k + 1][1] for k in range(len(b) - 1)):
            raise Malformed("%s%r: buckets not cumulative in le order" % (f.name, rest))
        if g["sum"] is None or g["count"] is None or g["count"] != b[-1][1]:
            raise Malformed("%s%r: _sum/_count missing or _count != +Inf bucket"
                            % (f.name, rest))
