#!/usr/bin/env bash
# Reference text: `lurn doc NAME`, `lurn.help "NAME"` and `lurn.help(value)`
# print the same doc comment, for Lua names and for the C functions and
# tensor methods documented where they are bound; the HTML reference builds
# with ldoc. (Coverage of every public name: test_doc_coverage.sh.)
set -u
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }
src=$LURN_TEST_SOURCE_DIR

for name in nn.LSTM nn.GRU nn.RNN data.tokenize nn.Linear optim.Adam train.fit checkpoint.save zeros mm; do
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
# C functions and tensor methods: their /*** blocks in src/lua/
a=$("$LURN" doc Tensor:narrow 2>&1)
b=$("$LURN" -e 'lurn.help(lurn.zeros(3).narrow)' 2>&1)
c=$("$LURN" doc lurn.Tensor.narrow 2>&1)
if [ "$a" = "$b" ] && [ "$a" = "$c" ] && grep -q "^t:narrow(dim, start, length)" <<<"$a" && grep -q "^Example:" <<<"$a"; then
  ok "lurn doc Tensor:narrow = lurn.help(t.narrow) = lurn doc lurn.Tensor.narrow"
else bad "help Tensor:narrow" "$a"$'\n---\n'"$b"$'\n---\n'"$c"; fi
a=$("$LURN" doc Tensor:sub_ 2>&1)   # documented with add (@also)
grep -q "^t:add(u)" <<<"$a" && ok "lurn doc Tensor:sub_ finds the block that documents it (@also)" \
  || bad "lurn doc Tensor:sub_" "$a"
a=$("$LURN" doc optim.Adam)
for want in "^optim.Adam(params \[, config\])" "lr = 1e-3" "betas = {0.9, 0.999}" "weight_decay = 0 "; do
  grep -q -- "$want" <<<"$a" && ok "lurn doc optim.Adam has '$want'" || bad "lurn doc optim.Adam lacks '$want'" "$a"
done
out=$("$LURN" doc nn.Nope 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "lurn doc: no doc comment for 'nn.Nope'" ] && ok "lurn doc: unknown name, status 2" \
  || bad "lurn doc nn.Nope (rc=$rc)" "$out"
out=$("$LURN" doc nn.LTSM 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "lurn doc: no doc comment for 'nn.LTSM' (did you mean 'nn.LSTM'?)" ] \
  && ok "lurn doc: a near miss names the public name it probably meant" || bad "lurn doc nn.LTSM (rc=$rc)" "$out"
out=$("$LURN" doc --list nn.seq. 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(tr '\n' ' ' <<<"$out")" = "nn.seq.describe nn.seq.is nn.seq.new nn.seq.split " ] \
  && ok "lurn doc --list nn.seq.: the names under a prefix" || bad "lurn doc --list nn.seq. (rc=$rc)" "$out"

# the HTML reference (the docs target runs the same command)
if command -v ldoc >/dev/null && command -v lua5.4 >/dev/null; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  out=$(cd "$src" && lua5.4 "$(command -v ldoc)" -c config.ld -d "$tmp" . 2>&1)
  [ -s "$tmp/index.html" ] && grep -q "grad_h0" "$tmp"/modules/*.html \
    && ok "ldoc writes the HTML reference" || bad "ldoc" "$out"
  out=$(cd "$src" && lua5.4 "$(command -v ldoc)" -c config-core.ld -d "$tmp" . 2>&1)
  [ -s "$tmp/core.html" ] && grep -q 'name = "Tensor:narrow"' "$tmp/core.html" \
    && grep -q 'name = "rnn_forward"' "$tmp/core.html" \
    && ok "ldoc writes the lurn.core reference (core.html) from the C files" || bad "ldoc core" "$out"
else
  echo "skip ldoc not installed"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
