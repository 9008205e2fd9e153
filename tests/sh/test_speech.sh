#!/usr/bin/env bash
# The speech task end to end on tiny generated audio (docs/examples/tone_digits.lua:
# "digits" made of two tones, FSDD's file names): lurn train for isolated
# digits (with the MFCC + logistic-regression baseline) and for digit strings
# with CTC, lurn eval, lurn transcribe on files, a directory and stdin, and
# the errors a user meets (a bad WAV file, a run of another task, a
# recordings directory with a misnamed file, datasets/fsdd on a wrong copy).
. "$(dirname "$0")/cli_lib.sh"
export LURN_THREADS=1
cd "$tmp"
gen() { "$LURN" "$SRC/docs/examples/tone_digits.lua" "$@" >/dev/null; }
gen tones 6 2

# ---- isolated digits ----------------------------------------------------------------
out=$("$LURN" train "$SRC/configs/fsdd-digits.lua" speech.dir=tones speech.test_takes=2 \
  speech.valid_takes=1 speech.baseline_epochs=20 model.hidden=16 train.epochs=8 \
  train.batch_size=16 optim.lr=0.01 --out cls --quiet 2>&1); rc=$?
expect_rc "train classify" 0 $rc "$out"
acc=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); print(s.test.accuracy, s.baseline.test_accuracy, s.test.n)' cls/summary.json)
set -- $acc
"$LURN" -e "os.exit(tonumber(arg[1]) >= 0.9 and tonumber(arg[2]) >= 0.8 and arg[3] == '40')" "$@" \
  && ok "classify test accuracy $1, baseline $2 on $3" || bad "classify accuracy" "$acc"
out=$("$LURN" eval cls 2>&1)
expect "eval classify" "40 test recordings" "$out"
gen --utterance one7.wav 7
out=$("$LURN" transcribe cls one7.wav tones/3_s1_0.wav 2>&1)
expect "transcribe classify" "one7.wav	7" "$out"
expect "transcribe classify (2)" "tones/3_s1_0.wav	3" "$out"

# ---- digit strings with CTC ------------------------------------------------------------
out=$("$LURN" train "$SRC/configs/fsdd-ctc.lua" speech.dir=tones speech.test_takes=2 \
  speech.valid_takes=1 speech.max_digits=4 speech.train_utterances=200 speech.valid_utterances=16 \
  speech.test_utterances=30 model.hidden=32 model.layers=1 model.dropout=0 train.epochs=5 \
  train.batch_size=16 optim.lr=0.01 --out ctc 2>&1); rc=$?
expect_rc "train ctc" 0 $rc "$out"
expect "ctc progress shows the digit error rate" "digit error rate" "$out"
der=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); print(s.test.der, s.test.n)' ctc/summary.json)
set -- $der
"$LURN" -e "os.exit(tonumber(arg[1]) <= 0.1 and arg[2] == '30')" "$@" \
  && ok "ctc test digit error rate $1 on $2 utterances" || bad "ctc digit error rate" "$der"
out=$("$LURN" train --resume ctc train.epochs=6 2>&1); rc=$?
expect_rc "resume a ctc run" 0 $rc "$out"
expect "resumed for one more epoch" "eval   epoch 6  step 78" "$out"
out=$("$LURN" eval ctc --json 2>&1)
expect "eval ctc --json" '"der":' "$out"
mkdir utt
gen --utterance utt/a.wav 4071
gen --utterance utt/b.wav 3344
gen --utterance utt/c.wav 92
out=$("$LURN" transcribe ctc utt 2>&1); rc=$?
expect_rc "transcribe a directory" 0 $rc "$out"
expect "transcribe 4071" "utt/a.wav	4071" "$out"
expect "transcribe 3344 (repeats)" "utt/b.wav	3344" "$out"
expect "transcribe 92" "utt/c.wav	92" "$out"
out=$(printf 'utt/c.wav\nutt/a.wav\n' | "$LURN" transcribe ctc --json 2>&1)
expect "transcribe stdin --json" '{"file":"utt/c.wav","digits":"92"}' "$out"

# ---- errors ------------------------------------------------------------------------------
printf 'RIFF\4\0\0\0WAVE' > bad.wav
out=$("$LURN" transcribe ctc bad.wav utt/c.wav 2>&1); rc=$?
expect_rc "transcribe a bad file" 3 $rc "$out"
expect "bad file named" "bad.wav: no fmt chunk" "$out"
expect "the others still transcribed" "utt/c.wav	92" "$out"
out=$("$LURN" transcribe ctc --beam 0 utt/c.wav 2>&1); rc=$?
expect_rc "transcribe --beam 0" 2 $rc "$out"
make_data; write_config
"$LURN" train order.lua --out order --quiet >/dev/null 2>&1
out=$("$LURN" transcribe order utt/c.wav 2>&1); rc=$?
expect_rc "transcribe a classify run" 2 $rc "$out"
expect "not a speech run" "not a speech run" "$out"
mkdir misnamed; cp tones/1_s0_0.wav misnamed/; cp tones/1_s0_0.wav misnamed/hello.wav
out=$("$LURN" train "$SRC/configs/fsdd-digits.lua" speech.dir=misnamed --out x 2>&1); rc=$?
expect_rc "misnamed recording" 3 $rc "$out"
expect "misnamed recording named" "misnamed/hello.wav: not named <digit>_<speaker>_<take>.wav" "$out"
[ ! -e x ] && ok "no run directory for bad data" || bad "run directory left for bad data"
out=$("$LURN" train "$SRC/configs/fsdd-digits.lua" speech.mode=speak 2>&1); rc=$?
expect_rc "bad speech.mode" 2 $rc "$out"

# ---- datasets/fsdd without the network ----------------------------------------------------
out=$(bash "$SRC/datasets/fsdd" --from tones --out dsout 2>&1); rc=$?
expect "fsdd: wrong copy refused" "found 120 recordings, expected 3000" "$out"
[ $rc = 1 ] && [ ! -e dsout/fsdd ] && ok "fsdd: nothing written" || bad "fsdd: exit/write" "rc=$rc"
out=$(bash "$SRC/datasets/fsdd" --help 2>&1)
expect "fsdd --help" "bash datasets/fsdd [--from DIR] [--out DIR]" "$out"
finish
