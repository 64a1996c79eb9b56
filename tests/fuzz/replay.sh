#!/bin/bash
# Replay the kept fuzz findings (tests/fuzz/regress/NAME/*) and the seed
# corpora (tests/fuzz/corpus/NAME/*) through each harness, built with the
# ordinary compiler and flags (tests/fuzz/replay.c): a harness aborts on
# a broken promise, and the sanitizer build reports memory errors.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
status=0
for name in webhook config carrier rye; do
  exe=$top_builddir/tests/fuzz/replay_$name
  dirs=()
  for d in "$top_srcdir/tests/fuzz/regress/fuzz_$name" "$top_srcdir/tests/fuzz/corpus/fuzz_$name"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  [ ${#dirs[@]} -gt 0 ] || continue
  if ! out=$(cd "${TMPDIR:-/tmp}" && "$exe" "${dirs[@]}" 2>&1); then
    echo "not ok - fuzz_$name replay failed:"
    printf '%s\n' "$out" | tail -40 | sed 's/^/#   /'
    status=1
  else
    echo "ok - fuzz_$name: $(printf '%s\n' "$out" | tail -1 | sed 's/^# //')"
  fi
done
exit $status
