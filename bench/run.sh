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
#            --issue13: the five sizes of issue 13 plus batch 1 (1,200,128,256 and
#            1,200,512,512), LSTM and GRU
#            --batch1: add the two batch-1 sizes to the chosen ones
#            --torch-blas NAME: skip the calibration (blis-openmp:ID, blis-openmp:auto,
#            openblas-openmp, openblas-pthread)
#            --compete N: N busy processes (`yes > /dev/null`) run during the measurements
#            (threads under load: compare lurn's rows at 1 thread and at the default)
#
# Not part of the test suite: it takes minutes and its numbers depend on the machine.
# Every configuration runs in its own process (so peak RSS is that side's own), and
# for each configuration the floor, PyTorch and lurn run back to back in every round, so a busy
# machine slows all three alike. Output: a table on stdout, and in OUT/ raw.jsonl
# (one JSON line per measurement), results.json, results.csv and report.txt.
#
# The PyTorch peer runs at its fastest BLAS on this machine (issue 13): before each size,
# PyTorch (first cell, 1 thread, CPU time of train and of inference, 2 rounds) is timed with each
# BLAS Debian offers here (BLIS-openmp with lurn's kernel set, BLIS-openmp with BLIS's own
# pick, OpenBLAS openmp/pthread when installed: libopenblas0-openmp), chosen per process
# through LD_LIBRARY_PATH (the system's libblas.so.3 alternative is left alone); the
# fastest for each mode serves that size's PyTorch measurements of that mode (the SST-2
# epoch: the first size's training winner), and
# the report says which won and by how much.
# BLIS_NUM_THREADS = OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = torch.set_num_threads =
# the thread count. The library torch really mapped is recorded from /proc/self/maps.
# The GEMM floor and the peak use lurn's kernel set (BLIS_ARCH_TYPE = its number).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0; BUILD=build; OUT=bench/results; THREADS="1 2"; CELLS="rnn lstm gru"
REPEATS=""; WARMUP=""; DATA_DIR=""; SST2=1; API=nn; SST2_THREADS=""; TIMEOUT=900; SIZES_ARG=""; ROUNDS=2
ISSUE13=0; BATCH1=0; TORCH_BLAS=""; COMPETE=0
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
    --issue13) ISSUE13=1 ;;
    --batch1) BATCH1=1 ;;
    --torch-blas) TORCH_BLAS=$2; shift ;;
    --compete) COMPETE=$2; shift ;;
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
if [ "$ISSUE13" = 1 ]; then
  SIZES=("64 100 128 256" "64 100 512 512" "32 50 128 128" "16 200 300 384" "128 35 650 650")
  CELLS=${CELLS/rnn /}; BATCH1=1
fi
if [ -n "$SIZES_ARG" ]; then
  SIZES=()
  for sz in $SIZES_ARG; do SIZES+=("${sz//,/ }"); done
fi
[ "$BATCH1" = 1 ] && SIZES+=("1 200 128 256" "1 200 512 512")
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

# ---- 3. lurn's kernel set; the GEMM floor uses the same -----------------------------
read -r KID KNAME < <(env LURN_THREADS=1 "$LURN" -e 'local i = lurn.info(); print(i.blis_arch_id, i.blis_arch)')
KWHY=$(env LURN_THREADS=1 "$LURN" -e 'print(lurn.info().kernels_why)' | tr '"\\' "' ")
echo "== lurn's kernels: $KNAME (BLIS_ARCH_TYPE=$KID): $KWHY"
echo "{\"side\": \"kernels\", \"name\": \"$KNAME\", \"id\": $KID, \"why\": \"$KWHY\"}" >> "$RAW"
FLOOR_ENV=(env BLIS_ARCH_TYPE="$KID")

# ---- 4. competing processes (--compete) -------------------------------------------
COMPETE_PIDS=()
stop_compete() { for p in "${COMPETE_PIDS[@]}"; do kill "$p" 2>/dev/null; done; }
trap stop_compete EXIT
for ((c = 0; c < COMPETE; c++)); do
  yes > /dev/null & COMPETE_PIDS+=($!)
done
[ "$COMPETE" -gt 0 ] && echo "== $COMPETE competing busy process(es): ${COMPETE_PIDS[*]}"

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

echo "== BLIS square sgemm peak ($KNAME)"
for t in $THREADS; do
  measure "peak t=$t" "${FLOOR_ENV[@]}" "$BIN/gemm_floor" "$t" 5 2 peak:1024
done

# ---- 5. PyTorch's fastest BLAS, chosen per size (below) ---------------------------
torch_env() {  # candidate -> env assignments
  case $1 in
    blis-openmp:auto) echo "LD_LIBRARY_PATH=/usr/lib/$ARCH/blis-openmp" ;;
    blis-openmp:*) echo "LD_LIBRARY_PATH=/usr/lib/$ARCH/blis-openmp BLIS_ARCH_TYPE=${1#*:}" ;;
    openblas-*) echo "LD_LIBRARY_PATH=/usr/lib/$ARCH/$1" ;;
  esac
}
# Per size: each candidate times PyTorch's first cell at 1 thread, train + inference
# process CPU time (which other processes on the machine barely move), 2 rounds in
# alternating order; the fastest serves every PyTorch measurement of that size.
CANDS=("blis-openmp:$KID" "blis-openmp:auto")
for ob in openblas-openmp openblas-pthread; do
  [ -f "/usr/lib/$ARCH/$ob/libblas.so.3" ] && CANDS+=("$ob")
done
FIRST_CELL=$(echo $CELLS | awk '{print $1}')
declare -A TORCH_BLAS_OF   # "B T I H infer|train" -> candidate
pick_torch_blas() {  # B T I H -> sets TORCH_BLAS_OF["B T I H infer"] and [... train]
  local key="$1 $2 $3 $4"
  if [ -n "$TORCH_BLAS" ]; then
    TORCH_BLAS_OF[$key infer]=$TORCH_BLAS; TORCH_BLAS_OF[$key train]=$TORCH_BLAS
    echo "{\"side\": \"torch_blas\", \"size\": \"$key\", \"choice\": \"$TORCH_BLAS\", \"calibration_ms\": {}}" >> "$RAW"
    return
  fi
  declare -A cal=()
  local round cand out order mode
  for ((round = 1; round <= 2; round++)); do
    order=("${CANDS[@]}")
    ((round % 2)) || order=($(printf '%s\n' "${CANDS[@]}" | tac))
    for cand in "${order[@]}"; do
      out=$(env $(torch_env "$cand") BLIS_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
            timeout -k 10 "$TIMEOUT" $PY bench/peer_torch.py --cell "$FIRST_CELL" --B "$1" --T "$2" \
            --I "$3" --H "$4" --threads 1 --warmup 1 --repeats 3 2>/dev/null | grep '^{' |
            $PY -c 'import json,sys,statistics as s; d=json.load(sys.stdin); print("%.3f %.3f" % (s.median(d["infer_cpu_ms"]), s.median(d["train_cpu_ms"])))' 2>/dev/null)
      if [ -n "$out" ]; then
        cal[$cand infer]="${cal[$cand infer]:-} ${out% *}"
        cal[$cand train]="${cal[$cand train]:-} ${out#* }"
      fi
    done
  done
  local js="" line=""
  for mode in infer train; do
    local best="" bestms="" ms mj=""
    for cand in "${CANDS[@]}"; do
      [ -n "${cal[$cand $mode]:-}" ] || continue
      ms=$(tr ' ' '\n' <<<"${cal[$cand $mode]}" | grep . | sort -g | head -1)
      mj="$mj${mj:+, }\"$cand\": $ms"
      if [ -z "$best" ] || awk "BEGIN{exit !($ms < $bestms)}"; then best=$cand; bestms=$ms; fi
    done
    TORCH_BLAS_OF[$key $mode]=${best:-blis-openmp:auto}
    js="$js${js:+, }\"$mode\": {$mj}"
    line="$line $mode: ${TORCH_BLAS_OF[$key $mode]} {$mj};"
  done
  echo "   PyTorch BLAS for $FIRST_CELL $key (1-thread CPU ms, best of 2):$line"
  echo "{\"side\": \"torch_blas\", \"size\": \"$key\", \"choice\": {\"infer\": \"${TORCH_BLAS_OF[$key infer]}\", \"train\": \"${TORCH_BLAS_OF[$key train]}\"}, \"calibration_ms\": {$js}}" >> "$RAW"
}

start=$(date +%s)
for size in "${SIZES[@]}"; do
  read -r B T I H <<<"$size"
  echo "== PyTorch BLAS calibration for $B,$T,$I,$H: ${CANDS[*]}"
  pick_torch_blas "$B" "$T" "$I" "$H"
  BLAS_I=${TORCH_BLAS_OF["$B $T $I $H infer"]}; BLAS_T=${TORCH_BLAS_OF["$B $T $I $H train"]}
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
            measure "floor $cell $size t=$t" "${FLOOR_ENV[@]}" "$BIN/gemm_floor" "$t" "$REPEATS" "$WARMUP" \
              "$cell:$B:$T:$I:$H"
          elif [ "$side" = torch ]; then
            # each mode with its fastest BLAS (one process when they agree)
            if [ "$BLAS_I" = "$BLAS_T" ]; then modes=("$BLAS_I:"); else
              modes=("$BLAS_I:--no-train" "$BLAS_T:--no-infer"); fi
            for mb in "${modes[@]}"; do
              measure "torch $cell $size t=$t ${mb%:*}" env $(torch_env "${mb%:*}") \
                BLIS_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" \
                $PY bench/peer_torch.py --cell "$cell" --B "$B" --T "$T" --I "$I" --H "$H" \
                --threads "$t" --warmup "$WARMUP" --repeats "$REPEATS" ${mb##*:}
            done
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
    TORCH_ENV=($(torch_env "${TORCH_BLAS_OF["${SIZES[0]} train"]:-blis-openmp:auto}"))
    for t in $SST2_THREADS; do
      SST_ARGS=(--data-dir "$DATA_DIR" --threads "$t" --max-batches "$SST2_MAX")
      echo "== SST-2 epoch, torch (threads $t)"
      measure "sst2 torch t=$t" env "${TORCH_ENV[@]}" BLIS_NUM_THREADS="$t" \
        OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" \
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
