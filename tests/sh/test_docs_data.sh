#!/usr/bin/env bash
# Every ```lua example in docs/data.md runs as printed, with the lurn host.
set -u
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
  /^```lua$/ { n++; f = sprintf("%s/example%02d.lua", dir, n); inblock = 1; next }
  /^```$/    { inblock = 0; next }
  inblock    { print > f }
' "$LURN_TEST_SOURCE_DIR/docs/data.md"
count=$(ls "$tmp"/example*.lua 2>/dev/null | wc -l)
if [ "$count" -lt 2 ]; then echo "FAIL found only $count lua examples"; echo "0 passed, 1 failed"; exit 1; fi
for f in "$tmp"/example*.lua; do
  if out=$(cd "$LURN_TEST_SOURCE_DIR" && "$LURN" "$f" 2>&1); then
    pass=$((pass + 1)); echo "ok   $(basename "$f")"
  else
    fail=$((fail + 1)); echo "FAIL $(basename "$f")"; echo "$out" | tail -15
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
