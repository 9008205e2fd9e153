#!/bin/bash
# train.ensemble and data.extra end to end on the generated order task:
# members are complete runs with seeds seed, seed+1, ...; the ensemble's
# probabilities are the mean of its members' (checked against each member's
# own predictions); --jobs gives the same members as one after another;
# --resume continues member by member; folds of ensembles; extra training
# files join the training part only; the errors a user can make.
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp" || exit 1
make_data 240
write_config

# ---- three members, one after another -----------------------------------------------
out=$("$LURN" train order.lua train.ensemble=3 --jobs 1 --out ens 2>&1); rc=$?
expect_rc "ensemble of 3" 0 $rc "$out"
expect "ensemble: announced" "run ens: an ensemble of 3 models" "$out"
expect "ensemble: member 3's seed" "member 3/3 (seed 3)" "$out"
expect "ensemble: its own scores" "valid last checkpoints  accuracy" "$out"
for i in 1 2 3; do
  [ -s "ens/member-$i/checkpoints/best.ckpt" ] && [ -s "ens/member-$i/summary.json" ] \
    && ok "member $i is a complete run" || bad "member $i is a complete run" "$(ls ens/member-$i)"
done

# member 1 is the single run of the same seed; member 2 is `--member 2` alone (seed 2 for
# the weights, seed 1's validation split), and differs from member 1
"$LURN" train order.lua --out one1 >/dev/null 2>&1
"$LURN" train order.lua train.ensemble=3 --member 2 --out one2 >/dev/null 2>&1
res=$(jq_lurn 'local function s(p) return json.decode(io.open(p .. "/summary.json"):read("a")) end
  print(s("ens/member-1").final.loss == s("one1").final.loss, s("ens/member-2").final.loss == s("one2").final.loss,
    s("ens/member-1").final.loss ~= s("ens/member-2").final.loss)' 2>&1)
expect "member 1 = the single run, member 2 = --member 2, members differ" "true	true	true" "$res"
res=$("$LURN" eval ens/member-2 --split valid --checkpoint last --json 2>&1 | jq_lurn '
  local e = json.decode(io.read("a"))
  local s = json.decode(io.open("ens/member-2/summary.json"):read("a"))
  print(e.accuracy == s.final.accuracy, math.abs(e.loss - s.final.loss) < 1e-6)' 2>&1)
expect "eval of member 2 rebuilds the split it validated on (seed 1's)" "true	true" "$res"

# the ensemble's probability of a text is the mean of its members'
res=$(jq_lurn 'local function p(run)
    local h = io.popen(os.getenv("LURN") .. " predict " .. run .. " --json \"a b c d\"")
    local o = json.decode(h:read("a")); h:close(); return o.probability, o.label end
  local pe, le = p("ens"); local sum = 0
  for _, m in ipairs { "ens/member-1", "ens/member-2", "ens/member-3" } do
    local q, l = p(m); sum = sum + (l == le and q or 1 - q) end
  print(math.abs(pe - sum / 3) < 1e-6, pe >= 0.5)' 2>&1)
expect "predict: the mean of the members' probabilities" "true	true" "$res"

# several runs joined by commas are one ensemble too: the three members named = the directory
res=$(jq_lurn 'local function p(run)
    local h = io.popen(os.getenv("LURN") .. " predict " .. run .. " --json \"a b c d\"")
    local o = json.decode(h:read("a")); h:close(); return o.probability end
  print(math.abs(p("ens") - p("ens/member-1,ens/member-2,ens/member-3")) < 1e-6)' 2>&1)
expect "predict RUN,RUN,RUN = the ensemble of them" "true" "$res"
out=$("$LURN" eval ens,one1 --split valid 2>&1); rc=$?
expect_rc "eval an ensemble and a run joined by a comma" 0 $rc "$out"
expect "a nested ensemble is named as one" "member 1  ens (an ensemble of 3)" "$out"
out=$("$LURN" eval ens,nope 2>&1); rc=$?
expect_rc "a comma list with a missing run" 4 $rc "$out"
expect "a comma list with a missing run: names it" "nope: no such file or directory" "$out"

# lurn eval on the directory: the summary's figures, the members named
out=$("$LURN" eval ens --split valid --json 2>&1); rc=$?
expect_rc "eval the ensemble" 0 $rc "$out"
res=$(printf '%s' "$out" | jq_lurn 'local e = json.decode(io.read("a"))
  local s = json.decode(io.open("ens/summary.json"):read("a"))
  print(#e.members, e.accuracy == s.valid.accuracy, math.abs(e.loss - s.valid.loss) < 1e-9,
    s.best.value == s.valid.accuracy, #s.members)' 2>&1)
expect "eval = the summary's ensemble score" "3	true	true	true	3" "$res"
out=$("$LURN" eval ens 2>&1)
expect "eval: names the members" "member 2  ens/member-2/checkpoints/best.ckpt" "$out"
expect "eval: confusion matrix" "confusion matrix" "$out"

# ---- --jobs 2: members side by side, the same members ---------------------------------
out=$("$LURN" --threads 2 train order.lua train.ensemble=3 --out par 2>&1); rc=$?
expect_rc "ensemble on 2 threads: 2 members at a time by default" 0 $rc "$out"
expect "--jobs: how it runs" "3 member(s) to train, 2 at a time, 1 thread(s) each" "$out"
[ -s par/member-2.log ] && ok "--jobs: each member's output in its log" || bad "--jobs: member logs" "$(ls par)"
res=$(jq_lurn 'local function s(p) return json.decode(io.open(p .. "/summary.json"):read("a")) end
  local same = true
  for i = 1, 3 do same = same and s("par/member-" .. i).final.loss == s("ens/member-" .. i).final.loss end
  print(same, s("par").valid.accuracy == s("ens").valid.accuracy)' 2>&1)
expect "--jobs 2 = one after another" "true	true" "$res"

# ---- --resume: finished members kept, a missing one trained again ---------------------
rm -rf par/member-3 par/member-3.log par/summary.json
out=$("$LURN" train --resume par --jobs 2 2>&1); rc=$?
expect_rc "resume an ensemble" 0 $rc "$out"
expect "resume: finished members kept" "member 1/3: done before" "$out"
res=$(jq_lurn 'local function s(p) return json.decode(io.open(p .. "/summary.json"):read("a")) end
  print(s("par/member-3").final.loss == s("ens/member-3").final.loss, s("par").valid.accuracy == s("ens").valid.accuracy)' 2>&1)
expect "resume: the same ensemble" "true	true" "$res"

# ---- train.ensemble_vary: members of different architectures in one ensemble ----------
out=$("$LURN" --threads 2 train order.lua train.ensemble=3 "train.ensemble_vary=model.hidden=8,12 model.type=gru,lstm" \
  --out mix 2>&1); rc=$?
expect_rc "ensemble_vary" 0 $rc "$out"
expect "ensemble_vary: member 2's differences said" "member 2/3 (seed 2): model.hidden=12 model.type=lstm" "$out"
res=$(jq_lurn 'local function c(i) return dofile("mix/member-" .. i .. "/config.resolved.lua").model end
  local s = json.decode(io.open("mix/summary.json"):read("a"))
  print(c(1).type, c(1).hidden, c(2).type, c(2).hidden, c(3).type, c(3).hidden, s.members[2].overrides[2])' 2>&1)
expect "ensemble_vary: member i takes the i-th values, cycling" "gru	8	lstm	12	gru	8	model.type=lstm" "$res"
"$LURN" train order.lua train.ensemble=3 "train.ensemble_vary=model.hidden=8,12 model.type=gru,lstm" \
  --member 2 --out mix2 >/dev/null 2>&1
res=$(jq_lurn 'local function s(p) return json.decode(io.open(p .. "/summary.json"):read("a")) end
  print(s("mix2").final.loss == s("mix/member-2").final.loss)' 2>&1)
expect "ensemble_vary: --member 2 alone is the same member" "true" "$res"
out=$("$LURN" train order.lua train.ensemble=2 "train.ensemble_vary=data.max_len=5,9" --out v1 2>&1); rc=$?
expect_rc "ensemble_vary: a data key" 2 $rc "$out"
expect "ensemble_vary: a data key is refused, named" "data.max_len cannot differ between members" "$out"
out=$("$LURN" train order.lua train.ensemble=2 "train.ensemble_vary=model.hidden=8,lots" --out v2 2>&1); rc=$?
expect_rc "ensemble_vary: a bad value" 2 $rc "$out"
expect "ensemble_vary: a bad value names the key" "model.hidden" "$out"
[ ! -e v2 ] && ok "ensemble_vary: a bad value leaves no run" || bad "ensemble_vary: a bad value leaves no run" "$(ls v2)"
out=$("$LURN" train order.lua train.ensemble=2 "train.ensemble_vary=model.hidden" --out v3 2>&1); rc=$?
expect_rc "ensemble_vary: no values" 2 $rc "$out"
expect "ensemble_vary: no values said" "is not key=v1,v2" "$out"

# ---- an ensemble grows on --resume: its members kept, the new ones trained -------------
"$LURN" train order.lua train.ensemble=2 --out grow >/dev/null 2>&1
out=$("$LURN" train --resume grow train.ensemble=3 "train.ensemble_vary=model.hidden=8,8,12" 2>&1); rc=$?
expect_rc "resume with a bigger ensemble" 0 $rc "$out"
expect "grow: the members it had are kept" "member 2/3: done before" "$out"
res=$(jq_lurn 'local s = json.decode(io.open("grow/summary.json"):read("a"))
  print(#s.members, dofile("grow/member-3/config.resolved.lua").model.hidden)' 2>&1)
expect "grow: three members, the new one as ensemble_vary says" "3	12" "$res"
out=$("$LURN" train --resume grow train.ensemble=4 "train.ensemble_vary=model.hidden=8,16,12" 2>&1); rc=$?
expect_rc "resume that would change a member" 2 $rc "$out"
expect "resume that would change a member: refused, the keys named" "train.ensemble_vary" "$out"
out=$("$LURN" train --resume grow train.ensemble=2 2>&1); rc=$?
expect_rc "resume with a smaller ensemble" 2 $rc "$out"

# ---- SIGTERM: every running member saves a checkpoint and stops; --resume finishes ----
"$LURN" --threads 2 train order.lua train.ensemble=3 train.epochs=400 train.eval_every=0 \
  --out sig > sig.out 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q "^epoch" sig/member-1.log 2>/dev/null && grep -q "^epoch" sig/member-2.log 2>/dev/null && break
  sleep 0.1
done
kill -TERM $pid; wait $pid; rc=$?
out=$(cat sig.out)
expect_rc "SIGTERM stops the ensemble" 130 $rc "$out"
expect "SIGTERM: how to resume" "resume with: lurn train --resume sig" "$out"
[ -e sig/member-1/checkpoints/latest ] && [ -e sig/member-2/checkpoints/latest ] \
  && ok "SIGTERM: the running members saved a checkpoint" || bad "SIGTERM: checkpoints" "$(ls sig sig/member-1)"
out=$("$LURN" --threads 2 train --resume sig train.epochs=3 2>&1); rc=$?
expect_rc "resume the stopped ensemble" 0 $rc "$out"
expect "resume: the stopped members resume" "member 1/3 (seed 1): resuming" "$out"
[ -s sig/summary.json ] && [ -s sig/member-3/summary.json ] && ok "resume: the ensemble completes" \
  || bad "resume: the ensemble completes" "$out"
res=$(jq_lurn 'local function s(p) return json.decode(io.open(p .. "/summary.json"):read("a")) end
  local short = true   -- stopped at their epoch or at 3, never trained on to the 400 of the start
  for i = 1, 3 do short = short and s("sig/member-" .. i).epochs < 50 end
  print(short, s("sig/member-3").epochs)' 2>&1)
expect "resume: train.epochs=3 reaches the resumed members" "true	3" "$res"

# Ctrl-C in a terminal: SIGINT to the whole process group, the members as well (any one may
# stop before the ensemble sees its own signal): an interruption, exit 130, no traceback
if command -v python3 >/dev/null; then
  out=$(python3 - "$LURN" <<'PY' 2>&1
import os, signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "--threads", "2", "train", "order.lua", "train.ensemble=3",
    "train.epochs=20000", "train.eval_every=0", "--out", "cc"], stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT, start_new_session=True,
    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
for _ in range(100):
    if os.path.exists("cc/member-2.log") and b"epoch" in open("cc/member-2.log", "rb").read(): break
    time.sleep(0.1)
os.killpg(p.pid, signal.SIGINT)
out, _ = p.communicate(timeout=120)
print(out.decode()); print("rc=%d" % p.returncode)
PY
)
  expect "Ctrl-C (SIGINT to the group): exit 130" "rc=130" "$out"
  expect "Ctrl-C: how to resume" "resume with: lurn train --resume cc" "$out"
  case "$out" in *"stack traceback"*) bad "Ctrl-C: no traceback" "$out" ;; *) ok "Ctrl-C: no traceback" ;; esac
fi

# ---- k-fold cross-validation of ensembles; extra training data -------------------------
"$LURN" "$SRC/docs/examples/order_data.lua" more 50 >/dev/null 2>&1
n_extra=$(wc -l < more/train.txt)
out=$("$LURN" train order.lua data.folds=2 train.ensemble=2 data.extra=more/train.txt \
  train.epochs=1 --out kfe 2>&1); rc=$?
expect_rc "folds of ensembles with data.extra" 0 $rc "$out"
expect "folds of ensembles: mean over folds" "(mean +- sd over 2 folds)" "$out"
[ -s kfe/fold-2/member-2/checkpoints/best.ckpt ] && ok "fold 2, member 2 is a run" || bad "fold 2, member 2" "$(ls -R kfe | head)"
expect "data.extra: the training part grows" "data: $((120 + n_extra)) train, 120 valid" "$(cat kfe/fold-1/member-1.log)"
"$LURN" train order.lua data.folds=2 train.ensemble=2 data.extra=more/train.txt train.epochs=1 \
  --jobs 1 --out kfe1 >/dev/null 2>&1
res=$(jq_lurn 'local function s(p) return json.decode(io.open(p .. "/summary.json"):read("a")) end
  print(s("kfe/fold-2").final.loss == s("kfe1/fold-2").final.loss, s("kfe").mean == s("kfe1").mean,
    io.open("kfe/fold-2/member-2.log") ~= nil, io.open("kfe1/fold-2/member-2.log") == nil)' 2>&1)
expect "folds: members side by side (--fold F --member I) = one after another (--jobs 1)" "true	true	true	true" "$res"
out=$("$LURN" train order.lua data.folds=2 --fold 3 --out f3 2>&1); rc=$?
expect_rc "--fold out of range" 2 $rc "$out"
expect "--fold out of range: says the range" "folds 1 to 2" "$out"
out=$("$LURN" train order.lua data.folds=2 --fold 2 --out f2 2>&1); rc=$?
expect_rc "--fold 2 alone" 0 $rc "$out"
res=$(jq_lurn 'local function s(p) return json.decode(io.open(p .. "/summary.json"):read("a")) end
  print(s("f2").valid == nil, s("f2").final.accuracy ~= nil)' 2>&1)
expect "--fold 2 alone is a plain run" "true	true" "$res"
out=$("$LURN" "$SRC/bench/cv_summary.lua" kfe 2>&1); rc=$?
expect_rc "bench/cv_summary.lua reads folds of ensembles" 0 $rc "$out"
expect "cv_summary: two folds" "kfe: 2 folds, final-epoch accuracy" "$out"
"$LURN" "$SRC/bench/fasttext_splits.lua" order.lua ft data.folds=2 data.extra=more/train.txt >/dev/null 2>&1
res="$(wc -l < ft/fold-1/train.ft) $(wc -l < ft/fold-1/valid.ft)"
expect "fasttext_splits: data.extra in every training part" "$((120 + n_extra)) 120" "$res"

# ---- errors ----------------------------------------------------------------------------
out=$("$LURN" train order.lua train.ensemble=3 --member 4 --out m4 2>&1); rc=$?
expect_rc "--member out of range" 2 $rc "$out"
expect "--member out of range: says the range" "members 1 to 3" "$out"
out=$("$LURN" train order.lua --jobs 2 train.epochs=1 --out j2 2>&1); rc=$?
expect_rc "--jobs on one model" 0 $rc "$out"
expect "--jobs on one model: says it does nothing" "this config trains one model" "$out"
out=$("$LURN" train order.lua train.ensemble=3 --jobs 0 --out j0 2>&1); rc=$?
expect_rc "--jobs 0" 2 $rc "$out"
out=$("$LURN" train order.lua train.ensemble=0 --out e0 2>&1); rc=$?
expect_rc "train.ensemble = 0" 2 $rc "$out"
expect "train.ensemble = 0: names the key" "train.ensemble" "$out"
out=$("$LURN" train order.lua data.extra=nope.txt --out x1 2>&1); rc=$?
expect_rc "data.extra: a missing file" 3 $rc "$out"
expect "data.extra: names the file" "nope.txt" "$out"
[ ! -e x1 ] && ok "a missing extra file leaves no run" || bad "a missing extra file leaves no run"
out=$("$LURN" inspect ens 2>&1); rc=$?
expect_rc "inspect an ensemble" 2 $rc "$out"
expect "inspect an ensemble: says what to give" "give one of them (ens/member-1" "$out"
mkdir -p bad && cp -r ens/member-1 bad/member-1 && cp -r ens/member-2 bad/member-2
printf '1\tz z\n0\ty y\n' > other.txt
"$LURN" train order.lua data.train=other.txt data.valid_split=0 data.test= train.epochs=1 \
  train.best_metric=train_loss --out bad/member-3 >/dev/null 2>&1
out=$("$LURN" eval bad --data data/test.txt 2>&1); rc=$?
expect_rc "members that disagree" 4 $rc "$out"
expect "members that disagree: which one" "member 3" "$out"
finish
