#!/usr/bin/env bash
# bench/char_lm.sh — character language model training throughput, lurn vs PyTorch, in
# characters per second, on the same model, text and thread count; prints both and the ratio.
#
#   bash bench/char_lm.sh [--threads N] [--quick] [--text FILE]
#
# Default (the long setting): configs/shakespeare-char.lua's model without dropout — a
# 2-layer LSTM of 512 over 64-d embeddings, 64 streams, chunks of 100 — on tiny Shakespeare
# (data/tinyshakespeare/input.txt, else ../shared/datasets/tinyshakespeare/input.txt), 2
# warm-up steps and 10 timed steps per side (a few minutes at 1 thread). --quick (what the
# test runs): a 1-layer LSTM of 64, 16 streams of 50 steps, on a generated text, 1 + 5 steps.
# Threads: lurn --threads N, BLIS_NUM_THREADS=N and torch.set_num_threads(N) (default 1).
# On a machine shared with other jobs the figures are not speed claims: the load average is
# printed beside them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LURN=${LURN:-$ROOT/build/lurn}
PY=${LURN_TEST_PYTHON:-/usr/bin/python3}
threads=1 quick=0 text=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --text) text=$2; shift 2 ;;
    *) echo "char_lm.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ "$quick" = 1 ]; then
  args="--embed 16 --hidden 64 --layers 1 --batch 16 --bptt 50 --warmup 1 --steps 5"
  if [ -z "$text" ]; then
    "$LURN" "$ROOT/docs/examples/lm_text.lua" "$tmp/text.txt" 300 > /dev/null
    text=$tmp/text.txt
  fi
else
  args="--embed 64 --hidden 512 --layers 2 --batch 64 --bptt 100 --warmup 2 --steps 10"
  if [ -z "$text" ]; then
    for t in "$ROOT/data/tinyshakespeare/input.txt" "$ROOT/../shared/datasets/tinyshakespeare/input.txt" \
             /work/shared/datasets/tinyshakespeare/input.txt; do
      [ -f "$t" ] && { text=$t; break; }
    done
    [ -n "$text" ] || { echo "char_lm.sh: no tiny Shakespeare (bash datasets/tinyshakespeare, or --text FILE)" >&2; exit 2; }
  fi
fi
"$PY" -c 'import torch' 2>/dev/null || { echo "char_lm.sh: skip: PyTorch is not installed for $PY" >&2; exit 77; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
l=$(BLIS_NUM_THREADS=$threads "$LURN" --threads "$threads" "$ROOT/bench/char_lm.lua" --text "$text" $args)
t=$(BLIS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$PY" "$ROOT/bench/char_lm_torch.py" --text "$text" --threads "$threads" $args)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$l"
echo "$t"
"$LURN" -e '
  local json = require "lurn.run.json"
  local l, t = json.decode(arg[1]), json.decode(arg[2])
  print(("char_lm (%s) threads %d: lurn %.0f chars/s, PyTorch %s %.0f chars/s, lurn/PyTorch %.2f; load average %s before, %s after")
    :format(arg[3], l.threads, l.chars_per_s, t.torch, t.chars_per_s, l.chars_per_s / t.chars_per_s, arg[4], arg[5]))' \
  "$l" "$t" "$([ "$quick" = 1 ] && echo quick || echo "2x512 LSTM, B 64, bptt 100")" "$load0" "$load1"
