#!/usr/bin/env bash
# Task "pianoroll" end to end on tiny generated piano rolls: lurn train, lurn eval, sampling
# to a MIDI file and reading it back (lurn.midi, and abcmidi's mftext when installed), and
# the errors a user meets (bad pitches, a bidirectional model).
. "$(dirname "$0")/cli_lib.sh"
# The resume check compares runs of separate processes bit for bit: each must use the same BLIS
# kernel set (lurn's timed per-process pick flips under load; BLIS's own pick does not).
export LURN_KERNELS_AUTO=0 LURN_THREADS=1
cd "$tmp"
"$LURN" "$SRC/docs/examples/pianoroll_data.lua" rolls.json 48 >/dev/null
cat > roll.lua <<'LUA'
return {
  name = "roll", seed = 2, task = "pianoroll",
  data = { train = "rolls.json" },
  pianoroll = { bpm = 120 },
  model = { type = "gru", hidden = 24 },
  optim = { lr = 0.03 },
  train = { epochs = 8, batch_size = 8, best_metric = "valid_loss", best_mode = "min", log_every = 5 },
}
LUA
out=$("$LURN" train roll.lua --out run 2>&1); rc=$?
expect_rc "lurn train (task pianoroll)" 0 $rc "$out"
expect "train names the data" "data: 48 train (" "$out"
expect "train reports the test NLL" "test NLL " "$out"
# the model beats the keys' plain frequencies (each key a Bernoulli of its training rate),
# which knows nothing of the order of the steps
base=$("$LURN" -e '
  local d = require("lurn.tasks.pianoroll").read("rolls.json")
  local on, steps = {}, 0
  for _, piece in ipairs(d.train) do
    for _, st in ipairs(piece) do steps = steps + 1; for _, p in ipairs(st) do on[p] = (on[p] or 0) + 1 end end
  end
  local nll, n = 0, 0
  for _, piece in ipairs(d.test) do
    for _, st in ipairs(piece) do
      n = n + 1
      local here = {}
      for _, p in ipairs(st) do here[p] = true end
      for p = 21, 108 do
        local q = math.min(math.max((on[p] or 0) / steps, 1e-4), 1 - 1e-4)
        nll = nll - math.log(here[p] and q or 1 - q)
      end
    end
  end
  print(nll / n)')
test_nll=$(jq_lurn 'print(json.decode(io.open(arg[1]):read("a")).test.loss)' run/summary.json)
if "$LURN" -e "os.exit(tonumber(arg[1]) < 0.8 * tonumber(arg[2]) and 0 or 1)" "$test_nll" "$base"; then
  ok "test NLL $test_nll is below 0.8 x the key frequencies' $base"
else
  bad "test NLL beats the key frequencies" "test NLL $test_nll, frequencies $base"
fi

out=$("$LURN" eval run --json 2>&1); rc=$?
expect_rc "lurn eval --json" 0 $rc "$out"
same=$("$LURN" -e '
  local json = require "lurn.run.json"
  local e = json.decode(arg[1])
  local s = json.decode(io.open("run/summary.json"):read("a"))
  print(math.abs(e.nll - s.test.loss) < 1e-9 and e.steps == s.test.steps and "same" or "differ")' "$out")
expect "lurn eval repeats the run's test NLL" "same" "$same"
out=$("$LURN" eval run --split valid 2>&1)
expect "lurn eval --split valid" "split valid (8 pieces" "$out"
expect "lurn eval prints the NLL" "nats per time step" "$out"

# sampling: lurn sample hands a pianoroll run to the task's sample_main
sample() { "$LURN" sample run "$@"; }
out=$(sample --length 16 --seed 3 --json --midi piece.mid 2>err.txt); rc=$?
expect_rc "sample to MIDI" 0 $rc "$out$(cat err.txt)"
expect "sample says what it wrote" "wrote piece.mid (16 steps" "$(cat err.txt)"
again=$(sample --length 16 --seed 3 --json 2>/dev/null)
[ "$out" = "$again" ] && ok "same seed, same piece" || bad "same seed, same piece" "$out vs $again"
other=$(sample --length 16 --seed 4 --json 2>/dev/null)
[ "$out" != "$other" ] && ok "another seed, another piece" || bad "another seed, another piece" "$out"
back=$("$LURN" -e '
  local midi, json = require "lurn.midi", require "lurn.run.json"
  local song = midi.read("piece.mid")
  local roll = midi.to_roll(song)
  local want = json.decode(arg[1])
  while #want > 0 and #want[#want] == 0 do want[#want] = nil end   -- trailing silence has no events
  local same = #roll == #want
  for t = 1, #want do same = same and table.concat(roll[t], " ") == table.concat(want[t], " ") end
  print(song.format, song.division, song.tracks[1][1].tempo, same and "same" or "differ")' "$out")
expect "the MIDI file reads back to the sampled piece (format 1, 480 ticks, 120 bpm)" "1	480	500000	same" "$back"
if command -v mftext >/dev/null; then
  # abcmidi's own reader agrees on the number of notes
  n_ours=$("$LURN" -e 'print(#require("lurn.midi").notes(require("lurn.midi").read("piece.mid")))')
  n_theirs=$(mftext piece.mid | grep -c "Note on")
  [ "$n_ours" = "$n_theirs" ] && ok "mftext reads the same $n_ours notes" \
    || bad "mftext reads the same notes" "lurn.midi $n_ours, mftext $n_theirs"
else
  echo "skip mftext check (abcmidi is not installed)"
fi
out=$(sample --length 0 2>&1); rc=$?
expect_rc "sample --length 0" 2 $rc "$out"
expect "sample --length 0 message" "--length must be a positive integer" "$out"

# exact resume: 8 epochs, then one more, equals 9 at once
out=$("$LURN" train --resume run train.epochs=9 --quiet 2>&1); rc=$?
expect_rc "lurn train --resume (one more epoch)" 0 $rc "$out"
out=$("$LURN" train roll.lua train.epochs=9 --out straight --quiet 2>&1)
same=$(jq_lurn 'local a = json.decode(io.open("run/summary.json"):read("a"))
  local b = json.decode(io.open("straight/summary.json"):read("a"))
  print(a.test.loss == b.test.loss and a.steps == b.steps and "same" or ("differ " .. a.test.loss .. " " .. b.test.loss))')
expect "a resumed run ends where an uninterrupted one does (same test NLL, bit for bit)" "same" "$same"

# errors
printf '{"train": [[[60], [61, 200]]]}' > bad.json
out=$("$LURN" train roll.lua data.train=bad.json --out bad 2>&1); rc=$?
expect_rc "a pitch outside the keys" 3 $rc "$out"
expect "the message names piece, step and pitch" "bad.json: train: piece 1, step 2: pitch 200 is outside the 88 keys 21..108" "$out"
[ ! -e bad ] && ok "no run directory for bad data" || bad "no run directory for bad data"
out=$("$LURN" train roll.lua model.bidirectional=true --out bidi 2>&1); rc=$?
expect_rc "a bidirectional model" 2 $rc "$out"
expect "the message says why" "a next-step model may not read the future" "$out"
out=$("$LURN" train roll.lua train.best_metric=valid_macro_f1 --out f1 2>&1); rc=$?
expect_rc "an unknown metric" 2 $rc "$out"
finish
