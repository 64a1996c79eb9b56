#!/bin/bash
# Browser tests (make check): tests/browser/run.mjs drives Debian's chromium
# with playwright-core against a real lighttpd serving web/ and the API.
# Needs node and /usr/bin/chromium (contrib/quickstart.sh installs both);
# playwright-core comes from npm, below.  Missing pieces are a failure
# with a clear message, not a skip.  Screenshots: $top_builddir/tests/out/.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

fail() { echo "browser.sh: $*" >&2; echo "not ok - browser tests: $*"; exit 1; }

node=${NODE:-node}
command -v "$node" >/dev/null 2>&1 ||
  fail "node not found (bash contrib/quickstart.sh installs it)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] ||
  fail "${CHROMIUM:-/usr/bin/chromium} not found (bash contrib/quickstart.sh installs it)"

# The npm packages (package.json, pinned) come from the source tree's
# node_modules when someone ran `npm ci` there (quickstart.sh does) and it
# holds every pinned version; otherwise this test installs them itself
# into the build tree, so that `make check` and `make distcheck`
# (read-only sources) need no hand step, and a package added since the
# last `npm ci` is not missed.  One installer at a time: make -j may start
# other node tests beside us.
pinned() {
  "$node" -e '
    const [dir, pkg] = process.argv.slice(1);
    const want = require(pkg).devDependencies || {};
    for (const [name, version] of Object.entries(want))
      if (require(dir + "/" + name + "/package.json").version !== version) process.exit(1);
  ' "$1" "$top_srcdir/package.json" 2>/dev/null
}
modules=$top_srcdir/node_modules
if ! pinned "$modules"; then
  npmdir=$top_builddir/tests/npm
  modules=$npmdir/node_modules
  mkdir -p "$npmdir"
  (
    flock 9
    if ! cmp -s "$top_srcdir/package-lock.json" "$npmdir/package-lock.json" ||
       [ ! -d "$modules" ]; then
      cp "$top_srcdir/package.json" "$top_srcdir/package-lock.json" "$npmdir/" &&
      chmod u+w "$npmdir/package.json" "$npmdir/package-lock.json" &&
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$npmdir" --no-audit \
        --no-fund --loglevel=error >&2
    fi
  ) 9>"$top_builddir/tests/npm.lock" || fail "npm ci into $npmdir failed"
fi
export SHIPTRACK_NODE_MODULES=$modules

exec "$node" "$top_srcdir/tests/browser/run.mjs"
