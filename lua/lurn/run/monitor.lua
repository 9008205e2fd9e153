--- lurn.run.monitor — what a run watches while train.fit works: the metric
-- records, the best value so far, the progress display, the curves, and
-- the requests to stop (SIGINT/SIGTERM, the time limit).
--
--   local mon = monitor.new{run = run, cfg = cfg, progress = P, labels = labels}
--   train.fit{..., evaluate = mon.evaluate, on_step = mon.on_step,
--             on_eval = mon.on_eval, on_checkpoint = mon.on_checkpoint}
--   mon.best, mon.best_record, mon.last_valid, mon.stop_reason, mon.signal
--   mon:elapsed()     seconds of training, carried across resumes
--
-- A resumed run starts from the records metrics.jsonl already holds (the
-- ones past the checkpoint are gone: rundir's keep_metrics), so the best
-- value and the elapsed time continue where they were.
local lurn = require "lurn"
local lfs = require "lfs"
local metrics = require "lurn.run.metrics"
local svg = require "lurn.run.svg"

local M = {}

local function is_better(mode, v, best)
  if best == nil then return true end
  if mode == "min" then return v < best end
  return v > best
end
M.is_better = is_better

-- checkpoints/<name> -> target, replaced atomically (a symlink renamed over the old one)
local function link(dir, name, target)
  local tmp = dir .. "/." .. name .. ".tmp"
  os.remove(tmp)
  if lfs.link(target, tmp, true) then os.rename(tmp, dir .. "/" .. name) end
end

-- The live line's figures: moving averages over about the last 20 steps.
local function smooth(old, new) return old and (0.95 * old + 0.05 * new) or new end

function M.new(o)
  local run, t, P = o.run, o.cfg.train, o.progress
  local mon = { records = run:read_metrics(), monitor = t.best_metric, mode = t.best_mode }
  local last = mon.records[#mon.records]
  local elapsed0, t0 = last and last.elapsed or 0, lurn.clock()
  function mon.elapsed() return elapsed0 + (lurn.clock() - t0) end

  -- the monitored value of a record: "valid_accuracy" is a valid record's accuracy
  local split, key = mon.monitor:match("^(%a+)_(.+)$")
  local function monitored(r) if r.split == split then return r[key] end end
  for _, r in ipairs(mon.records) do
    local v = monitored(r)
    if v and is_better(mon.mode, v, mon.best) then mon.best, mon.best_record = v, r end
    if r.split == "valid" then mon.last_valid = r end
  end

  -- train.fit's evaluation: the flat record it keeps, the full report here
  local report
  function mon.evaluate(model, data, eo)
    local rec, rep = metrics.evaluate(model, data, { loss = eo.loss, batch_size = eo.batch_size,
      labels = o.labels })
    report = rep
    return rec
  end

  local win = { loss = 0, n = 0, tokens = 0, t = lurn.clock() }   -- since the last log line
  local ema = {}
  local log_every = t.log_every > 0 and t.log_every or math.huge
  function mon.on_step(info)
    local now = lurn.clock()
    win.loss, win.n, win.tokens = win.loss + info.loss, win.n + 1, win.tokens + (info.tokens or 0)
    ema.loss = smooth(ema.loss, info.loss)
    if ema.last then   -- the first step's time includes the setup: not a rate
      ema.dt = smooth(ema.dt, now - ema.last)
      ema.tokens = smooth(ema.tokens, info.tokens or 0)
    end
    ema.last = now
    P:step { step = info.step, epoch = info.epoch, batch = info.batch, batches = info.batches,
      loss = ema.loss, lr = info.lr,
      tokens_per_s = ema.dt and ema.dt > 0 and ema.tokens / ema.dt or nil,
      eta = ema.dt and (t.epochs * info.batches - info.step) * ema.dt or nil,
      valid = mon.last_valid and monitored(mon.last_valid), best = mon.best }
    if info.step % log_every == 0 then
      local dt = now - win.t
      local r = { step = info.step, epoch = info.epoch, split = "train", loss = win.loss / win.n,
        lr = info.lr, tokens_per_s = dt > 0 and win.tokens / dt or nil, elapsed = mon.elapsed(),
        batch = info.batch, batches = info.batches }
      run:log_metric(r)
      P:train(r)
      win.loss, win.n, win.tokens, win.t = 0, 0, 0, now
    end
    -- returning false stops train.fit after this step, with a checkpoint
    mon.signal = lurn.caught_signal()
    if mon.signal then
      mon.stop_reason = "interrupted by " .. mon.signal
      return false
    end
    if t.max_time > 0 and mon.elapsed() >= t.max_time then
      mon.stop_reason = ("time limit of %g s reached (train.max_time)"):format(t.max_time)
      return false
    end
  end

  function mon.on_eval(r)
    local rec = { step = r.step, epoch = r.epoch, split = "valid", loss = r.valid_loss,
      accuracy = r.valid_accuracy, macro_f1 = r.valid_macro_f1, lr = r.lr, elapsed = mon.elapsed() }
    -- a task's own validation metrics (valid_der, ...) are kept too
    for k, v in pairs(r) do
      local name = type(v) == "number" and k:match("^valid_(.+)$")
      if name and rec[name] == nil then rec[name] = v end
    end
    if r.valid_loss == nil then   -- no validation data: the training loss is the record
      rec.split, rec.loss = "train", r.train_loss
    elseif report then
      local f1 = {}
      for i, c in ipairs(report.classes) do f1[i] = c.f1 end
      rec.f1_per_class = f1
    end
    run:log_metric(rec)
    local v = r[mon.monitor]
    local better = v ~= nil and is_better(mon.mode, v, mon.best)
    if better then mon.best, mon.best_record = v, rec end
    if rec.split == "valid" then mon.last_valid = rec end
    P:eval(rec, better)
    mon.draw()
  end

  function mon.on_checkpoint(path)
    local dir, name = path:match("^(.*)/([^/]+)$")
    if name and name:match("^step%-%d+%.ckpt$") then link(dir, "last.ckpt", name) end
  end

  function mon.draw()
    mon.records = run:read_metrics()
    run:write("curves.svg", svg.curves(mon.records, { title = run.path }))
  end

  return mon
end

return M
