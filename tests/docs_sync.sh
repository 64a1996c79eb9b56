#!/bin/bash
# The documentation cannot drift from the code: every configuration key in
# cgi/lib/conf.c's table is in the sample file, the man page and the README;
# every command and option in --help is in the program's man page.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
fail=0
say() { echo "not ok - $*"; fail=1; }

keys=$(sed -n 's/^\t[SL](\([a-z_]*\),.*/\1/p; s/^\t{ "\([a-z_]*\)", "SHIPTRACK_.*/\1/p' "$src/cgi/lib/conf.c")
[ -n "$keys" ] || say "no configuration keys found in conf.c"
n=0
for k in $keys; do
  n=$((n + 1))
  grep -Eq "^#?$k =" "$src/contrib/shiptrack.conf.sample" || say "key $k missing from contrib/shiptrack.conf.sample"
  grep -Eq "^\.B(R)? ($k|$k \"?,)" "$src/docs/shiptrack.conf.5" || grep -q "^\.BR .*\b$k\b" "$src/docs/shiptrack.conf.5" || say "key $k missing from docs/shiptrack.conf.5"
  grep -q "\`$k\`" "$src/README.md" || say "key $k missing from README.md"
done
echo "checked $n configuration keys"

# shiptrack --help: each command is documented in shiptrack(1).
cmds=$("$build/cgi/shiptrack" --help | sed -n 's/^  \([a-z]*\) .*/\1/p')
[ -n "$cmds" ] || say "no commands in shiptrack --help"
for c in $cmds; do
  grep -q "^\.B[I]* \"\?$c\b" "$src/docs/shiptrack.1" || say "command $c missing from docs/shiptrack.1"
done

# shiptrack-poll --help: each long option is documented in shiptrack-poll(1).
if [ -x "$build/cgi/shiptrack-poll" ]; then
  for o in $("$build/cgi/shiptrack-poll" --help | grep -o -- '--[a-z-]*' | sort -u); do
    grep -q -- "${o//-/\\\\-}" "$src/docs/shiptrack-poll.1" || say "option $o missing from docs/shiptrack-poll.1"
  done
fi
[ $fail -eq 0 ] && echo "ok - documentation matches the code"
exit $fail
