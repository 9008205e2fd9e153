#!/usr/bin/env bash
# The sentiment main job's claim, end to end through `lurn train`: on text
# whose label depends on word order and negation ("not good" is neg, "good ,
# and not long" is pos; docs/examples/negation_data.lua), a recurrent model
# learns the rule and a bag-of-words model, seeing the same words, cannot.
# Small (1,200 sentences, a few seconds); one thread, since the models are tiny.
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
export LURN_THREADS=1
"$LURN" "$SRC/docs/examples/negation_data.lua" data 1200 >/dev/null || bad "negation_data.lua runs"
cat > negation.lua <<'LUA'
return {
  name = "negation", seed = 1,
  data = { train = "data/train.txt", test = "data/test.txt", format = "label_text",
           valid_split = 0.1 },
  model = { type = "gru", embed = 16, hidden = 16, pool = "max" },
  optim = { lr = 0.01 },
  train = { epochs = 4, batch_size = 32 },
}
LUA
check "lurn check negation.lua" "$LURN" check negation.lua


out=$("$LURN" train negation.lua --out gru --quiet 2>&1); rc=$?
expect_rc "GRU trains" 0 $rc "$out"
acc=$(test_accuracy gru)
if at_least "$acc" 0.95; then ok "GRU learns negation and order (test accuracy $acc >= 0.95)"
else bad "GRU learns negation and order" "test accuracy $acc < 0.95"; fi

out=$("$LURN" train negation.lua model.type=bow model.pool=mean --out bow --quiet 2>&1); rc=$?
expect_rc "bag of words trains" 0 $rc "$out"
acc=$(test_accuracy bow)
# chance is 0.5; 300 test sentences put 0.62 four standard errors above it
if at_least 0.62 "$acc"; then ok "bag of words stays near chance (test accuracy $acc <= 0.62)"
else bad "bag of words stays near chance" "test accuracy $acc > 0.62"; fi

# the saved model on typed sentences: the same words, flipped by where "not" stands
out=$("$LURN" predict gru "the plot was not good" "good , and not long" "not bad at all" "awful , it is not" 2>&1)
labels=$(printf '%s\n' "$out" | cut -f1 | tr '\n' ' ')
expect "predict reads the negation" "neg pos pos neg " "$labels"
finish
