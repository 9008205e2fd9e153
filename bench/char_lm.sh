#!/usr/bin/env bash
# bench/char_lm.sh — character language model training throughput, lurn vs PyTorch, in
# characters per second, on the same model, text and thread count; prints both and the ratio.
#
#   bash bench/char_lm.sh [--threads N] [--quick] [--text FILE] [--rounds R]
#
# Default (the long setting): configs/shakespeare-char.lua's model without dropout — a
# 2-layer LSTM of 512 over 64-d embeddings, 64 streams, chunks of 100 — on tiny Shakespeare
# (data/tinyshakespeare/input.txt, else ../shared/datasets/tinyshakespeare/input.txt), 2
# warm-up steps and 10 timed steps per side (a few minutes at 1 thread). --quick (what the
# test runs): a 1-layer LSTM of 64, 16 streams of 50 steps, on a generated text, 1 + 5 steps.
# Threads: lurn --threads N, BLIS_NUM_THREADS=N and torch.set_num_threads(N) (default 1).
# --rounds R (default 1): R measurements per side, lurn first in odd rounds and PyTorch first
# in even ones, so a machine whose speed drifts moves both alike; the last line gives each
# side's median and the ratio of the medians, and every round's own ratio.
# On a machine shared with other jobs the figures are not speed claims: the load average is
# printed beside them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LURN=${LURN:-$ROOT/build/lurn}
PY=${LURN_TEST_PYTHON:-/usr/bin/python3}
threads=1 quick=0 text="" rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --text) text=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
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
[ -f "$text" ] || { echo "char_lm.sh: --text $text: no such file" >&2; exit 2; }
case "$rounds" in ''|*[!0-9]*|0) echo "char_lm.sh: --rounds must be a positive whole number, got '$rounds'" >&2; exit 2 ;; esac
load0=$(cut -d' ' -f1-3 /proc/loadavg)
run_lurn() { BLIS_NUM_THREADS=$threads "$LURN" --threads "$threads" "$ROOT/bench/char_lm.lua" --text "$text" $args; }
run_torch() { BLIS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$PY" "$ROOT/bench/char_lm_torch.py" --text "$text" --threads "$threads" $args; }
lines=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then l=$(run_lurn); t=$(run_torch); else t=$(run_torch); l=$(run_lurn); fi
  echo "$l"
  echo "$t"
  lines+=("$l" "$t")
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
"$LURN" -e '
  local json = require "lurn.run.json"
  local what, load0, load1 = arg[1], arg[2], arg[3]
  local ls, ts, per, threads, torch = {}, {}, {}, nil, nil
  for i = 5, #arg, 2 do
    local l, t = json.decode(arg[i]), json.decode(arg[i + 1])
    ls[#ls + 1], ts[#ts + 1] = l.chars_per_s, t.chars_per_s
    per[#per + 1] = ("%.2f"):format(l.chars_per_s / t.chars_per_s)
    threads, torch = l.threads, t.torch
  end
  local median = dofile(arg[4]).median
  local l, t = median(ls), median(ts)
  print(("char_lm (%s) threads %d: lurn %.0f chars/s, PyTorch %s %.0f chars/s, lurn/PyTorch %.2f%s; load average %s before, %s after")
    :format(what, threads, l, torch, t, l / t,
            #per > 1 and (" (medians of %d rounds; per round %s)"):format(#per, table.concat(per, ", ")) or "",
            load0, load1))' \
  "$([ "$quick" = 1 ] && echo quick || echo "2x512 LSTM, B 64, bptt 100")" "$load0" "$load1" "$ROOT/bench/common.lua" "${lines[@]}"
