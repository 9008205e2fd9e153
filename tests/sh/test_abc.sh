#!/usr/bin/env bash
# lurn.abc: tunes out of an ABC text, and abc2midi's verdict on each (skipped, exit 77, when
# Debian's abcmidi is not installed): a valid tune converts with its notes, a broken one does
# not, Nottingham's "d" chords convert once defined, and nothing is left in the working directory.
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
# splitting needs no abc2midi
out=$("$LURN" -e '
  local t = require("lurn.abc").tunes("junk before\nX:1\nT:a\nK:C\nCDE|\n\n\nX:2\nT:b\nK:G\nGAB|\nX:3\nK:D\nd|")
  print(#t, (t[1]:gsub("\n", "/")), (t[2]:gsub("\n", "/")), (t[3]:gsub("\n", "/")))')
expect "tunes: split at X: lines and empty lines, text before the first X: left out" \
  "3	X:1/T:a/K:C/CDE|/	X:2/T:b/K:G/GAB|/	X:3/K:D/d|/" "$out"
# first_whole_tune: the first tune that an empty line ends. Found by
# tests/fuzz/fuzz_stream.c: two X: lines before the first empty line made it
# loop for ever (the second X:'s position was taken from the tune's start,
# not the text's), so `lurn sample` could hang on a sampled text
out=$(timeout 10 "$LURN" -e '
  local abc = require "lurn.abc"
  local a = abc.first_whole_tune("ab\nX:1\nK:C\nX:2\nK:G\nGA|\n\nX:3\n")
  local b = abc.first_whole_tune("GA|\r\nX:1\r\nK:G\r\nGABc|\r\n\r\nX:2\r\nK:D")
  print((a:gsub("\n", "/")), (b:gsub("\n", "/")), abc.first_whole_tune("X:1\nK:C\nC|"))' 2>&1)
expect "first_whole_tune: skips a tune cut off by the next X:, ends at the empty line" \
  "X:2/K:G/GA|/	X:1/K:G/GABc|/	nil" "$out"
if ! command -v abc2midi >/dev/null; then
  echo "skip: abc2midi is not installed (apt-get install -y abcmidi)"
  [ "$fail" -eq 0 ] || exit 1
  exit 77
fi
cat > tunes.abc <<'ABC'
X:1
T:Scale
M:4/4
L:1/8
K:G
GABc d2e2|dcBA G4|]

X:2
T:Broken
M:4/4
K:G
"G"GAB "D dcBA|

X:3
T:Diminished
M:3/4
L:1/4
K:G
"G"GAB|"C#d"^c2e|"D"d3|]
ABC
out=$("$LURN" -e '
  local abc = require "lurn.abc"
  local t = abc.tunes(io.open("tunes.abc"):read("a"))
  local a, b, c = abc.to_midi(t[1], "one.mid"), abc.to_midi(t[2]), abc.to_midi(t[3])
  local c2 = abc.to_midi(t[3], nil, { preamble = abc.NOTTINGHAM_CHORDS })
  local midi = require "lurn.midi"
  local notes = midi.notes(midi.read("one.mid"))
  local melody = {}
  for _, n in ipairs(notes) do melody[#melody + 1] = n.note end
  print(#t, a.ok, a.errors, a.notes, table.concat(melody, " "))
  print(b.ok, b.errors > 0)
  print(c.ok, c.output:match("Unrecognized chord name") ~= nil, c2.ok, c2.notes > 7)')
expect "a valid tune converts, its 11 notes in order" \
  "3	true	0	11	67 69 71 72 74 76 74 72 71 69 67" "$out"
expect "a broken tune does not convert" "false	true" "$out"
expect "Nottingham's d chord fails as is and converts once defined" "false	true	true	true" "$out"
[ -z "$(ls | grep -v -e '^tunes.abc$' -e '^one.mid$')" ] && ok "abc2midi leaves nothing in the working directory" \
  || bad "abc2midi leaves nothing in the working directory" "$(ls)"
finish
