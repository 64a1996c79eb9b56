#!/bin/bash
# Browser tests (make check): tests/browser/run.mjs drives Debian's chromium
# with playwright-core against a real lighttpd serving web/ and the API.
# Needs node, /usr/bin/chromium and node_modules/playwright-core in the
# source tree (`npm ci`, as .ci/run does).  Missing pieces are a failure
# with a clear message, not a skip.  Screenshots: $top_builddir/tests/out/.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

fail() { echo "browser.sh: $*" >&2; echo "not ok - browser tests: $*"; exit 1; }

node=${NODE:-node}
command -v "$node" >/dev/null 2>&1 ||
  fail "node not found (apt-get install nodejs npm)"
[ -f "$top_srcdir/node_modules/playwright-core/package.json" ] ||
  fail "$top_srcdir/node_modules/playwright-core is missing: run" \
       "'PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund' in $top_srcdir"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] ||
  fail "${CHROMIUM:-/usr/bin/chromium} not found (apt-get install chromium)"

exec "$node" "$top_srcdir/tests/browser/run.mjs"
