--- bench/lurn_bench.lua — the lurn side of the recurrent benchmark.
--
-- One configuration per process (so its peak RSS is its own), the mirror of
-- bench/peer_torch.py:
--
--   lurn bench/lurn_bench.lua --cell lstm --B 64 --T 100 --I 128 --H 256 \
--        --threads 2 --warmup 2 --repeats 7 [--api nn|core]
--
-- prints one JSON line with the per-repeat times (ms) of
--   infer  one inference forward (eval mode: no BPTT cache is kept);
--   train  one full training step: zero the gradients, forward in training
--          mode, BPTT backward from a fixed upstream gradient dy over all
--          outputs, computing dX as under an embedding, then a plain SGD
--          update p := p - lr * grad over every weight (lr = 1e-3, no
--          momentum: the same rule as torch.optim.SGD on the peer's side);
-- and the peak RSS (VmHWM) after the inference runs and after the training runs.
--
-- --api nn    (default) through nn.RNN/LSTM/GRU, the layer a user builds
-- --api core  straight on lurn.core.rnn_forward / rnn_backward (no module)
-- The SGD step is lurn.optim.SGD (else core.sgd_step, else tensor ops).
-- --gc step  runs collectgarbage() after every step (untimed), to show how
--            much of the peak RSS is garbage the Lua GC has not reached yet
--            (it does not see the size of tensor storage); default auto.
local lurn = require "lurn"
-- helpers shared with the other lurn-side script, next to this file
local common = dofile((arg[0]:match("^(.*)/") or ".") .. "/common.lua")
local vm_hwm_mb = common.vm_hwm_mb
local core = require "lurn.core"

local function parse_args(argv)
  local a = {
    cell = "lstm", B = 64, T = 100, I = 128, H = 256, threads = 2, warmup = 2, repeats = 7,
    lr = 1e-3, api = "nn", infer = true, train = true, gc = "auto",
  }
  local i = 1
  while i <= #argv do
    local k = argv[i]:match("^%-%-(.+)$")
    if not k then error("lurn_bench: unexpected argument " .. argv[i]) end
    if k == "no-infer" then a.infer = false
    elseif k == "no-train" then a.train = false
    else
      local v = argv[i + 1]
      if a[k] == nil then error("lurn_bench: unknown option --" .. k) end
      if v == nil then error("lurn_bench: --" .. k .. " needs a value") end
      a[k] = tonumber(v) or v
      i = i + 1
    end
    i = i + 1
  end
  for _, k in ipairs { "B", "T", "I", "H", "threads", "warmup", "repeats" } do
    a[k] = math.tointeger(a[k]) or error("lurn_bench: --" .. k .. " must be an integer")
  end
  return a
end

--- Minimal JSON for flat tables of numbers, strings, booleans and number arrays.
local function to_json(t, keys)
  local parts = {}
  local function val(v)
    if type(v) == "table" then
      local xs = {}
      for i, x in ipairs(v) do xs[i] = val(x) end
      return "[" .. table.concat(xs, ", ") .. "]"
    elseif type(v) == "number" then
      if v ~= v then return "null" end
      return math.type(v) == "integer" and tostring(v) or ("%.4f"):format(v)
    elseif type(v) == "boolean" then return tostring(v)
    elseif v == nil then return "null"
    else return ('"%s"'):format(tostring(v):gsub('[%c"\\]', function(c)
        return ("\\u%04x"):format(c:byte()) end))
    end
  end
  for _, k in ipairs(keys) do
    if t[k] ~= nil then parts[#parts + 1] = ('"%s": %s'):format(k, val(t[k])) end
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

--- Wall ms and process CPU ms (os.clock) of each repeat.
local function time_it(now, fn, warmup, repeats, gc)
  for _ = 1, warmup do fn(); if gc then collectgarbage() end end
  local ms, cpu = {}, {}
  for r = 1, repeats do
    local c0, t0 = os.clock(), now()
    fn()
    ms[r] = now() - t0
    cpu[r] = (os.clock() - c0) * 1e3
    if gc then collectgarbage() end
  end
  return ms, cpu
end

--- The SGD update p := p - lr * g over a list of {name=, value=, grad=} records:
-- lurn.optim.SGD when the library has it, else the binding core.sgd_step,
-- else tensor ops. Returns the step function and its description.
local function sgd_updater(params, lr)
  local ok, optim = pcall(function() return lurn.optim end)
  if ok and optim and optim.SGD then
    local opt = optim.SGD(params, { lr = lr })
    return function() opt:step() end, ("lurn.optim.SGD(lr=%g), no momentum"):format(lr)
  end
  if core.sgd_step then
    local states = {}
    for i = 1, #params do states[i] = {} end
    return function()
      for i, p in ipairs(params) do core.sgd_step(p.value, p.grad, states[i], { lr = lr }) end
    end, ("core.sgd_step(lr=%g), no momentum"):format(lr)
  end
  return function()
    for _, p in ipairs(params) do p.value:add_(p.grad:mul(-lr)) end
  end, ("tensor ops p:add_(g:mul(-lr)), lr=%g"):format(lr)
end

--- Build the layer and the two benchmarked closures for the chosen API.
local function build(a, x, dy)
  local kind = a.cell == "rnn" and "rnn_tanh" or a.cell
  if a.api == "nn" then
    local ctor = ({ rnn = lurn.nn.RNN, lstm = lurn.nn.LSTM, gru = lurn.nn.GRU })[a.cell]
    if not ctor then error("lurn_bench: unknown cell " .. a.cell) end
    local m = ctor(a.I, a.H)
    local params = m:parameters()
    local step, opt_name = sgd_updater(params, a.lr)
    local function infer() m:eval(); m:forward(x) end
    local function train()
      m:train()
      m:zero_grad()
      m:forward(x)
      m:backward(dy)
      step()
    end
    return infer, train, opt_name
  elseif a.api == "core" then
    local G = ({ rnn = 1, lstm = 4, gru = 3 })[a.cell]
    if not G then error("lurn_bench: unknown cell " .. a.cell) end
    local bound = 1 / math.sqrt(a.H)
    local w = {
      w_ih = lurn.rand({ G * a.H, a.I }, -bound, bound), w_hh = lurn.rand({ G * a.H, a.H }, -bound, bound),
      b_ih = lurn.rand({ G * a.H }, -bound, bound), b_hh = lurn.rand({ G * a.H }, -bound, bound),
    }
    local params = {}
    for _, k in ipairs { "w_ih", "w_hh", "b_ih", "b_hh" } do
      params[#params + 1] = { name = k, value = w[k], grad = lurn.zeros(w[k]:shape()) }
    end
    local step, opt_name = sgd_updater(params, a.lr)
    local y = lurn.zeros(a.T, a.B, a.H)
    local function fwd(training)
      return core.rnn_forward {
        kind = kind, x = x, w_ih = w.w_ih, w_hh = w.w_hh, b_ih = w.b_ih, b_hh = w.b_hh,
        training = training, y = y,
      }
    end
    local function infer() fwd(false) end
    local function train()
      for _, p in ipairs(params) do p.grad:zero() end
      local _, _, _, st = fwd(true)
      core.rnn_backward(st, {
        dy = dy, dw_ih = params[1].grad, dw_hh = params[2].grad,
        db_ih = params[3].grad, db_hh = params[4].grad,
      })
      step()
    end
    return infer, train, opt_name
  end
  error("lurn_bench: --api must be nn or core")
end

local function main(argv)
  local a = parse_args(argv)
  local now = common.now_ms
  lurn.threads(a.threads)
  lurn.seed(0)
  local x = lurn.randn(a.T, a.B, a.I)
  local dy = lurn.randn(a.T, a.B, a.H):mul(0.01)
  local infer, train, opt_name = build(a, x, dy)
  local info = lurn.info()
  local out = {
    side = "lurn", cell = a.cell, B = a.B, T = a.T, I = a.I, H = a.H, threads = lurn.threads(),
    warmup = a.warmup, repeats = a.repeats, api = a.api, optimizer = opt_name, gc = a.gc,
    blis = info.blis, blis_arch = info.blis_arch, blis_openmp = info.blis_openmp,
    build_type = info.build_type,
  }
  if a.infer then
    out.infer_ms, out.infer_cpu_ms = time_it(now, infer, a.warmup, a.repeats, a.gc == "step")
    out.infer_median_ms = common.median(out.infer_ms)
    out.infer_rss_mb = vm_hwm_mb()
  end
  if a.train then
    out.train_ms, out.train_cpu_ms = time_it(now, train, a.warmup, a.repeats, a.gc == "step")
    out.train_median_ms = common.median(out.train_ms)
    out.train_rss_mb = vm_hwm_mb()
  end
  print(to_json(out, {
    "side", "cell", "B", "T", "I", "H", "threads", "warmup", "repeats", "api", "optimizer", "gc",
    "blis", "blis_arch", "blis_openmp", "build_type", "infer_ms", "infer_median_ms",
    "infer_rss_mb", "infer_cpu_ms", "train_ms", "train_median_ms", "train_rss_mb", "train_cpu_ms",
  }))
end

main(arg or { ... })
