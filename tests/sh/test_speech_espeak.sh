#!/usr/bin/env bash
# lurn transcribe end to end on speech synthesised with Debian's espeak-ng
# (22.05 kHz files, so the resampler runs): spoken digits from two voices at
# several pitches and speeds, named like FSDD's recordings; a small
# isolated-digit model and a small CTC model trained on them, then
# transcribing held-out takes and a phrase of several digits espeak-ng says
# in one go. Skipped without espeak-ng (tools/setup.sh installs it); release
# pass only (test_speech.sh runs the same code under ASan/UBSan on generated
# tones).
set -u
if ! command -v espeak-ng >/dev/null 2>&1; then
  echo "skip: espeak-ng is not installed (apt-get install espeak-ng)"; exit 77
fi
if [ "${LURN_SANITIZE:-0}" = 1 ]; then echo "skip: runs in the release pass"; exit 77; fi
. "$(dirname "$0")/cli_lib.sh"
export LURN_THREADS=1
cd "$tmp"
words=(zero one two three four five six seven eight nine)
voices=(en-us en-gb)
pitches=(35 50 65 80 45 60)
speeds=(150 175 200 160 185 140)
mkdir es
for s in 0 1; do
  for d in 0 1 2 3 4 5 6 7 8 9; do
    for k in 0 1 2 3 4 5; do
      espeak-ng -v "${voices[$s]}" -p "${pitches[$k]}" -s "${speeds[$k]}" \
        -w "es/${d}_${voices[$s]}_${k}.wav" "${words[$d]}"
    done
  done
done
n=$(ls es | wc -l)
[ "$n" = 120 ] && ok "espeak-ng wrote $n recordings" || bad "espeak-ng recordings" "$n"

out=$("$LURN" train "$SRC/configs/fsdd-digits.lua" speech.dir=es speech.test_takes=1 \
  speech.valid_takes=1 speech.baseline_epochs=20 model.hidden=24 train.epochs=8 \
  train.batch_size=8 optim.lr=0.01 --out cls --quiet 2>&1); rc=$?
expect_rc "train on espeak digits" 0 $rc "$out"
out=$("$LURN" transcribe cls es/*_0.wav 2>&1)
right=$(printf '%s\n' "$out" | awk -F'\t' '{ split($1, p, "/"); if (substr(p[2], 1, 1) == $2) n++ } END { print n + 0 }')
[ "$right" -ge 16 ] && ok "transcribe held-out espeak digits: $right of 20 right" \
  || bad "transcribe held-out espeak digits: $right of 20" "$out"

out=$("$LURN" train "$SRC/configs/fsdd-ctc.lua" speech.dir=es speech.test_takes=1 \
  speech.valid_takes=1 speech.max_digits=4 speech.max_gap_ms=150 speech.train_utterances=200 \
  speech.valid_utterances=16 speech.test_utterances=30 model.hidden=32 model.layers=1 \
  model.dropout=0 train.epochs=6 train.batch_size=16 optim.lr=0.01 --out ctc --quiet 2>&1); rc=$?
expect_rc "train CTC on espeak digits" 0 $rc "$out"
espeak-ng -v en-us -p 50 -s 160 -w phrase.wav "four, zero, seven"
out=$("$LURN" transcribe ctc phrase.wav 2>&1)
expect "transcribe an espeak phrase" "phrase.wav	407" "$out"
finish
