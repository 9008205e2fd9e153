#!/usr/bin/env bash
# bench/forecast_seeds.sh — train a forecast config with several seeds and report
# every seed's test figures (one-step and multi-step RMSE of the first column, in the
# series' units) and their mean and sample standard deviation. docs/results.md's
# airline figures come from it.
#
#   bash bench/forecast_seeds.sh CONFIG SEEDS [key=value ...]
#   bash bench/forecast_seeds.sh configs/airline.lua "1 2 3 4 5 6 7 8 9 10"
#
# Runs go to runs/seeds-<config name>[-<overrides>]-s<seed> (a run directory that
# exists is reported again, not retrained). Each run is `nice -n 10` with one thread.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LURN=${LURN:-$ROOT/build/lurn}
[ $# -ge 2 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
config=$1; seeds=$2; shift 2
name=$(basename "$config" .lua)
# the overrides are part of the name, so runs of other settings are never reused
tag=$(printf '%s' "$*" | tr -c 'A-Za-z0-9.=' '_')
rows=""
for s in $seeds; do
  dir=runs/seeds-$name${tag:+-$tag}-s$s
  if [ ! -e "$dir/summary.json" ]; then
    t0=$(date +%s.%N)
    LURN_THREADS=1 nice -n 10 "$LURN" train "$config" "$@" seed="$s" --out "$dir" --quiet >/dev/null
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{ printf "%.1f\n", $2 - $1 }' > "$dir/wall_seconds.txt"
  fi
  r=$("$LURN" -e 'local j = require("lurn.core").json_decode(io.open(arg[1]):read("a"))
    local c = j.test.columns[1]
    local w = io.open(arg[2]); local wall = w and w:read("l") or "?"; if w then w:close() end
    print(("%.3f %.3f %d %s"):format(c.one_step.rmse, c.multi_step.rmse, j.test.steps, wall))' \
    "$dir/summary.json" "$dir/wall_seconds.txt")
  read -r one multi steps wall <<<"$r"
  printf 'seed %-3s one-step RMSE %8s   %s-step RMSE %8s   %s s   %s\n' "$s" "$one" "$steps" "$multi" "$wall" "$dir"
  rows="$rows $one,$multi"
done
"$LURN" -e '
  local a, b = {}, {}
  for one, multi in arg[1]:gmatch("([%d.]+),([%d.]+)") do a[#a + 1] = tonumber(one); b[#b + 1] = tonumber(multi) end
  local function ms(x)
    local m = 0; for _, v in ipairs(x) do m = m + v end; m = m / #x
    local s = 0; for _, v in ipairs(x) do s = s + (v - m) ^ 2 end
    return m, #x > 1 and math.sqrt(s / (#x - 1)) or 0
  end
  local m1, s1 = ms(a); local m2, s2 = ms(b)
  print(("%d seeds: one-step RMSE %.2f +- %.2f (min %.2f, max %.2f); multi-step RMSE %.2f +- %.2f (min %.2f, max %.2f)")
    :format(#a, m1, s1, math.min(table.unpack(a)), math.max(table.unpack(a)), m2, s2,
      math.min(table.unpack(b)), math.max(table.unpack(b))))' "$rows"
