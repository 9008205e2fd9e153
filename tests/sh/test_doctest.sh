#!/usr/bin/env bash
# Every ```lua and ```sh block of README.md and docs/*.md runs as printed
# (tests/sh/doctest.lua says how blocks that cannot are marked), and the
# README's first example also runs under the stock lua5.4 interpreter.
set -u
# The release pass only: the blocks exercise the library the unit tests
# already run under ASan/UBSan, and doubling ~25 s of training there would
# not fit the CI budget (exit 77: ctest reports it as skipped).
if [ "${LURN_SANITIZE:-0}" = 1 ]; then echo "skip: doc blocks run in the release pass"; exit 77; fi
src=$LURN_TEST_SOURCE_DIR
"$LURN" "$src/tests/sh/doctest.lua" "$src" "$LURN_TEST_BUILD_DIR" --lang lua,sh; rc=$?
# the README's first example under the stock interpreter, as printed
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
awk '/^```lua$/ { n++; next } /^```/ { if (n == 1) exit } n == 1 { print }' "$src/README.md" > "$tmp/first.lua"
ln -s "$LURN_TEST_BUILD_DIR" "$tmp/build"
if out=$(cd "$src" && LUA_PATH='lua/?.lua;lua/?/init.lua;;' \
         LUA_CPATH="$tmp/build/lib/?.so;;" lua5.4 "$tmp/first.lua" 2>&1) && [ -s "$tmp/first.lua" ]; then
  echo "ok   README.md first example under lua5.4"
else
  echo "FAIL README.md first example under lua5.4"; echo "$out" | tail -5; rc=1
fi
exit $rc
