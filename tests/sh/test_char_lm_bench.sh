#!/usr/bin/env bash
# bench/char_lm.sh --quick runs both sides on a generated text and prints the ratio
# (the long setting is the one docs/results.md reports). Release pass only: it
# measures nothing under the sanitizers. Skips (77) when PyTorch is missing.
. "$(dirname "$0")/cli_lib.sh"
if [ "${LURN_SANITIZE:-0}" = 1 ]; then echo "skip: a benchmark, release pass only"; exit 77; fi
"${LURN_TEST_PYTHON:-/usr/bin/python3}" -c 'import torch' 2>/dev/null || { echo "skip: no PyTorch"; exit 77; }
out=$(LURN="$LURN" bash "$SRC/bench/char_lm.sh" --quick 2>&1); rc=$?
expect_rc "bench/char_lm.sh --quick" 0 $rc "$out"
expect "prints the ratio" "lurn/PyTorch" "$out"
expect "and the load" "load average" "$out"
# both sides trained: the loss moved from about log(44) = 3.78
moved=$("$LURN" -e '
  local json = require "lurn.run.json"
  for line in arg[1]:gmatch("[^\n]+") do
    if line:sub(1, 1) == "{" then
      local r = json.decode(line)
      print(r.side, (r.chars_per_s > 0 and r.last_loss < r.first_loss) and "trained" or "did-not-train")
    end
  end' "$out")
expect "lurn side trained" "lurn	trained" "$moved"
expect "torch side trained" "torch	trained" "$moved"
# --rounds: both sides measured in alternating order, the ratio of the medians
out=$(LURN="$LURN" bash "$SRC/bench/char_lm.sh" --quick --rounds 2 2>&1); rc=$?
expect_rc "bench/char_lm.sh --quick --rounds 2" 0 $rc "$out"
expect "two rounds, medians" "(medians of 2 rounds; per round " "$out"
expect "four measurements" "4" "$(printf '%s\n' "$out" | grep -c '^{')"
out=$(LURN="$LURN" bash "$SRC/bench/char_lm.sh" --quick --rounds 0 2>&1); rc=$?
expect_rc "bench/char_lm.sh --rounds 0" 2 $rc "$out"
expect "names the option" "--rounds must be a positive whole number, got '0'" "$out"
finish
