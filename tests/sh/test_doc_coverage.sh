#!/usr/bin/env bash
# Doc coverage: every public name of the covered modules has a doc comment
# with an example, and every example runs (tests/sh/doc_coverage.lua says
# what an example may use). The covered set is one list, lurn.help.modules
# and lurn.help.classes (lua/lurn/help.lua); a module added to lurn is
# covered by adding it there. A name without a doc comment is printed as
# "missing: NAME", a failing example as "example failed: NAME: message".
set -u
src=$LURN_TEST_SOURCE_DIR
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# examples write small files (w.ckpt, tiny.tsv): a scratch directory
out=$(cd "$tmp" && "$LURN" "$src/tests/sh/doc_coverage.lua" 2>&1); rc=$?
echo "$out"
names=$(sed -n 's/^names \([0-9]*\)$/\1/p' <<<"$out")
examples=$(sed -n 's/^examples \([0-9]*\)$/\1/p' <<<"$out")
fail=0
# a run that lists nothing because it listed nothing to check proves nothing
if [ "${names:-0}" -lt 250 ]; then echo "FAIL only ${names:-0} public names found (expected 250 or more)"; fail=1; fi
if [ "${examples:-0}" -ne "${names:-0}" ]; then
  echo "FAIL ${examples:-0} examples for ${names:-0} names: every doc comment needs an @usage example"
  fail=1
fi
[ $rc -eq 0 ] || { echo "FAIL names without a doc comment, or examples that fail (listed above)"; fail=1; }

# the check itself: a public name without a doc comment is listed by name
# (a module table gets a function nobody documented)
out2=$(cd "$tmp" && "$LURN" -e '
lurn.optim.undocumented_probe = function() end
local m = require("lurn.help").missing()
print(table.concat(m, " "))' 2>&1)
if [ "$out2" = "optim.undocumented_probe" ]; then echo "ok   an undocumented name is listed: $out2"
else echo "FAIL an undocumented optim function was not listed alone: $out2"; fail=1; fi
[ $fail -eq 0 ] && echo "ok   $names public names documented, $examples examples run"
exit $fail
