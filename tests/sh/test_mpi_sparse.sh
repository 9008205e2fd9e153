#!/usr/bin/env bash
# mpirun -np 2 lurn train with a large word embedding: its gradient travels
# as the rows the ranks' batches touched (lurn.dist's sparse exchange).
# The same parameters as one process up to summation order (tight
# tolerance), the same parameters bit for bit as the dense allreduce
# (LURN_DIST_SPARSE=0: with 2 ranks both add the same two numbers per
# element), ranks identical after every step (LURN_DIST_CHECK=1), the
# sparse path taken (its verbose lines and summary.json's counters, bytes
# far below the table's) and the dense fallback when the rows are many.
. "$(dirname "$0")/mpi_lib.sh"
cd "$tmp"
# 241 sentences of 3-6 words drawn from 1,500 (a batch of 16 touches ~70
# rows of the table), the label a word's parity: learnable a little, and
# any table row's gradient is hardly ever the same on both ranks. 193 go to
# training: each epoch ends with a batch of 1, where one rank has no sample
# and offers no rows.
"$LURN" -e '
  math.randomseed(7)
  os.execute("mkdir -p data")
  local function write(name, n)
    local f = assert(io.open("data/" .. name, "w"))
    for _ = 1, n do
      local w = {}
      for j = 1, math.random(3, 6) do w[j] = "w" .. math.random(1, 1500) end
      f:write(tonumber(w[1]:sub(2)) % 2 == 0 and "even" or "odd", "\t", table.concat(w, " "), "\n")
    end
    f:close()
  end
  write("train.txt", 241); write("test.txt", 40)'
cat >wide.lua <<'LUA'
return {
  name = "wide",
  data = { train = "data/train.txt", test = "data/test.txt", format = "label_text",
           valid_split = 0.2 },
  model = { type = "gru", embed = 16, hidden = 8 },
  optim = { lr = 0.02 },
  train = { epochs = 2, batch_size = 16, log_every = 1 },
}
LUA
args=(wide.lua --quiet)

# The final parameters of two runs: how many elements differ and the worst
# relative difference; fails when it is above 1e-5 or nothing differs (the
# two runs summed in another order, or took different paths).
close_params() {
  "$LURN" -e '
    local checkpoint = require("lurn").checkpoint
    local x, y = checkpoint.load(arg[1]), checkpoint.load(arg[2])
    local worst, n, differ = 0, 0, 0
    for name, a in pairs(x.model) do
      local b = y.model[name]
      local d = (a - b):abs():max() / math.max(a:abs():max(), 1e-12)
      if d > worst then worst = d end
      differ = differ + a:numel() - a:eq(b):sum()
      n = n + 1
    end
    print(("%d tensors, %d elements differ, max relative difference %.2e"):format(n, differ, worst))
    if worst > 1e-5 or differ == 0 then os.exit(1) end' "$1/checkpoints/last.ckpt" "$2/checkpoints/last.ckpt" 2>&1
}

# Under ASan/UBSan the C paths (rows, an empty shard, the dense fallback)
# run in the two 2-rank runs; the comparisons with one process and with the
# dense allreduce are numerics, the same code: the release pass only.
full=1
[ "${LURN_SANITIZE:-0}" = 1 ] && full=0
LURN_DIST_CHECK=1 LURN_DIST_VERBOSE=1 mpi 2 train "${args[@]}" --out two >two.log 2>&1 \
  && ok "mpirun -np 2, parameters compared after every step" || bad "mpirun -np 2" "$(tail -5 two.log)"
if [ $full = 1 ]; then
  "$LURN" train "${args[@]}" --out one >one.log 2>&1 || bad "one process" "$(tail -3 one.log)"
  LURN_DIST_SPARSE=0 mpi 2 train "${args[@]}" --out dense >dense.log 2>&1 \
    || bad "mpirun -np 2, LURN_DIST_SPARSE=0" "$(tail -5 dense.log)"
fi

# the sparse path: every step, each table row sent once per rank that touched it
steps=$(grep -c '"split":"train"' two/metrics.jsonl)
[ "$steps" -ge 20 ] && ok "$steps steps" || bad "enough steps" "$steps"
n=$(grep -c '^lurn.dist: step [0-9]*: 0.weight \[[0-9]* x 16\]: sparse, rows [0-9]*+[0-9]* = ' two.log)
[ "$n" -eq "$steps" ] && ok "each step's embedding went sparse (verbose lines: $n)" \
  || bad "each step sparse" "$n of $steps; $(grep -m3 'lurn.dist' two.log)"
out=$("$LURN" -e '
  -- bytes per step: the verbose lines, each checked against its rows
  local steps, bytes, dense, empty = 0, 0, nil, 0
  for line in io.lines(arg[1]) do
    local a, b, total, pct, sent, d = line:match("rows (%d+)%+(%d+) = (%d+) %(([%d.]+) %% of the table%), (%d+) bytes sent by rank 0 %(dense (%d+)%)")
    if a then
      assert(tonumber(a) + tonumber(b) == tonumber(total), line)
      assert(tonumber(sent) == tonumber(a) * 17 * 4, "rank 0 sends its rows: " .. line)
      assert(tonumber(total) >= 3 and tonumber(pct) < 15, line)
      if a == "0" or b == "0" then empty = empty + 1 end
      steps, bytes, dense = steps + 1, bytes + tonumber(sent), tonumber(d)
    end
  end
  local s = require("lurn.core").json_decode(io.open(arg[2]):read("a")).dist
  assert(s.sparse_exchanges == steps, ("summary: %s sparse exchanges, %d steps"):format(s.sparse_exchanges, steps))
  assert(s.dense_fallbacks == 0, "no fallback")
  assert(s.sparse_bytes == bytes, ("summary: %s sparse bytes, lines %d"):format(s.sparse_bytes, bytes))
  assert(empty == 2, ("%d steps with an empty shard, expected 2 (a last batch of 1 per epoch)"):format(empty))
  print(("%.0f bytes per step sent by rank 0 instead of %d; 2 steps where a rank had no sample"):format(
    bytes / steps, dense))
  assert(bytes / steps < dense / 10)' two.log two/summary.json 2>&1) \
  && ok "rows and bytes add up: $out" || bad "rows and bytes" "$out"
if [ $full = 1 ]; then
  out=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a"))
    print(("%d sparse exchanges, %.0f bytes reduced per step, %d parameters"):format(
      s.dist.sparse_exchanges, s.dist.bytes_reduced / s.steps, s.num_parameters))
    assert(s.dist.sparse_exchanges == 0 and s.dist.bytes_reduced == 4 * s.num_parameters * s.steps)' \
    dense/summary.json 2>&1) \
    && ok "LURN_DIST_SPARSE=0: every parameter reduced whole ($out)" || bad "LURN_DIST_SPARSE=0" "$out"

  # sparse = dense allreduce bit for bit (2 ranks); = 1 process up to summation order
  out=$("$LURN" "$SRC/tests/sh/resume_run.lua" compare="two/checkpoints/last.ckpt,dense/checkpoints/last.ckpt" 2>&1) \
    && ok "sparse and dense exchange: bit-identical parameters and Adam moments ($out)" \
    || bad "sparse = dense bit for bit" "$out"
  out=$(close_params one two) \
    && ok "2 ranks = 1 process up to summation order ($out)" || bad "2 ranks = 1 process" "$out"
  losses one >one.txt; losses two >two.txt
  out=$(close_losses one.txt two.txt 1e-5) && ok "the same loss curve ($out)" || bad "loss curve" "$out"

  # lazy Adam (optim.lazy): a row is skipped when the reduced gradient's row
  # is zero, the same decision on every rank, so 2 ranks follow 1 process
  # (ranks compared after every step); and it is not the dense update
  LURN_DIST_CHECK=1 mpi 2 train "${args[@]}" optim.lazy=true --out lazy2 >lazy2.log 2>&1 \
    || bad "mpirun -np 2, optim.lazy" "$(tail -5 lazy2.log)"
  "$LURN" train "${args[@]}" optim.lazy=true --out lazy1 >lazy1.log 2>&1 \
    || bad "one process, optim.lazy" "$(tail -3 lazy1.log)"
  out=$(close_params lazy1 lazy2) && ok "lazy Adam: 2 ranks = 1 process up to summation order ($out)" \
    || bad "lazy: 2 ranks = 1 process" "$out"
  if out=$(close_params two lazy2); then bad "lazy differs from dense Adam" "$out"
  elif [[ $out == *"elements differ"* ]]; then ok "lazy Adam's parameters are not dense Adam's ($out)"
  else bad "lazy against dense" "$out"; fi

  # subwords (data.subwords): two row-sparse tables, words and n-gram buckets,
  # both exchanged as rows; 2 ranks follow 1 process
  LURN_DIST_CHECK=1 mpi 2 train "${args[@]}" data.subwords=4096 --out sub2 >sub2.log 2>&1 \
    || bad "mpirun -np 2, data.subwords" "$(tail -5 sub2.log)"
  "$LURN" train "${args[@]}" data.subwords=4096 --out sub1 >sub1.log 2>&1 \
    || bad "one process, data.subwords" "$(tail -3 sub1.log)"
  out=$(close_params sub1 sub2) && ok "subwords: 2 ranks = 1 process up to summation order ($out)" \
    || bad "subwords: 2 ranks = 1 process" "$out"
  out=$(jq_lurn 'local s = json.decode(io.open(arg[1]):read("a"))
    print(("%d sparse exchanges of %d steps"):format(s.dist.sparse_exchanges, s.steps))
    assert(s.dist.sparse_exchanges > 0)' sub2/summary.json 2>&1) \
    && ok "subwords: the tables travel as rows ($out)" || bad "subwords: rows" "$out"
else
  echo "skipped in the sanitizer pass: the comparisons with one process and with LURN_DIST_SPARSE=0"
fi

# the fallback: the order task's 12-word table, each batch touching most of it
make_data 120
write_config
LURN_DIST_VERBOSE=1 mpi 2 train order.lua train.epochs=1 --quiet --out order >order.log 2>&1 \
  || bad "order task, 2 ranks" "$(tail -5 order.log)"
steps=$(jq_lurn 'print(json.decode(io.open(arg[1]):read("a")).steps)' order/summary.json)
n=$(grep -c '^lurn.dist: step [0-9]*: 0.weight \[12 x 8\]: dense, ' order.log)
[ "$steps" -ge 4 ] && [ "$n" -eq "$steps" ] && ok "most rows touched: the dense allreduce ($n of $steps steps)" \
  || bad "dense fallback" "$n of $steps steps; $(grep -m2 'lurn.dist' order.log)"
jq_lurn 'local d = json.decode(io.open(arg[1]):read("a")).dist
  assert(d.sparse_exchanges == 0 and d.dense_fallbacks == tonumber(arg[2]), d.dense_fallbacks)' \
  order/summary.json "$steps" && ok "summary.json: no sparse exchange" || bad "summary.json counters" "$(cat order/summary.json)"
finish
