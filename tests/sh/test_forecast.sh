#!/usr/bin/env bash
# The forecast task end to end on a generated monthly series (trend, season,
# wobble): lurn train, lurn eval, lurn forecast (text, --json, --origin end,
# --svg checked as XML), and the errors (a malformed CSV: exit 3 naming the
# file and line; a bad split: exit 2; bad options: exit 2; no run: exit 4).
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
export LURN_THREADS=1

# 120 months from 2000-01: growth, a 12-month season, a deterministic wobble
awk 'BEGIN { print "Month,Sales,Other"; for (i = 0; i < 120; i++)
  printf "%04d-%02d,%.3f,%d\n", 2000 + int(i / 12), i % 12 + 1,
    (100 + i) * (1 + 0.25 * sin(2 * 3.14159265 * i / 12)) + 3 * sin(i * 1.7), i }' > sales.csv
cat > fc.lua <<'LUA'
return {
  name = "sales", seed = 3, task = "forecast",
  forecast = { file = "sales.csv", time_column = "Month", columns = "Sales",
    test_from = "2008-01", valid = 12, input_len = 12,
    log = true, season = 12, seasonal_diff = true },
  model = { type = "gru", hidden = 8 },
  optim = { lr = 0.01 },
  train = { epochs = 6, batch_size = 8, log_every = 100 },
}
LUA

out=$("$LURN" train fc.lua --out run 2>&1); rc=$?
expect_rc "train" 0 $rc "$out"
expect "train: data line" "data: sales.csv, 120 rows x 1 column(s); 60 train windows, 12 valid, test from 2008-01 (24 rows)" "$out"
expect "train: report" "seasonal naive (season 12)" "$out"
for f in config.lua config.resolved.lua command.txt env.json metrics.jsonl summary.json curves.svg checkpoints/best.ckpt; do
  [ -e "run/$f" ] && ok "run has $f" || bad "run has $f"
done

# the summary's test figures: the model beats persistence on this series,
# and lurn eval computes the same numbers from the checkpoint alone
res=$(jq_lurn 'local t = json.decode(io.open("run/summary.json"):read("a")).test.columns[1]
  print(("%.6f %.6f"):format(t.one_step.rmse, t.multi_step.rmse), t.one_step.rmse < t.persistence.one_step.rmse,
    t.multi_step.rmse < t.persistence.multi_step.rmse)')
expect "model beats persistence (one-step and 24-step)" "	true	true" "$res"
sum_rmse=${res%%	*}
out=$("$LURN" eval run 2>&1); rc=$?
expect_rc "eval" 0 $rc "$out"
expect "eval header" "test part: rows 97-120 (2008-01 to 2009-12, 24 rows); multi-step: 24 steps from 2008-01" "$out"
expect "eval rows" "persistence" "$out"
res=$("$LURN" eval run --json | jq_lurn 'local t = json.decode(io.read("a")).columns[1]
  print(("%.6f %.6f"):format(t.one_step.rmse, t.multi_step.rmse))')
expect "eval --json agrees with summary.json" "$sum_rmse" "$res"

# ---- lurn forecast ----------------------------------------------------------------------
out=$("$LURN" forecast run --svg f.svg 2>&1); rc=$?
expect_rc "forecast" 0 $rc "$out"
expect "forecast rows" "2009-12 " "$out"
expect "forecast errors" "Sales: RMSE " "$out"
expect "forecast wrote the svg" "wrote f.svg" "$out"
# its RMSE is eval's multi-step RMSE (the same forecast)
multi=$(jq_lurn 'print(("%.3f"):format(json.decode(io.open("run/summary.json"):read("a")).test.columns[1].multi_step.rmse))')
expect "forecast RMSE = eval's 24-step RMSE" "Sales: RMSE $multi," "$out"
if command -v xmllint >/dev/null; then
  check "svg is valid XML (xmllint)" xmllint --noout f.svg
elif command -v python3 >/dev/null; then
  check "svg is valid XML (python3)" python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" f.svg
else
  echo "skip: neither xmllint (apt-get install libxml2-utils) nor python3 to check the SVG"; exit 77
fi
expect "svg draws lines" "<polyline" "$(cat f.svg)"
out=$("$LURN" forecast run --origin end --steps 3 2>&1); rc=$?
expect_rc "forecast --origin end" 0 $rc "$out"
expect "forecast after the last row" "2010-03 " "$out"
n=$(printf '%s\n' "$out" | grep -c '^20')
[ "$n" = 3 ] && ok "three rows" || bad "three rows" "$out"
res=$("$LURN" forecast run --origin 2009-01 --steps 2 --json | jq_lurn 'local r = json.decode(io.read("a"))
  print(r.origin, #r.rows, r.rows[2].time, r.rows[2].truth[1] ~= nil, r.errors[1].n)')
expect "forecast --json" "2009-01	2	2009-02	true	2" "$res"
a=$("$LURN" forecast run --json); b=$("$LURN" forecast run --json)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "forecast is deterministic" || bad "forecast is deterministic"
# --csv: the same series from a file gives the same forecast
a=$("$LURN" forecast run --steps 4); b=$("$LURN" forecast run --steps 4 --csv sales.csv)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "forecast --csv" || bad "forecast --csv" "$a // $b"

# ---- two columns: the model reads and predicts both, each gets its block ------------------
out=$("$LURN" train fc.lua forecast.columns=Sales,Other forecast.log=false train.epochs=2 --out two --quiet 2>&1); rc=$?
expect_rc "two columns: train" 0 $rc "$out"
out=$("$LURN" eval two 2>&1)
expect "two columns: Sales block" "Sales                      1-step RMSE" "$out"
expect "two columns: Other block" "Other                      1-step RMSE" "$out"
out=$("$LURN" forecast two --steps 1 2>&1)
expect "two columns: forecast header" "Sales        truth        Other        truth" "$out"

# ---- resume: 3 epochs, then resumed to 6, ends with the weights of the 6-epoch run -----------
"$LURN" train fc.lua train.epochs=3 --out run2 --quiet >/dev/null 2>&1
out=$("$LURN" train --resume run2 train.epochs=6 --quiet 2>&1); rc=$?
expect_rc "resume" 0 $rc "$out"
a=$("$LURN" eval run --checkpoint last --json | jq_lurn 'print(json.decode(io.read("a")).columns[1].multi_step.rmse)')
b=$("$LURN" eval run2 --checkpoint last --json | jq_lurn 'print(json.decode(io.read("a")).columns[1].multi_step.rmse)')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "resumed run = uninterrupted run ($a)" || bad "resumed run = uninterrupted run" "$a vs $b"

# ---- errors -----------------------------------------------------------------------------
out=$("$LURN" forecast run --origin 1999-01 2>&1); rc=$?
expect_rc "unknown origin" 2 $rc "$out"
expect "unknown origin message" "--origin 1999-01: no row has that time" "$out"
out=$("$LURN" forecast run --origin 2000-06 2>&1); rc=$?
expect_rc "too little history" 2 $rc "$out"
expect "too little history message" "has 5 rows of history; the model needs 24" "$out"
out=$("$LURN" forecast run --steps 0 2>&1); rc=$?
expect_rc "--steps 0" 2 $rc "$out"
out=$("$LURN" predict run hello 2>&1); rc=$?
expect_rc "predict on a forecast run" 2 $rc "$out"
expect "predict on a forecast run: message" "a run of task 'forecast'; lurn predict labels texts" "$out"
out=$("$LURN" forecast nothing-here 2>&1); rc=$?
expect_rc "no run" 4 $rc "$out"
sed '50s/.*/2004-02,12x.5,49/' sales.csv > bad.csv
out=$("$LURN" train fc.lua forecast.file=bad.csv --out bad 2>&1); rc=$?
expect_rc "malformed CSV" 3 $rc "$out"
expect "malformed CSV message" "bad.csv:50: column 'Sales': '12x.5' is not a finite number" "$out"
[ ! -e bad ] && ok "no run directory for bad data" || bad "no run directory for bad data"
out=$("$LURN" train fc.lua forecast.columns=Sales,Other --out bad 2>&1); rc=$?
expect_rc "log of a zero" 3 $rc "$out"
expect "log of a zero: message" "sales.csv:2: column 'Other': 0 <= 0, and forecast.log = true needs positive values" "$out"
out=$("$LURN" train fc.lua forecast.test_from=2020-01 --out bad 2>&1); rc=$?
expect_rc "test_from after the data" 2 $rc "$out"
expect "test_from message" 'forecast.test_from = "2020-01": no row of sales.csv is at or after it' "$out"
out=$("$LURN" train fc.lua forecast.columns=Nope --out bad 2>&1); rc=$?
expect_rc "unknown column" 3 $rc "$out"
expect "unknown column message" "sales.csv:1: header: no column 'Nope'" "$out"
out=$("$LURN" train fc.lua forecast.input_len=90 --out bad 2>&1); rc=$?
expect_rc "input_len too long" 2 $rc "$out"
expect "input_len message" "forecast.input_len = 90: no training window fits" "$out"
finish
