-- A small checkpointing training run for tests/sh/kill_loop.sh (SIGKILL at
-- random moments, then resume). Arguments are key=value:
--   dir=DIR        run directory: a checkpoint after every step, `latest`,
--                  best.ckpt; a run resumes from DIR when DIR/latest exists
--   keep=K         keep_checkpoints (0 keeps every step: the reference run)
--   max_steps=N    stop after N optimizer steps in all
--   check_dir=DIR  instead of training: every periodic file in DIR must be
--                  one the run still tracks (listed in the kept names of
--                  the checkpoint `latest` names) or the one file newer than
--                  it (written, `latest` not yet updated); prints how many
--                  files exceed KEEP; exit 1 on an orphan
--   compare=A,B    instead of training: compare two training states by
--                  value (weights, optimizer buffers and config, rng, step,
--                  data cursor, schedule, history without wall times, loop
--                  counters except the list of kept files); exit 1 on the
--                  first difference
-- Embedding -> 2-layer LSTM (dropout between layers) -> last step -> Linear,
-- Adam with a cosine schedule stepped per step, clipping, shuffled bucketed
-- batches of 4 from 120 samples (30 per epoch), a validation set (evaluated
-- every epoch: history and best.ckpt).
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data
local train, checkpoint = lurn.train, lurn.checkpoint

local a = {}
for _, s in ipairs(arg) do
  local k, v = s:match("^([%w_]+)=(.*)$")
  if not k then error("bad argument '" .. s .. "' (want key=value)") end
  a[k] = v
end

if a.check_dir then
  local dir = a.check_dir
  local s = checkpoint.load(train.latest_checkpoint(dir))
  local listed = {}
  for _, n in ipairs(s.train.checkpoints or {}) do listed[n] = true end
  local files, newer = 0, 0
  for _, n in ipairs(lurn.core.list_dir(dir)) do
    local st = n:match("^step%-(%d+)%.ckpt$")
    if st then
      files = files + 1
      if tonumber(st) > s.step then
        newer = newer + 1
      elseif not listed[n] then
        print(("ORPHAN %s: not in the kept list of step %d (%s)"):format(n, s.step,
          table.concat(s.train.checkpoints, ", ")))
        os.exit(1)
      end
    end
  end
  if newer > 1 then print(("ORPHAN: %d files newer than step %d"):format(newer, s.step)); os.exit(1) end
  print(math.max(0, files - tonumber(a.keep)))
  return
end

if a.compare then
  local p, q = a.compare:match("^(.-),(.*)$")
  local x, y = checkpoint.load(p), checkpoint.load(q)
  local function tensors_same(u, v, where)
    for k, t in pairs(u) do
      local w = v[k]
      if not w or w:shape() ~= t:shape() or t:eq(w):sum() ~= t:numel() then
        print(("DIFFER %s.%s"):format(where, k)); os.exit(1)
      end
    end
    for k in pairs(v) do if not u[k] then print(("DIFFER %s.%s"):format(where, k)); os.exit(1) end end
  end
  local function same(u, v, where)
    if type(u) ~= "table" or type(v) ~= "table" then
      if u ~= v then print(("DIFFER %s: %s vs %s"):format(where, tostring(u), tostring(v))); os.exit(1) end
      return
    end
    for k, e in pairs(u) do same(e, v[k], where .. "." .. k) end
    for k, e in pairs(v) do same(u[k], e, where .. "." .. k) end
  end
  tensors_same(x.model, y.model, "model")
  tensors_same(x.optimizer.tensors, y.optimizer.tensors, "optim")
  for _, s in ipairs { x, y } do
    for _, r in ipairs(s.history) do r.seconds = nil end
    s.train.checkpoints, s.train.threads = nil, nil
  end
  for _, part in ipairs { "rng", "step", "data", "schedule", "history", "train" } do
    same(x[part], y[part], part)
  end
  same(x.optimizer.config, y.optimizer.config, "optimizer")
  print(("identical at step %d"):format(x.step))
  return
end

local state = 4242
local function rnd(n)
  state = (state * 1103515245 + 12345) % 2147483648
  return state % n
end
local V = 16
local function make(n)
  local seqs, labels = {}, {}
  for i = 1, n do
    local len, s, hi = 2 + rnd(6), {}, 0
    for t = 1, len do
      s[t] = 2 + rnd(V - 2)
      if s[t] >= V // 2 then hi = hi + 1 end
    end
    seqs[i], labels[i] = s, (2 * hi > len) and 1 or 0
  end
  return data.Dataset { seqs = seqs, labels = labels }
end
local train_ds, valid_ds = make(120), make(8)

lurn.seed(5)
local model = nn.Sequential {
  nn.Embedding(V, 4, { padding = 0 }),
  nn.LSTM(4, 6, { layers = 2, dropout = 0.3 }),
  nn.Pool("last"),
  nn.Linear(6, 2),
}
local opt = optim.Adam(model:parameters(), { lr = 0.02 })
local max_steps = tonumber(a.max_steps)
local sched = optim.CosineLR(opt, { total = max_steps, warmup = 3, min_lr = 0.001 })
local latest = io.open(a.dir .. "/latest", "rb")
if latest then latest:close() end

local result = train.fit {
  model = model, loss = nn.CrossEntropy(), optimizer = opt,
  schedule = sched, schedule_every = "step",
  train_data = train_ds, valid_data = valid_ds,
  epochs = 1000000, max_steps = max_steps, batch_size = 4,
  shuffle = true, bucket = true, clip = 1.0,
  checkpoint_dir = a.dir, checkpoint_every = 1, keep_checkpoints = tonumber(a.keep),
  resume = latest and a.dir or nil,
  log = function(line) io.stderr:write(line, "\n") end, log_every = 1000000,
}
print(("finished at step %d"):format(result.step))
