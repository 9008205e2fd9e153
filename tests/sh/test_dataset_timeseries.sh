#!/usr/bin/env bash
# datasets/timeseries without the network: options, a local copy that fails its
# SHA-256 check (generated here) is refused and nothing is written; and a copy whose
# hashes are made to match (a patched script) is converted into OUT/timeseries.
set -u
cd "${LURN_TEST_SOURCE_DIR:-$(dirname "$0")/../..}"
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
expect() { case "$3" in *"$2"*) ok "$1" ;; *) bad "$1" "expected '$2' in: $3" ;; esac; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

out=$(bash datasets/timeseries --help); expect "--help" "bash datasets/timeseries [--from DIR] [--out DIR]" "$out"
out=$(bash datasets/timeseries --bogus 2>&1); rc=$?
expect "unknown option" "timeseries: unknown argument '--bogus' (try --help)" "$out"
[ $rc = 1 ] && ok "exit 1" || bad "exit 1" "rc=$rc"
out=$(bash datasets/timeseries --from "$tmp/none" 2>&1)
expect "--from missing" "--from $tmp/none: not a directory" "$out"
mkdir -p "$tmp/empty"
out=$(LURN_DATA="$tmp/empty" bash datasets/timeseries --out "$tmp/out" 2>&1)
expect "LURN_DATA without the files" "timeseries: $tmp/empty holds neither" "$out"

mkdir -p "$tmp/fake/timeseries"
printf '"Month","Passengers"\n"1949-01",112\n' > "$tmp/fake/timeseries/airline-passengers.csv"
out=$(bash datasets/timeseries --from "$tmp/fake" --out "$tmp/out" 2>&1)
expect "a missing file" "has airline-passengers.csv but no monthly-sunspots.csv" "$out"
printf '"Month","Sunspots"\n"1749-01",58.0\n' > "$tmp/fake/timeseries/monthly-sunspots.csv"
printf '"Date","Temp"\n"1981-01-01",20.7\n' > "$tmp/fake/timeseries/daily-min-temperatures.csv"
out=$(bash datasets/timeseries --from "$tmp/fake" --out "$tmp/out" 2>&1); rc=$?
expect "checksum" "timeseries: $tmp/fake/timeseries/airline-passengers.csv: SHA-256 is" "$out"
[ $rc = 1 ] && ok "checksum: exit 1" || bad "checksum: exit 1" "rc=$rc"
n=$(find "$tmp/out" -mindepth 1 | wc -l)
[ "$n" = 0 ] && ok "nothing written" || bad "nothing written" "$(find "$tmp/out")"

# the same script with the fake files' hashes pinned: copied, counted, readable by lurn
cp datasets/common.sh "$tmp/"
script=$tmp/timeseries
cp datasets/timeseries "$script"
for f in airline-passengers monthly-sunspots daily-min-temperatures; do
  h=$(sha256sum "$tmp/fake/timeseries/$f.csv" | cut -d' ' -f1)
  sed -i "s/^  \[$f\]=.*/  [$f]=$h/" "$script"
done
out=$(bash "$script" --from "$tmp/fake" --out "$tmp/out" 2>&1); rc=$?
[ $rc = 0 ] && ok "verified copy: exit 0" || bad "verified copy: exit 0" "$out"
expect "verified copy: counted" "wrote $tmp/out/timeseries/airline-passengers.csv (1 rows)" "$out"
cmp -s "$tmp/fake/timeseries/daily-min-temperatures.csv" "$tmp/out/timeseries/daily-min-temperatures.csv" \
  && ok "copied as is" || bad "copied as is"
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; }
finish
