#!/usr/bin/env bash
# Reference text: `lurn doc NAME`, `lurn.help "NAME"` and `lurn.help(value)`
# print the same doc comment; every public name of the covered modules has
# one; the HTML reference builds with ldoc.
set -u
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }
src=$LURN_TEST_SOURCE_DIR

for name in nn.LSTM nn.GRU nn.RNN data.tokenize; do
  a=$("$LURN" doc "$name" 2>&1); rca=$?
  b=$("$LURN" -e "lurn.help \"$name\"" 2>&1)
  c=$(printf 'lurn.help(lurn.%s)\n' "$name" | "$LURN" 2>&1)
  if [ $rca -eq 0 ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && grep -q "^Example:" <<<"$a"; then
    ok "lurn doc $name = lurn.help \"$name\" = lurn.help(lurn.$name) at the prompt"
  else bad "help $name (rc=$rca)" "$a"$'\n---\n'"$b"$'\n---\n'"$c"; fi
done
a=$("$LURN" doc nn.LSTM)
for want in "^nn.LSTM(input_size, hidden \[, opts\])" "layers = 1 " "bidirectional = false" \
            "forget_bias = nil" "m.grad_h0" "opts *(optional table)" "nn.LSTM(16, 32"; do
  grep -q -- "$want" <<<"$a" && ok "lurn doc nn.LSTM has '$want'" || bad "lurn doc nn.LSTM lacks '$want'" "$a"
done
out=$("$LURN" doc nn.Nope 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "lurn doc: no doc comment for 'nn.Nope'" ] && ok "lurn doc: unknown name, status 2" \
  || bad "lurn doc nn.Nope (rc=$rc)" "$out"

# every public name of these modules has a doc comment (nn and optim: only
# the recurrent layers so far)
out=$("$LURN" -e '
local help = require "lurn.help"
local missing = {}
local function need(name) if not pcall(help.text, name) then missing[#missing + 1] = name end end
for _, mod in ipairs { "data", "gradcheck", "checkpoint" } do
  for k in pairs(lurn[mod]) do if type(k) == "string" and not k:match("^_") then need(mod .. "." .. k) end end
end
for _, k in ipairs { "LSTM", "GRU", "RNN" } do need("nn." .. k) end
table.sort(missing)
print(#missing == 0 and "none" or table.concat(missing, " "))' 2>&1)
[ "$out" = none ] && ok "doc comments: every public name of data, gradcheck, checkpoint, nn.{LSTM,GRU,RNN}" \
  || bad "public names without a doc comment" "$out"

# the HTML reference (the docs target runs the same command)
if command -v ldoc >/dev/null && command -v lua5.4 >/dev/null; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  out=$(cd "$src" && lua5.4 "$(command -v ldoc)" -c config.ld -d "$tmp" . 2>&1)
  [ -s "$tmp/index.html" ] && grep -q "grad_h0" "$tmp"/modules/*.html \
    && ok "ldoc writes the HTML reference" || bad "ldoc" "$out"
else
  echo "skip ldoc not installed"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
