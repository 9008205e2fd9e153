#!/usr/bin/env bash
# tests/fuzz/run.sh — build and run every libFuzzer harness (tests/fuzz/fuzz_*.c).
#
#   bash tests/fuzz/run.sh SECONDS [NAME...]    each harness (or the named ones) for SECONDS
#   bash tests/fuzz/run.sh long [NAME...]       the pre-release setting: 300 s per harness
#                                                (about an hour for all of them; the suite
#                                                runs 2 s each, tests/sh/test_fuzz.sh)
#   LURN_FUZZ_DIR=dir                            where builds, corpora and findings go
#                                                (default build-fuzz/)
#   LURN_FUZZ_JOBS=N                             parallel fuzzing processes per harness (default 1)
#
# The harnesses and lurn's C sources (src/core, src/lua) are compiled with
# clang -fsanitize=fuzzer,address,undefined; objects are rebuilt only when a
# source or header is newer. Each harness starts from its seed corpus in the
# tree (tests/fuzz/corpus/<name>/, read only) plus what earlier runs found
# (LURN_FUZZ_DIR/corpus/<name>/). A crash, leak, sanitizer report or timeout
# leaves the input in LURN_FUZZ_DIR/findings/ and makes the script fail.
# The last lines give, per harness: executions, coverage (edges), corpus size.
#
# The suite runs it for a few seconds per harness (tests/sh/test_fuzz.sh);
# docs/security.md ("Fuzzing") has the long local runs and their figures.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:?usage: tests/fuzz/run.sh SECONDS|long [NAME...]}
shift
[ "$secs" = long ] && secs=300
case $secs in ''|*[!0-9]*) echo "fuzz: SECONDS must be a whole number or 'long', got '$secs'"; exit 2;; esac
out=${LURN_FUZZ_DIR:-build-fuzz}
jobs=${LURN_FUZZ_JOBS:-1}
CC=${LURN_FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)"; exit 1; }

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
blis_inc=$(ls -d /usr/include/*/blis-openmp 2>/dev/null | head -1)
blis_lib=$(ls -d /usr/lib/*/blis-openmp 2>/dev/null | head -1)
CFLAGS="-g -O1 -std=gnu11 $SAN -Isrc/core -Isrc/lua -isystem $blis_inc $(pkg-config --cflags lua5.4)"
LIBS="$blis_lib/libblis.so -Wl,-rpath,$blis_lib -lcjson $(pkg-config --libs lua5.4) -fopenmp -lm"

mkdir -p "$out/obj" "$out/corpus" "$out/findings"
newest_header=$(ls -t src/core/*.h src/lua/*.h | head -1)
objs=() stale=()
for src in src/core/*.c src/lua/*.c; do
  obj="$out/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
    stale+=("$src")
  fi
  objs+=("$obj")
done
# Compile what is stale on every core (-Wno-pass-failed: clang's note that
# an `omp simd` loop was not vectorised is not ours to fix here).
export CC CFLAGS out
if [ ${#stale[@]} -gt 0 ] && ! printf '%s\n' "${stale[@]}" | xargs -P "$(nproc)" -I{} sh -c \
    '$CC $CFLAGS -Wno-pass-failed -fsanitize=fuzzer-no-link -DLURN_VERSION="\"fuzz\"" \
     -DLURN_BUILD_TYPE="\"fuzz\"" -fopenmp -c "$1" -o "$out/obj/$(echo "$1" | tr / _).o" \
     || { echo "fuzz: cannot compile $1"; exit 255; }' _ {}; then
  exit 1
fi

names=("$@")
if [ ${#names[@]} = 0 ]; then
  for h in tests/fuzz/fuzz_*.c; do names+=("$(basename "$h" .c)"); done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1 LURN_THREADS=1
fail=0
summary=()
for name in "${names[@]}"; do
  h=tests/fuzz/$name.c
  [ -f "$h" ] || { echo "fuzz: no harness $h"; fail=1; continue; }
  bin="$out/$name"
  if [ ! -x "$bin" ] || [ "$h" -nt "$bin" ] || [ tests/fuzz/fuzz_lua.h -nt "$bin" ] ||
     [ -n "$(find "$out/obj" -newer "$bin" -name '*.o' | head -1)" ]; then
    $CC $CFLAGS -fsanitize=fuzzer "$h" "${objs[@]}" $LIBS -o "$bin" || { echo "fuzz: cannot link $name"; fail=1; continue; }
  fi
  mkdir -p "$out/corpus/$name" "tests/fuzz/corpus/$name"
  dict=(); [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  log="$out/$name.log"
  echo "== $name: ${secs}s"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$out/findings/$name-" ${dict[@]+"${dict[@]}"} \
    $( [ "$jobs" -gt 1 ] && echo "-fork=$jobs -ignore_crashes=0" ) \
    "$out/corpus/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1
  rc=$?
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+')
  corpus=$(ls "$out/corpus/$name" | wc -l)
  if [ $rc != 0 ] || grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$log"; then
    echo "fuzz: $name FAILED (exit $rc); see $log and $out/findings/"
    grep -E "ERROR|runtime error|SUMMARY" "$log" | head -5
    fail=1
  fi
  summary+=("$(printf '%-18s %ss  executions %s  coverage %s edges  corpus %s files' "$name" "$secs" "${execs:-?}" "${cov:-?}" "$corpus")")
done
printf '%s\n' "${summary[@]}"
exit $fail
