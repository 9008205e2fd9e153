#!/usr/bin/env bash
# lurn train / eval / translate for task "translate", end to end on a generated corpus:
# reversing strings of digits (docs/examples/digits_corpus.lua), which only works when the
# attention learns to read the source backwards. Checks the test BLEU, that lurn eval
# measures the same, translations from arguments and stdin (beam and greedy, --json), that
# --attention draws each output digit's weight on the same digit of the source (the
# anti-diagonal), exact resume, and the errors users meet (exit statuses and messages).
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
# The sanitizer pass runs every command on a smaller run (its C is the release pass's, and
# training is ~5x slower there); what the model learns is checked in the release pass.
if [ "${LURN_SANITIZE:-0}" = 1 ]; then pairs=400 epochs=2 quality=0; else pairs=2000 epochs=4 quality=1; fi
"$LURN" "$SRC/docs/examples/digits_corpus.lua" data reverse $pairs >/dev/null
cat > rev.lua <<'LUA'
return {
  name = "rev", seed = 1, threads = 1, task = "translate",
  translate = { train = "data/train", valid = "data/valid", test = "data/test", src = "src",
    tgt = "tgt", lower = false, max_len = 0, cell = "gru", embed = 16, hidden = 32, dropout = 0,
    beam = 3 },
  optim = { lr = 5e-3 },
  train = { epochs = EPOCHS, batch_size = 32, best_metric = "valid_loss", best_mode = "min",
            log_every = 20 },
}
LUA
sed -i "s/EPOCHS/$epochs/" rev.lua

out=$("$LURN" train rev.lua --out run 2>&1); rc=$?
expect_rc "train" 0 $rc "$out"
expect "train prints the test BLEU" "test BLEU" "$out"
bleu=$(jq_lurn 'local s = json.decode(io.open("run/summary.json"):read("a")); print(("%.2f"):format(s.test.bleu))')
if [ $quality = 1 ]; then
  awk -v b="$bleu" 'BEGIN { exit !(b >= 90) }' && ok "test BLEU >= 90 ($bleu)" || bad "test BLEU >= 90" "$bleu"
fi
check "the test translations are saved" test -s run/test.hyp
[ "$(wc -l < run/test.hyp)" -eq 200 ] && ok "one line per test sentence" || bad "one line per test sentence"

out=$("$LURN" eval run 2>&1); rc=$?
expect_rc "eval" 0 $rc "$out"
expect "eval measures the BLEU train saw" "BLEU = $bleu" "$out"
out=$("$LURN" eval run --json 2>&1)
expect "eval --json" "\"bleu\":" "$out"
out=$("$LURN" eval run --split valid 2>&1)
expect "eval --split valid" "valid (200 sentences): BLEU = " "$out"

out=$("$LURN" translate run "1 2 3 4 5 6" "9 0 7" 2>&1); rc=$?
expect_rc "translate" 0 $rc "$out"
out2=$(printf '3 1 4 1 5\n2 7 1 8\n' | "$LURN" translate run --beam 1 2>&1); rc=$?
expect_rc "translate from stdin, greedy" 0 $rc "$out2"
[ "$(printf '%s\n' "$out2" | wc -l)" -eq 2 ] && ok "one line per stdin line" || bad "one line per stdin line" "$out2"
out3=$("$LURN" translate run --json "4 4 2" 2>&1)
expect "translate --json" '"translation":' "$out3"
if [ $quality = 1 ]; then
  expect "translate reverses" "6 5 4 3 2 1
7 0 9" "$out"
  expect "greedy reverses" "5 1 4 1 3
8 1 7 2" "$out2"
  expect "--json reverses" '"translation":"2 4 4"' "$out3"
fi

out=$("$LURN" translate run "1 2 3 4 5 6" --attention att.svg 2>&1); rc=$?
expect_rc "translate --attention" 0 $rc "$out"
check "the attention image is an SVG" grep -q '^<svg ' att.svg
# each output digit d: the source column of its largest weight must be digit d
diag=$(grep -o '<title>[0-9] -> [0-9]: [0-9.]*</title>' att.svg | sed 's/<title>\(.\) -> \(.\): \([0-9.]*\)<.*/\1 \2 \3/' |
  awk '{ if ($3 > best[$1]) { best[$1] = $3; col[$1] = $2 } } END { n = 0; for (k in col) if (col[k] == k) n++; print n }')
if [ $quality = 1 ]; then
  [ "${diag:-0}" -ge 5 ] && ok "attention follows the anti-diagonal ($diag of 6 outputs)" \
    || bad "attention follows the anti-diagonal" "$diag of 6"
fi

# exact resume: 2 epochs, then resumed to 4, ends where the uninterrupted run did
"$LURN" train rev.lua train.epochs=$((epochs / 2)) --out part --quiet >/dev/null 2>&1
out=$("$LURN" train --resume part train.epochs=$epochs 2>&1); rc=$?
expect_rc "resume" 0 $rc "$out"
same=$(jq_lurn 'local a = json.decode(io.open("run/summary.json"):read("a"))
local b = json.decode(io.open("part/summary.json"):read("a"))
print(a.final.loss == b.final.loss and a.test.bleu == b.test.bleu and "same" or (a.final.loss .. " " .. b.final.loss))')
expect "a resumed run ends as the uninterrupted one" "same" "$same"

# errors
out=$("$LURN" translate nowhere "1 2" 2>&1); rc=$?
expect_rc "a missing run is a checkpoint error" 4 $rc "$out"
out=$("$LURN" predict run "1 2" 2>&1); rc=$?
expect_rc "lurn predict refuses a translate run" 2 $rc "$out"
expect "lurn predict says why" "a run of task 'translate'; lurn predict labels texts with a classification run (try lurn translate)" "$out"
out=$("$LURN" translate run "1" --attention a.png 2>&1); rc=$?
expect_rc "--attention needs .svg" 2 $rc "$out"
out=$("$LURN" translate run "1" --beam 0 2>&1); rc=$?
expect_rc "--beam 0" 2 $rc "$out"
expect "--beam 0 says why" "--beam must be a positive integer" "$out"
out=$("$LURN" train rev.lua translate.train= --out r2 2>&1); rc=$?
expect_rc "no training corpus" 2 $rc "$out"
expect "no training corpus: named" "translate.train: the training corpus prefix is required" "$out"
head -5 data/valid.tgt > short.tgt; cp data/valid.src short.src
out=$("$LURN" train rev.lua translate.valid=short --out r3 2>&1); rc=$?
expect_rc "unaligned corpus is a data error" 3 $rc "$out"
expect "unaligned corpus: both files named" "short.src has 200 lines but short.tgt has 5" "$out"
out=$("$LURN" train rev.lua train.best_metric=valid_macro_f1 --out r4 2>&1); rc=$?
expect_rc "an unknown best_metric" 2 $rc "$out"
check "no run directory is left by a refused config" test ! -e r4
finish
