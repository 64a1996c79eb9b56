#!/bin/bash
# Run each libFuzzer harness for a bounded time; exit 1 if any of them
# found a crash, a leak, a sanitizer report, a timeout or a broken
# promise.  Called by `make fuzz-run` (after `make fuzz`); by hand:
#
#   make fuzz-run FUZZ_TIME=600          # ten minutes each
#
# Each harness reads its seed corpus (tests/fuzz/corpus/NAME, tracked)
# and grows a working corpus in tests/fuzz/bin/corpus-NAME (ignored), so
# later runs start where earlier ones stopped.  A crashing input is
# written as tests/fuzz/bin/NAME-crash-<sha1> (or -leak-, -timeout-,
# -oom-); keep it as
# tests/fuzz/regress/NAME/<short name> so `make check` replays it.
set -uo pipefail

: "${top_srcdir:?}" "${top_builddir:?}"
FUZZ_TIME=${FUZZ_TIME:-60}
FUZZ_ARGS=${FUZZ_ARGS:-}
bin=$top_builddir/tests/fuzz/bin
status=0

for f in "$@"; do
  exe=$bin/$f
  if [ ! -x "$exe" ]; then
    echo "fuzz-run: $exe not built (make fuzz)" >&2
    status=1
    continue
  fi
  seeds=$top_srcdir/tests/fuzz/corpus/$f
  work=$bin/corpus-$f
  mkdir -p "$work"
  dict=()
  [ -f "$top_srcdir/tests/fuzz/$f.dict" ] && dict=(-dict="$top_srcdir/tests/fuzz/$f.dict")
  log=$bin/$f.log
  echo "fuzz-run: $f for ${FUZZ_TIME}s (log: $log)"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or
  # an unbounded buffer.  detect_leaks is libFuzzer's default.
  # shellcheck disable=SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$exe" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$bin/$f-" \
    "${dict[@]}" $FUZZ_ARGS "$work" "$seeds" > "$log" 2>&1
  rc=$?
  grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|^#[0-9]+[[:space:]]+DONE' \
    "$log" | sed "s/^/  $f: /"
  if [ $rc -ne 0 ]; then
    echo "fuzz-run: $f FAILED (exit $rc); the end of its log:" >&2
    grep -v '^#[0-9]' "$log" | tail -60 >&2
    ls "$bin/$f"-* 2>/dev/null | sed 's/^/  artifact: /' >&2
    status=1
  fi
done
exit $status
