#!/usr/bin/env bash
# lurn autotune end to end on the small order task: it ends within its
# budget plus 10 % (by lurn's own clock, which it prints and records), the
# command it prints reproduces its score exactly, keys fixed on the command
# line stay fixed and are listed, the search is deterministic for a seed,
# and a budget too small for one trial and the final training is refused.
#
# CI: a small space (the embedding and batch size fixed, which also shows
# fixed keys staying fixed; model.hidden=16,32 replacing the default range)
# and a budget of 4 times what one full training takes here (at least 6s),
# so that a loaded machine does not make it too small. Under the sanitizers
# the budget run and the determinism pair are left out (the trials are
# lurn train runs, which the other tests run there; the timings are not
# the product's). The documented long setting (docs/cli.md, "Sweeps and
# autotune"), the whole default space:
#   LURN_AUTOTUNE_BUDGET=2m bash tests/sh/test_autotune.sh
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
make_data 240
write_config
sanitize=${LURN_SANITIZE:-0}
if [ -n "${LURN_AUTOTUNE_BUDGET:-}" ]; then
  budget=$LURN_AUTOTUNE_BUDGET; fixed="train.epochs=4"
else
  fixed="train.epochs=4 model.embed=8 train.batch_size=32 model.hidden=16,32"
  t=$EPOCHREALTIME
  "$LURN" train order.lua train.epochs=4 model.embed=8 train.batch_size=32 model.hidden=32 --out probe --quiet >/dev/null 2>&1
  budget=$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { x = int(4 * (b - a)) + 1; print (x < 6 ? 6 : x) "s" }')
fi
seconds() {  # 90s / 2m / 1h / 120 -> seconds
  case "$1" in *m) echo $(( ${1%m} * 60 )) ;; *h) echo $(( ${1%h} * 3600 )) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac
}
# a field of a run's summary.json
summary() {  # run_dir lua-expression-over-s
  jq_lurn 'local s = json.decode(io.open(arg[1] .. "/summary.json"):read("a")); print(string.format("%.17g", '"$2"'))' "$1"
}

# ---- within the budget, and reproducible ---------------------------------------------
if [ "$sanitize" != 1 ]; then
out=$("$LURN" autotune order.lua --budget "$budget" $fixed --out at 2>&1); rc=$?
expect_rc "autotune --budget $budget" 0 $rc "$out"
echo "$out" | sed 's/^/     | /'
expect "it lists the fixed keys" "fixed on the command line: ${fixed% model.hidden=*}" "$out"
expect "it plans from the first trial" "plan: about " "$out"
expect "it prints the best config" "best config (trial " "$out"
expect "it prints the score" "score: valid_accuracy " "$out"
expect "it prints the command" "reproduce: lurn train at/best.lua" "$out"
[ -s at/best.lua ] && ok "best.lua saved" || bad "best.lua saved"
# lurn's own clock: what it printed and what autotune.jsonl recorded
elapsed=$(jq_lurn 'local e; for l in io.lines(arg[1]) do local r = json.decode(l); if r.event == "final" then e = r.elapsed end end; print(e)' at/autotune.jsonl)
limit=$(awk -v b="$(seconds "$budget")" 'BEGIN { print b * 1.1 }')
if awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e > 0 && e <= l) }'; then
  ok "ended within the budget + 10 % (${elapsed}s <= ${limit}s)"
else
  bad "ended within the budget + 10 %" "elapsed ${elapsed}s, limit ${limit}s"
fi
score=$(sed -n 's/^score: valid_accuracy \([0-9.]*\) .*/\1/p' <<<"$out")
[ "$(summary at/final 's.best.value' | awk '{ printf "%.4f", $1 }')" = "$score" ] \
  && ok "the printed score is the final run's" || bad "the printed score is the final run's" "$score"
# the printed command, run as printed (with a directory of our own)
cmd=$(sed -n 's/^reproduce: //p' <<<"$out")
rout=$(PATH="$tmp/bin:$PATH"; mkdir -p "$tmp/bin"; ln -sf "$LURN" "$tmp/bin/lurn"; eval "$cmd --out again" 2>&1); rc=$?
expect_rc "the printed command runs" 0 $rc "$rout"
a=$(summary at/final 's.best.value'); b=$(summary again 's.best.value')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "it reproduces the score exactly ($a)" || bad "it reproduces the score" "$a vs $b"
a=$(summary at/final 's.test.accuracy'); b=$(summary again 's.test.accuracy')
[ "$a" = "$b" ] && ok "and the test accuracy ($a)" || bad "and the test accuracy" "$a vs $b"
out=$("$LURN" -e 'local c = require("lurn.config").load(arg[1]); print(c.train.epochs, c.data.test, c.threads)' at/best.lua 2>&1)
expect "best.lua: the full epochs, the test file, the thread count" "4	data/test.txt	2" "$out"

fi

# ---- fixed keys stay fixed; the same seed gives the same search --------------------
runs="s1 s2"; [ "$sanitize" = 1 ] && runs=s1
for d in $runs; do
  out=$("$LURN" autotune order.lua --budget 2m --trials 3 --seed 7 model.hidden=8 model.embed=8 train.batch_size=32 train.epochs=4 --out $d 2>&1); rc=$?
  expect_rc "autotune --trials 3 --seed 7 ($d)" 0 $rc "$out"
done
case "$(grep '^searching:' <<<"$out")" in *model.hidden*) bad "a fixed key is not searched" "$out" ;; *) ok "a fixed key is not searched" ;; esac
expect "... and is listed" "fixed on the command line: model.hidden=8 model.embed=8 train.batch_size=32 train.epochs=4" "$out"
expect "... and kept in best.lua" "hidden = 8" "$(cat s1/best.lua)"
if [ "$sanitize" = 1 ]; then
  ok "(determinism: release pass only)"
elif diff <(grep -v '^--' s1/best.lua) <(grep -v '^--' s2/best.lua) >/dev/null \
   && [ "$(summary s1/final 's.best.value')" = "$(summary s2/final 's.best.value')" ]; then
  ok "deterministic for a seed: the same best config and score"
else
  bad "deterministic for a seed" "$(diff s1/best.lua s2/best.lua)"
fi
n=$(grep -c '"event":"trial"' s1/autotune.jsonl)
[ "$n" -eq 4 ] && ok "successive halving: 3 configs at 1 epoch, the best one continued to 2" \
  || bad "successive halving" "$(cat s1/autotune.jsonl)"
grep -q '"epochs":2,.*"rung":2' s1/autotune.jsonl && ok "a rung of 2 epochs (resumed)" || bad "a rung of 2 epochs" "$(cat s1/autotune.jsonl)"
expect "the promoted trial resumed its run" "lurn --threads 2 train --resume s1/trial-" "$(cat s1/autotune.jsonl)"

# ---- errors ----------------------------------------------------------------------------
out=$("$LURN" autotune order.lua --budget 1s train.epochs=1000 --out tiny 2>&1); rc=$?
expect_rc "a budget too small" 2 $rc "$out"
expect "... says so, and what would do" "--budget 1s is too small: one trial of 1 epoch(s) took" "$out"
out=$("$LURN" autotune order.lua --budget 1m data.format=csv --out badfmt 2>&1); rc=$?
expect_rc "a first trial that fails on the data" 3 $rc "$out"
expect "... is reported with its log" "trial 1  FAILED (exit 3): lurn train: data/train.txt:1: no text column" "$out"
expect "... and stops the search" "the first trial failed (exit 3, log badfmt/trial-001.log)" "$out"
out=$("$LURN" autotune order.lua 2>&1); rc=$?
expect_rc "no --budget" 2 $rc "$out"
out=$("$LURN" autotune order.lua --budget soon 2>&1); rc=$?
expect_rc "a bad --budget" 2 $rc "$out"
expect "... named" "--budget needs a time like 90s, 10m or 1h, got 'soon'" "$out"
out=$("$LURN" autotune order.lua --budget 1m 'optim.lr=log(0,1)' 2>&1); rc=$?
expect_rc "a bad range" 2 $rc "$out"
out=$("$LURN" autotune --help 2>&1); rc=$?
expect_rc "lurn autotune --help" 0 $rc "$out"
expect "help says what is searched" "Searched unless fixed: optim.lr" "$out"
finish
