#!/usr/bin/env bash
# Kernel selection as users see it (issue 13): `lurn info` names the BLIS
# kernel set and why it was chosen, for the lurn binary and for the stock
# lua5.4 loading the module; the user's BLIS_ARCH_TYPE is kept (a name too);
# nonsense is ignored with a note; `lurn info --bench` measures the peak.
# (tests/c/test_kernels.c checks the choice itself and runs the kernels
# under every set the CPU has.)
set -u
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
expect() {  # name, expected-substring, actual
  case "$3" in *"$2"*) ok "$1" ;; *) bad "$1" "expected '$2' in: $3" ;; esac
}
BUILD=${LURN_TEST_BUILD_DIR:-build}

out=$(env -u BLIS_ARCH_TYPE "$LURN" info)
expect "info: kernels line" "kernels     " "$out"
case "$out" in
  *"lurn's choice: BLIS picked"*|*"BLIS's own choice"*) ok "info: says who chose" ;;
  *) bad "info: says who chose" "$out" ;;
esac
out=$(BLIS_ARCH_TYPE=25 "$LURN" info)
expect "user's number kept" "kernels     generic, tile 4x16: BLIS_ARCH_TYPE=25 set by the user" "$out"
out=$(BLIS_ARCH_TYPE=generic "$LURN" info)
expect "user's name kept" "kernels     generic, tile 4x16: BLIS_ARCH_TYPE=generic set by the user" "$out"
out=$(BLIS_ARCH_TYPE=fastest "$LURN" info)
expect "nonsense ignored" "(BLIS_ARCH_TYPE=fastest ignored: not a BLIS kernel set)" "$out"
out=$("$LURN" info --frobnicate 2>&1); rc=$?
expect "info: unknown option" "lurn: info: unknown option '--frobnicate' (known: --bench)" "$out"
[ $rc = 2 ] && ok "info: unknown option exits 2" || bad "info: unknown option exits 2" "rc=$rc"

# the stock interpreter takes the same path (the choice is made in the core);
# not under the sanitizers (lua5.4 is not built with them)
if [ "${LURN_SANITIZE:-0}" != 1 ] && [ "${LURN_SANITIZE:-OFF}" != ON ]; then
out=$(cd "$LURN_TEST_SOURCE_DIR" && env -u BLIS_ARCH_TYPE LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
      LUA_CPATH="$BUILD/lib/?.so;;" lua5.4 -e 'local i = require("lurn").info()
        print(i.blis_arch .. " | " .. i.kernels_why)' 2>&1)
lurn_line=$(env -u BLIS_ARCH_TYPE "$LURN" -e 'local i = lurn.info(); print(i.blis_arch)')
expect "lua5.4: same set as lurn" "$lurn_line | " "$out"
out=$(cd "$LURN_TEST_SOURCE_DIR" && BLIS_ARCH_TYPE=4 LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
      LUA_CPATH="$BUILD/lib/?.so;;" lua5.4 -e 'print(require("lurn").info().blis_arch)' 2>&1)
expect "lua5.4: user's set" "sandybridge" "$out"
fi

out=$(LURN_THREADS=1 "$LURN" info --bench)
if grep -Eq "^peak +[0-9]+\.[0-9] GFLOP/s sgemm 1024\^3, 1 thread" <<<"$out" &&
   ! grep -q "peak        0.0" <<<"$out"; then ok "info --bench: measured peak"
else bad "info --bench: measured peak" "$out"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
