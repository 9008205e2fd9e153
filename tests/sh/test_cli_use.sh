#!/usr/bin/env bash
# lurn eval, predict and inspect end to end on a model lurn train made:
# output, --json, stdin streaming, and the errors (damaged or missing
# checkpoint: exit 4; bad data: exit 3; bad usage: exit 2).
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
make_data 240
write_config
out=$("$LURN" train order.lua train.epochs=3 --out run --quiet 2>&1) || { bad "train" "$out"; finish; exit 1; }

# ---- eval ------------------------------------------------------------------------------
out=$("$LURN" eval run 2>&1); rc=$?
expect_rc "eval a run directory" 0 $rc "$out"
expect "eval uses the best checkpoint" "checkpoint  run/checkpoints/best.ckpt" "$out"
expect "eval defaults to the test file" "data        data/test.txt (60 samples)" "$out"
expect "eval accuracy" "accuracy    0." "$out"
expect "eval macro-F1" "macro-F1    0." "$out"
expect "eval per-class header" "class    precision     recall         f1  support" "$out"
expect "eval confusion" "confusion matrix (rows: true class, columns: predicted)" "$out"
# the numbers agree with summary.json's test figures (same data, same best weights)
acc=$(jq_lurn 'print(("%.4f"):format(json.decode(io.open(arg[1]):read("a")).test.accuracy))' run/summary.json)
expect "eval agrees with the run's test figures" "accuracy    $acc" "$out"
# the per-class support adds up and the confusion matrix sums to N
out=$("$LURN" eval run --json --split valid --checkpoint last 2>&1); rc=$?
expect_rc "eval --json" 0 $rc "$out"
res=$(printf '%s' "$out" | jq_lurn 'local r = json.decode(io.read("a")); local s, m = 0, 0
  for i, c in ipairs(r.classes) do s = s + c.support; for j = 1, #r.classes do m = m + r.confusion.matrix[i][j] end end
  print(r.n, s, m, r.checkpoint, r.confusion.labels[1], r.confusion.labels[2], r.accuracy >= 0 and r.accuracy <= 1)' 2>&1)
expect "eval --json: N, supports, confusion" "48	48	48	run/checkpoints/step-00000036.ckpt	a_first	b_first	true" "$res"
head -20 data/test.txt > few.txt
out=$("$LURN" eval run --data few.txt 2>&1); rc=$?
expect_rc "eval --data" 0 $rc "$out"
expect "eval --data counts" "data        few.txt (20 samples)" "$out"
# the same data as fastText lines, read with --format
sed 's/^/__label__/' few.txt > few.ft
out=$("$LURN" eval run --data few.ft --format fasttext 2>&1); rc=$?
expect_rc "eval --data --format" 0 $rc "$out"
expect "eval --format: same samples" "data        few.ft (20 samples)" "$out"
printf 'c_first\tthe a b\n' > badlabel.txt
out=$("$LURN" eval run --data badlabel.txt 2>&1); rc=$?
expect_rc "eval: unknown label" 3 $rc "$out"
expect "eval: unknown label named" "label 'c_first'" "$out"
out=$("$LURN" eval run --data nosuch.txt 2>&1); rc=$?
expect_rc "eval: missing data file" 3 $rc "$out"
expect "eval: missing data file named" "nosuch.txt" "$out"

# ---- predict --------------------------------------------------------------------------
out=$("$LURN" predict run "the a of b" "b is the a" 2>&1); rc=$?
expect_rc "predict arguments" 0 $rc "$out"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] && ok "predict: one line per text" || bad "predict: one line per text" "$out"
[[ $(printf '%s\n' "$out" | head -1) =~ ^(a_first|b_first)$'\t'0\.[0-9]{4}$ ]] && ok "predict: label<TAB>probability" \
  || bad "predict: label<TAB>probability" "$out"
# stdin: one answer per line, in order; the same answers as for arguments
out2=$(printf 'the a of b\nb is the a\n' | "$LURN" predict run 2>&1)
[ "$out2" = "$out" ] && ok "predict from stdin = from arguments" || bad "predict from stdin" "$out2 vs $out"
out=$(printf 'a b\n' | "$LURN" predict run --top 2 --json 2>&1); rc=$?
expect_rc "predict --top 2 --json" 0 $rc "$out"
res=$(printf '%s' "$out" | jq_lurn 'local r = json.decode(io.read("a"))
  print(r.text, #r.top, r.top[1].label == r.label, math.abs(r.top[1].probability + r.top[2].probability - 1) < 1e-5,
    r.top[1].probability >= r.top[2].probability)' 2>&1)
expect "predict --json fields, probabilities sum to 1" "a b	2	true	true	true" "$res"
# streaming: the answer to a line comes before the next line is written
coproc P { "$LURN" predict run; }
echo "the a b" >&"${P[1]}"
if read -r -t 20 line <&"${P[0]}"; then ok "predict streams (answer before more input)"; else bad "predict streams"; fi
exec {P[1]}>&-; wait "$P_PID" 2>/dev/null
# the model works from the checkpoint alone: no config, no data files
mkdir alone && cp run/checkpoints/best.ckpt alone/m.ckpt
out=$(cd alone && mv ../data ../data.away && "$LURN" predict m.ckpt "b the a" 2>&1; rc=$?; mv ../data.away ../data; exit $rc); rc=$?
expect_rc "predict with only the checkpoint file" 0 $rc "$out"

# ---- inspect --------------------------------------------------------------------------
out=$("$LURN" inspect run/checkpoints/best.ckpt 2>&1); rc=$?
expect_rc "inspect" 0 $rc "$out"
expect "inspect format" "format      lurn-training-state version 1" "$out"
expect "inspect module tree" "(1) nn.GRU(8 -> 8)" "$out"
expect "inspect parameter shapes" "1.weight_hh_l0               [24,8]" "$out"
expect "inspect labels" "labels      a_first, b_first" "$out"
expect "inspect metrics" "metrics     " "$out"
expect "inspect config" "config (resolved)" "$out"
out=$("$LURN" inspect run --json 2>&1); rc=$?
res=$(printf '%s' "$out" | jq_lurn 'local r = json.decode(io.read("a")); print(r.num_parameters, #r.parameters, r.spec.type, r.config.model.hidden)' 2>&1)
expect "inspect --json" "Sequential" "$res"

# ---- damaged and missing checkpoints: exit 4 with the file and the damage named --------
cp run/checkpoints/best.ckpt bad.ckpt
printf '\xff\xfe\xfd\xfc' | dd of=bad.ckpt bs=1 seek=300 conv=notrunc 2>/dev/null
head -c 1000 run/checkpoints/best.ckpt > short.ckpt
for cmd in eval predict inspect; do
  out=$(echo x | "$LURN" $cmd bad.ckpt 2>&1); rc=$?
  expect_rc "$cmd: damaged checkpoint" 4 $rc "$out"
  expect "$cmd: damaged checkpoint named" "lurn $cmd: bad.ckpt: " "$out"
  out=$(echo x | "$LURN" $cmd short.ckpt 2>&1); rc=$?
  expect_rc "$cmd: truncated checkpoint" 4 $rc "$out"
  expect "$cmd: truncated checkpoint says so" "short.ckpt: truncated" "$out"
  out=$("$LURN" $cmd nosuch.ckpt 2>&1); rc=$?
  expect_rc "$cmd: missing checkpoint" 4 $rc "$out"
  expect "$cmd: missing checkpoint named" "nosuch.ckpt: no such file or directory" "$out"
done
case "$out" in *traceback*) bad "no traceback for a user error" ;; *) ok "no traceback for a user error" ;; esac
# lurn export follows the same exit codes
out=$("$LURN" export bad.ckpt out.safetensors 2>&1); rc=$?
expect_rc "export: damaged checkpoint" 4 $rc "$out"
expect "export: damaged checkpoint named" "lurn export: bad.ckpt: " "$out"
out=$("$LURN" export run/checkpoints/best.ckpt out.safetensors --prefix 9. 2>&1); rc=$?
expect_rc "export: a prefix no weight has" 2 $rc "$out"
out=$("$LURN" export run/checkpoints/best.ckpt out.safetensors --prefix 1. 2>&1); rc=$?
expect_rc "export" 0 $rc "$out"
expect "export writes the GRU's weights" "exported 4 tensors to out.safetensors" "$out"
# a training state without the run bundle (written by train.fit in a script)
"$LURN" -e 'local c = require "lurn.checkpoint"; c.save(arg[1], {model = lurn.nn.Linear(2, 2), step = 1})' plain.ckpt
out=$("$LURN" predict plain.ckpt x 2>&1); rc=$?
expect_rc "predict: checkpoint without a model description" 4 $rc "$out"
expect "predict: says what is missing" "not written by lurn train" "$out"
# inspect shows what such a file has, and says what it lacks
out=$("$LURN" inspect plain.ckpt 2>&1); rc=$?
expect_rc "inspect: a training state without the bundle" 0 $rc "$out"
expect "inspect: says it has no run bundle" "no run bundle (not written by lurn train" "$out"
expect "inspect: its parameters" "weight                       [2,2]" "$out"
out=$("$LURN" predict run --top 0 x 2>&1); rc=$?
expect_rc "predict --top 0" 2 $rc "$out"
out=$("$LURN" eval 2>&1); rc=$?
expect_rc "eval without a model" 2 $rc "$out"

finish
