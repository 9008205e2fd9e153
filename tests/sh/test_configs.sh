#!/usr/bin/env bash
# Every config shipped in configs/: `lurn check` accepts it (without its data, which CI does
# not have), its model builds and runs forward on a small batch, and its header comment names
# the file and states its result (a figure, or "not yet measured").
. "$(dirname "$0")/cli_lib.sh"
export LURN_THREADS=1
want="imdb-gru imdb-lstm sentiment shakespeare-char sst2-bilstm sst2-gru sst2-lstm uci"
have=$(cd "$SRC/configs" && ls *.lua | sed 's/\.lua$//' | tr '\n' ' ' | sed 's/ $//')
missing=""
for w in $want; do case " $have " in *" $w "*) ;; *) missing="$missing $w" ;; esac; done
[ -z "$missing" ] && ok "the configs issue 10 lists are shipped" || bad "the configs issue 10 lists are shipped" "missing:$missing"
for f in "$SRC"/configs/*.lua; do
  name=configs/$(basename "$f")
  out=$("$LURN" check --no-paths -q "$f" 2>&1); rc=$?
  expect_rc "lurn check $name" 0 $rc "$out"
  if grep -q 'task = "pianoroll"' "$f"; then
    # the task's own model on a batch of two generated pieces: one logit per key and step
    out=$("$LURN" -e '
      local lurn = require "lurn"
      local cfg = require("lurn.config").load(arg[1], nil, { check_paths = false })
      local pr = require "lurn.tasks.pianoroll"
      local m = lurn.nn.build(pr.spec(cfg))
      m:eval()
      local low = cfg.pianoroll.low
      local ds = pr.Rolls({ { { low }, { low + 1 }, { low } }, { { low + 2 } } }, cfg.pianoroll)
      print(table.concat(m:forward(ds:make_batch { 1, 2 }).data:shape(), "x"), cfg.pianoroll.keys)' "$f" 2>&1)
    keys=${out##*[[:space:]]}
    expect "$name: its model builds and runs (2 pieces of 3 steps -> 3x2xkeys logits)" "3x2x$keys" "$out"
  else
    out=$("$LURN" -e '
      local lurn = require "lurn"
      local cfg = require("lurn.config").load(arg[1], nil, { check_paths = false })
      if cfg.task == "lm" then   -- a language model: 5 steps of 2 streams -> 30 logits each
        local m = lurn.nn.build(require("lurn.tasks.lm").spec(cfg, 30))
        m:eval()
        print("lm " .. table.concat(m:forward({ ids = lurn.zeros(5, 2, "int32") }).data:shape(), "x"))
        return
      end
      local spec = require("lurn.run.model").spec(cfg, { vocab_size = 30, num_classes = 2, labels = { "0", "1" } })
      local m = lurn.nn.build(spec)
      m:eval()
      local vocab = lurn.data.Vocab.build { "a good film", "not a good film at all" }
      local subwords = cfg.data.subwords > 0 and { buckets = cfg.data.subwords } or nil
      local batch = lurn.data.Dataset { texts = { "a good film", "not a goodish film at all" }, vocab = vocab,
        subwords = subwords }:make_batch { 1, 2 }
      print(table.concat(m:forward(batch):shape(), "x"))' "$f" 2>&1)
    if grep -q 'task = "lm"' "$f"; then
      expect "$name: its language model builds and runs (5 x 2 ids -> 5x2x30 logits)" "lm 5x2x30" "$out"
    else
      expect "$name: its model builds and runs (2 texts -> 2x2 scores)" "2x2" "$out"
    fi
  fi
  expect "$name: header names the file" "-- $name " "$(head -1 "$f")"
  if grep -q -E "^-- (Result|.*[Rr]esult)" "$f"; then ok "$name: header states its result"
  else bad "$name: header states its result" "no 'Result' line in $name"; fi
done
finish
