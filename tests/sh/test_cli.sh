#!/usr/bin/env bash
# CLI tests: the lurn command's entry points and its error behaviour, and
# the stock lua5.4 interpreter loading the C module.
set -u
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
expect() {  # name, expected-substring, actual
  case "$3" in *"$2"*) ok "$1" ;; *) bad "$1" "expected '$2' in: $3" ;; esac
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

out=$("$LURN" --version); expect "--version" "lurn 0." "$out"
out=$("$LURN" -e 'print(lurn.zeros(2,3):sum() + 1)'); expect "-e" "1" "$out"
out=$("$LURN" info); expect "info blis" "blis" "$out"; expect "info kernels" "kernels:" "$out"
expect "info build" "build" "$out"
out=$("$LURN" --threads 1 info); expect "--threads" "threads     1 of" "$out"
out=$(LURN_THREADS=1 "$LURN" -e 'print(lurn.threads())'); expect "LURN_THREADS" "1" "$out"

cat > "$tmp/s.lua" <<'LUA'
print("args", arg[0] ~= nil, arg[1], arg[2], select("#", ...))
LUA
out=$("$LURN" "$tmp/s.lua" a b); expect "script args" "args	true	a	b	2" "$out"
out=$("$LURN" run "$tmp/s.lua" x); expect "run script" "args	true	x	nil	1" "$out"

cat > "$tmp/err.lua" <<'LUA'
local function inner() return lurn.mm(lurn.zeros(3, 4), lurn.zeros(5, 6)) end
inner()
LUA
out=$("$LURN" "$tmp/err.lua" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "script error exits non-zero" || bad "script error exits non-zero" "rc=$rc"
expect "error message" "mm: cannot multiply [3,4] by [5,6]" "$out"
expect "traceback" "stack traceback" "$out"

out=$("$LURN" -e 'error({})' 2>&1); rc=$?
[ $rc -ne 0 ] && ok "non-string error" || bad "non-string error"
out=$("$LURN" nosuchcommand 2>&1); rc=$?
[ $rc -eq 2 ] && ok "unknown command status" || bad "unknown command status" "rc=$rc"
expect "unknown command" "unknown command 'nosuchcommand'" "$out"
out=$("$LURN" --threads x info 2>&1); expect "bad --threads" "--threads needs" "$out"

# lurn gradcheck on a user's module file: passes for a correct module, fails for a wrong one
cat > "$tmp/gc.lua" <<'LUA'
return { module = lurn.nn.GRU(3, 4, { bidirectional = true }), input = lurn.randn(4, 2, 3) }
LUA
out=$("$LURN" gradcheck "$tmp/gc.lua" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "gradcheck passes" || bad "gradcheck passes" "rc=$rc $out"
expect "gradcheck report" "weight_hh_l0_reverse" "$out"
cat > "$tmp/gc_bad.lua" <<'LUA'
local m = lurn.nn.Linear(3, 2)
local backward = m.backward
m.backward = function(self, dy) local dx = backward(self, dy); return dx:mul(2) end
return { module = m, input = lurn.randn(4, 3) }
LUA
out=$("$LURN" gradcheck "$tmp/gc_bad.lua" 2>&1); rc=$?
[ $rc -eq 1 ] && ok "gradcheck catches a wrong backward" || bad "gradcheck catches a wrong backward" "rc=$rc"
expect "gradcheck failure names input" "FAILED" "$out"
out=$("$LURN" gradcheck 2>&1); rc=$?
[ $rc -eq 2 ] && ok "gradcheck usage" || bad "gradcheck usage" "rc=$rc"

# the interactive prompt, driven from a pipe: expressions print their values
out=$(printf 'x = lurn.ones(2)\nx:sum()\n= 1 + 1\nfor i = 1, 2 do\nprint(i)\nend\nerror("boom")\nprint("after")\n' | "$LURN" 2>&1)
expect "repl value" "2.0" "$out"; expect "repl =expr" "2" "$out"
expect "repl multiline" "1" "$out"; expect "repl error" "boom" "$out"
expect "repl continues after error" "after" "$out"

# the stock interpreter loads the C module and the library
if [ "${LURN_SANITIZE:-0}" != 1 ] && [ "${LURN_SANITIZE:-OFF}" != ON ]; then
  out=$(cd "$LURN_TEST_SOURCE_DIR" && LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
        LUA_CPATH="$LURN_TEST_BUILD_DIR/lib/?.so;;" \
        lua5.4 -e 'local lurn = require "lurn"; print(lurn.ones(3):sum())' 2>&1)
  expect "lua5.4 loads lurn" "3" "$out"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
