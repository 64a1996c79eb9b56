#!/usr/bin/env python3
"""The shopper page stays light: index.html and everything it loads up
front (its stylesheets, scripts and icon, read from index.html itself) must
gzip to less than 40 KB, each file compressed on its own as a server would
send it.  The message catalogs are fetched lazily, one language per view, so
they are not part of that sum; their sizes are printed beside it.

Prints the figures and "N passed, M failed".  Standard library only.
"""
import gzip
import html.parser
import os
import sys

SRC = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
WEB = os.path.join(SRC, "web")
LIMIT = 40 * 1024


class Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.files = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.files.append(a["src"])
        elif tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "icon"):
            self.files.append(a["href"])


def gz(path):
    with open(path, "rb") as f:
        data = f.read()
    return len(data), len(gzip.compress(data, 9))


def main():
    refs = Refs()
    with open(os.path.join(WEB, "index.html"), encoding="utf-8") as f:
        refs.feed(f.read())
    files = ["index.html"] + refs.files
    failed = 0
    total = 0
    for name in files:
        raw, packed = gz(os.path.join(WEB, name))
        total += packed
        print("# %-12s %6d bytes, %5d gzipped" % (name, raw, packed))
    if len(refs.files) < 3:
        print("not ok - index.html names its stylesheet and scripts (%r)" % refs.files)
        failed += 1
    print("# shopper page: %d bytes gzipped (%.1f KB; limit %d KB)" % (total, total / 1024, LIMIT // 1024))
    cats = sorted(f for f in os.listdir(os.path.join(WEB, "i18n")) if f.endswith(".json"))
    sizes = [gz(os.path.join(WEB, "i18n", c))[1] for c in cats]
    print("# catalogs (one fetched per view): %s" %
          ", ".join("%s %d" % (c[:-5], s) for c, s in zip(cats, sizes)))
    print("# with the largest catalog: %.1f KB" % ((total + max(sizes)) / 1024))
    if total >= LIMIT:
        print("not ok - the shopper page is %d bytes gzipped, over %d" % (total, LIMIT))
        failed += 1
    print("%d passed, %d failed" % (2 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
