#!/usr/bin/env bash
# mpirun -np 2 lurn sweep: rank 0 schedules, both ranks run trials, the
# summary is the one a single-machine sweep writes (scores to the last
# digit; only the times differ); a rank killed while it runs a trial
# (mpirun --enable-recovery, LURN_DIST_TIMEOUT=2) has that trial queued
# again, and it resumes from its checkpoint on the surviving rank.
. "$(dirname "$0")/mpi_lib.sh"
mpi_release_only
cd "$tmp"
make_data 240
write_config

space=(order.lua optim.lr=0.01,0.02,0.03,0.05 train.epochs=1)
mpi 2 sweep "${space[@]}" --out two >two.log 2>&1; rc=$?
expect_rc "mpirun -np 2 lurn sweep" 0 $rc "$(tail -5 two.log)"
"$LURN" sweep "${space[@]}" --out one >one.log 2>&1 || bad "the same sweep on one machine" "$(tail -3 one.log)"
expect "rank 1 ran a trial" "(rank 1)" "$(cat two.log)"
expect "rank 0 ran a trial" "(rank 0)" "$(cat two.log)"
# summary.csv without its time column (the 8th)
cut -d, -f1-7,9- one/summary.csv >one.csv; cut -d, -f1-7,9- two/summary.csv >two.csv
[ "$(wc -l <one.csv)" -eq 5 ] && cmp -s one.csv two.csv && ok "the same ranking and scores as on one machine" \
  || bad "the same summary" "$(diff one.csv two.csv | head -6)"
expect "summary.md lists every trial" "4 of 4 trials finished" "$(cat two.log)"

# ---- a rank dies while it runs a trial ---------------------------------------------
# (150 epochs: a trial takes ~1.5 s on an idle machine, long enough to be
# caught running; 10 epochs ended before the kill there)
LURN_DIST_TIMEOUT=2 mpirun "${MPI_FLAGS[@]}" --enable-recovery -np 2 "$LURN" sweep order.lua \
  optim.lr=0.01,0.02,0.03 train.epochs=150 train.checkpoint_every=20 --out "$tmp/dead" >dead.log 2>&1 &
job=$!
for _ in $(seq 1 200); do grep -q '"rank":1' dead/sweep.jsonl 2>/dev/null && break; sleep 0.05; done
# rank 1's trial past its start-up: its metrics show training steps (a trial
# that has not yet installed its SIGTERM handler would die of the signal silently)
n=$(grep '"rank":1' dead/sweep.jsonl 2>/dev/null | head -1 | sed -n 's/.*"trial":\([0-9]*\).*/\1/p')
tm=$(printf 'dead/trial-%03d/metrics.jsonl' "${n:-0}")
for _ in $(seq 1 400); do grep -q '"step"' "$tm" 2>/dev/null && break; sleep 0.05; done
pid=$(for p in $(pgrep -f -- "--out $tmp/dead"); do
  tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && echo "$p"; done | head -1)
if [ -n "$pid" ]; then kill -9 "$pid"; ok "rank 1 killed while it ran a trial"; else bad "find rank 1" "$(cat dead.log)"; fi
for _ in $(seq 1 1200); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
kill -0 $job 2>/dev/null && { bad "the sweep ended within 120 s"; kill $job; }
wait $job; rc=$?
expect_rc "the sweep completes without rank 1" 0 $rc "$(tail -5 dead.log)"
out=$(cat dead.log)
expect "the lost trial is named" "rank 1 stopped answering (silent for 2 s): trial queued again" "$out"
expect "... and resumed from its checkpoint on rank 0" "(resuming)  (rank 0)" "$out"
expect "every trial finished" "3 of 3 trials finished" "$out"
grep -q '"event":"requeue"' dead/sweep.jsonl && ok "sweep.jsonl records the requeue" || bad "requeue record" "$(cat dead/sweep.jsonl)"
n=$(grep -c '"status":"completed"' dead/sweep.jsonl)
[ "$n" -eq 3 ] && ok "3 completed trial records" || bad "3 completed" "$n"
# the orphaned trial process was stopped (SIGTERM: it saved a checkpoint)
expect "the dead rank's trial was stopped, not left running" "interrupted by SIGTERM" "$(cat dead/trial-00*.log)"
sleep 0.5
left=$(pgrep -f -- "$tmp/dead" || true)
[ -z "$left" ] && ok "no process of the sweep left" || { bad "no process left" "$left"; kill $left 2>/dev/null; }
finish
