#!/usr/bin/env bash
# bench/under_load.sh — lurn at its default thread count against lurn at 1 thread, beside
# busy processes (issue 13: "under load, lurn at its default threads never slower than lurn
# at 1 thread, on the kernel sizes").
#
#   bash bench/under_load.sh [--compete N] [--pairs P] [--sizes "B,T,I,H ..."] [--cells "lstm gru"]
#                            [--sst2] [--sst2-data DIR] [--sst2-batches N]
#
# Starts N `yes > /dev/null` (default 1), then for every size, cell and mode (train, infer)
# runs bench/threads_pair.lua: P pairs (default 15) of one step at 1 thread and one at the
# default, interleaved in one process, so the machine's drift moves both alike. Prints one
# line per configuration: both medians, the median of the per-pair ratios (1 thread / default:
# 1.00 or more means the default is not slower) and how many pairs the default lost.
# Sizes: issue 13's five and batch 1. --sst2 adds the SST-2 training epoch of bench/run.sh
# (bench/sst2_epoch.lua --pair-threads): every batch trained twice, at 1 thread and at the
# default, in alternating order (the data: ../shared/datasets/sst2 or --sst2-data DIR;
# --sst2-batches N: the first N batches only). Separate processes per side (bench/run.sh
# --compete 1 --sst2-threads "1 2") run their epochs minutes apart on a machine whose speed
# moves by a third within minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LURN=${LURN:-$ROOT/build/lurn}
compete=1 pairs=15 cells="lstm gru" sst2=0 sst2_dir="" sst2_batches=0
sizes="64,100,128,256 64,100,512,512 32,50,128,128 16,200,300,384 128,35,650,650 1,200,128,256 1,200,512,512"
while [ $# -gt 0 ]; do
  case "$1" in
    --compete) compete=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --cells) cells=$2; shift 2 ;;
    --sst2) sst2=1; shift ;;
    --sst2-data) sst2_dir=$2; shift 2 ;;
    --sst2-batches) sst2_batches=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "under_load.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$sst2" = 1 ] && [ -z "$sst2_dir" ]; then
  for d in "$ROOT/../shared/datasets/sst2" /work/shared/datasets/sst2 "$ROOT/datasets/sst2"; do
    [ -f "$d/train.tsv" ] && { sst2_dir=$d; break; }
  done
  [ -n "$sst2_dir" ] || { echo "under_load.sh: no SST-2 data (bash datasets/sst2, or --sst2-data DIR)" >&2; exit 2; }
fi
if [ "$sst2" = 1 ] && [ ! -f "$sst2_dir/train.tsv" ]; then
  echo "under_load.sh: --sst2-data $sst2_dir: no train.tsv there (bash datasets/sst2 fetches it)" >&2; exit 2
fi
[ -x "$LURN" ] || { echo "under_load.sh: no lurn binary at $LURN (build first: bash tools/setup.sh build)" >&2; exit 1; }
pids=()
cleanup() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; true; }
trap cleanup EXIT
trap 'cleanup; echo "under_load.sh: interrupted" >&2; exit 130' INT TERM   # the competitors ignore SIGINT
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
if [ "$sst2" = 1 ]; then
  line=$("$LURN" "$ROOT/bench/sst2_epoch.lua" --data-dir "$sst2_dir" --threads "$(nproc)" \
         --pair-threads "$(nproc)" --max-batches "$sst2_batches")
  "$LURN" -e '
    local d = require("lurn.run.json").decode(arg[1])
    print(("SST-2 epoch, every batch at both: 1 thread %.2f s, default (%d threads) %.2f s, "
      .. "ratio %.3f; the default slower in %d of %d batches"):format(d.pair.one_s, d.pair.threads,
      d.pair.default_s, d.pair.ratio, d.pair.lost, d.batches))' "$line"
fi
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
