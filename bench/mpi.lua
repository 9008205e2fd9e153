--- bench/mpi.lua — data-parallel step time of an LSTM, 1 process or N MPI ranks.
--
--   lurn --threads T bench/mpi.lua [steps=20] [warmup=3] [B=64] [T=100] [I=128] [H=256]
--   mpirun -np N lurn --threads 1 bench/mpi.lua ...
--
-- The model: nn.LSTM(I, H, output "last") -> nn.Linear(H, 2) on a fixed
-- random batch [T, B, I] (the global batch; each rank takes B/N samples),
-- CrossEntropy, Adam. Each timed step: forward, loss, backward (the
-- gradient buckets start as layers finish, lurn.dist), the wait for the
-- allreduce, the optimizer step. Rank 0 prints one JSON line: steps/s,
-- samples/s and the split of a step (ms): fwd, bwd, wait (the allreduce
-- time backward did not hide), opt; reduce_ms is the time from each
-- bucket's start to its completion, summed per step; bytes per step.
-- LURN_DIST_OVERLAP=0 starts the allreduce after backward: its wait is the
-- whole allreduce, the baseline for "how much backward hides".
--
--   mpirun -np N lurn --threads 1 bench/mpi.lua exchange=1 [V=14742] [D=128] [reps=20]
--
-- exchange=1 times an embedding table's gradient exchange alone, the
-- measurement behind LURN_DIST_SPARSE's default: for a [V, D] table (the
-- SST-2 config's by default) and a range of row fractions f, each rank
-- offers f * V / N distinct random rows, and one line per f gives the
-- median ms of the sparse exchange (row counts, allgatherv, adding in rank
-- order) against the dense allreduce of the whole table, over reps runs.
local lurn = require "lurn"
local dist = require "lurn.dist"
local nn, optim = lurn.nn, lurn.optim

local a = { steps = 20, warmup = 3, B = 64, T = 100, I = 128, H = 256, exchange = 0, V = 14742,
  D = 128, reps = 20, opt = 0 }
for _, s in ipairs(arg) do
  local k, v = s:match("^(%w+)=(%d+)$")
  if not k or a[k] == nil then error("bad argument '" .. s .. "' (want steps=, warmup=, B=, T=, I=, H=, exchange=, opt=, V=, D=, reps=)") end
  a[k] = math.tointeger(tonumber(v))
end

dist.setup()
local rank, size = dist.rank(), dist.size()

if a.opt == 1 then
  local m = nn.Sequential { nn.Embedding(a.V, a.D), nn.LSTM(a.D, a.H), nn.Pool("max"), nn.Linear(a.H, 2) }
  local ps = m:parameters()
  local n = 0
  for _, p in ipairs(ps) do n = n + p.value:numel(); p.grad:fill(1e-3) end
  local o = optim.Adam(ps, { lr = 1e-3 })
  o:step()
  local t0 = lurn.clock()
  for _ = 1, a.reps do o:step() end
  local t_opt = (lurn.clock() - t0) / a.reps
  t0 = lurn.clock()
  for _ = 1, a.reps do m:zero_grad() end
  local t_zero = (lurn.clock() - t0) / a.reps
  print(lurn.core.json_encode { bench = "opt", parameters = n, threads = lurn.threads(),
    adam_ms = 1e3 * t_opt, zero_grad_ms = 1e3 * t_zero,
    load = io.open("/proc/loadavg"):read("l"):match("^(%S+ %S+ %S+)") })
  return
end

if a.exchange == 1 then
  assert(dist.active(), "exchange=1 runs under mpirun -np N (N >= 2)")
  local C = lurn.core.dist
  local sp, dense = C.sparse(a.V, a.D), C.bucket(a.V * a.D)
  local grad = lurn.zeros(a.V, a.D)
  lurn.seed(100 + rank)   -- each rank its own rows
  local function median(t) table.sort(t); return t[(#t + 1) // 2] end
  for _, f in ipairs { 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0 } do
    local k = math.min(a.V, math.max(1, math.floor(f * a.V / size + 0.5)))
    local ts, td = {}, {}
    for _ = 1, a.reps do
      -- k distinct rows of this rank: a random permutation's first k, sorted
      local perm, ids = lurn.randperm(a.V), {}
      for i = 1, k do ids[i] = math.tointeger(perm:get(i)) end   -- (0-based)
      table.sort(ids)
      local rows = lurn.tensor(ids, "int32")
      grad:zero()
      for _, v in ipairs(ids) do grad:select(1, v + 1):fill(1) end
      C.iallreduce({ 0 }):wait()   -- start together
      local t0 = lurn.clock()
      sp:offer(rows)
      sp:counts()
      sp:start(grad, 1)
      assert(sp:finish(grad, 0.5))
      ts[#ts + 1] = lurn.clock() - t0
      C.iallreduce({ 0 }):wait()
      t0 = lurn.clock()
      dense:start({ grad }, 1)
      assert(dense:finish({ grad }, 0.5))
      td[#td + 1] = lurn.clock() - t0
    end
    if rank == 0 then
      print(lurn.core.json_encode { bench = "exchange", V = a.V, D = a.D, ranks = size,
        fraction = f, rows_per_rank = k, sparse_bytes_per_rank = k * (a.D + 1) * 4,
        dense_bytes = a.V * a.D * 4, sparse_ms = 1e3 * median(ts), dense_ms = 1e3 * median(td),
        load = io.open("/proc/loadavg"):read("l"):match("^(%S+ %S+ %S+)") })
    end
  end
  lurn.core.dist.finalize()
  return
end
lurn.seed(1)
local model = nn.Sequential { nn.LSTM(a.I, a.H, { output = "last" }), nn.Linear(a.H, 2) }
local params = model:parameters()
local opt = optim.Adam(params, { lr = 1e-3 })
local loss_fn = nn.CrossEntropy()
local x = lurn.randn(a.T, a.B, a.I)
local ylist = {}
for i = 1, a.B do ylist[i] = i % 2 end
local y = lurn.tensor(ylist):int()
local lo, hi = a.B * rank // size, a.B * (rank + 1) // size
local xs, ys = x:narrow(2, lo + 1, hi - lo):contiguous(), y:narrow(1, lo + 1, hi - lo):contiguous()
local tr = dist.active() and dist.Trainer { model = model, params = params, loss = loss_fn } or nil

local sum = { fwd = 0, bwd = 0, wait = 0, opt = 0 }
local s0, t_start
for step = 1, a.warmup + a.steps do
  if step == a.warmup + 1 then
    s0 = tr and dist.stats() or nil
    t_start = lurn.clock()
    for k in pairs(sum) do sum[k] = 0 end
  end
  local t0 = lurn.clock()
  if tr then tr:fork_rng() end
  local loss = loss_fn:forward(model:forward(xs), ys)
  if tr then
    tr:note_rng()
    tr:begin(step, loss, dist.loss_weight(loss_fn, ys), 0, false)
  end
  local t1 = lurn.clock()
  model:zero_grad()
  model:backward(loss_fn:backward())
  local t2 = lurn.clock()
  if tr then tr:finish() end
  local t3 = lurn.clock()
  opt:step()
  local t4 = lurn.clock()
  sum.fwd, sum.bwd = sum.fwd + (t1 - t0), sum.bwd + (t2 - t1)
  sum.wait, sum.opt = sum.wait + (t3 - t2), sum.opt + (t4 - t3)
end
local elapsed = lurn.clock() - t_start
local n = a.steps
local r = {
  bench = "lstm", B = a.B, T = a.T, I = a.I, H = a.H, ranks = size, threads = lurn.threads(),
  overlap = tr and tr.overlap or nil, buckets = tr and #tr.buckets or nil,
  steps = n, steps_per_s = n / elapsed, samples_per_s = n * a.B / elapsed,
  fwd_ms = 1e3 * sum.fwd / n, bwd_ms = 1e3 * sum.bwd / n, wait_ms = 1e3 * sum.wait / n,
  opt_ms = 1e3 * sum.opt / n,
}
if tr then
  local s1 = dist.stats()
  r.reduce_ms = 1e3 * (s1.reduce_s - s0.reduce_s) / n
  r.bytes_per_step = (s1.bytes - s0.bytes) / n
end
if rank == 0 then print(lurn.core.json_encode(r)) end
if dist.active() then lurn.core.dist.finalize() end
