#!/usr/bin/env bash
# bench/run.sh — lurn vs PyTorch vs the BLIS GEMM floor, side by side (issue 5).
#
#   bash bench/run.sh                 full run: RNN, LSTM, GRU x 3 sizes x 1 and 2 threads,
#                                     plus one SST-2 training epoch on each side at 2 threads
#                                     (about 11 min on an idle 2-core machine; far longer when
#                                     other processes compete for the cores)
#   bash bench/run.sh --quick         one size (64,100,128,256), 5 repeats, 100 SST-2 batches
#   options: --build DIR (lurn build dir, default build)  --out DIR (default bench/results)
#            --threads "1 2"  --cells "rnn lstm gru"  --repeats N  --warmup N
#            --data-dir DIR (SST-2, default ../shared/datasets/sst2)  --no-sst2  --api nn|core
#            --sst2-threads "1 2" (default: the last of --threads)
#            --timeout S (per measurement process, default 900)
#            --sizes "B,T,I,H ..." (instead of the three sizes of issue 5)
#            --rounds N (default 2): each configuration is measured in N rounds, in the order
#            floor, PyTorch, lurn in odd rounds and lurn, PyTorch, floor in even ones; the
#            report pools the repeats of all rounds
#
# Not part of the test suite: it takes minutes and its numbers depend on the machine.
# Every configuration runs in its own process (so peak RSS is that side's own), and
# for each configuration the floor, PyTorch and lurn run back to back in every round, so a busy
# machine slows all three alike. Output: a table on stdout, and in OUT/ raw.jsonl
# (one JSON line per measurement), results.json, results.csv and report.txt.
#
# The PyTorch peer is set up at its fastest setting on this kind of machine (issue 5):
# Debian's BLIS-openmp as libblas.so.3 (the alternative is switched when run as
# root), BLIS_NUM_THREADS = OMP_NUM_THREADS = torch.set_num_threads = the thread count.
# The library torch really mapped is recorded from its /proc/self/maps.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0; BUILD=build; OUT=bench/results; THREADS="1 2"; CELLS="rnn lstm gru"
REPEATS=""; WARMUP=""; DATA_DIR=""; SST2=1; API=nn; SST2_THREADS=""; TIMEOUT=900; SIZES_ARG=""; ROUNDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --build) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --cells) CELLS=$2; shift ;;
    --repeats) REPEATS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --data-dir) DATA_DIR=$2; shift ;;
    --no-sst2) SST2=0 ;;
    --sst2-threads) SST2_THREADS=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --api) API=$2; shift ;;
    --sizes) SIZES_ARG=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)"; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  SIZES=("64 100 128 256"); REPEATS=${REPEATS:-5}; WARMUP=${WARMUP:-1}; SST2_MAX=100
else
  SIZES=("64 100 128 256" "64 100 512 512" "32 50 128 128"); REPEATS=${REPEATS:-5}
  WARMUP=${WARMUP:-1}; SST2_MAX=0
fi
if [ -n "$SIZES_ARG" ]; then
  SIZES=()
  for sz in $SIZES_ARG; do SIZES+=("${sz//,/ }"); done
fi
[ -n "$SST2_THREADS" ] || SST2_THREADS=$(echo $THREADS | awk '{print $NF}')
if [ -z "$DATA_DIR" ]; then
  for d in "$ROOT/../shared/datasets/sst2" /work/shared/datasets/sst2 "$ROOT/datasets/sst2"; do
    [ -f "$d/train.tsv" ] && { DATA_DIR=$d; break; }
  done
fi

PY=/usr/bin/python3
ARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
BLIS_LIBBLAS=/usr/lib/$ARCH/blis-openmp/libblas.so.3
ALT=libblas.so.3-$ARCH

# ---- 1. PyTorch from Debian, and BLIS-openmp behind libblas.so.3 -----------------
need=()
$PY -c "import torch" 2>/dev/null || need+=(python3-torch)
[ -f "$BLIS_LIBBLAS" ] || need+=(libblis4-openmp)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "run.sh: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "run.sh: missing Debian packages. Run: sudo apt-get install -y ${need[*]}"; exit 1
  fi
fi
current=$(readlink -f "/usr/lib/$ARCH/libblas.so.3" 2>/dev/null || true)
if [ "$current" != "$BLIS_LIBBLAS" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "run.sh: pointing libblas.so.3 at BLIS-openmp (was $current)"
    update-alternatives --set "$ALT" "$BLIS_LIBBLAS" >/dev/null
  else
    echo "run.sh: warning: libblas.so.3 is $current, not BLIS-openmp; PyTorch will not be"
    echo "        at its fastest. As root: update-alternatives --set $ALT $BLIS_LIBBLAS"
  fi
fi

# ---- 2. build lurn and the GEMM floor ---------------------------------------------
bash tools/setup.sh "$BUILD" || { echo "run.sh: lurn build failed"; exit 1; }
LURN=$BUILD/lurn
BIN=$OUT/bin
mkdir -p "$BIN"
BLIS_INC=/usr/include/$ARCH/blis-openmp
BLIS_LIB=/usr/lib/$ARCH/blis-openmp
gcc -O2 -Wall -Wextra -fopenmp -isystem "$BLIS_INC" bench/gemm_floor.c -L"$BLIS_LIB" \
    -Wl,-rpath,"$BLIS_LIB" -lblis -lm -o "$BIN/gemm_floor" || exit 1

RAW=$OUT/raw.jsonl
: > "$RAW"
$PY bench/report.py env >> "$RAW"

# Run one measurement; its JSON line goes to RAW, a failure becomes an "error" line.
measure() {  # what cmd...
  local what=$1; shift
  local out err rc
  err=$(mktemp)
  # the 1-minute load average before each measurement: on a shared machine,
  # other processes' threads make OpenMP's spinning threads wait (see report)
  echo "{\"side\": \"load\", \"what\": \"$what\", \"loadavg\": $(cut -d' ' -f1 /proc/loadavg)}" >> "$RAW"
  # a bound per measurement: on a busy machine OpenMP threads can slow down 10x
  out=$(timeout -k 10 "$TIMEOUT" "$@" 2>"$err"); rc=$?
  [ $rc = 124 ] && echo "timed out after $TIMEOUT s" >> "$err"
  if [ $rc = 0 ] && grep -q '^{' <<<"$out"; then
    grep '^{' <<<"$out" >> "$RAW"
  else
    local msg; msg=$(tail -c 400 "$err" | tr '\n"\\' '   ')
    echo "{\"side\": \"error\", \"what\": \"$what\", \"message\": \"exit $rc: $msg\"}" >> "$RAW"
    echo "  $what failed (exit $rc): $(tail -n 3 "$err")"
  fi
  rm -f "$err"
}

echo "== BLIS square sgemm peak"
for t in $THREADS; do
  measure "peak t=$t" "$BIN/gemm_floor" "$t" 5 2 peak:1024
done

start=$(date +%s)
for size in "${SIZES[@]}"; do
  read -r B T I H <<<"$size"
  for cell in $CELLS; do
    for t in $THREADS; do
      echo "== $cell B=$B T=$T I=$I H=$H threads=$t"
      # The machine's speed drifts by several percent over minutes (a virtual
      # machine shares its host): rounds in alternating order expose all three
      # to the same drift, and the report pools their repeats.
      for ((round = 1; round <= ROUNDS; round++)); do
        if ((round % 2)); then sides="floor torch lurn"; else sides="lurn torch floor"; fi
        for side in $sides; do
          if [ "$side" = floor ]; then
            measure "floor $cell $size t=$t" "$BIN/gemm_floor" "$t" "$REPEATS" "$WARMUP" \
              "$cell:$B:$T:$I:$H"
          elif [ "$side" = torch ]; then
            measure "torch $cell $size t=$t" env BLIS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" \
              $PY bench/peer_torch.py --cell "$cell" --B "$B" --T "$T" --I "$I" --H "$H" \
              --threads "$t" --warmup "$WARMUP" --repeats "$REPEATS"
          else
            measure "lurn $cell $size t=$t" env LURN_THREADS="$t" "$LURN" bench/lurn_bench.lua \
              --cell "$cell" --B "$B" --T "$T" --I "$I" --H "$H" --threads "$t" \
              --warmup "$WARMUP" --repeats "$REPEATS" --api "$API"
          fi
        done
      done
    done
  done
done
echo "== kernels: $(( $(date +%s) - start )) s"

if [ "$SST2" = 1 ]; then
  if [ -z "$DATA_DIR" ] || [ ! -f "$DATA_DIR/train.tsv" ]; then
    echo "{\"side\": \"error\", \"what\": \"sst2\", \"message\": \"no SST-2 train.tsv (use --data-dir)\"}" >> "$RAW"
  else
    # the same model, batch size, lengths and batch order on both sides
    for t in $SST2_THREADS; do
      SST_ARGS=(--data-dir "$DATA_DIR" --threads "$t" --max-batches "$SST2_MAX")
      echo "== SST-2 epoch, torch (threads $t)"
      measure "sst2 torch t=$t" env BLIS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" \
        $PY bench/sst2_epoch_torch.py "${SST_ARGS[@]}"
      echo "== SST-2 epoch, lurn (threads $t)"
      measure "sst2 lurn t=$t" env LURN_THREADS="$t" "$LURN" bench/sst2_epoch.lua \
        "${SST_ARGS[@]}"
    done
  fi
fi

$PY bench/report.py env >> "$RAW"
echo
$PY bench/report.py report "$RAW" "$OUT"
echo
echo "raw: $RAW; tables: $OUT/report.txt, $OUT/results.json, $OUT/results.csv"
