#!/usr/bin/env bash
# bench/seq2seq.sh — translation training throughput, lurn vs PyTorch on the same model.
#
#   bash bench/seq2seq.sh            short: 10 timed steps after 2 warm-up steps
#   bash bench/seq2seq.sh --long     documented setting: 50 timed steps after 5
#   options: --threads N (default 1, both sides)  --build DIR (default build)
#
# Both sides train configs/multi30k.lua's model (embed 256, bidirectional GRU 256, GRU decoder
# 256, additive attention, input feeding, dropout 0.3; vocabularies of Multi30k's size: 7,823
# German and 5,975 English tokens) on the same shape of fixed random batches: 64 sentences of
# 14 source and 15 target tokens (about Multi30k's means). bench/seq2seq.lua and
# bench/seq2seq_torch.py hold the two steps. Prints each side's target tokens per second and
# their ratio, with the load average before and after: on a shared machine the ratio, not the
# rate, is the figure (both sides run back to back, lurn first, then PyTorch, then lurn again,
# and lurn's figure is the mean of its two runs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build THREADS=1 STEPS=10 WARM=2
while [ $# -gt 0 ]; do
  case "$1" in
    --long) STEPS=50; WARM=5; shift ;;
    --threads) THREADS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) echo "bench/seq2seq.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
PY=${LURN_TEST_PYTHON:-/usr/bin/python3}
"$PY" -c 'import torch' 2>/dev/null || { echo "bench/seq2seq.sh: needs PyTorch ($PY -c 'import torch')" >&2; exit 77; }
ARGS="64 14 15 7823 5975 256 256 $STEPS $WARM"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); threads $THREADS; B=64 S=14 T=15, steps $STEPS after $WARM"
export BLIS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
l1=$("$BUILD/lurn" --threads "$THREADS" "$ROOT/bench/seq2seq.lua" $ARGS)
t=$("$PY" "$ROOT/bench/seq2seq_torch.py" $ARGS "$THREADS")
l2=$("$BUILD/lurn" --threads "$THREADS" "$ROOT/bench/seq2seq.lua" $ARGS)
echo "$l1"; echo "$t"; echo "$l2"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$(echo "$l1" | cut -d' ' -f2)" -v b="$(echo "$l2" | cut -d' ' -f2)" -v t="$(echo "$t" | cut -d' ' -f2)" \
  'BEGIN { l = (a + b) / 2; printf "target tokens/s: lurn %.0f, PyTorch %.0f; lurn / PyTorch = %.2f\n", l, t, l / t }'
