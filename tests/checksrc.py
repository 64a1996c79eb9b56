#!/usr/bin/env python3
"""checksrc: the tree's C style and its room rules, checked by a tool, not by
reviewers' memory (in the spirit of curl's checksrc).  Standard library only.

    tests/checksrc.py [--top DIR] [--only style|rooms|sizes]

Style, on every C file of cgi/, tests/unit/, tests/fuzz/ and bench/
(generated files excepted):
  - a line is at most 80 columns, a tab counting to the next multiple of 8;
  - no trailing blanks, no space before a tab in the indentation, no
    indentation by spaces (continuation lines may add spaces after tabs);
  - a keyword (if, for, while, switch, return, sizeof excepted) is followed
    by one space before its parenthesis; no C++ comments;
  - a function's opening brace stands alone in column 0.

Sizes, in cgi/: no function body over 60 lines, no file over 600 lines.

Rooms, from the map in cgi/lib/README (one line per file: "name  layer
what it is for"): a file in cgi/lib includes only headers of its own layer
or a lower one (base < store < domain < service); `*_int.h` headers only
from files of the same prefix; `sqlite3_` only in the files the map marks
"sqlite"; libpq's `PQ` calls only in those it marks "pg".

Exit status 0 when clean; 1 with one line per problem, "file:line: what".
"""
import argparse
import os
import re
import sys

LAYERS = ["base", "store", "domain", "service"]
KEYWORDS = ("if", "for", "while", "switch")
MAX_COLS, MAX_FUNC, MAX_FILE = 80, 60, 600
GENERATED = {"cgi/lib/i18n_catalogs.c", "sql/migrations.c"}

problems = []


def problem(path, line, what):
    problems.append("%s:%d: %s" % (path, line, what))


def columns(line):
    col = 0
    for ch in line:
        col = (col // 8 + 1) * 8 if ch == "\t" else col + 1
    return col


def c_files(top, dirs):
    for d in dirs:
        base = os.path.join(top, d)
        if not os.path.isdir(base):
            continue
        for dirpath, dirnames, files in os.walk(base):
            dirnames[:] = [x for x in dirnames if x not in ("bin", "corpus", "regress")]
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(dirpath, f), top)
                    if rel not in GENERATED:
                        yield rel


def strip_strings(line):
    """The line with string and character literals blanked (keywords inside
    strings are not code)."""
    return re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'', '""', line)


def check_style(top, rel):
    with open(os.path.join(top, rel), encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    in_comment = False
    for n, line in enumerate(lines, 1):
        if columns(line) > MAX_COLS:
            problem(rel, n, "%d columns (at most %d)" % (columns(line), MAX_COLS))
        if line != line.rstrip():
            problem(rel, n, "trailing blanks")
        indent = re.match(r"[ \t]*", line).group(0)
        if " \t" in indent:
            problem(rel, n, "a space before a tab in the indentation")
        if indent.startswith("    ") and not in_comment:
            problem(rel, n, "indented with spaces, not tabs")
        code = strip_strings(line)
        if not in_comment:
            if re.search(r"(^|[^:])//", code):
                problem(rel, n, "C++ comment")
            for kw in KEYWORDS:
                if re.search(r"\b%s\(" % kw, code):
                    problem(rel, n, "'%s(' without a space" % kw)
        if "/*" in code and "*/" not in code.split("/*", 1)[1]:
            in_comment = True
        elif in_comment and "*/" in code:
            in_comment = False


def functions(lines):
    """(name, first line, length) of each function body: '{' and '}' in column 0."""
    i = 0
    while i < len(lines):
        if lines[i] == "{":
            j = i - 1
            while j >= 0 and "(" not in lines[j]:
                j -= 1
            m = re.match(r"\s*([A-Za-z_]\w*)\s*\(", lines[j]) if j >= 0 else None
            k = i + 1
            while k < len(lines) and lines[k] != "}":
                k += 1
            yield (m.group(1) if m else "?"), i + 1, k - i + 1
            i = k
        i += 1


def check_sizes(top, rel):
    with open(os.path.join(top, rel), encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    if rel.endswith(".c") and len(lines) - 1 > MAX_FILE:
        problem(rel, 1, "%d lines (at most %d in cgi/)" % (len(lines) - 1, MAX_FILE))
    for name, at, length in functions(lines):
        if length > MAX_FUNC:
            problem(rel, at, "function %s is %d lines (at most %d)" % (name, length, MAX_FUNC))


def read_map(top):
    """cgi/lib/README's map: {file stem: (layer, tags)}."""
    path = os.path.join(top, "cgi", "lib", "README")
    rooms = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^([a-z0-9_]+)\.(?:c|h|\[ch\])\s+(\w+)((?:\s+\[\w+\])*)\s", line)
            if not m:
                continue
            layer, tags = m.group(2), set(re.findall(r"\[(\w+)\]", m.group(3)))
            if layer not in LAYERS:
                problem("cgi/lib/README", n, "unknown layer %r" % layer)
                continue
            rooms[m.group(1)] = (layer, tags)
    return rooms


def check_rooms(top):
    rooms = read_map(top)
    lib = os.path.join(top, "cgi", "lib")
    for f in sorted(os.listdir(lib)):
        if not f.endswith((".c", ".h")) or "cgi/lib/" + f in GENERATED:
            continue
        stem = f[:-2]
        rel = "cgi/lib/" + f
        if stem not in rooms:
            problem(rel, 1, "not in the map (cgi/lib/README)")
            continue
        layer, tags = rooms[stem]
        with open(os.path.join(lib, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for n, line in enumerate(text.split("\n"), 1):
            m = re.match(r'#include "([a-z0-9_]+)\.h"', line)
            if m and m.group(1) != "config":
                check_include(rel, n, stem, layer, m.group(1), rooms)
            code = strip_strings(line)
            if "sqlite3_" in code and "sqlite" not in tags:
                problem(rel, n, "sqlite3_ outside the SQLite store's files")
            if re.search(r"\bPQ[a-z]\w*\(", code) and "pg" not in tags:
                problem(rel, n, "libpq outside the PostgreSQL store's files")


def check_include(rel, n, stem, layer, inc, rooms):
    if inc not in rooms:
        problem(rel, n, "includes %s.h, which is not in the map" % inc)
        return
    if inc.endswith("_int") and not stem.startswith(inc[:-4].split("_")[0]):
        problem(rel, n, "includes the private header %s.h of another room" % inc)
    if LAYERS.index(rooms[inc][0]) > LAYERS.index(layer):
        problem(rel, n, "a %s room includes %s.h, a %s room" % (layer, inc, rooms[inc][0]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--top", default=os.environ.get("top_srcdir") or
                    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--only", choices=("style", "rooms", "sizes"))
    a = ap.parse_args()
    if a.only in (None, "style"):
        for rel in c_files(a.top, ("cgi", "tests/unit", "tests/fuzz", "bench")):
            check_style(a.top, rel)
    if a.only in (None, "sizes"):
        for rel in c_files(a.top, ("cgi",)):
            check_sizes(a.top, rel)
    if a.only in (None, "rooms"):
        check_rooms(a.top)
    for p in problems:
        print(p)
    print("checksrc: %d problem%s" % (len(problems), "" if len(problems) == 1 else "s"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
