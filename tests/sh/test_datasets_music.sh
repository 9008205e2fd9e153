#!/usr/bin/env bash
# datasets/jsb and datasets/nottingham without the network and without the real data: options,
# generated local copies refused by their SHA-256 check with nothing written, and (with numpy)
# that the pickle converter builds only numpy's types: a pickle that would run code is refused.
. "$(dirname "$0")/cli_lib.sh"
# Shell and python only (lurn is not run): once, in the release pass.
if [ "${LURN_SANITIZE:-0}" = 1 ]; then echo "skip: dataset scripts are checked in the release pass"; exit 77; fi
cd "$SRC"
for s in jsb nottingham; do
  out=$(bash datasets/$s --help); expect "$s --help" "bash datasets/$s [--from DIR] [--out DIR]" "$out"
  out=$(bash datasets/$s --bogus 2>&1); rc=$?
  expect "$s unknown option" "$s: unknown argument '--bogus' (try --help)" "$out"
  [ $rc = 1 ] && ok "$s exit 1" || bad "$s exit 1" "rc=$rc"
  mkdir -p "$tmp/empty"
  out=$(LURN_DATA="$tmp/empty" bash datasets/$s --out "$tmp/out" 2>&1)
  expect "$s LURN_DATA without the files" "$s: $tmp/empty holds neither" "$out"
done
mkdir -p "$tmp/fake/jsb" "$tmp/fake/nottingham/ABC_cleaned"
printf '{"test": [], "train": [[[60]]], "valid": []}' > "$tmp/fake/jsb/jsb-chorales-quarter.json"
printf 'X: 1\nT:t\nK:G\nGAB|\n' > "$tmp/fake/nottingham/ABC_cleaned/jigs.abc"
out=$(bash datasets/jsb --from "$tmp/fake" --out "$tmp/out" 2>&1)
expect "jsb checksum" "jsb: $tmp/fake/jsb/jsb-chorales-quarter.json: SHA-256 is" "$out"
out=$(bash datasets/nottingham --from "$tmp/fake" --out "$tmp/out" 2>&1)
expect "nottingham checksum" "SHA-256 of the .abc files is" "$out"
n=$(find "$tmp/out" -mindepth 1 | wc -l)
[ "$n" = 0 ] && ok "nothing written" || bad "nothing written" "$(find "$tmp/out")"
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import numpy' 2>/dev/null; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
  mkdir -p "$tmp/evil"
  "$PY" -c 'import os, pickle, sys; pickle.dump(os.system, open(sys.argv[1], "wb"))' "$tmp/evil/JSB Chorales.pickle"
  out=$(bash datasets/jsb --from "$tmp/evil" --out "$tmp/out" 2>&1)
  expect "a pickle that builds os.system is refused" "refusing to build posix.system" "$out"
  # a pickle of the right shape converts, then fails the pinned SHA-256 (it is not the real data)
  "$PY" -c 'import pickle, sys, numpy as np
pickle.dump({"train": [[(np.float64(64), np.float64(60))]], "valid": [], "test": []}, open(sys.argv[1], "wb"), protocol=2)' "$tmp/evil/JSB Chorales.pickle"
  out=$(bash datasets/jsb --from "$tmp/evil" --out "$tmp/out" 2>&1)
  expect "a well-formed pickle converts, then fails the checksum" "jsb-chorales-quarter.json: SHA-256 is" "$out"
  n=$(find "$tmp/out" -mindepth 1 | wc -l)
  [ "$n" = 0 ] && ok "nothing written from the pickles" || bad "nothing written from the pickles" "$(find "$tmp/out")"
else
  echo "skip pickle checks (no python3 with numpy)"
fi
finish
