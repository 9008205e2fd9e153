-- A small training run for tests/sh/test_resume.sh (exact resume and
-- reproducibility). Arguments are key=value:
--   out=DIR          where final.ckpt (weights, Adam state, schedule, rng) and
--                    history.json go
--   max_steps=N      stop after N optimizer steps in all
--   ckpt_dir=DIR     write checkpoints there every 10 steps (and every epoch)
--   resume=PATH      resume from a checkpoint file (or a run directory)
--   slow=1           after step 20, spend ~50 ms per step (so a test can kill
--                    the process while it is training)
--   compare=A,B      instead of training: compare two checkpoints' tensors
--                    bit for bit, print the first difference, exit 1 if any
-- Embedding -> 2-layer LSTM (dropout between layers) -> max pool -> Linear,
-- Adam + cosine schedule with warmup per step, clipping, shuffled bucketed
-- batches of 8 from 96 synthetic samples: 12 batches per epoch, so step 20
-- is in the middle of epoch 2 and step 40 in epoch 4.
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data
local train, checkpoint = lurn.train, lurn.checkpoint

local a = {}
for _, s in ipairs(arg) do
  local k, v = s:match("^([%w_]+)=(.*)$")
  if not k then error("bad argument '" .. s .. "' (want key=value)") end
  a[k] = v
end

if a.compare then
  local p, q = a.compare:match("^(.-),(.*)$")
  local x, y = checkpoint.load(p), checkpoint.load(q)
  local names = {}
  local function collect(prefix, t)
    for k, v in pairs(t) do names[#names + 1] = { prefix .. k, v } end
  end
  collect("model/", x.model)
  collect("optim/", x.optimizer.tensors)
  local n = 0
  for _, e in ipairs(names) do
    local name, tx = e[1], e[2]
    local ty = name:match("^model/") and y.model[name:sub(7)] or y.optimizer.tensors[name:sub(7)]
    if not ty or ty:shape() ~= tx:shape() or tx:eq(ty):sum() ~= tx:numel() then
      print(("DIFFER %s"):format(name))
      os.exit(1)
    end
    n = n + tx:numel()
  end
  -- the JSON parts, by value (a float 0.0 read back from JSON is the
  -- integer 0: same number, different bytes when written again)
  local function same(u, v, where)
    if type(u) ~= "table" or type(v) ~= "table" then
      if u ~= v then print(("DIFFER %s: %s vs %s"):format(where, tostring(u), tostring(v))) end
      return u == v
    end
    for k, e in pairs(u) do if not same(e, v[k], where .. "." .. k) then return false end end
    for k, e in pairs(v) do if not same(u[k], e, where .. "." .. k) then return false end end
    return true
  end
  for _, part in ipairs { "rng", "step", "schedule" } do
    if not same(x[part], y[part], part) then os.exit(1) end
  end
  if not same(x.optimizer.config, y.optimizer.config, "optimizer") then os.exit(1) end
  print(("identical: %d tensors, %d numbers, rng, schedule, optimizer config, step %d")
    :format(#names, n, x.step))
  return
end

-- synthetic data from a fixed LCG (not lurn's generator): label 1 when most
-- tokens are in the upper half of the vocabulary
local state = 12345
local function rnd(n)
  state = (state * 1103515245 + 12345) % 2147483648
  return state % n
end
local V = 30
local function make(n)
  local seqs, labels = {}, {}
  for i = 1, n do
    local len, s, hi = 3 + rnd(10), {}, 0
    for t = 1, len do
      s[t] = 2 + rnd(V - 2)
      if s[t] >= V // 2 then hi = hi + 1 end
    end
    seqs[i], labels[i] = s, (2 * hi > len) and 1 or 0
  end
  return data.Dataset { seqs = seqs, labels = labels }
end
local train_ds, valid_ds = make(96), make(24)

lurn.seed(7)
local model = nn.Sequential {
  nn.Embedding(V, 8, { padding = 0 }),
  nn.LSTM(8, 16, { layers = 2, dropout = 0.3 }),
  nn.Pool("max"),
  nn.Linear(16, 2),
}
local opt = optim.Adam(model:parameters(), { lr = 0.02 })
local sched = optim.CosineLR(opt, { total = 40, warmup = 5, min_lr = 0.001 })

local result = train.fit {
  model = model, loss = nn.CrossEntropy(), optimizer = opt,
  schedule = sched, schedule_every = "step",
  train_data = train_ds, valid_data = valid_ds,
  epochs = 1000, max_steps = tonumber(a.max_steps), batch_size = 8,
  shuffle = true, bucket = true, clip = 1.0,
  checkpoint_dir = a.ckpt_dir, checkpoint_every = a.ckpt_dir and 10 or nil,
  keep_checkpoints = 0,
  resume = a.resume,
  config = { test = "resume" },
  on_step = a.slow and function(s)
    if s.step >= 20 then
      local t = os.clock()
      while os.clock() - t < 0.05 do end
    end
  end or nil,
  log = function(line) io.stderr:write(line, "\n") end,
}

lurn.mkdir(a.out)
checkpoint.save(a.out .. "/final.ckpt", { model = model, optimizer = opt, schedule = sched,
  rng = true, step = result.step })
for _, r in ipairs(result.history) do r.seconds = nil end
local f = assert(io.open(a.out .. "/history.json", "w"))
f:write(lurn.core.json_encode(result.history), "\n")
f:close()
print(("trained %d steps, %d evaluations, last valid_loss %.6f"):format(result.step,
  #result.history, result.history[#result.history].valid_loss))
