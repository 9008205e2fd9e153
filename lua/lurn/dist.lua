--- lurn.dist — data-parallel training and distributed sweeps over MPI.
--
-- `mpirun -np N lurn train CONFIG` runs N copies of lurn; this module makes
-- them one job. Each rank builds the same model from the same seed, takes
-- its shard of every global batch (train.batch_size is the global batch),
-- and before each optimizer step the gradients are averaged over the ranks
-- with MPI_Iallreduce on fused buckets, started while backward still runs
-- (see `Trainer`). Rank 0 alone writes the run directory.
--
--   local dist = require "lurn.dist"
--   dist.setup()            -- under mpirun: MPI_Init; else nothing (size 1)
--   dist.rank(), dist.size(), dist.active()   -- active: size > 1
--   local code = dist.main("train", fn, ...)  -- a command's body on every rank
--
-- Environment (as Horovod's HOROVOD_* knobs; pass them with mpirun -x):
--   LURN_DIST_TIMEOUT   seconds any wait may take before the job stops with
--                       a message (default 300)
--   LURN_DIST_CHECK     every K steps, compare a hash of the parameters and
--                       the generator on all ranks (0: only at the start)
--   LURN_DIST_BUCKET_MB the fusion threshold: gradients are reduced in buckets
--                       of at least this many MB (default 1)
--   LURN_DIST_OVERLAP   0: reduce after backward instead of during it
--   LURN_DIST_SPARSE    an embedding table's gradient travels as the rows the
--                       batches touched while those rows, summed over the
--                       ranks, are at most this fraction of its rows, else
--                       whole (default M.SPARSE_DEFAULT; 0: always whole)
--   LURN_DIST_VERBOSE   1: rank 0 prints each table's exchange (rows, bytes)
--   LURN_DIST_FAULT     nan@R:S: rank R's loss is NaN at step S (tests)
--
-- The C side (collectives with a watchdog) is lurn.core.dist (src/lua/dist.c).
local lurn = require "lurn"
local core = require "lurn.core"
local errors = require "lurn.errors"

local C = core.dist
local M = {}

--- The default of LURN_DIST_SPARSE: an embedding table's gradient travels
-- as rows when the rows all ranks touched, summed, are at most this
-- fraction of the table's rows, else whole. Measured with `bench/mpi.lua
-- exchange=1` (2 ranks, the SST-2 table [14742, 128]): the rows cost as
-- much as the dense allreduce at 1.25-1.5 of the table (each row carries
-- its index, and every rank receives every rank's rows); at 1.0 they took
-- 16-17 ms against 27-32 ms, at 0.05 4-8 ms (docs/distributed.md).
M.SPARSE_DEFAULT = 1.0

local fallbacks = 0   -- embedding tables sent whole (dist.stats)

local function env_number(name, default, lo)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  local n = tonumber(v)
  if not n or n < lo then
    errors.raise("usage", "%s='%s' is not a number >= %s", name, v, tostring(lo))
  end
  return n
end

--- Whether this lurn was built with MPI.
-- @usage print(lurn.dist.built())   --> true when built with MPI (lurn info: "mpi yes")
function M.built() return C.built() end

--- Under mpirun (or srun): MPI_Init, the watchdog's timeout from
-- LURN_DIST_TIMEOUT. Without an MPI launcher it does nothing; a lurn built
-- without MPI but started by mpirun is an error (it would run N
-- independent copies that all write the same run).
function M.setup()
  if not C.launched() or C.initialized() then return M.rank(), M.size() end
  if not C.built() then
    errors.raise("usage", "started by mpirun, but this lurn was built without MPI "
      .. "(install libopenmpi-dev and rebuild; lurn info says 'mpi no')")
  end
  C.init()
  C.set_timeout(env_number("LURN_DIST_TIMEOUT", 300, 0.1))
  return M.rank(), M.size()
end

--- This process's rank (0 without MPI).
-- @usage if lurn.dist.rank() == 0 then print("rank 0 writes the run directory") end
function M.rank() return C.rank() end
--- The number of ranks (1 without MPI).
-- @usage print(lurn.dist.size())   --> 1 without mpirun
function M.size() return C.size() end
--- More than one rank.
function M.active() return C.initialized() and C.size() > 1 end
--- Rank 0 (or no MPI): the one that writes files and prints.
function M.is_root() return C.rank() == 0 end

--- Run a command's body on every rank: fn(...) -> status. Under MPI, a
-- normal end finalizes MPI; an error that every rank raised together
-- (err.collective: a divergence or a stop all ranks agreed on) finalizes and
-- is raised again for the command line; any other error is this rank's
-- alone: printed with the rank and the job stopped with MPI_Abort (the
-- other ranks would otherwise wait for it until their watchdog fires).
function M.main(name, fn, ...)
  if not C.launched() then return fn(...) end
  M.setup()
  local ok, res = xpcall(fn, function(e)
    if errors.is(e) then return e end
    return debug.traceback(tostring(e), 2)
  end, ...)
  if ok then
    -- MPI_Finalize waits for every rank: after one died (a sweep that
    -- outlived it, mpirun --enable-recovery) it would wait forever
    if M.peer_lost then C.exit_now(res or 0) end
    C.finalize()
    return res
  end
  if errors.is(res) and res.collective then
    C.finalize()
    error(res, 0)
  end
  local code = errors.exit_code(res)
  io.stdout:flush()
  local msg = tostring(errors.is(res) and res.message or res)
  local who = ("rank %d of %d: "):format(C.rank(), C.size())
  if msg:sub(1, #who) == who then who = "" end
  io.stderr:write(("lurn %s: %s%s\n"):format(name, who, msg))
  io.stderr:flush()
  C.abort(code)
end

-- A wait's failure (nil, message, kind) as an error: a signal is an
-- interruption, a timeout a plain error (status 1).
local function check(ok, msg, kind)
  if ok ~= nil then return ok end
  if kind == "signal" then errors.raise("interrupted", "%s", msg) end
  error("dist: " .. tostring(msg), 0)
end

--- Send a string to rank dest with a tag (lurn.sweep.pool's messages).
function M.core_send(dest, tag, s) C.send(dest, tag, s) end

--- Strings from every rank: {s_rank0, s_rank1, ...}.
-- @usage if lurn.dist.initialized() then
--   local all = lurn.dist.allgather(tostring(lurn.dist.rank()))   -- {"0", "1", ...}, rank order
-- end
function M.allgather(s) return check(C.allgather(s)) end
--- Rank 0's string on every rank.
-- @usage if lurn.dist.initialized() then
--   local seed = lurn.dist.bcast(lurn.dist.rank() == 0 and "1234" or nil)   -- rank 0's on all
-- end
function M.bcast(s) return check(C.bcast(s)) end

-- ---- data-parallel training ------------------------------------------------------

--- This rank's part of a global batch (a list of sample indices): a
-- contiguous slice [n*rank/size, n*(rank+1)/size); when size does not divide n, the
-- slices differ by one sample and the larger ones fall to the higher ranks (5 over 2: 2, 3).
function M.shard(index, rank, size)
  rank, size = rank or C.rank(), size or C.size()
  local n = #index
  local lo = (n * rank) // size
  local hi = (n * (rank + 1)) // size
  return table.move(index, lo + 1, hi, 1, {})
end

--- The weight of a local loss in the global mean: how many terms its
-- "mean" divides by (valid targets; the class weights' sum for a weighted
-- cross-entropy); 1 for reduction = "sum" (the sums just add).
function M.loss_weight(loss_fn, target)
  if loss_fn.reduction == "sum" then return 1 end
  if loss_fn.__name == "nn.CrossEntropy" and target:dtype() == "int32" then
    local ignore = loss_fn.ignore_index or -100
    if loss_fn.weight then   -- the mean divides by the targets' class weights
      local flat, cw, sum = target:reshape(target:numel()), loss_fn.weight, 0
      for i = 1, flat:numel() do
        local c = flat:get(i)
        if c ~= ignore then sum = sum + cw:get(c + 1) end
      end
      return sum
    end
    return target:ne(ignore):sum()
  end
  return target:numel()
end

local Trainer = {}
Trainer.__index = Trainer

-- The model's children in the order backward visits them, for buckets that
-- start as soon as their gradients are complete. nil when the model is not
-- a Sequential whose children own disjoint parameters.
local function backward_groups(model, params)
  if type(model.modules) ~= "table" or #model.modules == 0 then return nil end
  local owner, groups = {}, {}
  for i = #model.modules, 1, -1 do
    local m = model.modules[i]
    local g = { module = m, params = {} }
    for _, p in ipairs(m:parameters()) do
      if owner[p.value] then return nil end   -- shared (tied) weights: no early start
      owner[p.value] = g
      g.params[#g.params + 1] = p
    end
    groups[#groups + 1] = g
  end
  local n = 0
  for _, g in ipairs(groups) do n = n + #g.params end
  if n ~= #params then return nil end         -- parameters outside the children
  return groups
end

-- The row-sparse parameters of the model (Module:row_sparse) that
-- lurn.dist may exchange as rows: value -> module, each one listed once in
-- params (a tensor listed twice is tied to something else: dense).
local function sparse_tables(model, params)
  if type(model.row_sparse) ~= "function" then return {} end
  local seen = {}
  for _, p in ipairs(params) do seen[p.value] = (seen[p.value] or 0) + 1 end
  local out = {}
  for _, r in ipairs(model:row_sparse()) do
    if seen[r.value] == 1 and r.value:dim() == 2 then out[r.value] = r.module end
  end
  return out
end

--- A trainer for train.fit under MPI (size > 1): o.model, o.params
-- (model:parameters()), o.loss. Set up by train.fit; its steps:
--   t:begin(step, loss, weight, tokens, bad)  after forward (starts the scalars)
--   model:backward(...)                       buckets start as layers finish
--   t:finish() -> {loss, weight, tokens}      waits, leaves mean gradients
-- The dense parameters travel in fused buckets (MPI_Iallreduce); each
-- embedding table (Module:row_sparse) travels as the rows the ranks'
-- batches touched, or whole when they are many (LURN_DIST_SPARSE).
function M.Trainer(o)
  local t = setmetatable({ model = o.model, params = o.params, loss = o.loss,
    rank = C.rank(), size = C.size() }, Trainer)
  t.check_every = math.tointeger(env_number("LURN_DIST_CHECK", 0, 0)) or 0
  t.overlap = os.getenv("LURN_DIST_OVERLAP") ~= "0"
  t.sparse_max = env_number("LURN_DIST_SPARSE", M.SPARSE_DEFAULT, 0)
  t.verbose = (os.getenv("LURN_DIST_VERBOSE") or "0") ~= "0"
  -- LURN_DIST_FAULT=nan@R:S, for tests: rank R's loss is NaN at step S
  local fr, fs = (os.getenv("LURN_DIST_FAULT") or ""):match("^nan@(%d+):(%d+)$")
  t.fault_rank, t.fault_step = tonumber(fr), tonumber(fs)
  local threshold = env_number("LURN_DIST_BUCKET_MB", 1, 0) * 1048576 / 4   -- floats
  local groups = t.overlap and backward_groups(o.model, o.params)
  if not groups then
    t.overlap = false
    groups = { { params = o.params } }
    -- one group, in backward order (the last parameters' gradients first)
    local rev = {}
    for i = #o.params, 1, -1 do rev[#rev + 1] = o.params[i] end
    groups[1].params = rev
  end
  local sparse = t.sparse_max > 0 and sparse_tables(o.model, o.params) or {}
  local names = {}   -- the groups' records are the children's: names without the path
  for _, p in ipairs(o.params) do names[p.value] = p.name end
  -- the exchanges: dense buckets of consecutive groups' parameters (backward
  -- order) until the threshold, and one per embedding table; each starts
  -- when its last group's backward is done
  local items, cur = {}, nil
  for gi, g in ipairs(groups) do
    for _, p in ipairs(g.params) do
      if sparse[p.value] then
        local V, D = table.unpack(p.value:shape())
        items[#items + 1] = { kind = "sparse", param = p, module = sparse[p.value],
          name = names[p.value],
          V = V, D = D, last_group = gi, exchanges = 0, fallbacks = 0 }
      else
        if not cur then cur = { kind = "dense", params = {}, numel = 0 } end
        cur.params[#cur.params + 1] = p
        cur.numel = cur.numel + p.value:numel()
        cur.last_group = gi
      end
    end
    if cur and cur.numel >= threshold then
      items[#items + 1] = cur
      cur = nil
    end
    g.index = gi
  end
  if cur then items[#items + 1] = cur end
  -- Every rank must start the collectives in the same order, whichever
  -- backward started them (an empty shard starts all in finish): by last
  -- group, then as built.
  for i, b in ipairs(items) do b.order = i end
  table.sort(items, function(a, b)
    if a.last_group ~= b.last_group then return a.last_group < b.last_group end
    return a.order < b.order
  end)
  for _, b in ipairs(items) do
    if b.kind == "dense" then b.c = C.bucket(b.numel) else b.s = C.sparse(b.V, b.D) end
  end
  t.buckets = items
  t.groups = groups
  if t.overlap then t:install_hooks() end
  return t
end

--- Each child's backward, wrapped: when it returns, the buckets whose last
-- group it was start their allreduce, and the running ones are progressed
-- (Open MPI moves a non-blocking collective on only inside MPI calls).
function Trainer:install_hooks()
  for gi, g in ipairs(self.groups) do
    local m = g.module
    local orig = m.backward
    local trainer = self
    m.backward = function(mod, ...)
      local r = orig(mod, ...)
      if trainer.in_step then trainer:group_done(gi) end
      return r
    end
  end
end

--- The gradient tensors of bucket b, in its order.
function Trainer:grads(b)
  local list = {}
  for i, p in ipairs(b.params) do list[i] = p.grad end
  return list
end

-- Start exchange b: a dense bucket's allreduce, or an embedding table's
-- row counts (the rows themselves follow in finish, once every rank knows
-- how many there are).
function Trainer:start_item(b)
  if b.kind == "dense" then b.c:start(self:grads(b), self.weight)
  else b.s:offer(b.module:touched_rows()) end
  b.started = true
end

--- Group gi's backward is done: start the buckets it completes, progress the others.
function Trainer:group_done(gi)
  for _, b in ipairs(self.buckets) do
    if not b.started and b.last_group <= gi then
      self:start_item(b)
    elseif b.started then
      if b.kind == "dense" then b.c:test() else b.s:test() end
    end
  end
end

--- After forward: start the allreduce of the step's scalars (the weighted
-- loss, the weight, tokens, a non-finite loss, a stop request of rank 0's
-- generator use), and fork the generator so that ranks draw different
-- dropout masks: rank 0 keeps the run's generator (which the checkpoint
-- saves), rank r > 0 draws from one seeded by it and r.
function Trainer:begin(step, loss, weight, tokens, bad)
  self.step = step
  C.set_where(("step %d"):format(step))
  if self.fault_rank == self.rank and self.fault_step == step then bad = true end
  self.weight = weight
  local lw = bad and 0 or loss * weight
  self.scalars = C.iallreduce({ lw, weight, tokens or 0, bad and 1 or 0,
    bad and (self.rank + 1) or 0, self.rng_used or 0 }, "sum")
  self.in_step = true
  for _, b in ipairs(self.buckets) do
    b.started = false
    if b.kind == "sparse" then b.module:reset_rows() end   -- (zero_grad follows)
  end
end

--- Called before forward: the generator every rank starts the step with.
function Trainer:fork_rng()
  self.canon = core.rng_state()
  if self.rank > 0 then
    local a, b = string.unpack("<i8<i8", self.canon)
    core.seed((a ~ (b * 31) ~ (self.rank * 0x9E3779B97F4A7C15)) & 0x7fffffffffffffff)
  end
end

--- After forward, before begin: did rank 0's forward draw (dropout)?
function Trainer:note_rng()
  self.rng_used = (self.rank == 0 and core.rng_state() ~= self.canon) and 1 or 0
end

-- Embedding table b, its row counts in: send the rows, or the whole
-- table when the ranks' rows together exceed sparse_max of it (every
-- rank sees the same counts and decides alike).
function Trainer:send_table(b)
  local counts = check(b.s:counts())
  local total = 0
  for _, k in ipairs(counts) do total = total + k end
  local row_bytes = 4 * (b.D + 1)
  b.sparse_now = total <= self.sparse_max * b.V and total * row_bytes < 2 ^ 31
  local grad = b.param.grad
  if b.sparse_now then
    b.s:start(grad, self.weight)
    b.exchanges = b.exchanges + 1
  else
    -- the dense fallback: this table alone in its own bucket (made once)
    b.dense = b.dense or C.bucket(b.V * b.D)
    b.dense:start({ grad }, self.weight)
    b.fallbacks = b.fallbacks + 1
    fallbacks = fallbacks + 1
  end
  if self.verbose and self.rank == 0 then
    local mine = counts[self.rank + 1]
    io.stderr:write(("lurn.dist: step %d: %s [%d x %d]: %s, rows %s = %d (%.1f %% of the "
      .. "table), %d bytes sent by rank 0 (dense %d)\n"):format(self.step, b.name, b.V, b.D,
      b.sparse_now and "sparse" or "dense", table.concat(counts, "+"), total,
      100 * total / b.V, b.sparse_now and mine * row_bytes or 4 * b.V * b.D, 4 * b.V * b.D))
  end
end

--- Wait for everything, leave the averaged gradients; returns the global
-- loss, weight and tokens. A non-finite loss on any rank raises the same
-- "diverged" error on all of them (naming the rank and the step).
function Trainer:finish()
  for _, b in ipairs(self.buckets) do
    if not b.started then self:start_item(b) end
  end
  self.in_step = false
  -- the tables' rows (collectives after every bucket's start, in list order)
  for _, b in ipairs(self.buckets) do
    if b.kind == "sparse" then self:send_table(b) end
  end
  local s = check(self.scalars:wait("the allreduce of the loss"))
  local W = s[2]
  local inv = W > 0 and 1 / W or 0
  for _, b in ipairs(self.buckets) do
    if b.kind == "dense" then check(b.c:finish(self:grads(b), inv))
    elseif b.sparse_now then check(b.s:finish(b.param.grad, inv))
    else check(b.dense:finish({ b.param.grad }, inv)) end
  end
  -- the generator: rank 0's if its forward drew from it, else the same as before
  if s[6] > 0 then
    core.set_rng_state(M.bcast(self.rank == 0 and core.rng_state() or nil))
  else
    core.set_rng_state(self.canon)
  end
  if s[4] > 0 then
    local who = s[4] == 1 and ("rank %d"):format(math.tointeger(s[5]) - 1)
        or ("%d ranks"):format(math.tointeger(s[4]))
    local e = errors.new("diverged", "loss is not finite on %s at step %d", who, self.step)
    e.collective = true
    error(e, 0)
  end
  return s[1] * inv, W, s[3]
end

--- Did any rank ask to stop (its on_step returned false, a signal, the
-- time limit)? Every rank calls this after every step with its own vote;
-- all get the same answer: nil, or the lowest rank that asked.
function Trainer:agree_stop(vote)
  local r = check(C.iallreduce({ vote and (self.size - self.rank) or 0 }, "max")
    :wait("the stop vote"))
  if r[1] > 0 then return self.size - math.tointeger(r[1]) end
  return nil
end

--- Compare the parameters and the generator on all ranks (at the start and
-- every LURN_DIST_CHECK steps); a difference stops every rank with the
-- same error naming the ranks that differ from rank 0.
function Trainer:check(step, force)
  if not force and (self.check_every == 0 or step % self.check_every ~= 0) then return end
  local values = {}
  for i, p in ipairs(self.params) do values[i] = p.value end
  local h = C.hash(values) .. ":" .. core.rng_state()
  C.set_where(("step %d (parameter check)"):format(step))
  local all = M.allgather(h)
  local differ = {}
  for r = 2, #all do
    if all[r] ~= all[1] then differ[#differ + 1] = tostring(r - 1) end
  end
  if #differ > 0 then
    local e = errors.new("config", "the ranks' parameters differ at step %d: rank%s %s "
      .. "hold%s other values than rank 0 (different configs, data or builds?)", step,
      #differ > 1 and "s" or "", table.concat(differ, ", "), #differ > 1 and "" or "s")
    e.collective = true
    error(e, 0)
  end
  self.checked = (self.checked or 0) + 1
end

--- Timing figures (bench/mpi): seconds waited in collectives (wait_s),
-- seconds from each exchange's start to its end (reduce_s), exchanges
-- (reduces) and the bytes this rank put in (bytes); of those, embedding
-- tables sent as rows (sparse, sparse_bytes; gathered_bytes: all ranks'
-- rows received) and sent whole (dense_fallbacks).
-- @usage if lurn.dist.built() then
--   local s = lurn.dist.stats()   -- {wait_s =, reduce_s =, reduces =, bytes =, sparse =, ...}
--   print(s.reduces)   --> 0 before any allreduce
-- end
function M.stats()
  local st = C.stats()
  st.dense_fallbacks = fallbacks
  return st
end

return M
