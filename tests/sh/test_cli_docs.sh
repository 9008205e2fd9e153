#!/usr/bin/env bash
# docs/cli.md runs as written: every "$ " line of its ```sh blocks, in
# order, from a fresh directory (exit status 0, or the N of a trailing
# "# exit N"). And `lurn help`, `lurn COMMAND --help` and docs/cli.md
# agree: every command the help lists is documented and has a --help.
. "$(dirname "$0")/cli_lib.sh"
doc="$SRC/docs/cli.md"
mkdir -p "$tmp/bin" "$tmp/work"
ln -s "$LURN" "$tmp/bin/lurn"
ln -s "$SRC/docs" "$tmp/work/docs"
export PATH="$tmp/bin:$PATH"

awk '/^```sh$/ { inblock = 1; next } /^```/ { inblock = 0; next }
     inblock && /^\$ / { print substr($0, 3) }' "$doc" > "$tmp/commands"
n=$(wc -l < "$tmp/commands")
# The release pass runs every command (tests/sh/doctest.lua runs them there
# too, with the page's other blocks); under ASan/UBSan only the first, which
# writes the data the checks below read: the commands train, and training
# under the sanitizers is what the unit tests already cover.
if [ "${LURN_SANITIZE:-0}" = 1 ]; then run_cmds=1; else run_cmds=$n; fi
[ "$n" -ge 10 ] && ok "docs/cli.md has $n commands" || bad "docs/cli.md commands" "found $n"
grep -q '^lurn train ' "$tmp/commands" && grep -q '^lurn eval ' "$tmp/commands" \
  && grep -q 'lurn predict ' "$tmp/commands" && grep -q '^lurn inspect ' "$tmp/commands" \
  && ok "the walkthrough covers train, eval, predict, inspect" || bad "the walkthrough covers every command"
while IFS= read -r cmd; do
  want=0
  if [[ $cmd =~ \#\ exit\ ([0-9]+)$ ]]; then want=${BASH_REMATCH[1]}; fi
  out=$(cd "$tmp/work" && bash -c "$cmd" 2>&1 </dev/null); rc=$?
  if [ "$rc" -eq "$want" ]; then ok "\$ $cmd"; else bad "\$ $cmd" "exit $rc, expected $want: $out"; fi
done < <(head -n "$run_cmds" "$tmp/commands")

# the config shown is the file the commands use (its comment lines apart)
if diff <(awk '/^```lua$/ { f = 1; next } /^```$/ { if (f) exit } f' "$doc") \
        <(grep -v '^--' "$SRC/docs/examples/order_config.lua") >/dev/null; then
  ok "the config in docs/cli.md is docs/examples/order_config.lua"
else
  bad "the config in docs/cli.md is docs/examples/order_config.lua"
fi
# and the data it shows is what the generator writes
expect "the data lines shown are the generated ones" "$(head -3 "$tmp/work/data/train.txt")" "$(cat "$doc")"

# help and docs agree
help=$("$LURN" help 2>&1)
cmds=$(printf '%s\n' "$help" | sed -n 's/^  lurn \([a-z]*\) \.\.\..*/\1/p')
[ -n "$cmds" ] && ok "lurn help lists commands: $(echo $cmds)" || bad "lurn help lists commands" "$help"
for c in $cmds; do
  grep -q "lurn $c" "$doc" && ok "docs/cli.md documents lurn $c" || bad "docs/cli.md documents lurn $c"
  out=$("$LURN" "$c" --help 2>&1); rc=$?
  [ $rc -eq 0 ] && ok "lurn $c --help" || bad "lurn $c --help" "exit $rc: $out"
  expect "lurn $c --help shows its usage" "usage: lurn $c" "$(printf '%s' "$out" | tr 'U' 'u')"
  out2=$("$LURN" help "$c" 2>&1)
  [ "$out2" = "$out" ] && ok "lurn help $c = lurn $c --help" || bad "lurn help $c"
done
for c in train eval predict inspect; do
  grep -q "^## lurn $c" "$doc" && ok "docs/cli.md has a section for lurn $c" || bad "section for lurn $c"
done
# the exit codes in the help are the documented ones
for code in "2 usage or config" "3 data" "4 checkpoint" "5 diverged" "130 interrupted"; do
  expect "lurn help names exit status $code" "$code" "$help"
done
finish
