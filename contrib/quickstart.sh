#!/bin/bash
# The README's first command: install everything shiptrack and its tests
# need on Debian 12, build it, and start the demo (make demo).  Run as
# root, or with sudo.  Running it again is fine: installed packages stay,
# the build is brought up to date, and the demo starts afresh.
#
#   bash contrib/quickstart.sh            install, build, start the demo
#   bash contrib/quickstart.sh --no-demo  install and build only (CI)
#
# After it, the README's second command (`make check`) needs nothing
# installed by hand: this list is every package a test, `make fuzz` or
# `make bench` uses, and .ci/run installs through this script.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=yes
case "${1:-}" in
  --no-demo) demo=no ;;
  "") ;;
  -h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "quickstart.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
export DEBIAN_FRONTEND=noninteractive

packages=(
  # build
  build-essential autoconf automake libtool pkg-config
  libfcgi-dev libjson-c-dev libcurl4-openssl-dev libsqlite3-dev libssl-dev
  libcmocka-dev libpq-dev
  # the PostgreSQL backend's tests and bench: private servers from Debian's
  # binaries (tests/pgserver.py), never the system service
  postgresql
  # the demo and every scenario test: web servers, clients, tools
  lighttpd curl sqlite3 python3 openssl ca-certificates
  apache2 libapache2-mod-fcgid nginx-light spawn-fcgi systemd
  # browser tests: Debian's chromium, driven by playwright-core from npm
  chromium nodejs npm
  # tests/valgrind.sh; make fuzz (clang's libFuzzer runtime)
  valgrind clang libclang-rt-14-dev
  # make bench: wrk, and the PHP peer
  wrk php-fpm php-sqlite3
)
# A node that came from elsewhere (nodesource) already brings npm, and
# Debian's npm would conflict with it: keep it.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  packages=("${packages[@]/nodejs}"); packages=("${packages[@]/npm}")
fi

# The web servers' packages would start their system services on port 80,
# all at once (some would fail and fail the install): forbid starting
# services while installing; the demo and the tests start their own
# instances on free 127.0.0.1 ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${packages[@]}" | grep .) \
  >/dev/null
for s in apache2 nginx lighttpd php8.2-fpm postgresql; do
  systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
done

# The browser tests' one npm package (playwright-core, pinned in
# package-lock.json); it drives the chromium above, so no browser download.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
[ "$demo" = yes ] || exit 0
exec make demo
