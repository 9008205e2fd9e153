#!/usr/bin/env bash
# lurn train end to end on a small generated task: what it prints (off a
# terminal: plain lines, never "\r"), every file of the run directory, the
# --json / --quiet / --print-config modes, and the errors a user meets
# (message and exit status).
. "$(dirname "$0")/cli_lib.sh"
cd "$tmp"
make_data 240
write_config

# ---- a run with an override, into --out ----------------------------------------
out=$("$LURN" train order.lua train.epochs=3 --out run1 2>&1); rc=$?
expect_rc "train runs" 0 $rc "$out"
expect "prints the run directory" "run run1" "$out"
expect "prints the override, old -> new" "train.epochs: 2 -> 3" "$out"
expect "prints the data and model sizes" "data: 192 train, 48 valid, 60 test; 2 labels; vocabulary of 12; model of " "$out"
expect "plain progress lines" "epoch 1  step 4  batch 4/12  loss " "$out"
expect "an evaluation line" "eval   epoch 3  step 36  valid loss " "$out"
expect "summary table" "valid, best" "$out"
expect "summary test row" "test, best weights" "$out"
case "$out" in *$'\r'*|*$'\033'*) bad "no \\r or escapes off a terminal" ;; *) ok "no \\r or escapes off a terminal" ;; esac

for f in config.lua config.resolved.lua command.txt env.json metrics.jsonl metrics.csv curves.svg \
         summary.json checkpoints/best.ckpt checkpoints/last.ckpt checkpoints/latest; do
  [ -s "run1/$f" ] && ok "run1/$f written" || bad "run1/$f written"
done
cmp -s order.lua run1/config.lua && ok "config.lua is the file as given" || bad "config.lua is the file as given"
expect "command.txt" "lurn train order.lua train.epochs=3 --out run1" "$(cat run1/command.txt)"
# the resolved config reads back, with the override in it
out=$("$LURN" -e 'local c = require("lurn.config").load(arg[1]); print(c.train.epochs, c.model.type, c.optim.name)' run1/config.resolved.lua 2>&1)
expect "config.resolved.lua loads, override kept" "3	gru	adam" "$out"
[ -z "$(ls run1 | grep -v -E '^(config\.lua|config\.resolved\.lua|command\.txt|env\.json|metrics\.jsonl|metrics\.csv|curves\.svg|summary\.json|checkpoints)$')" ] \
  && ok "no stray files (temporaries renamed)" || bad "no stray files" "$(ls run1)"

# env.json: versions, machine, threads, kernels, seed, data hashes (checked against sha256sum)
sha=$(sha256sum data/train.txt | cut -d' ' -f1)
out=$(jq_lurn 'local e = json.decode(io.open(arg[1]):read("a"))
  print(e.lurn, e.seed, e.threads, e.blas_kernels ~= nil, e.host ~= nil, e.data["data/train.txt"], e.data["data/test.txt"] ~= nil)' run1/env.json 2>&1)
expect "env.json fields" "$("$LURN" --version | cut -d' ' -f2)	1	2	true	true	$sha	true" "$out"

# metrics.jsonl: train records every log_every steps, one valid record per epoch,
# a test record; metrics.csv has the same rows
out=$(jq_lurn 'local n = {}; local last
  for l in io.lines(arg[1]) do local r = json.decode(l); n[r.split] = (n[r.split] or 0) + 1
    if r.split == "valid" then last = r end end
  print(n.train, n.valid, n.test, last.step, last.epoch, type(last.loss), type(last.accuracy),
    type(last.macro_f1), #last.f1_per_class)' run1/metrics.jsonl 2>&1)
expect "metrics.jsonl records" "9	3	1	36	3	number	number	number	2" "$out"
expect "metrics.csv header" "step,epoch,split,loss,accuracy,macro_f1,lr,tokens_per_s,elapsed" "$(head -1 run1/metrics.csv)"
[ "$(wc -l < run1/metrics.csv)" -eq 14 ] && ok "metrics.csv rows" || bad "metrics.csv rows" "$(wc -l < run1/metrics.csv)"
grep -q '^36,3,valid,' run1/metrics.csv && ok "metrics.csv valid row" || bad "metrics.csv valid row"

# curves.svg: a well-formed SVG with the four curves
if command -v python3 >/dev/null; then
  out=$(python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); print(d.documentElement.tagName, len(d.getElementsByTagName("polyline")), "valid accuracy" in open(sys.argv[1]).read())' run1/curves.svg 2>&1)
  expect "curves.svg parses, 4 curves" "svg 4 True" "$out"
fi

# summary.json
out=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a"))
  print(s.status, s.exit_code, s.steps, s.epochs, s.best.metric, s.best.step ~= nil, s.test.n, s.checkpoints.last)' run1/summary.json 2>&1)
expect "summary.json" "completed	0	36	3	valid_accuracy	true	60	run1/checkpoints/last.ckpt" "$out"
[ "$(readlink run1/checkpoints/last.ckpt)" = "$(cat run1/checkpoints/latest)" ] && ok "last.ckpt points at latest" \
  || bad "last.ckpt points at latest" "$(readlink run1/checkpoints/last.ckpt) vs $(cat run1/checkpoints/latest)"

# ---- the default directory: runs/<name>-<UTC time>-<4 hex>, exclusive --------------
a=$("$LURN" train order.lua train.epochs=1 --quiet 2>&1) & b=$("$LURN" train order.lua train.epochs=1 --quiet 2>&1); wait
a=$(ls -d runs/order-* | head -1); b=$(ls -d runs/order-* | tail -1)
[ "$(ls -d runs/order-* | wc -l)" -eq 2 ] && ok "two runs at once get two directories" || bad "two runs at once" "$(ls runs)"
[[ $a =~ ^runs/order-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] && ok "run directory name" || bad "run directory name" "$a"
out=$("$LURN" train order.lua train.epochs=1 --quiet 2>&1)
[[ $out =~ ^runs/order-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] && ok "--quiet prints only the run directory" || bad "--quiet" "$out"

# ---- --json: every line is JSON; events train, eval, summary ----------------------
"$LURN" train order.lua train.epochs=1 --json --out runj > j.out 2>&1; rc=$?
expect_rc "--json" 0 $rc "$(cat j.out)"
out=$(jq_lurn 'local ev = {}; for l in io.lines(arg[1]) do local r = json.decode(l); ev[#ev + 1] = r.event end
  print(ev[#ev], table.concat(ev, " "):find("train eval") ~= nil)' j.out 2>&1)
expect "--json lines" "summary	true" "$out"

# ---- data.folds = 3: three runs, one per fold, and their mean +- sd -------------------
out=$("$LURN" train order.lua data.folds=3 train.epochs=1 --out kf 2>&1); rc=$?
expect_rc "k-fold run" 0 $rc "$out"
expect "k-fold: announced" "run kf: 3-fold cross-validation" "$out"
expect "k-fold: mean and sd" "(mean +- sd over 3 folds)" "$out"
for i in 1 2 3; do
  [ -s "kf/fold-$i/checkpoints/best.ckpt" ] && [ -s "kf/fold-$i/summary.json" ] && ok "fold $i is a complete run" \
    || bad "fold $i is a complete run" "$(ls kf/fold-$i)"
done
res=$(jq_lurn 'local top = json.decode(io.open("kf/summary.json"):read("a")); local sum, n, same = 0, 0, true
  for i, f in ipairs(top.folds) do
    local s = json.decode(io.open(("kf/fold-%d/summary.json"):format(i)):read("a"))
    same = same and s.best.value == f.best; sum = sum + f.best; n = n + 1 end
  print(n, same, math.abs(sum / n - top.mean) < 1e-12, top.sd >= 0, top.metric)' 2>&1)
expect "k-fold summary: every fold's best, their mean" "3	true	true	true	valid_accuracy" "$res"
out=$("$LURN" eval kf/fold-2 --split valid 2>&1); rc=$?
expect_rc "eval a fold" 0 $rc "$out"
expect "eval a fold: on that fold's split" "data/train.txt (fold 2 of 3, seed 1) (80 samples)" "$out"
out=$("$LURN" eval kf 2>&1); rc=$?
expect_rc "eval the k-fold top directory" 2 $rc "$out"
expect "eval the k-fold top directory: says what to give" "kf is a k-fold run: give one of its folds" "$out"

# ---- --print-config: the resolved table, no run --------------------------------------
out=$("$LURN" train order.lua model.hidden=12 --print-config --out nope 2>&1); rc=$?
expect_rc "--print-config" 0 $rc "$out"
expect "--print-config shows the override" "hidden = 12" "$out"
[ ! -e nope ] && ok "--print-config creates no run" || bad "--print-config creates no run"

# ---- errors: message and exit status ---------------------------------------------------
out=$("$LURN" train order.lua train.epochs=three --out e1 2>&1); rc=$?
expect_rc "wrongly typed override" 2 $rc "$out"
expect "wrongly typed override names the key" "train.epochs" "$out"
[ ! -e e1 ] && ok "a config error creates no run directory" || bad "a config error creates no run directory"
out=$("$LURN" train order.lua trian.epochs=3 2>&1); rc=$?
expect_rc "misspelt key" 2 $rc "$out"
expect "misspelt key is named" "trian" "$out"
expect "misspelt key gets a suggestion" "did you mean 'train.epochs'" "$out"
out=$("$LURN" train order.lua data.train=data/missing.txt --out e2 2>&1); rc=$?
expect_rc "missing data file" 3 $rc "$out"
expect "missing data file is named" "data/missing.txt" "$out"
out=$("$LURN" train nosuch.lua 2>&1); rc=$?
expect_rc "missing config file" 2 $rc "$out"
expect "missing config file is named" "nosuch.lua" "$out"
out=$("$LURN" train order.lua --out run1 2>&1); rc=$?
expect_rc "--out a non-empty directory" 2 $rc "$out"
expect "--out refuses and says why" "exists and is not empty" "$out"
out=$("$LURN" train order.lua data.valid_split=0 --out e4 2>&1); rc=$?
expect_rc "best_metric without validation data" 2 $rc "$out"
expect "best_metric without validation data: says why" "needs validation data" "$out"
[ ! -e e4 ] && ok "refused configs leave no run directory" || bad "refused configs leave no run directory"
out=$("$LURN" train order.lua --bogus 2>&1); rc=$?
expect_rc "unknown option" 2 $rc "$out"
out=$("$LURN" train 2>&1); rc=$?
expect_rc "no config" 2 $rc "$out"
# a diverging run (a deep ReLU RNN, SGD with a huge step, no clipping):
# exit 5, summary.json says so, the message names the step
cat > diverge.lua <<'LUA'
return {
  name = "diverge",
  data = { train = "data/train.txt", format = "label_text", valid_split = 0.2 },
  model = { type = "custom", spec = function(nn, data)
    return nn.Sequential { nn.Embedding(data.vocab_size, 8, { padding = 0 }),
      nn.RNN(8, 32, { nonlinearity = "relu", layers = 3 }), nn.Pool("last"),
      nn.Linear(32, data.num_classes) }
  end },
  optim = { name = "sgd", lr = 10, momentum = 0.99 },
  train = { epochs = 3, batch_size = 16, clip = 0 },
}
LUA
out=$("$LURN" train diverge.lua --out div 2>&1); rc=$?
expect_rc "diverged" 5 $rc "$out"
expect "diverged message" "lurn train: loss is nan at step" "$out"
out=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); print(s.status, s.exit_code)' div/summary.json 2>&1)
expect "diverged summary" "diverged	5" "$out"

finish
