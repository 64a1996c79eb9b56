#!/bin/bash
# make install and make uninstall, for real, into a temporary DESTDIR:
#   - the FastCGI programs under $(libexecdir)/shiptrack/, the operator's
#     programs (shiptrack, and shiptrack-poll once the build has it) in
#     $(bindir), web/ under $(datadir)/shiptrack/web, every man page in its
#     section, the sample configuration and a shiptrack.conf (mode 0600)
#     made from it;
#   - the installed programs run (CGI mode, --version);
#   - a second install keeps a changed shiptrack.conf (and updates the
#     sample);
#   - uninstall removes everything but a changed shiptrack.conf, and
#     everything when it was not changed.
set -u
build=${top_builddir:-.}
src=${top_srcdir:-.}
make=${MAKE:-make}
fail=0 pending=0
# say: one failed check; ok: a group of checks passed if none failed since
# the last ok.
say() { echo "not ok - $*"; fail=1; pending=1; }
ok() { [ $pending -eq 0 ] && echo "ok - $*"; pending=0; }

# The build's own make, apart from the one running the tests (whose
# jobserver it cannot share).
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $make -s --no-print-directory -C "$build" "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/shiptrack-install-XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
dest=$work/root

# The installation directories, as this build's Makefile has them.
printf 'shiptrack-install-dirs:\n\t@echo "bindir=$(bindir)"; echo "pkglibexecdir=$(pkglibexecdir)"; echo "pkgdatadir=$(pkgdatadir)"; echo "sysconfdir=$(sysconfdir)"; echo "mandir=$(mandir)"; echo "bin_PROGRAMS=$(bin_PROGRAMS)"\n' \
  > "$work/dirs.mk"
dirs=$(mk -f Makefile -f "$work/dirs.mk" shiptrack-install-dirs) || { echo "not ok - cannot read the installation directories"; exit 1; }
get() { printf '%s\n' "$dirs" | sed -n "s|^$1=||p"; }
bindir=$(get bindir); pkglibexecdir=$(get pkglibexecdir); pkgdatadir=$(get pkgdatadir)
sysconfdir=$(get sysconfdir); mandir=$(get mandir); bin_programs=$(get bin_PROGRAMS)
for v in bindir pkglibexecdir pkgdatadir sysconfdir mandir; do
  [ -n "${!v}" ] || say "empty $v"
done
case $pkglibexecdir in */shiptrack) ;; *) say "pkglibexecdir $pkglibexecdir is not .../shiptrack" ;; esac

install_into() {
  mk install DESTDIR="$1" > "$work/install.log" 2>&1 ||
    { say "make install DESTDIR=$1 failed"; sed 's/^/#   /' "$work/install.log" | tail -30; return 1; }
}

# --- first install ------------------------------------------------------------
install_into "$dest" && ok "make install DESTDIR"

for p in webhook.fcgi api.fcgi; do
  [ -x "$dest$pkglibexecdir/$p" ] || say "$p not installed in $pkglibexecdir"
  [ -e "$dest$bindir/$p" ] && say "$p installed in $bindir as well"
done
[ -x "$dest$bindir/shiptrack" ] || say "shiptrack not installed in $bindir"
# shiptrack-poll: once the build has it, it is installed beside shiptrack.
if [ -x "$build/cgi/shiptrack-poll" ] || case " $bin_programs " in *shiptrack-poll*) true ;; *) false ;; esac; then
  [ -x "$dest$bindir/shiptrack-poll" ] || say "shiptrack-poll not installed in $bindir"
else
  echo "# shiptrack-poll is not part of this build yet"
fi
ok "programs in \$(bindir) and \$(libexecdir)/shiptrack"

n=0
# Every file of web/, its catalogs in web/i18n/ included.
for f in $(cd "$src/web" && find . -type f ! -name README.md | sort); do
  name=${f#./}
  f=$src/web/$name
  n=$((n + 1))
  cmp -s "$f" "$dest$pkgdatadir/web/$name" || say "web/$name not installed in $pkgdatadir/web"
done
[ $n -gt 0 ] || say "no web files found in $src/web"
ok "web/ ($n files) in $pkgdatadir/web"

n=0
for f in "$src"/docs/*.[1-8]; do
  name=$(basename "$f"); sec=${name##*.}
  n=$((n + 1))
  [ -f "$dest$mandir/man$sec/$name" ] || say "man page $name not installed in $mandir/man$sec"
done
[ $n -gt 0 ] || say "no man pages found in $src/docs"
ok "$n man pages"

conf=$dest$sysconfdir/shiptrack.conf
cmp -s "$src/contrib/shiptrack.conf.sample" "$dest$sysconfdir/shiptrack.conf.sample" ||
  say "shiptrack.conf.sample not installed in $sysconfdir"
cmp -s "$src/contrib/shiptrack.conf.sample" "$conf" || say "shiptrack.conf not made from the sample"
mode=$(stat -c %a "$conf" 2>/dev/null)
[ "$mode" = 600 ] || say "shiptrack.conf has mode $mode, not 600 (it holds secrets)"
ok "shiptrack.conf.sample and shiptrack.conf (0600)"

# --- the installed programs run -------------------------------------------------
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$build/config.h")
out=$(SHIPTRACK_CONFIG=/dev/null "$dest$bindir/shiptrack" --version 2>&1)
case $out in *"$version"*) ok "installed shiptrack --version" ;;
  *) say "installed shiptrack --version: $out" ;; esac
out=$(env -i PATH=/usr/bin:/bin SHIPTRACK_CONFIG=/dev/null REQUEST_METHOD=GET \
  GATEWAY_INTERFACE=CGI/1.1 "$dest$pkglibexecdir/webhook.fcgi" < /dev/null 2>/dev/null)
case $out in "Status: 405"*) ok "installed webhook.fcgi answers a CGI request" ;;
  *) say "installed webhook.fcgi (CGI GET): ${out:0:200}" ;; esac
out=$(env -i PATH=/usr/bin:/bin SHIPTRACK_CONFIG=/dev/null REQUEST_METHOD=GET \
  GATEWAY_INTERFACE=CGI/1.1 PATH_INFO=/v1/nothing "$dest$pkglibexecdir/api.fcgi" \
  < /dev/null 2>/dev/null)
case $out in "Status: 404"*|"Status: 503"*) ok "installed api.fcgi answers a CGI request" ;;
  *) say "installed api.fcgi (CGI GET): ${out:0:200}" ;; esac

# --- a second install keeps the administrator's configuration ------------------
printf '# changed by the administrator\ndatabase = /srv/shiptrack.db\n' >> "$conf"
cp -p "$conf" "$work/conf.changed"
echo "# stale" > "$dest$sysconfdir/shiptrack.conf.sample"
install_into "$dest" && ok "second make install DESTDIR"
cmp -s "$conf" "$work/conf.changed" || say "a second install overwrote the changed shiptrack.conf"
cmp -s "$src/contrib/shiptrack.conf.sample" "$dest$sysconfdir/shiptrack.conf.sample" ||
  say "a second install did not update shiptrack.conf.sample"
ok "a second install keeps shiptrack.conf"

# --- uninstall --------------------------------------------------------------------
mk uninstall DESTDIR="$dest" > "$work/uninstall.log" 2>&1 ||
  say "make uninstall failed: $(tail -5 "$work/uninstall.log")"
left=$(cd "$dest" && find . -type f | sort)
[ "$left" = ".$sysconfdir/shiptrack.conf" ] ||
  say "after uninstall expected only the changed shiptrack.conf, found: $(echo $left)"
grep -q "keeping" "$work/uninstall.log" || say "uninstall does not say it keeps shiptrack.conf"
ok "uninstall keeps the changed shiptrack.conf only"

dest2=$work/root2
install_into "$dest2"
mk uninstall DESTDIR="$dest2" > "$work/uninstall.log" 2>&1 ||
  say "make uninstall (unchanged configuration) failed"
left=$(cd "$dest2" && find . -type f | sort)
[ -z "$left" ] || say "after install + uninstall, files left: $(echo $left)"
ok "install + uninstall leaves no file behind"

exit $fail
