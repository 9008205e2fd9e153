#!/usr/bin/env bash
# Failures under mpirun -np 2: a rank killed with SIGKILL (the job stops, the
# step is named, the last checkpoint is whole and the run resumes), a hung
# rank (SIGSTOP: the watchdog, LURN_DIST_TIMEOUT, stops the job with a
# message instead of waiting forever) and a rank whose loss goes NaN (every
# rank stops at that step with exit 5, naming the rank).
. "$(dirname "$0")/mpi_lib.sh"
mpi_release_only
cd "$tmp"
make_data 240
write_config

rank_pid() {  # the pid of rank $2 of the job whose command line holds $1
  local p
  for p in $(pgrep -f -- "$1"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p"
  done | head -1
}
wait_for_step() {  # run dir, step: wait (up to 20 s) for a checkpoint at or past it
  for _ in $(seq 1 200); do
    local l; l=$(cat "$1/checkpoints/latest" 2>/dev/null)
    [ -n "$l" ] && [ "$((10#$(echo "$l" | tr -dc 0-9)))" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# ---- a rank killed with SIGKILL ------------------------------------------------------
long=(order.lua train.epochs=300 train.checkpoint_every=3 --quiet)
mpi 2 train "${long[@]}" --out "$tmp/killed" >killed.log 2>&1 &
job=$!
if wait_for_step "$tmp/killed" 9; then
  pid=$(rank_pid "out $tmp/killed" 1)
  [ -n "$pid" ] && kill -9 "$pid"
  ok "rank 1 (pid ${pid:-?}) killed after step 9's checkpoint"
else
  bad "a checkpoint at step 9" "$(tail -3 killed.log)"
fi
wait $job; rc=$?
[ "$rc" -ne 0 ] && ok "the job stopped (exit $rc)" || bad "the job stopped" "exit 0"
out=$(cat killed.log)
expect "mpirun names the dead rank" "rank 1" "$out"
expect "rank 0 names the step it was at" "rank 0 of 2: a signal arrived while it waited" "$out"
case "$out" in *" at step "[0-9]*) ok "... and the step" ;; *) bad "the step named" "$out" ;; esac
jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); assert(s.status == "interrupted", s.status)' \
  killed/summary.json && ok "summary.json: interrupted" || bad "summary.json" "$(cat killed/summary.json 2>&1 | head -5)"
latest=$(cat killed/checkpoints/latest)
"$LURN" -e "lurn.checkpoint.load('killed/checkpoints/$latest')" && ok "the last checkpoint ($latest) is whole" \
  || bad "the last checkpoint loads" "$latest"
# resume it (on 2 ranks) for one more epoch past the checkpoint: 12 steps per epoch
step=$((10#$(echo "$latest" | tr -dc 0-9)))
mpi 2 train --resume killed train.epochs=$((step / 12 + 2)) --quiet >resumed.log 2>&1 \
  && ok "the killed run resumes to the end (from step $step)" || bad "resume the killed run" "$(tail -5 resumed.log)"
jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); assert(s.status == "completed", s.status)' \
  killed/summary.json && ok "summary.json: completed" || bad "summary.json after resume" "$(head -5 killed/summary.json)"

# ---- a hung rank: the watchdog ------------------------------------------------------------
LURN_DIST_TIMEOUT=2 mpi 2 train "${long[@]}" --out "$tmp/hung" >hung.log 2>&1 &
job=$!
if wait_for_step "$tmp/hung" 3; then
  pid=$(rank_pid "out $tmp/hung" 1)
  [ -n "$pid" ] && kill -STOP "$pid"
fi
t0=$(date +%s)
for _ in $(seq 1 150); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
if kill -0 $job 2>/dev/null; then
  bad "the hung job stopped within 15 s"; [ -n "${pid:-}" ] && kill -CONT "$pid"; kill $job
else
  ok "the hung job stopped after $(( $(date +%s) - t0 )) s"
fi
wait $job; rc=$?
[ -n "${pid:-}" ] && kill -CONT "$pid" 2>/dev/null
[ "$rc" -ne 0 ] && ok "... with a failure status ($rc)" || bad "hung: failure status" "exit 0"
expect "the watchdog's message" "did not complete within 2 s (LURN_DIST_TIMEOUT): a rank is hung" "$(cat hung.log)"

# ---- a rank that diverges ------------------------------------------------------------------
LURN_DIST_FAULT=nan@1:8 mpi 2 train order.lua train.checkpoint_every=3 --out nan --quiet >nan.log 2>&1
expect_rc "a NaN loss on rank 1 at step 8" 5 $? "$(tail -3 nan.log)"
expect "the rank and step named" "loss is not finite on rank 1 at step 8" "$(cat nan.log)"
[ "$(cat nan/checkpoints/latest)" = step-00000006.ckpt ] && "$LURN" -e "lurn.checkpoint.load('nan/checkpoints/step-00000006.ckpt')" \
  && ok "the checkpoint before it (step 6) is intact" || bad "checkpoint before the NaN" "$(ls nan/checkpoints)"
finish
