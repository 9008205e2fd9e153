#!/usr/bin/env bash
# pretrained.from (docs/pretraining.md): a word language model trained on a
# generated TSV's sentence column (task lm, data.format = "tsv") starts a
# classifier. Checked: before the first step the embedding rows of shared
# tokens and every recurrent weight equal the LM's, the rows of tokens the LM
# lacks (and <pad>) equal a fresh model's; the fine-tuned run trains, evals,
# predicts; lr_scale = 0 keeps the copied layers frozen; a run resumed (with
# the LM gone) ends bit for bit like the uninterrupted one; every mismatch
# is exit 2 with a message naming pretrained.from, no traceback, no run left.
. "$(dirname "$0")/cli_lib.sh"
export LURN_THREADS=1   # bit-for-bit comparisons across processes
cd "$tmp"
# sentences: filler words around one sentiment word; label 1 = a positive word
"$LURN" -e '
lurn.seed(3)
local pos, neg = { "good", "great", "fine", "nice" }, { "bad", "awful", "poor", "dull" }
local filler = { "the", "film", "was", "a", "plot", "and", "very", "movie", "story" }
local u = lurn.rand(100000); local k = 0
local function r(n) k = k + 1; return 1 + math.floor(u:get(k) * n) end
local f = io.open("train.tsv", "w"); f:write("sentence\tlabel\n")
for i = 1, 300 do
  local lab = r(2) - 1
  local w = {}
  for j = 1, 3 + r(4) do w[#w + 1] = filler[r(#filler)] end
  table.insert(w, r(#w), (lab == 1 and pos or neg)[r(4)])
  if i % 40 == 0 then w[#w + 1] = "rare" .. i end   -- seen once: not in the LM vocabulary
  f:write(table.concat(w, " "), "\t", lab, "\n")
end
f:close()'
cat > lm.lua <<'LUA'
return { name = "lm", task = "lm", data = { train = "train.tsv", format = "tsv", min_count = 2 },
  lm = { tokenizer = "word", lower = true, bptt = 8 },
  model = { type = "lstm", embed = 8, hidden = 12 }, optim = { lr = 0.01 },
  train = { epochs = 1, batch_size = 4, log_every = 50 } }
LUA
cat > cls.lua <<'LUA'
return { name = "cls", data = { train = "train.tsv", format = "tsv", valid_split = 0.2 },
  pretrained = { from = "LM" },
  model = { type = "lstm", embed = 8, hidden = 12 }, optim = { lr = 0.01 },
  train = { epochs = 2, batch_size = 16, log_every = 50 } }
LUA

out=$("$LURN" train lm.lua --out LM 2>&1); rc=$?
expect_rc "lurn train: the language model on the TSV's sentences" 0 $rc "$out"
vocab=$("$LURN" -e 'local s = require("lurn.run.saved").load("LM")
local t = {}; for i, w in ipairs(s.vocab.itos) do t[i] = w end; print(table.concat(t, " "))' 2>&1)
expect "the LM reads the sentence column (its words)" "film" "$vocab"
case " $vocab " in *" label "*|*" sentence "*|*" 0 "*|*" 1 "*|*" rare"*|"  ")
  bad "the LM vocabulary: no header, no labels, no word seen once" "$vocab" ;;
  *) ok "the LM vocabulary: no header, no labels, no word seen once" ;; esac

# the copy, before any step: apply() on a model built as lurn train builds it
# (copy_check.lua LM_DIR key=value...): shared rows and the recurrent weights
# (forward direction) equal the LM's; unmatched rows, <pad>, the reverse
# direction and the output layer equal a fresh model's of the same seed
cat > copy_check.lua <<'LUA'
local config, text = require "lurn.config", require "lurn.text"
local models, pre = require "lurn.run.model", require "lurn.run.pretrained"
local overrides = { "pretrained.from=" .. arg[1] }
for i = 2, #arg do overrides[#overrides + 1] = arg[i] end
local cfg = config.load("cls.lua", overrides)
lurn.seed(cfg.seed)
local ds = text.load_dataset(cfg.data, { seed = cfg.seed, log = false })
local spec = models.spec(cfg, { vocab_size = ds.vocab:size(), num_classes = #ds.labels,
  labels = ds.labels })
local model, fresh = lurn.nn.build(spec), {}
for _, p in ipairs(model:parameters()) do fresh[p.name] = p.value:clone() end
local info = pre.apply(cfg, model, ds.vocab, ds.tokenizer)
local lm = require("lurn.run.saved").load(arg[1])
local W, LW = {}, {}
for _, p in ipairs(model:parameters()) do W[p.name] = p.value end
for _, p in ipairs(lm.model:parameters()) do LW[p.name] = p.value end
local function same(a, b) return a:numel() == b:numel() and a:sub(b):abs():max() == 0 end
local shared, fresh_rows, copied, kept, bad = 0, 0, 0, 0, {}
for id = 0, ds.vocab:size() - 1 do
  local tok, row = ds.vocab.itos[id + 1], W["0.weight"]:select(1, id + 1)
  local lid = id ~= 0 and lm.vocab.stoi[tok]
  if lid then
    shared = shared + 1
    if not same(row, LW["0.weight"]:select(1, lid + 1)) then bad[#bad + 1] = "row " .. tok end
  else
    fresh_rows = fresh_rows + 1
    if not same(row, fresh["0.weight"]:select(1, id + 1)) then bad[#bad + 1] = "fresh " .. tok end
  end
end
for name, v in pairs(W) do
  if name:match("^1%.") then
    if name:match("_reverse$") then
      kept = kept + 1
      if not same(v, fresh[name]) then bad[#bad + 1] = name .. " changed" end
    else
      copied = copied + 1
      if not LW[name] or not same(v, LW[name]) then bad[#bad + 1] = name end
      if same(v, fresh[name]) then bad[#bad + 1] = name .. " unchanged" end
    end
  elseif name:match("^3%.") and not same(v, fresh[name]) then
    bad[#bad + 1] = name .. " changed"
  end
end
print(("shared %d fresh %d matched %d copied %d kept %d bad {%s}"):format(shared, fresh_rows,
  info.matched, copied, kept, table.concat(bad, ",")))
LUA
check=$("$LURN" copy_check.lua LM 2>&1)
expect "before the first step: copied rows and LSTM weights equal the LM's, the rest fresh" \
  "bad {}" "$check"
shared=$(printf '%s' "$check" | sed -n 's/^shared \([0-9]*\) fresh \([0-9]*\) matched \([0-9]*\).*/\1 \2 \3/p')
set -- $shared
[ "${1:-0}" -gt 10 ] && [ "${2:-0}" -ge 3 ] && [ "${1:-x}" = "${3:-y}" ] \
  && ok "shared and unmatched tokens both present; matched = shared ($shared)" \
  || bad "shared and unmatched tokens both present; matched = shared" "$check"

out=$("$LURN" train cls.lua --out C 2>&1); rc=$?
expect_rc "lurn train: the classifier from the LM" 0 $rc "$out"
expect "the run says how many tokens were matched" "embedding rows of ${1:-?} of" "$out"
expect "the run says the LSTM was copied" "LSTM weights of 1 layer(s) copied" "$out"
summ=$(jq_lurn 'local s = json.decode(io.open("C/summary.json"):read("a"))
print(s.pretrained and s.pretrained.matched, s.best.value > 0.75 and "learnt" or s.best.value)')
expect "summary.json records the copy; the classifier learns" "${1:-?}	learnt" "$summ"
out=$("$LURN" eval C 2>&1); rc=$?
expect_rc "lurn eval of the fine-tuned run" 0 $rc "$out"
expect "lurn eval prints the confusion matrix" "confusion" "$out"
out=$("$LURN" predict C "a very good film" "the plot was awful" 2>&1); rc=$?
expect_rc "lurn predict of the fine-tuned run" 0 $rc "$out"
expect "lurn predict labels the positive sentence" "1	" "$(printf '%s\n' "$out" | head -1)"
expect "lurn predict labels the negative sentence" "0	" "$(printf '%s\n' "$out" | sed -n 2p)"

# lr_scale = 0 freezes what was copied; the classifier's head still learns
out=$("$LURN" train cls.lua pretrained.lr_scale=0 --out F 2>&1); rc=$?
expect_rc "lurn train with pretrained.lr_scale = 0" 0 $rc "$out"
frozen=$("$LURN" -e '
local ck = require "lurn.checkpoint"
local a, b = ck.load_weights("F/checkpoints/last.ckpt"), ck.load_weights("LM/checkpoints/best.ckpt")
local c = ck.load_weights("C/checkpoints/last.ckpt")
local function same(x, y) return x:sub(y):abs():max() == 0 end
print(same(a["1.weight_hh_l0"], b["1.weight_hh_l0"]) and "frozen" or "moved",
  same(c["1.weight_hh_l0"], b["1.weight_hh_l0"]) and "frozen" or "moved")' 2>&1)
expect "lr_scale = 0: the LSTM stays the LM's; lr_scale = 1: it trains" "frozen	moved" "$frozen"

# resume: one epoch, the LM moved away, then the second: the same weights as 2 epochs at once
"$LURN" train cls.lua pretrained.lr_scale=0.5 --out R2 --quiet >/dev/null 2>&1
"$LURN" train cls.lua pretrained.lr_scale=0.5 train.epochs=1 --out R1 --quiet >/dev/null 2>&1
mv LM LM.away
out=$("$LURN" train --resume R1 cls.lua pretrained.lr_scale=0.5 train.epochs=2 2>&1); rc=$?
expect_rc "lurn train --resume of a pretrained run (the LM gone)" 0 $rc "$out"
expect "the resumed run still says where it started from" "(when the run started)" "$out"
same=$("$LURN" -e '
local ck = require "lurn.checkpoint"
local a, b = ck.load_weights("R1/checkpoints/last.ckpt"), ck.load_weights("R2/checkpoints/last.ckpt")
local n, d = 0, 0
for k, v in pairs(b) do n = n + 1; if not a[k] or v:sub(a[k]):abs():max() ~= 0 then d = d + 1 end end
print(("%d of %d differ"):format(d, n))' 2>&1)
expect "resumed = uninterrupted, bit for bit" "0 of" "$same"
mv LM.away LM

# errors: exit 2, the key and the run named, both shapes, no traceback, nothing left behind
err_case() {  # name, expected text, overrides...
  local name=$1 want=$2; shift 2
  local o rc
  o=$("$LURN" train cls.lua "$@" --out E 2>&1); rc=$?
  expect_rc "$name" 2 $rc "$o"
  expect "$name: message" "$want" "$o"
  case "$o" in *traceback*|*"stack"*) bad "$name: no traceback" "$o" ;; *) ok "$name: no traceback" ;; esac
  [ -e E ] && { bad "$name: no run directory left" "E exists"; rm -rf E; } || ok "$name: no run directory left"
}
err_case "missing run" 'pretrained.from = "nope": no such file or directory' pretrained.from=nope
err_case "wrong cell" 'the recurrent cells differ: LSTM in the language model (weight_ih_l0 [48,8]), GRU in this model (model.type = "gru", weight_ih_l0 [36,8])' model.type=gru
err_case "wrong hidden size" "the hidden sizes differ: the language model's weight_hh_l0 is [48,12] (hidden 12), this model's [40,10] (model.hidden = 10)" model.hidden=10
err_case "wrong embedding size" "the embedding sizes differ: the language model's embedding is" model.embed=6
err_case "wrong layer count" "the layer counts differ: the language model has 1 recurrent layer(s), this model 2" model.layers=2
err_case "incompatible tokenizer (case)" "the language model's words are lower-cased (lm.lower = true), this model's are not (data.lower = false)" data.lower=false
err_case "incompatible tokenizer (kind)" "the language model's tokens are words" data.tokenizer=char
err_case "a classification run is not a language model" 'pretrained.from = "C": C/checkpoints/best.ckpt is a classification run, not a language model' pretrained.from=C
err_case "lr_scale without from" "pretrained.lr_scale = 0.5: set pretrained.from too" pretrained.from= pretrained.lr_scale=0.5
o=$("$LURN" check -q cls.lua pretrained.from=nope 2>&1); rc=$?
expect_rc "lurn check: a missing pretrained.from" 2 $rc "$o"
expect "lurn check: a missing pretrained.from: message" 'pretrained.from = "nope": no such file' "$o"
check "lurn check: an existing pretrained.from" "$LURN" check -q cls.lua
o=$("$LURN" train lm.lua pretrained.from=LM --out E 2>&1); rc=$?
expect_rc "task lm refuses pretrained.from" 2 $rc "$o"
expect "task lm refuses pretrained.from: message" 'pretrained.from = "LM": task "lm" does not read it' "$o"
rm -rf E
# task lm over an aclImdb directory: pos/, neg/ and the unlabelled unsup/, one review a line
mkdir -p imdb/pos imdb/neg imdb/unsup
for i in 1 2 3 4 5 6; do
  printf 'a good film<br />truly good %d\n' $i > imdb/pos/${i}_8.txt
  printf 'a bad film, sadly bad\n' > imdb/neg/${i}_2.txt
  printf 'an unlabelled zebra review\n' > imdb/unsup/${i}_0.txt
done
cat > imdb-lm.lua <<'LUA'
return { name = "ilm", task = "lm", data = { train = "imdb", format = "imdb" },
  lm = { tokenizer = "word", lower = true, bptt = 4, valid_fraction = 0 },
  model = { type = "lstm", embed = 4, hidden = 4 }, train = { epochs = 1, batch_size = 2 } }
LUA
out=$("$LURN" train imdb-lm.lua --out ILM 2>&1); rc=$?
expect_rc "task lm on an aclImdb directory" 0 $rc "$out"
# 6 x (a good film truly good N <eos>: 7) + 6 x (a bad film , sadly bad <eos>: 7) + 6 x 5
expect "pos, neg and unsup read, one review a line, <br /> dropped" "data: 114 training tokens" "$out"
vocab=$("$LURN" -e 'local s = require("lurn.run.saved").load("ILM")
print(s.vocab.stoi.zebra and "zebra" or "no zebra", s.vocab.stoi["br"] and "br" or "no br")' 2>&1)
expect "the unlabelled reviews' words are in the vocabulary" "zebra	no br" "$vocab"

# a bidirectional one-layer model takes the forward direction; the reverse stays fresh
c=$("$LURN" copy_check.lua LM model.bidirectional=true 2>&1)
expect "bidirectional: forward = the LM's, reverse = fresh (4 + 4 tensors)" "copied 4 kept 4 bad {}" "$c"
out=$("$LURN" train cls.lua model.bidirectional=true train.epochs=1 --out B 2>&1); rc=$?
expect_rc "bidirectional classifier from a one-layer LM" 0 $rc "$out"
expect "bidirectional: the forward direction copied" "into the forward direction" "$out"
# two GRU layers: both copied
"$LURN" train lm.lua model.type=gru model.layers=2 --out LM2 --quiet >/dev/null 2>&1
c=$("$LURN" copy_check.lua LM2 model.type=gru model.layers=2 2>&1)
expect "two GRU layers: both copied (8 tensors)" "copied 8 kept 0 bad {}" "$c"
# mpirun -np 2: every rank starts from the language model (LURN_DIST_CHECK
# compares the ranks' parameters after every step), when MPI is here
if command -v mpirun >/dev/null 2>&1 && ! "$LURN" info | grep -q "^mpi  *no" \
    && [ "${LURN_SANITIZE:-0}" != 1 ]; then
  flags=(--oversubscribe); [ "$(id -u)" = 0 ] && flags+=(--allow-run-as-root)
  out=$(OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 LURN_DIST_CHECK=1 \
    mpirun "${flags[@]}" -np 2 "$LURN" train cls.lua train.epochs=1 --out M 2>&1); rc=$?
  expect_rc "mpirun -np 2: the ranks start from the same pretrained weights" 0 $rc "$out"
else
  echo "skip mpirun -np 2 (no mpirun, no MPI in this lurn, or the sanitizer pass)"
fi
finish
