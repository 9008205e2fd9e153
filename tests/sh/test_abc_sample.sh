#!/usr/bin/env bash
# ABC tunes through a character model end to end, on a tiny generated corpus
# (docs/examples/abc_data.lua): lurn train (task lm), lurn sample --midi (abc2midi), the MIDI
# file read back, the errors (no abc2midi, no whole tune), and bench/abc_validity.lua in its
# short setting. Skipped (77) without Debian's abcmidi, after the checks that need none.
. "$(dirname "$0")/cli_lib.sh"
export LURN_KERNELS_AUTO=0 LURN_THREADS=1   # one BLIS kernel set in every process (see test_pianoroll.sh)
cd "$tmp"
"$LURN" "$SRC/docs/examples/abc_data.lua" abc >/dev/null
cat > abc.lua <<'LUA'
return {
  name = "abc", seed = 1, task = "lm",
  data = { train = "abc/train.abc", valid = "abc/valid.abc" },
  lm = { tokenizer = "char", bptt = 50 },
  model = { type = "lstm", embed = 16, hidden = 64 },
  optim = { lr = 0.01 },
  train = { epochs = 20, batch_size = 8, best_metric = "valid_loss", best_mode = "min", log_every = 50 },
}
LUA
out=$("$LURN" train abc.lua --out run 2>&1); rc=$?
expect_rc "lurn train (task lm over ABC)" 0 $rc "$out"
# without abc2midi on the PATH: refused before sampling, nothing written
mkdir -p nobin
ln -s "$LURN" nobin/lurn
out=$(PATH="$tmp/nobin" lurn sample run --prime "X:" --length 200 --midi x.mid 2>&1); rc=$?
expect_rc "--midi without abc2midi" 2 $rc "$out"
expect "--midi without abc2midi says what to install" "abc2midi is not installed" "$out"
[ ! -e x.mid ] && ok "nothing written without abc2midi" || bad "nothing written without abc2midi"
if ! command -v abc2midi >/dev/null; then
  echo "skip: abc2midi is not installed (apt-get install -y abcmidi)"
  [ "$fail" -eq 0 ] || exit 1
  exit 77
fi
out=$("$LURN" sample run --prime "X:" --length 300 --temperature 0 --midi tune.mid 2>err.txt); rc=$?
expect_rc "lurn sample --midi" 0 $rc "$out$(cat err.txt)"
expect "the sample is a tune" "T:Lurn's Jig" "$out"
expect "sample --midi says what it wrote" "wrote tune.mid (the tune \"Lurn's Jig\"" "$(cat err.txt)"
back=$("$LURN" -e '
  local midi = require "lurn.midi"
  local song = midi.read("tune.mid")
  local notes = midi.notes(song)
  local melody = {}   -- channel 1 (0 here) is the tune; abc2midi plays the chords on others
  for _, n in ipairs(notes) do if n.channel == 0 and #melody < 6 then melody[#melody + 1] = n.note end end
  print(#notes > 0 and "notes" or "empty", table.concat(melody, " "))' 2>&1)
expect "the MIDI file reads back with the tune's notes (GAB AFD: 67 69 71 69 66 62)" "notes	67 69 71 69 66 62" "$back"
out=$("$LURN" sample run --prime "X:" --length 10 --midi short.mid 2>&1); rc=$?
expect_rc "--midi with no whole tune" 3 $rc "$out"
expect "--midi with no whole tune says so" "holds no whole ABC tune" "$out"
[ ! -e short.mid ] && ok "no MIDI file for a cut-off tune" || bad "no MIDI file for a cut-off tune"
out=$("$LURN" "$SRC/bench/abc_validity.lua" run --tunes 3 --temperature 0 2>&1); rc=$?
expect_rc "bench/abc_validity.lua --tunes 3" 0 $rc "$out"
expect "the validity count" "converted 3 of 3 sampled tunes (100.0 %)" "$out"
out=$("$LURN" "$SRC/bench/abc_validity.lua" run --tunes 2 --length 10 2>&1)
expect "an unfinished tune does not count" "converted 0 of 2 sampled tunes" "$out"
finish
