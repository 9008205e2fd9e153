#!/usr/bin/env bash
# Exact resume through a real crash, and reproducibility.
#
#   1. a run of 40 steps in one process (and a second one: same seed, same
#      thread count => the same bytes);
#   2. a run with checkpoints every 10 steps that keeps training (slowly)
#      past step 20 and is killed with SIGKILL once step-00000020.ckpt exists;
#   3. a run resumed from that checkpoint for the remaining 20 steps.
# The final parameters, Adam moments and step counts, schedule state and
# generator state of 1 and 3 must be bit-identical, and so must the metric
# history. (Compared by value, not as file bytes: a float like 0.0 in the
# optimizer's JSON config reads back as the integer 0 and is written as "0".)
# Every checkpoint the killed run left under its real name must be
# whole (atomic writes).
set -u
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run="$LURN_TEST_SOURCE_DIR/tests/sh/resume_run.lua"
export LURN_THREADS=${LURN_THREADS:-2}

"$LURN" "$run" out="$tmp/a" max_steps=40 2>"$tmp/a.log" >"$tmp/a.out" \
  && ok "uninterrupted run" || bad "uninterrupted run" "$(tail -5 "$tmp/a.log")"
"$LURN" "$run" out="$tmp/b" max_steps=40 2>"$tmp/b.log" >/dev/null \
  && ok "second run" || bad "second run" "$(tail -5 "$tmp/b.log")"
cmp -s "$tmp/a/final.ckpt" "$tmp/b/final.ckpt" \
  && ok "same seed, same threads: identical bytes" || bad "same seed, same threads: identical bytes"

# The run to be killed: it would train for a million steps.
"$LURN" "$run" out="$tmp/c" max_steps=1000000 ckpt_dir="$tmp/ck" slow=1 2>"$tmp/c.log" &
pid=$!
for _ in $(seq 1 400); do                       # up to 20 s
  [ -e "$tmp/ck/step-00000020.ckpt" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
if [ -e "$tmp/ck/step-00000020.ckpt" ] && kill -0 $pid 2>/dev/null; then
  for _ in $(seq 1 400); do                     # let it train on past the checkpoint
    grep -q "step 22 " "$tmp/c.log" && break
    sleep 0.05
  done
  kill -9 $pid
  wait $pid; rc=$?
  [ $rc -eq 137 ] && ok "killed with SIGKILL while training (status $rc)" \
    || bad "killed with SIGKILL" "status $rc"
else
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  bad "checkpoint at step 20 while the run is alive" "$(tail -5 "$tmp/c.log")"
fi
[ ! -e "$tmp/c/final.ckpt" ] && ok "the killed run did not finish" || bad "the killed run did not finish"
grep -q "step 22 " "$tmp/c.log" && ok "the killed run trained past the checkpoint" \
  || bad "the killed run trained past the checkpoint" "$(tail -3 "$tmp/c.log")"

# Every checkpoint under its real name is whole.
for f in "$tmp"/ck/step-*.ckpt; do
  out=$("$LURN" -e "lurn.checkpoint.load('$f')" 2>&1) \
    && ok "intact: $(basename "$f")" || bad "intact: $(basename "$f")" "$out"
done

"$LURN" "$run" out="$tmp/d" max_steps=40 resume="$tmp/ck/step-00000020.ckpt" \
  2>"$tmp/d.log" >"$tmp/d.out" && ok "resumed run" || bad "resumed run" "$(tail -5 "$tmp/d.log")"
grep -q "resumed from .*step-00000020.ckpt at step 20 (epoch 2, batch 8)" "$tmp/d.log" \
  && ok "resumed mid-epoch at step 20" || bad "resumed mid-epoch at step 20" "$(head -2 "$tmp/d.log")"
out=$("$LURN" "$run" compare="$tmp/a/final.ckpt,$tmp/d/final.ckpt" 2>&1) \
  && ok "resumed == uninterrupted, bit for bit ($out)" || bad "resumed == uninterrupted" "$out"
cmp -s "$tmp/a/history.json" "$tmp/d/history.json" \
  && ok "identical metric history" || bad "identical metric history" "$(cat "$tmp/a/history.json" "$tmp/d/history.json")"

# A run directory resumes from its newest checkpoint (the `latest` pointer).
latest=$(cat "$tmp/ck/latest")
"$LURN" "$run" out="$tmp/e" max_steps=40 resume="$tmp/ck" 2>"$tmp/e.log" >/dev/null
grep -q "resumed from $tmp/ck/$latest" "$tmp/e.log" && ok "resume from a directory uses $latest" \
  || bad "resume from a directory" "$(head -2 "$tmp/e.log")"

# The comparison can fail: a different run differs.
"$LURN" "$run" out="$tmp/f" max_steps=39 2>/dev/null >/dev/null
out=$("$LURN" "$run" compare="$tmp/a/final.ckpt,$tmp/f/final.ckpt" 2>&1) \
  && bad "39 steps differ from 40" "$out" || ok "39 steps differ from 40 ($out)"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
