#!/usr/bin/env bash
# data.subwords end to end through `lurn train`, `predict` and `eval`: on text
# whose label only the stems of unseen words carry (docs/examples/subword_data.lua:
# the test sentences' suffixes never occur in training), a bag of word and
# character n-gram vectors learns it and a bag of whole words cannot.
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
export LURN_THREADS=1
"$LURN" "$SRC/docs/examples/subword_data.lua" data 800 >/dev/null || bad "subword_data.lua runs"
cat > sw.lua <<'LUA'
return {
  name = "subwords", seed = 1,
  data = { train = "data/train.txt", test = "data/test.txt", format = "label_text",
           valid_split = 0.1, subwords = 4096 },
  model = { type = "bow", embed = 16, pool = "mean" },
  optim = { lr = 0.02 },
  train = { epochs = 5, batch_size = 32 },
}
LUA

out=$("$LURN" train sw.lua --out sub --quiet 2>&1); rc=$?
expect_rc "trains with subwords" 0 $rc "$out"
acc=$(test_accuracy sub)
if at_least "$acc" 0.95; then ok "subwords read unseen words (test accuracy $acc >= 0.95)"
else bad "subwords read unseen words" "test accuracy $acc < 0.95"; fi

out=$("$LURN" train sw.lua data.subwords=0 --out words --quiet 2>&1); rc=$?
expect_rc "trains without subwords" 0 $rc "$out"
acc=$(test_accuracy words)
# every test sentence's label word is <unk> without subwords: chance, 0.5
if at_least 0.62 "$acc"; then ok "whole words stay at chance (test accuracy $acc <= 0.62)"
else bad "whole words stay at chance" "test accuracy $acc > 0.62"; fi

# the saved model on typed sentences with words it never saw
out=$("$LURN" predict sub "the marvelness film" "so horriest" "a wretchive show" "splendest" 2>&1)
labels=$(printf '%s\n' "$out" | cut -f1 | tr '\n' ' ')
expect "predict reads unseen words by their parts" "pos neg neg pos " "$labels"
out=$("$LURN" eval sub 2>&1); rc=$?
expect_rc "eval of a subword model" 0 $rc "$out"
expect "eval prints the confusion matrix" "confusion matrix" "$out"

# a resumed run reads the same subwords (the checkpoint's config)
out=$("$LURN" train sw.lua train.epochs=2 --out part --quiet 2>&1)
out=$("$LURN" train --resume part train.epochs=5 --quiet 2>&1); rc=$?
expect_rc "a subword run resumes" 0 $rc "$out"

out=$("$LURN" train sw.lua data.tokenizer=char --out bad --quiet 2>&1); rc=$?
expect_rc "subwords with the char tokenizer" 2 $rc "$out"
expect "names the keys" "data.subwords = 4096: subword vectors need task classify and the word tokenizer" "$out"
finish
