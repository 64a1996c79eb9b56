#!/bin/bash
# The README's first command: install what shiptrack needs on Debian 12,
# build it, and start the demo (make demo).  Run as root, or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential autoconf automake pkg-config libfcgi-dev libjson-c-dev \
  libcurl4-openssl-dev libsqlite3-dev libssl-dev libcmocka-dev \
  lighttpd curl python3 openssl ca-certificates >/dev/null
# The distribution's own lighttpd service is not needed for the demo.
systemctl disable --now lighttpd >/dev/null 2>&1 || true
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
exec make demo
