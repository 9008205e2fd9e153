#!/usr/bin/env bash
# lurn train: SIGTERM in the middle of a run saves a checkpoint and exits 130
# with the resume command; `lurn train --resume` then ends with the same
# weights, bit for bit, as a run never stopped. A changed config, a run
# without checkpoints and a damaged checkpoint are refused (never a silent
# fresh start). SIGINT behaves like SIGTERM.
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
make_data 320
# dropout and a cosine schedule with warmup: the generator state and the
# schedule position must both come back exactly
cat > r.lua <<'LUA'
return {
  name = "resume",
  data = { train = "data/train.txt", format = "label_text", valid_split = 0.2 },
  model = { type = "lstm", embed = 8, hidden = 8, layers = 2, dropout = 0.2 },
  optim = { lr = 0.02, schedule = "cosine", warmup = 4 },
  train = { epochs = 4, batch_size = 8, log_every = 1, eval_every = 15 },
}
LUA

# weights of two checkpoints: the number of tensors and the largest difference
same_weights() {
  "$LURN" -e 'local c = require "lurn.checkpoint"
    local a, b = c.load(arg[1]), c.load(arg[2]); local n, d = 0, 0
    for k, t in pairs(a.model) do n = n + 1; d = math.max(d, t:sub(b.model[k]):abs():max()) end
    for k in pairs(b.model) do if not a.model[k] then d = 1 / 0 end end
    print(n, d == 0 and "identical" or ("differ by " .. d), a.step, b.step)' "$1" "$2" 2>&1
}

"$LURN" train r.lua --out A --quiet > /dev/null 2>&1; rc=$?
expect_rc "uninterrupted run" 0 $rc

# B: stopped by SIGTERM once step 10 is logged (of 128)
"$LURN" train r.lua --out B > B.out 2> B.err &
pid=$!
for _ in $(seq 1 3000); do grep -q '"step":10,' B/metrics.jsonl 2>/dev/null && break; sleep 0.01; done
kill -TERM $pid; wait $pid; rc=$?
expect_rc "SIGTERM stops the run" 130 $rc "$(cat B.err)"
expect "SIGTERM message" "interrupted by SIGTERM at step" "$(cat B.err)"
expect "the message says how to resume" "resume with: lurn train --resume B" "$(cat B.err)"
stopped=$(sed -n 's/.*interrupted by SIGTERM at step \([0-9]*\);.*/\1/p' B.err)
[ -n "$stopped" ] && [ "$stopped" -lt 128 ] && ok "stopped mid-run (step $stopped of 128)" || bad "stopped mid-run" "$(cat B.err)"
expect "checkpoint of the stop step" "step-$(printf '%08d' "${stopped:-0}").ckpt" "$(cat B.err)"
out=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); print(s.status, s.exit_code)' B/summary.json 2>&1)
expect "summary.json says interrupted" "interrupted	130" "$out"

# a changed config is refused, naming the key, old and new
out=$("$LURN" train --resume B optim.lr=0.05 2>&1); rc=$?
expect_rc "resume with a changed config" 2 $rc "$out"
expect "the difference is printed" "optim.lr: 0.02 -> 0.05" "$out"
out=$("$LURN" train r.lua model.hidden=16 --resume B 2>&1); rc=$?
expect_rc "resume with a changed config file" 2 $rc "$out"
expect "the difference is printed" "model.hidden: 8 -> 16" "$out"

# resume: same final weights as A, bit for bit; metrics continue without duplicates
out=$("$LURN" train --resume B 2>&1); rc=$?
expect_rc "resume" 0 $rc "$out"
expect "resume says so" "resuming B" "$out"
res=$(same_weights A/checkpoints/last.ckpt B/checkpoints/last.ckpt)
expect "resumed run ends with the uninterrupted run's weights" "11	identical	128	128" "$res"
out=$(jq_lurn 'local seen, dup, n = {}, 0, 0
  for l in io.lines(arg[1]) do local r = json.decode(l)
    local k = r.split .. r.step; if seen[k] then dup = dup + 1 end; seen[k] = true; n = n + 1 end
  print(n, dup)' B/metrics.jsonl 2>&1)
res=$(jq_lurn 'local n = 0; for _ in io.lines(arg[1]) do n = n + 1 end; print(n)' A/metrics.jsonl 2>&1)
expect "metrics.jsonl: as many records as the uninterrupted run, none twice" "$res	0" "$out"
expect "command.txt keeps both commands" "lurn train --resume B" "$(cat B/command.txt)"
out=$(jq_lurn 'local a = json.decode(io.open(arg[1]):read("a")); local b = json.decode(io.open(arg[2]):read("a"))
  print(a.best.value == b.best.value, a.best.step == b.best.step, b.status)' A/summary.json B/summary.json 2>&1)
expect "same best as the uninterrupted run" "true	true	completed" "$out"

# more epochs later: train.epochs may change (at another thread count: a note says
# the last bits may differ)
out=$("$LURN" --threads 1 train --resume B train.epochs=5 2>&1); rc=$?
expect_rc "resume with more epochs" 0 $rc "$out"
expect "the thread count change is noted" "note: 1 thread(s) now, the checkpoint was written with 2" "$out"
out=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); print(s.steps, s.epochs)' B/summary.json 2>&1)
expect "trained on to epoch 5" "160	5" "$out"

# SIGINT (Ctrl-C) too
"$LURN" train r.lua --out C > C.out 2> C.err &
pid=$!
for _ in $(seq 1 3000); do grep -q '"step":5,' C/metrics.jsonl 2>/dev/null && break; sleep 0.01; done
kill -INT $pid; wait $pid; rc=$?
expect_rc "SIGINT stops the run" 130 $rc "$(cat C.err)"
expect "SIGINT message" "interrupted by SIGINT at step" "$(cat C.err)"

# a k-fold run stopped in its first fold resumes as a whole: the fold goes on,
# the next one starts, the summary covers both
"$LURN" train r.lua data.folds=2 train.epochs=1 --out K > K.out 2> K.err &
pid=$!
for _ in $(seq 1 3000); do grep -q '"step":5,' K/fold-1/metrics.jsonl 2>/dev/null && break; sleep 0.01; done
kill -TERM $pid; wait $pid; rc=$?
expect_rc "SIGTERM stops a k-fold run" 130 $rc "$(cat K.err)"
expect "a k-fold run resumes as a whole" "resume with: lurn train --resume K" "$(cat K.err)"
out=$("$LURN" train --resume K 2>&1); rc=$?
expect_rc "k-fold resume" 0 $rc "$out"
expect "the stopped fold resumes" "resuming K/fold-" "$out"
res=$(jq_lurn 'local s = json.decode(io.open("K/summary.json"):read("a")); print(#s.folds, s.folds[1].steps, s.folds[2].steps)' 2>&1)
expect "both folds complete" "2	20	20" "$res"

# never a silent fresh start: no checkpoint, a damaged one, not a run
mkdir -p D && cp A/config.resolved.lua D/ && cp A/env.json D/
out=$("$LURN" train --resume D 2>&1); rc=$?
expect_rc "resume without a checkpoint" 4 $rc "$out"
expect "resume without a checkpoint says so" "no checkpoint to resume from" "$out"
last=C/checkpoints/$(cat C/checkpoints/latest)
printf '\x00\x00\x00\x00\x00\x00\x00\x00' | dd of="$last" bs=1 seek=64 conv=notrunc 2>/dev/null
out=$("$LURN" train --resume C 2>&1); rc=$?
expect_rc "resume from a damaged checkpoint" 4 $rc "$out"
expect "the damaged file is named" "$last" "$out"
out=$("$LURN" train --resume nowhere 2>&1); rc=$?
expect_rc "resume from a missing directory" 2 $rc "$out"
expect "resume: not a run directory" "not a run directory" "$out"

finish
