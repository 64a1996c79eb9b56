#!/usr/bin/env python3
"""The message catalogs (web/i18n/*.json) are complete, and the shopper
page says nothing in English that does not come from them.

1. Catalogs: the files are exactly the languages common.js offers (LANGS)
   and Makefile.am installs and compiles in (I18N_CATALOGS);
   each is a flat JSON object of non-empty strings without duplicate keys;
   each has exactly the keys of en.json, and every text has the same
   {placeholders} as the English one.
2. index.html: no text outside the catalog.  Every text node (outside
   <script>, <style> and <noscript>: without script no catalog can load, so
   that one sentence is the exception) is blank or has no letter, and no
   element carries aria-label, title, placeholder, alt or value with a
   letter in it: texts are given as data-i18n="key" (text) and
   data-i18n-label="key" (aria-label), whose keys must exist.
3. common.js and track.js (the page's scripts): the rule is about string
   literals, found by a small JavaScript tokenizer (comments, regular
   expressions and template strings are skipped).  A literal shaped like a
   catalog key ("stage.delivered", or a prefix such as "stage." that code
   completes) must name keys that exist.  Any other literal that holds two
   or more words of letters is prose and an error, unless every word is a
   CSS class of the pages (class lists such as "notice tone-warning") or a
   CSS selector.  A one-word literal with a letter is an error on a line
   that writes text to the page (textContent, text:, createTextNode,
   document.title, aria-label, title:, a notice or error setter).  So
   "Refresh" or "Loading..." hard-coded into the DOM fails, while event
   names, attribute names, tags and URLs pass.  The operator page
   (admin.*) is not checked: it stays in English.
4. Every key of en.json is used: by data-i18n in index.html, by a literal
   in the scripts (whole or as a prefix), or by the e-mails ("email.*",
   read by cgi/lib/i18n.c and outbox.c).

Prints "N passed, M failed".  Standard library only.
"""
import html.parser
import json
import os
import re
import sys

SRC = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
WEB = os.path.join(SRC, "web")
I18N = os.path.join(WEB, "i18n")
SCRIPTS = ["common.js", "track.js"]
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.?$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
LETTER = re.compile(r"[^\W\d_]")
# Code that puts text on the page: a literal right after it is page text.
SINK = (r"textContent\s*=|\btext\s*:|createTextNode\(|document\.title\s*=|\btitle\s*:|"
        r"\bannounce\(|\bsetLookupError\(|\bpageTitle\(|['\"]aria-(?:label|valuetext)['\"]\s*[:,]")
SINK_BEFORE = re.compile(r"(?:%s)\s*(?:[^;,(){}]*?[?:+]\s*)?$" % SINK)
SINK_LINE = re.compile(SINK)
# Code words that are not text: AfterShip's tags, keys, headers, rel values.
CODE_WORDS = {"use strict", "noopener noreferrer", "Pending", "InfoReceived", "InTransit",
              "OutForDelivery", "AttemptFail", "Delivered", "AvailableForPickup", "Exception",
              "Expired", "Escape", "Accept", "Content-Type", "Retry-After", ".json"}
# Literals that look like keys but are not catalog keys.
NOT_KEYS = ("shiptrack.",)

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("not ok - " + what)


def no_dupes(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError("duplicate key %r" % k)
        seen[k] = v
    return seen


def load_catalogs():
    cats = {}
    for name in sorted(os.listdir(I18N)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(I18N, name)
        try:
            with open(path, encoding="utf-8") as f:
                c = json.load(f, object_pairs_hook=no_dupes)
        except ValueError as e:
            check(False, "%s: not a valid catalog: %s" % (name, e))
            continue
        ok = isinstance(c, dict) and all(isinstance(v, str) and v.strip() for v in c.values())
        check(ok, "%s: a flat object of non-empty strings" % name)
        cats[name[:-5]] = c if ok else {}
    return cats


def check_catalogs(cats):
    with open(os.path.join(WEB, "common.js"), encoding="utf-8") as f:
        m = re.search(r"var LANGS = \[([^\]]*)\]", f.read())
    langs = re.findall(r"'([a-z]+)'", m.group(1)) if m else []
    check(sorted(langs) == sorted(cats), "catalogs %s are the languages common.js offers %s" %
          (sorted(cats), sorted(langs)))
    check(len(cats) >= 7, "at least seven languages")
    with open(os.path.join(SRC, "Makefile.am"), encoding="utf-8") as f:
        m = re.search(r"I18N_CATALOGS = ((?:[^\n]*\\\n)*[^\n]*)", f.read())
    built = re.findall(r"web/i18n/([a-z]+)\.json", m.group(1)) if m else []
    check(sorted(built) == sorted(cats), "Makefile.am's I18N_CATALOGS %s are the catalogs" % sorted(built))
    en = cats.get("en", {})
    check(len(en) > 100, "en.json has the page's and the e-mails' texts")
    for lang, c in sorted(cats.items()):
        missing = sorted(set(en) - set(c))
        extra = sorted(set(c) - set(en))
        check(not missing, "%s.json lacks %d keys: %s" % (lang, len(missing), ", ".join(missing[:8])))
        check(not extra, "%s.json has keys en.json does not: %s" % (lang, ", ".join(extra[:8])))
        bad = [k for k in en if k in c and
               sorted(PLACEHOLDER.findall(en[k])) != sorted(PLACEHOLDER.findall(c[k]))]
        check(not bad, "%s.json: placeholders differ from en.json in %s" % (lang, ", ".join(bad[:8])))


class PageText(html.parser.HTMLParser):
    """Text and labelled attributes of index.html, and its data-i18n keys."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = []
        self.texts, self.attrs, self.keys = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript"):
            self.skip.append(tag)
        for k, v in attrs:
            if k in ("data-i18n", "data-i18n-label"):
                self.keys.append(v)
            elif k in ("aria-label", "title", "placeholder", "alt", "value") and v and LETTER.search(v):
                self.attrs.append("%s %s=%r" % (tag, k, v))

    def handle_endtag(self, tag):
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data):
        if not self.skip and LETTER.search(data):
            self.texts.append(data.strip())


def check_html(en, used):
    p = PageText()
    with open(os.path.join(WEB, "index.html"), encoding="utf-8") as f:
        p.feed(f.read())
    check(not p.texts, "index.html: text outside the catalog: %r" % p.texts[:5])
    check(not p.attrs, "index.html: labels outside the catalog: %r" % p.attrs[:5])
    unknown = [k for k in p.keys if k not in en]
    check(not unknown, "index.html: data-i18n keys not in en.json: %r" % unknown)
    check(len(p.keys) > 15, "index.html takes its texts from the catalog (%d keys)" % len(p.keys))
    used.update(p.keys)


def literals(src):
    """(line, offset, text) of every '...' and "..." literal, skipping
    comments, regular expressions and template strings."""
    out, i, n, line = [], 0, len(src), 1
    prev = "("  # last significant character, to tell a regex from a division
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i < 0 else i
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += src.count("\n", i, j)
            i = j
            continue
        if c in "'\"`":
            j, buf = i + 1, []
            while j < n and src[j] != c:
                if src[j] == "\\":
                    buf.append(src[j:j + 2])
                    j += 2
                    continue
                buf.append(src[j])
                j += 1
            if c != "`":
                out.append((line, i, "".join(buf)))
            line += src.count("\n", i, j)
            i, prev = j + 1, c
            continue
        if c == "/" and prev in "(,=:[!&|?{};+":
            j, cls = i + 1, False
            while j < n and (src[j] != "/" or cls):
                if src[j] == "\\":
                    j += 1
                elif src[j] == "[":
                    cls = True
                elif src[j] == "]":
                    cls = False
                j += 1
            i, prev = j + 1, "/"
            continue
        if not c.isspace():
            prev = c
        i += 1
    return out


def css_classes():
    names = set()
    for f in ("style.css", "index.html"):
        with open(os.path.join(WEB, f), encoding="utf-8") as fh:
            text = fh.read()
        names.update(re.findall(r"\.([a-zA-Z][\w-]*)", text) if f.endswith(".css") else
                     [w for v in re.findall(r'class="([^"]*)"', text) for w in v.split()])
    return names


def is_class_list(words, classes):
    return all(w in classes or (w.endswith("-") and any(c.startswith(w) for c in classes))
               for w in words)


def check_scripts(en, used):
    classes = css_classes()
    for name in SCRIPTS:
        with open(os.path.join(WEB, name), encoding="utf-8") as f:
            src = f.read()
        lines = src.split("\n")
        for line, offset, lit in literals(src):
            text = re.sub(r"\\u[0-9a-fA-F]{4}|\\.", " ", lit)
            where = "%s:%d: %r" % (name, line, lit)
            if KEY_RE.match(lit) and "." in lit and not lit.startswith(NOT_KEYS):
                ok = lit in en if not lit.endswith(".") else any(k.startswith(lit) for k in en)
                check(ok, "%s names no catalog key" % where)
                used.add(lit)
                continue
            if lit in CODE_WORDS:
                continue
            if re.match(r"^\.[a-z_]+$", lit):  # a key's last part: 'notice.' + kind + '.title'
                check(any(k.endswith(lit) for k in en), "%s ends no catalog key" % where)
                continue
            if not LETTER.search(text) or lit in CODE_WORDS:
                continue
            before = src[src.rfind("\n", 0, offset) + 1:offset]
            words = text.split()
            if len([w for w in words if LETTER.search(w)]) >= 2:
                selector = all(w[0] in ".#[>" or w in (",", "+", "~") for w in words)
                check(selector or is_class_list(words, classes), "%s is English prose outside the catalog" % where)
            elif SINK_BEFORE.search(before) or (SINK_LINE.search(lines[line - 1]) and re.match(r"^[A-Z][a-z]", lit)):
                check(False, "%s is written to the page outside the catalog" % where)


def check_used(en, used):
    prefixes = tuple(u for u in used if u.endswith("."))
    unused = [k for k in en if k not in used and not k.startswith(prefixes + ("email.",))]
    check(not unused, "en.json keys nothing uses: %s" % ", ".join(unused[:10]))


def main():
    cats = load_catalogs()
    check_catalogs(cats)
    en = cats.get("en", {})
    used = set()
    check_html(en, used)
    check_scripts(en, used)
    check_used(en, used)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
