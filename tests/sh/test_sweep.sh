#!/usr/bin/env bash
# lurn sweep end to end on the small order task (1-2 epochs a trial): grid
# expansion, seeds as replicates (mean +- sd checked against the trials),
# --jobs 2, a failing trial with --on-error continue and stop, a random
# search grown on --resume (numbers continue, draws unchanged), a trial
# interrupted by SIGTERM and resumed, a changed space refused, and the
# whole space checked before the first trial.
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
make_data 240
write_config

# a value of a trial's record in sweep.jsonl: field of the last "trial" record of trial n
trial_field() {  # dir n field
  jq_lurn 'local v
    for l in io.lines(arg[1]) do
      local r = json.decode(l)
      if r.event == "trial" and r.trial == tonumber(arg[2]) then v = r[arg[3]] end
    end
    print(v)' "$1/sweep.jsonl" "$2" "$3"
}

# ---- grid --------------------------------------------------------------------------
out=$("$LURN" sweep order.lua optim.lr=0.01,0.03 model.hidden=4,8 train.epochs=1 --out g 2>&1); rc=$?
expect_rc "grid sweep runs" 0 $rc "$out"
expect "announces the grid" "sweep g: 4 trials (4 points), 4 to run, 1 at a time, 2 threads each" "$out"
expect "trial 3 is the third combination" "trial 3/4  optim.lr=0.03 model.hidden=4" "$out"
for n in 1 2 3 4; do
  [ -s "g/trial-00$n/summary.json" ] && [ -s "g/trial-00$n.log" ] && ok "trial $n: its run directory and log" \
    || bad "trial $n: its run directory and log" "$(ls g)"
done
expect "a trial is lurn train with the point's overrides" \
  "lurn train order.lua train.epochs=1 optim.lr=0.03 model.hidden=4 --out g/trial-003 --quiet" \
  "$(cat g/trial-003/command.txt)"
for f in sweep.jsonl summary.csv summary.md; do [ -s "g/$f" ] && ok "g/$f written" || bad "g/$f written"; done
[ "$(wc -l < g/summary.csv)" -eq 5 ] && ok "summary.csv: a header and 4 points" || bad "summary.csv rows" "$(cat g/summary.csv)"
expect "summary.csv columns" "rank,trials,optim.lr,model.hidden,n,valid_accuracy_mean,valid_accuracy_sd,test_accuracy_mean,seconds,status" "$(head -1 g/summary.csv)"
# ranked: the means never increase down the file, and each is its trial's score
out=$(jq_lurn 'local scores = {}
  for l in io.lines(arg[1] .. "/sweep.jsonl") do
    local r = json.decode(l)
    if r.event == "trial" then scores[r.trial] = r.score end
  end
  local prev, okc = math.huge, true
  local i = 0
  for l in io.lines(arg[1] .. "/summary.csv") do
    i = i + 1
    if i > 1 then
      local f = {}
      for x in (l .. ","):gmatch("([^,]*),") do f[#f + 1] = x end
      local mean, trial = tonumber(f[6]), tonumber(f[2])
      if mean > prev + 1e-12 or math.abs(mean - scores[trial]) > 1e-5 then okc = false end
      prev = mean
    end
  end
  print(okc and "ranked" or "unranked")' g 2>&1)
expect "summary.csv is ranked by each point's score" "ranked" "$out"
expect "summary.md is a table" "| rank | trials | \`optim.lr\` | \`model.hidden\` | valid_accuracy | test acc | time | status |" "$(cat g/summary.md)"

# ---- seeds as replicates, two jobs ------------------------------------------------
out=$("$LURN" sweep order.lua optim.lr=0.01,0.03 seed=1..2 train.epochs=1 --jobs 2 --out r 2>&1); rc=$?
expect_rc "replicate sweep with --jobs 2" 0 $rc "$out"
rout=$out
expect "threads divided among the jobs" "4 trials (2 points x 2 seeds), 4 to run, 2 at a time, 1 thread each" "$out"
expect "each trial runs with its share of threads" "lurn --threads 1 train order.lua train.epochs=1 optim.lr=0.01 seed=2" "$(cat r/sweep.jsonl)"
# two trials side by side: the second starts before the first ends
order=$(jq_lurn 'local o = {}
  for l in io.lines(arg[1]) do local r = json.decode(l); if r.event ~= "sweep" then o[#o + 1] = r.event .. r.trial end end
  print(table.concat(o, " "))' r/sweep.jsonl)
expect "two trials ran side by side" "start1 start2 trial" "$order"
out=$(jq_lurn 'local s = {}
  for l in io.lines(arg[1] .. "/sweep.jsonl") do
    local r = json.decode(l)
    if r.event == "trial" then s[r.trial] = r.score end
  end
  local function ms(a, b) local m = (a + b) / 2; return m, math.sqrt(((a - m)^2 + (b - m)^2)) end
  local m1, s1 = ms(s[1], s[2])
  for l in io.lines(arg[1] .. "/summary.csv") do
    local trials, mean, sd = l:match("^%d+,([%d ]+),[^,]*,2,([^,]*),([^,]*),")
    if trials == "1 2" then print(math.abs(tonumber(mean) - m1) < 1e-5 and math.abs(tonumber(sd) - s1) < 1e-5 and "mean+sd ok" or ("bad " .. l)) end
  end' r 2>&1)
expect "mean and sd over the seeds match the trials' scores" "mean+sd ok" "$out"
expect "the table printed shows mean +- sd" " +- " "$rout"
grep -q " ± " r/summary.md && ok "summary.md shows mean ± sd" || bad "summary.md shows mean ± sd" "$(cat r/summary.md)"

# ---- a failing trial ---------------------------------------------------------------
# data.format=csv cannot read the label<TAB>text file: that trial fails with a data error
out=$("$LURN" sweep order.lua data.format=label_text,csv train.epochs=1 --out f 2>&1); rc=$?
expect_rc "a failed trial: the sweep's status is the trial's" 3 $rc "$out"
expect "the failure is reported at once, with its reason" "trial 2/2  FAILED (exit 3) after" "$out"
expect "... and its log" "log: f/trial-002.log" "$out"
expect "the log holds the trial's error" "no text column" "$(cat f/trial-002.log)"
expect "the failure is recorded" "failed" "$(trial_field f 2 status)"
expect "the other trial completed (continue)" "completed" "$(trial_field f 1 status)"
expect "the summary shows the failed point" ",1 failed" "$(cat f/summary.csv)"
out=$("$LURN" sweep order.lua data.format=csv,label_text train.epochs=1 --on-error stop --out fs 2>&1); rc=$?
expect_rc "--on-error stop" 3 $rc "$out"
expect "--on-error stop says where it stopped" "the sweep stopped there (--on-error stop)" "$out"
[ ! -e fs/trial-002 ] && ok "no trial starts after the failure" || bad "no trial starts after the failure"

# ---- random search, resumed with more trials ---------------------------------------
out=$("$LURN" sweep order.lua 'optim.lr=log(1e-3,1e-1)' model.hidden=4,8 train.epochs=1 --trials 2 --out rnd 2>&1); rc=$?
expect_rc "random search" 0 $rc "$out"
first=$(grep -o 'trial [12]/2  optim.lr=[^ ]* model.hidden=[0-9]*' <<<"$out" | sed 's|/2||')
out=$("$LURN" sweep --resume rnd --trials 3 2>&1); rc=$?
expect_rc "resume with --trials 3" 0 $rc "$out"
expect "only the new trial runs" "3 trials (3 points), 1 to run" "$out"
expect "its number continues" "trial 3/3  optim.lr=" "$out"
[ -s rnd/trial-003/summary.json ] && ok "trial-003 ran" || bad "trial-003 ran"
draws=$("$LURN" sweep order.lua 'optim.lr=log(1e-3,1e-1)' model.hidden=4,8 train.epochs=1 --trials 3 --dry-run 2>&1)
expect "the draws depend on the seed only (trials 1-2 unchanged)" "$(sed -n 1p <<<"$first" | sed 's/  / /')" "$(sed 's/  / /' <<<"$draws")"
[ "$(grep -c '^trial' <<<"$draws")" -eq 3 ] && ok "--dry-run lists the trials" || bad "--dry-run lists the trials" "$draws"

# ---- a changed space is refused ----------------------------------------------------
out=$("$LURN" sweep --resume rnd order.lua 'optim.lr=log(1e-4,1e-1)' model.hidden=4,8 train.epochs=1 --trials 3 2>&1); rc=$?
expect_rc "changed space refused" 2 $rc "$out"
expect "the difference is printed (old)" "  - axis optim.lr=log(1e-3,1e-1)" "$out"
expect "the difference is printed (new)" "  + axis optim.lr=log(1e-4,1e-1)" "$out"
out=$("$LURN" sweep --resume rnd order.lua 'optim.lr=log(1e-3,1e-1)' model.hidden=4,8 train.epochs=2 --trials 3 2>&1); rc=$?
expect_rc "a changed fixed override refused" 2 $rc "$out"
expect "... named" "  + fixed train.epochs=2" "$out"

# ---- a trial interrupted midway resumes ---------------------------------------------
# (release pass only: it waits for a checkpoint, then signals; the sanitizer
# pass has the same code to run and no time to spare)
if [ "${LURN_SANITIZE:-0}" != 1 ]; then
"$LURN" sweep order.lua optim.lr=0.01,0.03 train.epochs=8 --out int > int.out 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -e int/trial-001/checkpoints/latest ] && break; sleep 0.05; done
kill -TERM $pid; wait $pid; rc=$?
expect_rc "SIGTERM stops the sweep" 130 $rc "$(cat int.out)"
expect "it says how to resume" "resume with: lurn sweep --resume int" "$(cat int.out)"
st=$(trial_field int 1 status)
if [ "$st" = interrupted ]; then
  ok "the interrupted trial is recorded"
  out=$("$LURN" sweep --resume int 2>&1); rc=$?
  expect_rc "the sweep resumes" 0 $rc "$out"
  expect "the interrupted trial continues from its checkpoint" "trial 1/2  optim.lr=0.01  (resuming)" "$out"
  expect "its log keeps the first part" "interrupted by SIGTERM" "$(cat int/trial-001.log)"
  expect "then the next trial" "trial 2/2  done" "$out"
  expect "trial 1 completed all its epochs" "8" "$(trial_field int 1 epochs)"
else
  # the trial finished before the signal arrived: a slow machine; still a resume
  ok "trial 1 ended before the signal ($st); resume checked on trial 2"
  out=$("$LURN" sweep --resume int 2>&1); rc=$?
  expect_rc "the sweep resumes" 0 $rc "$out"
fi
fi

# ---- the whole space is checked before the first trial -----------------------------
out=$("$LURN" sweep order.lua optim.lr=0.01,0.03,20 --out bad1 2>&1); rc=$?
expect_rc "a bad value anywhere is refused first" 2 $rc "$out"
expect "... naming it" "optim.lr must be <= 10, got 20" "$out"
[ ! -e bad1 ] && ok "nothing ran" || bad "nothing ran" "$(ls bad1)"
out=$("$LURN" sweep order.lua model.hiden=4,8 2>&1); rc=$?
expect_rc "unknown key" 2 $rc "$out"
expect "... with the closest key" "did you mean 'model.hidden'?" "$out"
out=$("$LURN" sweep order.lua model.hidden=4,eight 2>&1); rc=$?
expect_rc "a value of the wrong type" 2 $rc "$out"
expect "... typed by the schema" "model.hidden expects an integer, got 'eight'" "$out"
out=$("$LURN" sweep order.lua data.train=data/train.txt,data/nope.txt 2>&1); rc=$?
expect_rc "a missing data file in the space" 3 $rc "$out"
expect "... named with its point" "point 2 (data.train=data/nope.txt): data.train: cannot read data file 'data/nope.txt'" "$out"
out=$("$LURN" sweep order.lua 'optim.lr=log(1e-3,1e-1)' 2>&1); rc=$?
expect_rc "a range without --trials" 2 $rc "$out"
expect "... says random search needs --trials" "random search needs --trials N" "$out"
out=$("$LURN" sweep order.lua optim.lr=0.1..0.3 2>&1); rc=$?
expect_rc "a..b on a number key" 2 $rc "$out"
out=$("$LURN" sweep order.lua --jobs 0 optim.lr=0.1,0.2 2>&1); rc=$?
expect_rc "--jobs 0" 2 $rc "$out"
out=$("$LURN" sweep --help 2>&1); rc=$?
expect_rc "lurn sweep --help" 0 $rc "$out"
expect "help names the syntax" "log(1e-4,1e-2)" "$out"
finish
