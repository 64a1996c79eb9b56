#!/bin/bash
# Build the libFuzzer harnesses with clang, apart from the normal build:
# the library sources are compiled again with coverage instrumentation and
# -fsanitize=address,undefined into tests/fuzz/bin/ (git-ignored), so the
# gcc objects of `make` are never touched.  Called by `make fuzz`, which
# passes the variables below; by hand:
#
#   make fuzz [CLANG=clang-14]
#
# Environment: CLANG, top_srcdir, top_builddir (absolute), LIB_SOURCES
# (the library's sources as Makefile.am lists them), FUZZ_CPPFLAGS,
# PKG_CFLAGS, PKG_LIBS.  Needs clang with its fuzzer runtime (Debian:
# clang-14 and libclang-rt-14-dev).
set -euo pipefail

: "${CLANG:=clang}" "${top_srcdir:?}" "${top_builddir:?}" "${LIB_SOURCES:?}"
: "${FUZZ_CPPFLAGS:=}" "${PKG_CFLAGS:=}" "${PKG_LIBS:=}"
FUZZERS=${FUZZERS:-fuzz_webhook fuzz_config fuzz_carrier fuzz_rye}

bin=$top_builddir/tests/fuzz/bin
obj=$bin/obj
mkdir -p "$obj"

common="-std=c11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
 -I$top_builddir -I$top_srcdir/cgi/lib $FUZZ_CPPFLAGS $PKG_CFLAGS"
lib_flags="-fsanitize=fuzzer-no-link,address,undefined"
link_flags="-fsanitize=fuzzer,address,undefined"

if ! command -v "$CLANG" >/dev/null; then
  echo "fuzz: $CLANG not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
probe=$obj/probe.c
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n & 0; }' > "$probe"
if ! $CLANG -fsanitize=fuzzer,address,undefined "$probe" -o "$obj/probe" 2>"$obj/probe.log"; then
  echo "fuzz: $CLANG cannot link -fsanitize=fuzzer; the libFuzzer runtime is" \
    "missing (Debian: libclang-rt-14-dev):" >&2
  cat "$obj/probe.log" >&2
  exit 1
fi

# Sources: the library's .c files (the carrier answer parser among them)
# and the generated ones (the migrations, the message catalogs), which
# live in the build tree.
sources=()
for s in $LIB_SOURCES; do
  case $s in *.c) sources+=("$top_srcdir/$s") ;; esac
done
for s in $GEN_SOURCES; do
  sources+=("$top_builddir/$s")
done

# Recompile an object when its source, a header or config.h is newer.
newest_header=$(ls -t "$top_srcdir"/cgi/lib/*.h "$top_builddir/config.h" | head -1)
compile() {
  local src=$1 o
  o=$obj/$(basename "${src%.c}").o
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ "$newest_header" -nt "$o" ]; then
    echo "  CLANG    ${src#"$top_srcdir"/}"
    # shellcheck disable=SC2086
    $CLANG $common $lib_flags -c "$src" -o "$o.tmp" && mv "$o.tmp" "$o"
  fi
}
export -f compile
export obj common lib_flags CLANG top_srcdir newest_header
printf '%s\n' "${sources[@]}" | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} \
  bash -c 'compile "$1"' _ {}

# One archive, so each harness links only the rooms it uses (the carrier
# harness needs neither SQLite nor libcurl).
rm -f "$obj/libfuzzlib.a"
ar rcs "$obj/libfuzzlib.a" $(for s in "${sources[@]}"; do
  echo "$obj/$(basename "${s%.c}").o"; done)

for f in $FUZZERS; do
  src=$top_srcdir/tests/fuzz/$f.c
  echo "  LINK     tests/fuzz/bin/$f"
  # shellcheck disable=SC2086
  $CLANG $common $link_flags "$src" "$obj/libfuzzlib.a" $PKG_LIBS -lpthread -lm \
    -o "$bin/$f"
done
