#!/usr/bin/env bash
# bench/under_load.sh — lurn at its default thread count against lurn at 1 thread, beside
# busy processes (issue 13: "under load, lurn at its default threads never slower than lurn
# at 1 thread, on the kernel sizes").
#
#   bash bench/under_load.sh [--compete N] [--pairs P] [--sizes "B,T,I,H ..."] [--cells "lstm gru"]
#
# Starts N `yes > /dev/null` (default 1), then for every size, cell and mode (train, infer)
# runs bench/threads_pair.lua: P pairs (default 15) of one step at 1 thread and one at the
# default, interleaved in one process, so the machine's drift moves both alike. Prints one
# line per configuration: both medians, the median of the per-pair ratios (1 thread / default:
# 1.00 or more means the default is not slower) and how many pairs the default lost.
# Sizes: issue 13's five and batch 1. The SST-2 epoch under load is `bench/run.sh --compete 1
# --sst2-threads "1 2"` (one process per side: an epoch is long enough for that).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LURN=${LURN:-$ROOT/build/lurn}
compete=1 pairs=15 cells="lstm gru"
sizes="64,100,128,256 64,100,512,512 32,50,128,128 16,200,300,384 128,35,650,650 1,200,128,256 1,200,512,512"
while [ $# -gt 0 ]; do
  case "$1" in
    --compete) compete=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --cells) cells=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "under_load.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$LURN" ] || { echo "under_load.sh: no lurn binary at $LURN (build first: bash tools/setup.sh build)" >&2; exit 1; }
pids=()
cleanup() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; true; }
trap cleanup EXIT
for _ in $(seq "$compete"); do yes > /dev/null & pids+=($!); done
sleep 1
echo "under_load: $compete competing process(es), $pairs pairs per line, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-16s %-5s | %9s %9s | %6s %5s\n' cell "B,T,I,H" mode "1 thread" default ratio lost
for sz in $sizes; do
  IFS=, read -r B T I H <<< "$sz"
  for cell in $cells; do
    for mode in train infer; do
      line=$("$LURN" "$ROOT/bench/threads_pair.lua" --cell "$cell" --mode "$mode" --pairs "$pairs" \
             --B "$B" --T "$T" --I "$I" --H "$H")
      "$LURN" -e '
        local d = require("lurn.run.json").decode(arg[1])
        print(("%-5s %-16s %-5s | %9.2f %9.2f | %5.3f %2d/%d"):format(d.cell, d.size, d.mode,
              d.one_ms, d.default_ms, d.ratio, d.lost, d.pairs))' "$line"
    done
  done
done
echo "ratio = median over pairs of (1-thread ms / default ms); lost = pairs where the default was slower"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
