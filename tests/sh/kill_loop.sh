#!/usr/bin/env bash
# tests/sh/kill_loop.sh — SIGKILL a checkpointing training run at random
# moments, resume it each time, and check that nothing is ever lost.
#
#   bash tests/sh/kill_loop.sh KILLS KEEP [SEED]
#     LURN=path/to/lurn (default build/lurn)
#     LURN_KILL_TMP=dir (default /dev/shm; see below)
#
# The run (tests/sh/kill_run.lua) writes a checkpoint after every step, so
# kills land in the middle of writes, of the `latest` update and of the
# pruning of old files as often as in training. A reference run of the same
# length (keep_checkpoints = 0: every step's file kept) is made first. Then,
# KILLS times: start the run (resuming from its directory once `latest`
# exists), SIGKILL it after a random 0-150 ms, and check
#   - the run was alive (status 137) or had finished (0): a resume that
#     fails exits with an error on its own and fails the test;
#   - `latest` names a file that loads and equals, by value, the reference
#     run's checkpoint of the same step (weights, Adam moments, rng, data
#     cursor, schedule, history, counters);
#   - every periodic file is one the run still tracks: listed among the
#     kept names of the checkpoint `latest` names (more than KEEP only while
#     kills fell between `latest` and the deletion of old files; the next
#     save deletes them), or the one file written before `latest` moved.
# Finally the run is resumed to the end: its last checkpoint equals the
# reference's, exactly KEEP periodic files remain and no temporary file
# ("*.tmp.<pid>") is left. The last line: "kill loop: K kills (keep KEEP, ...): ...".
set -u
kills=${1:?usage: kill_loop.sh KILLS KEEP [SEED]}
keep=${2:?usage: kill_loop.sh KILLS KEEP [SEED]}
seed=${3:-$$}
RANDOM=$seed
LURN=${LURN:-build/lurn}
here=$(cd "$(dirname "$0")" && pwd)
run="$here/kill_run.lua"
# Where the runs write: LURN_KILL_TMP, default /dev/shm (in memory: fast,
# and a SIGKILL loses nothing the page cache holds, so the order of the file
# operations is still what is tested). On a disk (LURN_KILL_TMP=/tmp) each
# fsync takes long enough that far more kills land inside a write or
# between a write and the next step: the long setting.
base=${LURN_KILL_TMP:-/dev/shm}; [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d -p "$base" lurn_kill_XXXXXX); trap 'rm -rf "$tmp"' EXIT
export LURN_THREADS=${LURN_THREADS:-2}
max=$((kills * 40 + 150))
fail=0
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

"$LURN" "$run" dir="$tmp/ref" keep=0 max_steps=$max >/dev/null 2>"$tmp/ref.log" \
  || { echo "FAIL reference run: $(tail -3 "$tmp/ref.log")"; exit 1; }

dir="$tmp/run"
done_kills=0 finished=0 mid_write=0 extra=0 iter=0
t0=$(date +%s.%N)
while [ $done_kills -lt "$kills" ] && [ $iter -lt $((kills * 4)) ]; do
  iter=$((iter + 1))
  "$LURN" "$run" dir="$dir" keep="$keep" max_steps=$max >/dev/null 2>"$tmp/run.log" &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 150)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null; rc=$?
  if [ $rc = 0 ]; then
    finished=1
  elif [ $rc = 137 ]; then
    done_kills=$((done_kills + 1))
  else
    bad "run $iter exited with status $rc before the kill" "$(tail -3 "$tmp/run.log")"
    break
  fi
  [ -e "$dir/latest" ] || continue              # killed before its first checkpoint
  ls "$dir" | grep -q '\.tmp\.' && mid_write=$((mid_write + 1))
  name=$(head -1 "$dir/latest")
  out=$("$LURN" "$run" compare="$dir/$name,$tmp/ref/$name" 2>&1) \
    || { bad "after kill $done_kills: latest ($name) differs from the reference or is broken" "$out"; break; }
  if [ "$keep" -gt 0 ]; then
    over=$("$LURN" "$run" check_dir="$dir" keep="$keep" 2>&1) \
      || { bad "after kill $done_kills: a periodic file the run no longer tracks" "$over"; break; }
    [ "$over" -gt 0 ] && extra=$((extra + 1))
  fi
  if [ $finished = 1 ]; then
    [ $done_kills -ge "$kills" ] && break
    # the run finished before enough kills landed (a slow or busy machine
    # gives each start more steps before its kill): start it again from nothing
    rm -rf "$dir"; finished=0
  fi
done
t1=$(date +%s.%N)
[ $fail = 0 ] && [ $done_kills -lt "$kills" ] && bad "only $done_kills kills landed while the run was alive (wanted $kills)"

if [ $fail = 0 ]; then
  "$LURN" "$run" dir="$dir" keep="$keep" max_steps=$max >/dev/null 2>"$tmp/run.log" \
    || bad "final resume" "$(tail -3 "$tmp/run.log")"
  last=$(printf 'step-%08d.ckpt' $max)
  [ "$(head -1 "$dir/latest")" = "$last" ] || bad "latest names $(head -1 "$dir/latest"), want $last"
  out=$("$LURN" "$run" compare="$dir/$last,$tmp/ref/$last" 2>&1) \
    || bad "final state differs from the uninterrupted run" "$out"
  n=$(ls "$dir" | grep -cE '^step-[0-9]+\.ckpt$')
  [ "$keep" -gt 0 ] && [ "$n" != "$keep" ] && bad "$n periodic files remain, want $keep" "$(ls "$dir")"
  left=$(ls "$dir" | grep '\.tmp\.')
  [ -z "$left" ] || bad "temporary files left behind" "$left"
fi
printf 'kill loop: %d kills (keep %d, seed %d, %d steps, %.1f s): after %d a temporary file was present, after %d more periodic files than keep; %s\n' \
  "$done_kills" "$keep" "$seed" "$max" "$(awk "BEGIN{print $t1 - $t0}")" "$mid_write" "$extra" \
  "$([ $fail = 0 ] && echo "every resume matched the uninterrupted run" || echo "$fail FAILED")"
[ $fail = 0 ]
