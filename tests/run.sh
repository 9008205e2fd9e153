#!/usr/bin/env bash
# tests/run.sh — the whole test suite: set up, build, run ctest twice.
#
#   bash tests/run.sh            release build, then the sanitizer build
#   LURN_TEST_SANITIZE=0 bash tests/run.sh    skip the sanitizer pass
#
# Pass 1 runs every C, LuaUnit and CLI test on the release build (build/),
# one test at a time: each already uses both cores (LURN_THREADS=2), and
# oversubscribed OpenMP threads spin against each other.
# Pass 2 builds with AddressSanitizer + UndefinedBehaviorSanitizer
# (build-sanitize/, -DLURN_SANITIZE=ON) and runs the same suite there.
# The last two lines: how many were skipped (exit 77, SKIP_RETURN_CODE:
# a tool such as torch is missing, or the test runs in one pass only), then
# the combined count "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh build || exit 1
export LURN_THREADS=${LURN_THREADS:-2}

total_pass=0; total_fail=0; total_skip=0
run_ctest() {  # dir label
  local log; log=$(mktemp)
  echo "== $2: ctest in $1"
  ctest --test-dir "$1" --output-on-failure 2>&1 | tee "$log"
  local line; line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1)
  local total fail
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  fail=$(sed -E 's/.*, ([0-9]+) tests failed.*/\1/' <<<"$line")
  if [ -z "$line" ]; then total=1; fail=1; fi
  # ctest counts a skipped test (exit 77, SKIP_RETURN_CODE) among the passed
  # ones and lists it under "The following tests did not run": take it out.
  local skip; skip=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)$' "$log")
  total_pass=$((total_pass + total - fail - skip)); total_fail=$((total_fail + fail))
  total_skip=$((total_skip + skip))
  rm -f "$log"
}

run_ctest build release
if [ "${LURN_TEST_SANITIZE:-1}" != 0 ]; then
  if LURN_BUILD_TYPE=RelWithDebInfo bash tools/setup.sh build-sanitize -DLURN_SANITIZE=ON; then
    # BLIS and libgomp keep their thread pools and caches to process exit.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    run_ctest build-sanitize sanitize
  else
    echo "sanitize: build failed"; total_fail=$((total_fail + 1))
  fi
fi
# Skipped tests (ctest "Not Run": no torch, or a test kept to one pass) are
# neither passed nor failed; the last line stays the runner's summary.
echo "$total_skip skipped (see ctest's lists above)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
