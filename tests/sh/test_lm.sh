#!/usr/bin/env bash
# task "lm" end to end on a small generated text: lurn train writes a run
# whose validation loss beats the unigram baseline, lurn eval reproduces it,
# lurn sample streams text that is valid UTF-8, with the same text for the
# same seed; a run resumed from a mid-epoch checkpoint ends with the same
# weights, bit for bit, as the run never stopped (the carried recurrent state
# is part of the checkpoint); bad input gets clear errors.
. "$(dirname "$0")/cli_lib.sh"
# The bit-for-bit comparisons below span processes: each must use the same
# BLIS kernel set, which lurn picks from CPUID alone (docs/performance.md).
export LURN_THREADS=1
cd "$tmp"
# sentences over a few words, two of them with non-ASCII letters (2- and
# 3-byte UTF-8), one sentence per line, from lurn's seeded generator
"$LURN" -e '
lurn.seed(7)
local words = { "the", "cat", "sat", "on", "mat", "café", "dog", "ran", "naïve", "to", "—" }
local u = lurn.rand(40000); local k = 0
local function r(n) k = k + 1; return 1 + math.floor(u:get(k) * n) end
local out = {}
for i = 1, 500 do
  local w = {}
  for j = 1, 2 + r(5) do w[j] = words[r(#words)] end
  out[i] = table.concat(w, " ") .. "."
end
io.open("text.txt", "w"):write(table.concat(out, "\n"), "\n")'
cat > lm.lua <<'LUA'
return {
  name = "lm", task = "lm",
  data = { train = "text.txt" },
  lm = { bptt = 16 },
  model = { type = "lstm", embed = 16, hidden = 32, layers = 2, dropout = 0.1 },
  optim = { lr = 0.01 },
  train = { epochs = 2, batch_size = 8, log_every = 10, checkpoint_every = 25,
            keep_checkpoints = 10 },
}
LUA

out=$("$LURN" train lm.lua --out A 2>&1); rc=$?
expect_rc "lurn train (task lm)" 0 $rc "$out"
expect "layout announced" "8 streams of" "$out"
expect "vocabulary counts code points" "vocabulary of 20 characters" "$out"
expect "summary in bits per character" "bits/char" "$out"
# the unigram entropy of the validation text is the score of a model that
# ignores context; the LSTM must be well below it
check_loss=$("$LURN" -e '
local json = require "lurn.run.json"
local s = json.decode(io.open("A/summary.json"):read("a"))
local text = io.open("text.txt"):read("a")
local toks = require("lurn.text.stream").tokens(text, "char")
local n0 = #toks - math.floor(#toks * 0.1)
local c, n = {}, 0
for i = 1, n0 do c[toks[i]] = (c[toks[i]] or 0) + 1; n = n + 1 end
local h = 0
for i = n0 + 1, #toks do h = h - math.log(c[toks[i]] / n) end
h = h / (#toks - n0)
print(("%s %.4f %.4f"):format(s.best.value < h - 0.3 and "below" or "not-below", s.best.value, h))')
expect "validation loss below the unigram entropy - 0.3 nats" "below" "$check_loss"
case "$check_loss" in not-below*) bad "loss figures" "$check_loss" ;; esac

best=$(jq_lurn 'print(json.decode(io.open("A/summary.json"):read("a")).best.value)')
bigram=$("$LURN" "$SRC/bench/char_lm_bigram.lua" text.txt | sed -n 's/^bigram (alpha 0.1): \([0-9.]*\) nats.*/\1/p')
below=$("$LURN" -e "print(($best < ${bigram:-0} - 0.1) and 'below' or 'not below: $best vs ${bigram:-none}')")
expect "the LSTM beats the bigram counts (bench/char_lm_bigram.lua) by 0.1 nats" "below" "$below"
ev=$("$LURN" eval A --json 2>&1); rc=$?
expect_rc "lurn eval" 0 $rc "$ev"
same=$(jq_lurn "local e = json.decode(arg[1]); print(math.abs(e.loss - $best) < 1e-9 and 'same' or ('differ ' .. e.loss))" "$ev")
expect "lurn eval reproduces the best validation loss" "same" "$same"
expect "lurn eval: bits/char" '"unit":"bits/char"' "$ev"

s1=$("$LURN" sample A --length 300 --seed 5 --prime "the c" 2>&1); rc=$?
expect_rc "lurn sample" 0 $rc "$s1"
s2=$("$LURN" sample A --length 300 --seed 5 --prime "the c" 2>&1)
s3=$("$LURN" sample A --length 300 --seed 6 --prime "the c" 2>&1)
[ "$s1" = "$s2" ] && ok "same seed, same text" || bad "same seed, same text" "$s1 / $s2"
[ "$s1" != "$s3" ] && ok "another seed, another text" || bad "another seed, another text" "$s1"
expect "the prime comes first" "the c" "${s1:0:5}"
chars=$(printf '%s' "$s1" | "$LURN" -e 'local s = io.read("a"); print(utf8.len(s) or "invalid")')
expect "sample is valid UTF-8: prime + 300 characters" "305" "$chars"
g1=$("$LURN" sample A --length 80 --temperature 0 --seed 1 2>&1)
g2=$("$LURN" sample A --length 80 --temperature 0 --seed 2 2>&1)
[ "$g1" = "$g2" ] && ok "temperature 0 is greedy (seed-independent)" || bad "greedy" "$g1 / $g2"
k1=$("$LURN" sample A --length 200 --top-k 1 --seed 9 2>&1)
k0=$("$LURN" sample A --length 200 --temperature 0 2>&1)
[ "$k1" = "$k0" ] && ok "top-k 1 equals greedy" || bad "top-k 1 equals greedy" "$k1 / $k0"
# streaming: the prime and the first tokens are out before the process ends
"$LURN" sample A --length 100000 --prime "the " > stream.out 2>&1 &
pid=$!
for _ in $(seq 1 500); do [ "$(wc -c < stream.out)" -gt 20 ] && break; sleep 0.01; done
if kill -0 $pid 2>/dev/null; then
  [ "$(wc -c < stream.out)" -gt 20 ] && ok "output streams while generating" || bad "streaming" "no output yet"
  kill $pid; wait $pid 2>/dev/null
else
  bad "streaming" "finished 100000 characters before it could be observed"
fi

# exact resume from a mid-epoch checkpoint: B is A cut back to its last
# checkpoint inside the second epoch; the carried states come back from it
cp -r A B
pick=$("$LURN" -e 'local c = require "lurn.checkpoint"
  local names = {}
  for f in require("lfs").dir("A/checkpoints") do
    if f:match("^step%-%d+%.ckpt$") then names[#names + 1] = f end
  end
  table.sort(names)
  local mid
  for _, f in ipairs(names) do
    local s = c.load("A/checkpoints/" .. f)
    if s.data.epoch == 2 and s.data.pos > 0 then mid = f end
  end
  print(tostring(mid) .. " " .. names[#names])' 2>&1)
mid=${pick% *}; last=${pick#* }
case "$mid" in step-*) ok "a mid-epoch checkpoint ($mid; last $last)" ;; *) bad "a mid-epoch checkpoint" "$pick" ;; esac
echo "$mid" > B/checkpoints/latest
for f in B/checkpoints/step-*.ckpt; do [[ "$(basename "$f")" > "$mid" ]] && rm -f "$f"; done
out=$("$LURN" train --resume B --quiet 2>&1); rc=$?
expect_rc "resume from $mid" 0 $rc "$out"
cmp=$("$LURN" -e 'local c = require "lurn.checkpoint"
  local a, b, m = c.load(arg[1]), c.load(arg[2]), c.load(arg[3]); local n, d = 0, 0
  for k, t in pairs(a.model) do n = n + 1; d = math.max(d, t:sub(b.model[k]):abs():max()) end
  print(n, d == 0 and "identical" or ("differ by " .. d), m.tensors["carry/1/h"] and "carry" or "no-carry")' \
  "A/checkpoints/$last" "B/checkpoints/$last" "A/checkpoints/$mid" 2>&1)
expect "resumed run ends with the same weights" "identical" "$cmp"
expect "checkpoint holds the carried state" "carry" "$cmp"

# the other commands on an lm run
out=$("$LURN" inspect A 2>&1); rc=$?
expect_rc "lurn inspect of an lm run" 0 $rc "$out"
expect "inspect shows the stateful LSTM" "stateful" "$out"
expect "inspect shows the vocabulary" "vocabulary  20 tokens; tokenizer char" "$out"
out=$("$LURN" predict A "the cat" 2>&1); rc=$?
expect_rc "lurn predict of an lm run" 2 $rc "$out"
expect "predict says why" "a run of task 'lm'; lurn predict labels texts with a classification run (try lurn sample)" "$out"

# word level
cat > w.lua <<'LUA'
return { name = "w", task = "lm", data = { train = "text.txt" },
  lm = { tokenizer = "word", bptt = 8 }, model = { type = "gru", embed = 8, hidden = 16 },
  optim = { lr = 0.01 }, train = { epochs = 1, batch_size = 4 } }
LUA
out=$("$LURN" train w.lua --out W 2>&1); rc=$?
expect_rc "word-level lm" 0 $rc "$out"
expect "word vocabulary: 11 words, <unk>, <eos> and ." "vocabulary of 14 words" "$out"
ws=$("$LURN" sample W --length 30 --prime "the cat" 2>&1); rc=$?
expect_rc "word-level sample" 0 $rc "$ws"
expect "word sample starts with the prime" "the cat " "$ws"

# errors
out=$("$LURN" sample A --prime "xyz" 2>&1); rc=$?
expect_rc "prime outside the vocabulary" 2 $rc "$out"
expect "names the character" '"x"' "$out"
out=$("$LURN" sample A --temperature -1 2>&1); rc=$?
expect_rc "negative temperature" 2 $rc "$out"
out=$("$LURN" train lm.lua train.batch_size=5000 --out C 2>&1); rc=$?
expect_rc "text too short for the streams" 3 $rc "$out"
expect "says why" "too few for 5000 parallel streams" "$out"
[ ! -e C ] && ok "no run directory left behind" || bad "no run directory left behind" "C exists"
out=$("$LURN" train lm.lua model.bidirectional=true --out D 2>&1); rc=$?
expect_rc "bidirectional refused" 2 $rc "$out"
out=$("$LURN" train lm.lua data.valid_split=0.2 --out F 2>&1); rc=$?
expect_rc "a classification key in an lm config" 2 $rc "$out"
expect "names it and what to set" 'data.valid_split = 0.2: task "lm" does not read it (the text is read whole, as UTF-8); set lm.valid_fraction instead' "$out"
out=$("$LURN" train lm.lua data.train=missing.txt --out E 2>&1); rc=$?
expect_rc "missing text" 3 $rc "$out"
expect "names the file" "missing.txt" "$out"
make_data 60; write_config
"$LURN" train order.lua --out O --quiet >/dev/null 2>&1
out=$("$LURN" sample O 2>&1); rc=$?
expect_rc "sample of a classifier" 2 $rc "$out"
expect "says what it is" "is a classify run" "$out"
finish
