#!/usr/bin/env bash
# The PyTorch interop example of docs/training.md, run as written: lurn
# trains and exports, PyTorch loads the weights into torch.nn.LSTM (and a
# model with lurn's state_dict keys) and matches lurn's outputs, then writes
# its own weights, which lurn loads and matches. Skipped without torch.
set -u
py=${LURN_TEST_PYTHON:-/usr/bin/python3}
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "skip: no torch for $py"
  exit 77   # ctest: SKIP_RETURN_CODE, reported as not run
fi
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ex="$LURN_TEST_SOURCE_DIR/docs/examples"

out=$("$LURN" "$ex/torch_interop.lua" train "$tmp" 2>&1) && ok "lurn trains" || bad "lurn trains" "$out"
ck="$tmp/run/$(cat "$tmp/run/latest")"
out=$("$LURN" export "$ck" "$tmp/model.safetensors" 2>&1) && ok "export: $out" || bad "export" "$out"
out=$("$LURN" export "$ck" "$tmp/lstm.safetensors" --prefix 1. 2>&1) \
  && ok "export --prefix 1.: $out" || bad "export --prefix" "$out"
out=$("$LURN" export "$ck" --list --prefix 1. 2>&1)
case "$out" in *"weight_hh_l1_reverse"*"[64,16]"*) ok "export --list" ;; *) bad "export --list" "$out" ;; esac
out=$("$LURN" export "$ck" "$tmp/x.safetensors" --prefix 9. 2>&1); rc=$?
[ $rc -eq 2 ] && case "$out" in *"no weight name starts with '9.'"*) true ;; *) false ;; esac \
  && ok "export: bad prefix is an error" || bad "export: bad prefix" "rc=$rc $out"
out=$("$py" "$ex/torch_interop.py" "$tmp" 2>&1) && ok "PyTorch loads lurn's weights and matches" \
  || bad "PyTorch side" "$out"
echo "$out" | sed 's/^/     /'
out=$("$LURN" "$ex/torch_interop.lua" check "$tmp" 2>&1) && ok "lurn loads PyTorch's weights and matches" \
  || bad "lurn check" "$out"
echo "$out" | sed 's/^/     /'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
