--- lurn.train — the training loop: epochs, evaluation, early stopping,
-- checkpoints with exact resume, progress.
--
--   local result = train.fit{
--     model = model, loss = nn.CrossEntropy(), optimizer = opt,
--     train_data = train_ds, valid_data = valid_ds,     -- data.Dataset
--     epochs = 10, batch_size = 32, shuffle = true, bucket = true,
--     clip = 5,                                          -- global-norm clipping
--     schedule = sched, schedule_every = "epoch",        -- or "step"
--     patience = 3, monitor = "valid_loss",              -- early stopping
--     checkpoint_dir = "runs/x", checkpoint_every = 500, -- steps; also every epoch end
--     resume = "runs/x",                                 -- a checkpoint file or a directory
--   }
--   result.history   -- one record per evaluation: {epoch=, step=, lr=, train_loss=,
--                    --   valid_loss=, valid_accuracy=, ...}
--   result.best, result.stopped, result.step, result.checkpoint
--
--   train.evaluate(model, dataset, {loss = l, batch_size = 64}) -> {loss=, accuracy=, n=}
--
-- Every option, with its default, is in OPTIONS below; an unknown option
-- is an error naming the closest known one.
--
-- Exact resume: a checkpoint holds everything that decides what happens
-- next — weights, optimizer moments and step counts, schedule position,
-- the generator's state (dropout masks, later shuffles), the current
-- epoch's batch plan and position in it, the loop's running sums and
-- early-stopping counters, the history. A run resumed from it takes the
-- same steps, bit for bit, as one never stopped (same thread count;
-- tests/sh/test_resume.sh kills a run with SIGKILL to prove it).
--
-- Under `mpirun -np N` (lurn.dist set up, as `lurn train` does) the loop is
-- data-parallel: each rank takes its shard of every global batch of
-- batch_size, the gradients are averaged over the ranks before each step,
-- rank 0 alone checkpoints and prints (docs/distributed.md);
-- `distributed = false` keeps a process to itself.
--
-- The loop never prints except through `log` (default: stdout). On a
-- terminal it redraws one progress line; off a terminal it prints plain
-- lines every `log_every` steps and one per evaluation.
local lurn = require "lurn"
local util = require "lurn.util"
local optim = require "lurn.optim"
local checkpoint = require "lurn.checkpoint"
local seqm = require "lurn.nn.seq"
local core = require "lurn.core"
local dist = require "lurn.dist"

local M = {}

-- Options and their defaults (nil: none). `false` placeholders keep the
-- key known while the default stays nil.
local OPTIONS = {
  model = false, loss = false, optimizer = false, train_data = false,
  valid_data = false,
  epochs = 1, max_steps = false,                  -- stop after this many steps in all
  batch_size = 32, shuffle = true, bucket = false, drop_last = false,
  eval_batch_size = false,                        -- default: batch_size
  target = false,                                 -- batch field or function(batch); default
                                                  --   batch.targets or batch.labels
  clip = false, clip_value = false,               -- global norm / per element
  average = false,                                -- decay of a moving average of the weights
                                                  --   that evaluations and checkpoints use
  schedule = false, schedule_every = "epoch",     -- "epoch" or "step" (plateau: each eval)
  metrics = false,                                -- {name = fn(output, target) -> sum, count};
                                                  --   default accuracy for CE/BCE losses
  eval_every = false,                             -- also evaluate every n steps
  monitor = false,                                -- default valid_loss (or train_loss)
  mode = false,                                   -- "min"/"max"; default by name
  patience = false, min_delta = 0,                -- early stopping: evaluations w/o gain
  restore_best = false,                           -- load the best weights at the end
  checkpoint_dir = false, checkpoint_every = false, keep_checkpoints = 2,
  resume = false,                                 -- checkpoint file or directory
  config = false, vocab = false,                  -- saved with every checkpoint
  extra = false,                                  -- JSON-able, saved with every checkpoint
  tensors = false,                                -- function() -> {name = tensor}, saved with
                                                  --   every checkpoint (s.tensors on load): state
                                                  --   outside the model, e.g. a carried RNN state
  evaluate = false,                               -- function(model, data, opts) -> record
                                                  --   (flat numbers); default M.evaluate
  on_step = false, on_eval = false, on_checkpoint = false,
  log = false,                                    -- function(line); false: print
  log_every = false,                              -- default about 10 lines per epoch
  progress = "auto",                              -- "auto", "bar", "lines", "none"
  distributed = "auto",                           -- under mpirun (lurn.dist): data-parallel
                                                  --   over the ranks; false: this process alone
}

-- The type each option must have when given (false counts as not given
-- for log, as in OPTIONS); schedule and target are checked below.
local OPTION_TYPES = {
  checkpoint_dir = "string", resume = "string", monitor = "string", mode = "string",
  progress = "string", clip = "number", clip_value = "number", min_delta = "number",
  average = "number",
  on_step = "function", on_eval = "function", on_checkpoint = "function", evaluate = "function",
  log = "function", metrics = "table", shuffle = "boolean", bucket = "boolean",
  drop_last = "boolean", restore_best = "boolean",
}

local function check_options(opts)
  util.check_keys(opts, OPTIONS, "train.fit", 3)
  local o = {}
  for k, v in pairs(OPTIONS) do
    if opts[k] ~= nil then o[k] = opts[k] elseif v ~= false then o[k] = v end
  end
  for _, k in ipairs { "model", "loss", "optimizer", "train_data" } do
    if not o[k] then util.user_error(("train.fit: option '%s' is required"):format(k)) end
  end
  if o.schedule_every ~= "epoch" and o.schedule_every ~= "step" then
    util.user_error(("train.fit: schedule_every must be 'epoch' or 'step', got '%s'")
      :format(tostring(o.schedule_every)))
  end
  -- 0 means "off" (as in the config file): no step-based evaluations or
  -- checkpoints (epoch ends still do both), default logging.
  for _, k in ipairs { "checkpoint_every", "eval_every", "log_every" } do
    if o[k] == 0 then o[k] = nil end
  end
  if o.checkpoint_every and not o.checkpoint_dir then
    util.user_error("train.fit: checkpoint_every needs checkpoint_dir")
  end
  for _, k in ipairs { "epochs", "batch_size", "max_steps", "checkpoint_every", "eval_every",
    "log_every", "patience", "keep_checkpoints" } do
    local v = o[k]
    if v ~= nil and (math.type(v) ~= "integer" or v < 0) then
      util.user_error(("train.fit: %s must be a non-negative integer, got %s"):format(k, tostring(v)))
    end
  end
  for _, kn in ipairs { { "model", "forward", "backward", "parameters" },
    { "loss", "forward", "backward" }, { "optimizer", "step", "zero_grad" } } do
    local k = kn[1]
    for i = 2, #kn do
      local f = kn[i]
      if type(o[k]) ~= "table" or type(o[k][f]) ~= "function" then
        util.user_error(("train.fit: %s must be %s (it has no %s method), got %s"):format(k,
          k == "optimizer" and "an optim optimizer" or "an nn module", f, type(o[k])))
      end
    end
  end
  local typed = {}
  for k in pairs(OPTION_TYPES) do typed[#typed + 1] = k end
  table.sort(typed)
  for _, k in ipairs(typed) do
    local v = o[k]
    if v ~= nil and not (k == "log" and v == false) and type(v) ~= OPTION_TYPES[k] then
      util.user_error(("train.fit: %s must be a %s, got %s"):format(k, OPTION_TYPES[k],
        lurn.is_tensor(v) and "tensor" or type(v)))
    end
  end
  if o.schedule ~= nil and (type(o.schedule) ~= "table" or type(o.schedule.step) ~= "function") then
    util.user_error(("train.fit: schedule must be an optim schedule (with a step method), got %s")
      :format(type(o.schedule)))
  end
  if o.target ~= nil and type(o.target) ~= "string" and type(o.target) ~= "function" then
    util.user_error(("train.fit: target must be a batch field name or a function(batch), got %s")
      :format(type(o.target)))
  end
  if o.batch_size == 0 then util.user_error("train.fit: batch_size must be at least 1, got 0") end
  if o.average ~= nil and not (o.average >= 0 and o.average < 1) then
    util.user_error(("train.fit: average must be a decay in [0, 1), got %s"):format(o.average))
  end
  if o.average == 0 then o.average = nil end
  for _, k in ipairs { "train_data", "valid_data" } do
    local d = o[k]
    if d and (type(d) ~= "table" or type(d.size) ~= "function" or type(d.batches) ~= "function") then
      util.user_error(("train.fit: %s must be a data.Dataset (with size and batches methods), got %s")
        :format(k, type(d) == "table" and "a table without them" or type(d)))
    end
  end
  return o
end

-- ---- metrics -----------------------------------------------------------------

--- train.accuracy(output, target [, ignore_index]) — correct predictions and their count:
-- class logits [N, C] with int32 targets [N], [T, B, C] (or a Seq) with
-- targets [T, B] (ignore_index and padding left out), or binary logits [N] /
-- [N, 1] with 0/1 float targets.
-- @treturn integer correct
-- @treturn integer counted
-- @usage local right, n = train.accuracy(lurn.tensor {{2, 1}, {0, 3}}, lurn.tensor({0, 0}, "int32"))   --> 1, 2
function M.accuracy(output, target, ignore_index)
  local out = seqm.split(output)
  if target:dtype() == "int32" then
    local pred = out:argmax(out:dim())
    if pred:numel() ~= target:numel() then
      util.user_error(("train.accuracy: %s logits do not match %s targets"):format(
        tostring(out:shape()), tostring(target:shape())))
    end
    pred = pred:view(target:shape())
    local valid = target:ne(ignore_index or -100)
    return pred:eq(target):mul(valid):sum(), valid:sum()
  end
  local n = target:numel()
  if out:numel() ~= n then
    util.user_error(("train.accuracy: %s logits do not match %s targets"):format(
      tostring(out:shape()), tostring(target:shape())))
  end
  local pred = out:reshape(n):gt(0)
  return pred:eq(target:reshape(n):gt(0.5)):sum(), n
end

local function default_metrics(loss)
  local name = loss.__name
  if name == "nn.CrossEntropy" then
    return { accuracy = function(out, t) return M.accuracy(out, t, loss.ignore_index) end }
  elseif name == "nn.BCEWithLogits" then
    return { accuracy = function(out, t) return M.accuracy(out, t) end }
  end
  return {}
end

local function target_of(batch, target)
  if type(target) == "function" then return target(batch) end
  if type(target) == "string" then return batch[target] end
  return batch.targets or batch.labels
end

--- train.evaluate(model, data [, opts]) — mean loss and metrics over a dataset, in eval mode
-- (the model's mode is restored).
-- Options (default first):
--   loss = nil            an nn loss: the record gets `loss`
--   batch_size = 32
--   metrics = nil         {name = fn(output, target) -> sum, count} (default: accuracy with CE/BCE)
--   target = nil          batch field name or function(batch)
-- @tparam nn.Module model
-- @tparam data.Dataset data
-- @tparam[opt] table opts the options above
-- @treturn table {loss =, accuracy =, n =, ...}
-- @usage local r = train.evaluate(model, ds, { loss = nn.CrossEntropy() })   -- r.loss, r.accuracy, r.n
function M.evaluate(model, data, opts)
  if type(model) ~= "table" or type(model.forward) ~= "function" then
    util.user_error(("train.evaluate: expected a model (an nn module), got %s"):format(type(model)))
  end
  if type(data) ~= "table" or type(data.batches) ~= "function" then
    util.user_error(("train.evaluate: data must be a data.Dataset, got %s"):format(type(data)))
  end
  if opts ~= nil and type(opts) ~= "table" then
    util.user_error(("train.evaluate: options must be a table, got %s"):format(type(opts)))
  end
  opts = opts or {}
  local metrics = opts.metrics
  if metrics == nil then metrics = opts.loss and default_metrics(opts.loss) or {} end
  local was = model.training
  model:eval()
  local n, loss_sum, sums, counts = 0, 0, {}, {}
  for batch in data:batches { size = opts.batch_size or 32 } do
    local out = model:forward(batch)
    local t = target_of(batch, opts.target)
    local b = #batch.index
    if opts.loss then loss_sum = loss_sum + opts.loss:forward(out, t) * b end
    for name, fn in pairs(metrics) do
      local s, c = fn(out, t)
      sums[name] = (sums[name] or 0) + s
      counts[name] = (counts[name] or 0) + c
    end
    n = n + b
  end
  model:train(was)
  local r = { n = n }
  if opts.loss and n > 0 then r.loss = loss_sum / n end
  for name, s in pairs(sums) do
    r[name] = counts[name] > 0 and s / counts[name] or 0 / 0
  end
  return r
end

-- ---- progress ----------------------------------------------------------------

local function fmt_time(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then return ("%d:%02d:%02d"):format(s // 3600, s % 3600 // 60, s % 60) end
  return ("%d:%02d"):format(s // 60, s % 60)
end

local function fmt_num(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
  if v ~= 0 and (math.abs(v) < 1e-3 or math.abs(v) >= 1e5) then return ("%.3e"):format(v) end
  return ("%.4f"):format(v)
end

-- A record as "k v" pairs in a stable order: the loss and metrics, then lr.
local function fmt_record(r)
  local keys = {}
  for k in pairs(r) do
    if k ~= "epoch" and k ~= "step" and k ~= "lr" and k ~= "seconds" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. " " .. fmt_num(r[k]) end
  if r.lr then parts[#parts + 1] = ("lr %.3g"):format(r.lr) end
  return table.concat(parts, "  ")
end

local function make_progress(o)
  local host = package.loaded["lurn.host"]
  local sink = o.log or function(line) io.stdout:write(line, "\n"); io.stdout:flush() end
  local mode = o.progress
  if mode == "auto" then
    mode = (not o.log and host and host.isatty and host.isatty(1)) and "bar" or "lines"
  end
  local p = { mode = mode, drawn = false }
  -- a full line (ends the bar if one is drawn)
  function p.line(s)
    if p.mode == "none" then return end
    if p.drawn then io.stdout:write("\r\27[K"); p.drawn = false end
    sink(s)
  end
  -- the bar: redrawn in place on a terminal
  function p.bar(s)
    if p.mode ~= "bar" then return end
    io.stdout:write("\r\27[K", s)
    io.stdout:flush()
    p.drawn = true
  end
  return p
end

-- ---- the loop ----------------------------------------------------------------


local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- train.latest_checkpoint(dir) — the newest checkpoint in a run directory (its `latest` file), or nil.
-- The pointer is read from a file, so it may only name a periodic
-- checkpoint in that directory (step-<n>.ckpt), never another path.
-- @tparam string dir a checkpoint_dir of train.fit
-- @treturn string|nil the path
-- @usage print(train.latest_checkpoint("runs/none"))   --> nil
function M.latest_checkpoint(dir)
  local f = io.open(dir .. "/latest", "rb")
  if not f then return nil end
  local name = f:read("l")
  f:close()
  if not name or not name:match(checkpoint.PERIODIC_PATTERN) then
    error(("%s/latest: names %s, not a checkpoint train.fit writes (step-<n>.ckpt)")
      :format(dir, name and ("%q"):format(name:sub(1, 60)) or "nothing"), 0)
  end
  return dir .. "/" .. name
end

-- Files train.fit may delete in a run directory, and only these: its own
-- periodic checkpoints (by name pattern, in that directory, regular files,
-- not symlinks) and the temporary files of lurn's writes whose process is
-- gone ("<name>.ckpt.tmp.<pid>" or "latest.tmp.<pid>", left by a kill
-- during a write: core.save_checkpoint names its temporary files so).
local function remove_periodic(dir, name)
  if not name:match(checkpoint.PERIODIC_PATTERN) then return end
  local path = dir .. "/" .. name
  if core.file_kind(path) == "file" then os.remove(path) end
end

local function remove_stale_temps(dir)
  for _, name in ipairs(core.list_dir(dir) or {}) do
    local base, pid = name:match("^(.+)%.tmp%.(%d+)$")
    pid = pid and math.tointeger(tonumber(pid))
    if base and pid and pid > 0 and pid <= 0x7fffffff and
        (base:match("^[%w_%-][%w_%-.]*%.ckpt$") or base == "latest") and
        not core.pid_alive(pid) and core.file_kind(dir .. "/" .. name) == "file" then
      os.remove(dir .. "/" .. name)
    end
  end
end

-- Is the directory of checkpoint file `path` the directory `dir`?
local function same_dir(path, dir)
  local a = core.realpath((path:match("^(.*)/[^/]*$") or "."))
  local b = core.realpath(dir)
  return a ~= nil and a == b
end

local function is_nonfinite(x) return x ~= x or x == math.huge or x == -math.huge end

local function reversed(list)
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[i] end
  return out
end

-- For a non-finite loss: "; non-finite value in parameter 'x' at element k"
-- naming the first parameter whose weights hold NaN/Inf, or "".
local function nonfinite_value(params)
  local values = {}
  for i, p in ipairs(params) do values[i] = p.value end
  local i, e = lurn.core.check_finite(values)
  if not i then return "" end
  return ("; non-finite value in parameter '%s' at element %d"):format(params[i].name, e)
end

--- One data-parallel step's forward and backward on this rank's shard
-- (batch false: an empty shard); returns the global loss and tokens with
-- the averaged gradients in place.
function M._dist_step(dt, step, model, loss_fn, batch, target_field)
  dt:fork_rng()
  local loss, weight, tokens, bad = 0, 0, 0, false
  if batch then
    local out = model:forward(batch)
    local target = target_of(batch, target_field)
    if target == nil then
      error(("train.fit: the batch has no targets (fields labels/targets); set 'target'"), 0)
    end
    loss = loss_fn:forward(out, target)
    bad = is_nonfinite(loss)
    weight = dist.loss_weight(loss_fn, target)
    tokens = batch.lengths and batch.lengths:sum() or 0
  end
  dt:note_rng()
  dt:begin(step, loss, weight, tokens, bad)
  model:zero_grad()
  if batch and not bad then model:backward(loss_fn:backward()) end
  local g_loss, _, g_tokens = dt:finish()
  return g_loss, g_tokens
end

--- train.fit(opts) — train a model: epochs of batches, evaluation, early stopping, checkpoints.
-- Each step: forward, loss, zero_grad, backward, clipping, optimizer step
-- (and the schedule). A checkpoint holds everything that decides what
-- happens next, so `resume` continues bit for bit as if never stopped.
-- Options (default first; model, loss, optimizer and train_data required):
--   model                 an nn module
--   loss                  an nn loss (nn.CrossEntropy(), ...)
--   optimizer             an optim optimizer over model:parameters()
--   train_data            a data.Dataset
--   valid_data = nil      a data.Dataset evaluated at each epoch end (and eval_every)
--   epochs = 1
--   max_steps = nil       stop after this many steps in all
--   batch_size = 32
--   shuffle = true
--   bucket = false        batch sequences of similar length together
--   drop_last = false
--   eval_batch_size = nil the evaluation's batch size (default batch_size)
--   target = nil          batch field name or function(batch) (default batch.targets or labels)
--   clip = nil            global gradient-norm clipping
--   clip_value = nil      per-element gradient clipping
--   average = nil         a decay d in (0, 1): keep an exponential moving average of
--                         the parameters (Polyak averaging), updated after every step
--                         with min(d, (1 + step) / (10 + step)); evaluations, the best
--                         weights and the model part of every checkpoint are the
--                         average (the raw weights ride along for resume), and the
--                         model holds the average when fit returns. 0: off
--   schedule = nil        an optim schedule
--   schedule_every = "epoch"  or "step" (ReduceLROnPlateau: at each evaluation)
--   metrics = nil         {name = fn(output, target) -> sum, count} (default: accuracy for CE/BCE)
--   eval_every = nil      also evaluate every n steps (0: off)
--   monitor = "valid_loss" the metric early stopping and best weights follow
--                         (train_loss without valid_data)
--   mode = nil            "min" or "max" (default: "min" for a loss, else "max")
--   patience = nil        stop after this many evaluations without improvement
--   min_delta = 0         what counts as an improvement
--   restore_best = false  load the best weights at the end
--   checkpoint_dir = nil  where checkpoints go (step-<n>.ckpt and `latest`)
--   checkpoint_every = nil  steps between checkpoints (also every epoch end; 0: off)
--   keep_checkpoints = 2  periodic checkpoints kept
--   resume = nil          a checkpoint file or directory to continue from
--   config, vocab, extra = nil  saved with every checkpoint (JSON-able)
--   evaluate = nil        function(model, data, opts) -> record (default train.evaluate)
--   on_step, on_eval, on_checkpoint = nil  callbacks
--   log = nil             function(line) (default: print)
--   log_every = nil       steps between progress lines (default about 10 per epoch)
--   progress = "auto"     "auto", "bar", "lines" or "none"
--   distributed = "auto"  under mpirun (lurn.dist): data-parallel over the ranks;
--                         false: this process alone (docs/distributed.md)
-- With LURN_PROFILE=1 in the environment, the result's `profile` holds the seconds the
-- steps spent in each phase (data, forward_backward, check_clip, optimizer, rest) and `steps`.
-- @tparam table opts the options above
-- @treturn table {step =, epoch =, history = {records}, best = {metric =, value =,
--   epoch =, step =}, stopped = reason or nil, checkpoint = last file or nil,
--   profile = the phases' seconds (LURN_PROFILE=1) or nil}
-- @usage local ds = data.Dataset { seqs = {{1, 2}, {2, 1}, {1, 1}, {2, 2}}, labels = {0, 1, 0, 1} }
-- local model = nn.Sequential { nn.Embedding(3, 4), nn.GRU(4, 8), nn.Pool("last"), nn.Linear(8, 2) }
-- local result = train.fit { model = model, loss = nn.CrossEntropy(),
--   optimizer = optim.Adam(model:parameters(), {lr = 1e-2}), train_data = ds,
--   epochs = 2, batch_size = 2, progress = "none" }
-- print(result.step, result.history[#result.history].train_loss)
function M.fit(opts)
  if type(opts) ~= "table" then util.user_error("train.fit: expected a table of options") end
  local o = check_options(opts)
  local model, loss_fn, opt, sched = o.model, o.loss, o.optimizer, o.schedule
  local data = o.train_data
  local params = model:parameters()
  local backward_order = reversed(params)
  local metrics = o.metrics or default_metrics(loss_fn)
  local plateau = sched and sched.name == "ReduceLROnPlateau"
  local monitor = o.monitor or (o.valid_data and "valid_loss" or "train_loss")
  local mode = o.mode or (monitor:find("loss") and "min" or "max")
  local progress = make_progress(o)
  local vocab = o.vocab or data.vocab

  -- The whole loop state, JSON-able: what a checkpoint holds besides the
  -- objects' own state.
  local D = { epoch = 1, pos = 0, batches = nil, size = data:size() }
  local S = {
    run_loss = 0, run_n = 0,          -- train loss since the last evaluation
    best = nil, best_epoch = nil, best_step = nil, bad = 0,
    checkpoints = {},                 -- periodic files written, oldest first
    threads = lurn.threads(),
  }
  local step, history = 0, {}
  local best_weights

  -- `average`: avg[i] is the moving average of params[i]'s weights. While it
  -- is swapped into the model (an evaluation, a checkpoint), raw[i] holds the
  -- trained weights.
  local values, avg, raw, swapped = {}, nil, nil, false
  for i, p in ipairs(params) do values[i] = p.value end
  if o.average then
    avg, raw = {}, {}
    for i, v in ipairs(values) do avg[i], raw[i] = v:clone(), v:clone() end
  end
  local function swap_in()   -- true when this call swapped (the caller swaps back)
    if not avg or swapped then return false end
    for i, v in ipairs(values) do raw[i]:copy(v); v:copy(avg[i]) end
    swapped = true
    return true
  end
  local function swap_out()
    for i, v in ipairs(values) do v:copy(raw[i]) end
    swapped = false
  end
  -- fn() with the average in the model; the raw weights back afterwards, also on an error
  local function averaged(fn)
    if not avg then return fn() end   -- no pcall: errors keep their traceback
    local mine = swap_in()
    local ok, err = pcall(fn)
    if mine then swap_out() end
    if not ok then error(err, 0) end
  end
  local RAW = "average.raw/"   -- the raw weights' names in a checkpoint's tensors

  -- Under mpirun: every rank runs this loop on its shard of each global
  -- batch and lurn.dist averages the gradients; rank 0 alone writes and prints.
  local dt
  if o.distributed ~= false and dist.active() then
    if type(data.make_batch) ~= "function" then
      error("train.fit: distributed training needs a dataset with make_batch (data.Dataset)", 2)
    end
    dt = dist.Trainer { model = model, params = params, loss = loss_fn }
    if dist.rank() > 0 then
      o.checkpoint_dir, o.on_checkpoint = nil, nil
      progress.mode = "none"
    end
  end

  if o.resume then
    local path = o.resume
    if file_exists(path .. "/latest") or not file_exists(path) then
      path = M.latest_checkpoint(path) or
          util.user_error(("train.fit: no checkpoint to resume from in '%s'"):format(o.resume))
    end
    local s = checkpoint.load(path)
    for _, part in ipairs { "data", "train", "step", "history" } do
      if s[part] == nil then
        util.user_error(("%s: not written by train.fit (no '%s' part)"):format(path, part))
      end
    end
    if s.data.size == nil then
      util.user_error(("%s: not written by train.fit (no data.size)"):format(path))
    end
    if s.data.size ~= data:size() then
      util.user_error(("%s: written for a training set of %d samples, this one has %d")
        :format(path, s.data.size, data:size()))
    end
    if (sched ~= nil) ~= (s.schedule ~= nil) then
      util.user_error(("%s: the checkpoint %s a schedule, this run %s"):format(path,
        s.schedule and "has" or "has no", sched and "has one" or "has none"))
    end
    checkpoint.restore(s, { model = model, optimizer = opt, schedule = sched, rng = true })
    D, S, step, history = s.data, s.train, s.step, s.history
    -- a checkpoint of an averaged run holds the average as its model and the raw weights aside
    local saved_raw = {}
    for i, p in ipairs(params) do
      local t = s.tensors and s.tensors[RAW .. p.name]
      if t then
        if t:numel() ~= values[i]:numel() or t:dtype() ~= values[i]:dtype() then
          util.user_error(("%s: tensor extra/%s%s has %d %s elements, the parameter has %d")
            :format(path, RAW, p.name, t:numel(), t:dtype(), values[i]:numel()))
        end
        saved_raw[i] = t
      end
    end
    local n_raw = 0
    for _ in pairs(saved_raw) do n_raw = n_raw + 1 end
    if n_raw > 0 and n_raw < #params then
      util.user_error(("%s: the checkpoint holds the raw weights of %d of the %d parameters")
        :format(path, n_raw, #params))
    end
    if n_raw > 0 then
      for i, v in ipairs(values) do
        if avg then avg[i]:copy(v) end
        v:copy(saved_raw[i]:view(v:shape()))
      end
      if not avg then
        progress.line("note: the checkpoint's moving average of the weights is dropped "
          .. "(averaging is off in this run); training goes on from its raw weights")
      end
    elseif avg then
      for i, v in ipairs(values) do avg[i]:copy(v) end
      progress.line("note: the checkpoint has no moving average of the weights; the average "
        .. "starts from its weights")
    end
    S.checkpoints = S.checkpoints or {}
    -- The list names files next to the checkpoint resumed from; resuming
    -- into another directory must not prune that one's files by name.
    if not (o.checkpoint_dir and same_dir(path, o.checkpoint_dir)) then S.checkpoints = {} end
    if (S.ranks or 1) ~= dist.size() then
      progress.line(("note: resuming on %d rank(s), the checkpoint was written by %d; the global "
        .. "batches are the same, the sums over them differ in the last bits")
        :format(dist.size(), S.ranks or 1))
    end
    if S.threads ~= lurn.threads() then
      progress.line(("note: resuming with %d thread(s), the checkpoint was written with %d; "
        .. "results may differ from an uninterrupted run in the last bits")
        :format(lurn.threads(), S.threads))
      S.threads = lurn.threads()
    end
    if o.restore_best and S.best and file_exists(o.checkpoint_dir and
          (o.checkpoint_dir .. "/best.ckpt") or "") then
      best_weights = checkpoint.load_weights(o.checkpoint_dir .. "/best.ckpt")
    end
    progress.line(("resumed from %s at step %d (epoch %d, batch %d)"):format(path, step,
      D.epoch, D.pos))
  end

  S.ranks = dist.size()
  if dt then dt:check(step, true) end   -- the same start on every rank

  local made_dir = false
  local last_saved
  local function save(name)
    if not made_dir then
      lurn.mkdir(o.checkpoint_dir)
      remove_stale_temps(o.checkpoint_dir)
      made_dir = true
    end
    local path = o.checkpoint_dir .. "/" .. name
    averaged(function()
      local tensors = o.tensors and o.tensors() or nil
      if avg then   -- the model part is the average; the raw weights go on from a resume
        local all = {}
        for k, t in pairs(tensors or {}) do all[k] = t end
        for i, p in ipairs(params) do all[RAW .. p.name] = raw[i] end
        tensors = all
      end
      checkpoint.save(path, {
        model = model, optimizer = opt, schedule = sched, rng = true, data = D, vocab = vocab,
        config = o.config, history = history, step = step, train = S, extra = o.extra,
        tensors = tensors,
      })
    end)
    return path
  end
  -- A periodic checkpoint: step-<n>.ckpt, the `latest` pointer, pruning.
  -- In this order, each step durable before the next: the new file, then
  -- `latest` naming it, then the old files. A kill at any moment leaves
  -- `latest` naming a whole file. The list saved in the file still holds
  -- the old names (not yet deleted), so a resume after a kill between the
  -- last two steps finishes the pruning.
  local function save_periodic()
    if not o.checkpoint_dir or last_saved == step then return end
    local name = ("step-%08d.ckpt"):format(step)
    local list = S.checkpoints
    if list[#list] ~= name then list[#list + 1] = name end
    local path = save(name)
    core.write_file_atomic(o.checkpoint_dir .. "/latest", name .. "\n")
    while o.keep_checkpoints > 0 and #list > o.keep_checkpoints do
      local old = table.remove(list, 1)
      if old ~= name then remove_periodic(o.checkpoint_dir, old) end
    end
    last_saved = step
    if o.on_checkpoint then o.on_checkpoint(path, step) end
  end

  local stopped
  local t_start = lurn.clock()
  local steps_at_start = step

  -- One evaluation: a history record, plateau schedule, early stopping
  -- (of the moving average of the weights when there is one).
  local function evaluate_now()
    local r = { epoch = D.epoch, step = step, lr = opt:get_lr()[1] }
    if S.run_n > 0 then r.train_loss = S.run_loss / S.run_n end
    S.run_loss, S.run_n = 0, 0
    if o.valid_data then
      local v = (o.evaluate or M.evaluate)(model, o.valid_data, { loss = loss_fn, metrics = metrics,
        batch_size = o.eval_batch_size or o.batch_size, target = o.target })
      for k, x in pairs(v) do
        if k ~= "n" then r["valid_" .. k] = x end
      end
    end
    history[#history + 1] = r
    local value = r[monitor]
    local note = ""
    if value == nil then
      error(("train.fit: monitor '%s' is not in the evaluation record (%s)")
        :format(monitor, fmt_record(r)), 0)
    end
    local better = S.best == nil or
        (mode == "min" and value < S.best - o.min_delta) or
        (mode == "max" and value > S.best + o.min_delta)
    if better then
      S.best, S.best_epoch, S.best_step, S.bad = value, D.epoch, step, 0
      note = "  (best)"
      if o.restore_best then
        best_weights = {}
        for name, t in pairs(model:state()) do best_weights[name] = t:clone() end
      end
      if o.checkpoint_dir then
        local path = save("best.ckpt")
        if o.on_checkpoint then o.on_checkpoint(path, step) end
      end
    else
      S.bad = S.bad + 1
    end
    if plateau then sched:step(value) end
    progress.line(("epoch %d  step %d  %s%s"):format(D.epoch, step, fmt_record(r), note))
    if o.on_eval then o.on_eval(r) end
    if o.patience and S.bad > o.patience then
      stopped = ("early stopping: %s did not improve for %d evaluations (best %s at epoch %d, "
        .. "step %d)"):format(monitor, S.bad, fmt_num(S.best), S.best_epoch, S.best_step)
    end
  end

  local function evaluate() averaged(evaluate_now) end

  -- LURN_PROFILE=1: seconds per phase of the steps (evaluations and
  -- checkpoints left out), returned as result.profile and printed at the end
  local prof = (os.getenv("LURN_PROFILE") or "0") ~= "0" and { steps = 0, data = 0,
    forward_backward = 0, check_clip = 0, optimizer = 0, rest = 0 } or nil
  local max_steps = o.max_steps or math.huge
  while not stopped and D.epoch <= o.epochs and step < max_steps do
    local iter, it = data:batches {
      size = o.batch_size, shuffle = o.shuffle, bucket = o.bucket, drop_last = o.drop_last,
      resume = D.batches and { batches = D.batches, pos = D.pos } or nil,
    }
    D.batches = it.plan
    local nb = #it.plan
    local log_every = o.log_every or math.max(1, nb // 10)
    local win_loss, win_n, win_t = 0, 0, lurn.clock()
    local epoch_t = lurn.clock()
    while step < max_steps and not stopped do
      local t_begin = prof and lurn.clock()
      local batch
      if dt then   -- this rank's shard of the global batch (none when it is smaller than N)
        it.pos = it.pos + 1
        if not it.plan[it.pos] then break end
        local mine = dist.shard(it.plan[it.pos])
        batch = #mine > 0 and data:make_batch(mine) or false
      else
        batch = iter()
        if not batch then break end
      end
      D.pos = it.pos
      step = step + 1
      local t_data = prof and lurn.clock()
      local where = ("step %d (epoch %d, batch %d of %d)"):format(step, D.epoch, D.pos, nb)

      local loss, tokens
      if dt then
        loss, tokens = M._dist_step(dt, step, model, loss_fn, batch, o.target)
      else
        local out = model:forward(batch)
        local target = target_of(batch, o.target)
        if target == nil then
          error(("train.fit: the batch has no targets (fields labels/targets); set 'target'"), 0)
        end
        loss = loss_fn:forward(out, target)
        if is_nonfinite(loss) then
          error(("train.fit: loss is %s at %s%s"):format(loss ~= loss and "nan" or tostring(loss),
            where, nonfinite_value(params)), 0)
        end
        model:zero_grad()
        model:backward(loss_fn:backward())
      end
      -- Non-finite gradients stop the run. With clipping, the norm (a sum in
      -- double that no finite float can overflow) is finite exactly when every
      -- gradient is, so the search runs only when it is not. Backward runs from
      -- the loss towards the input, so the non-finite gradient nearest the loss
      -- (the last parameter holding one) went non-finite first; the others
      -- inherited it.
      local t_grad = prof and lurn.clock()
      local norm
      if o.clip then norm = optim.clip_grad_norm(params, o.clip) end
      if not norm or is_nonfinite(norm) then
        local bad = optim.check_finite(backward_order)
        if bad then error(("train.fit: %s at %s"):format(bad, where), 0) end
        if norm then error(("train.fit: gradient norm is %s at %s"):format(norm, where), 0) end
      end
      if o.clip_value then optim.clip_grad_value(params, o.clip_value) end
      local t_check = prof and lurn.clock()
      opt:step()
      if avg then core.average_update(avg, values, math.min(o.average, (1 + step) / (10 + step))) end
      if sched and not plateau and o.schedule_every == "step" then sched:step() end
      if prof then
        local t = lurn.clock()
        prof.steps = prof.steps + 1
        prof.data = prof.data + (t_data - t_begin)
        prof.forward_backward = prof.forward_backward + (t_grad - t_data)
        prof.check_clip = prof.check_clip + (t_check - t_grad)
        prof.optimizer = prof.optimizer + (t - t_check)
        prof.t_opt_end = t
      end
      if dt then dt:check(step) end

      S.run_loss, S.run_n = S.run_loss + loss, S.run_n + 1
      win_loss, win_n = win_loss + loss, win_n + 1

      -- progress: a redrawn bar on a terminal, plain lines elsewhere
      local now = lurn.clock()
      local rate = now - t_start >= 0.5 and (step - steps_at_start) / (now - t_start) or nil
      if progress.mode == "bar" then
        local width = 24
        local fill = math.floor(width * D.pos / nb)
        progress.bar(("epoch %d/%d [%s%s] %d/%d  loss %.4f%s"):format(
          D.epoch, o.epochs, ("="):rep(fill), (" "):rep(width - fill), D.pos, nb,
          win_loss / win_n, rate and ("  %.1f it/s  ETA %s"):format(rate,
            fmt_time((nb - D.pos) / rate)) or ""))
      end
      if progress.mode == "lines" and (step % log_every == 0) then
        progress.line(("epoch %d/%d  batch %d/%d  step %d  loss %.4f  lr %.3g%s%s")
          :format(D.epoch, o.epochs, D.pos, nb, step, win_loss / win_n, opt:get_lr()[1],
            norm and ("  |g| %.3g"):format(norm) or "",
            rate and ("  %.1f it/s"):format(rate) or ""))
        win_loss, win_n, win_t = 0, 0, now
      elseif progress.mode == "bar" and now - win_t >= 5 then
        win_loss, win_n, win_t = 0, 0, now
      end

      local t_aside = prof and lurn.clock()
      if o.eval_every and step % o.eval_every == 0 and D.pos < nb then evaluate() end
      -- a periodic checkpoint (the epoch's last batch is saved after its evaluation)
      if o.checkpoint_every and step % o.checkpoint_every == 0 and D.pos < nb then
        save_periodic()
      end
      if prof then prof.aside = lurn.clock() - t_aside end
      local vote = false
      if o.on_step then
        local r = o.on_step { step = step, epoch = D.epoch, batch = D.pos, batches = nb,
          loss = loss, lr = opt:get_lr()[1], grad_norm = norm,
          tokens = dt and tokens or (batch.lengths and batch.lengths:sum() or nil) }
        vote = r == false
      end
      if dt then   -- every rank stops after the same step
        local who = dt:agree_stop(vote or lurn.caught_signal() ~= nil)
        if who then
          stopped = who == dist.rank() and "stopped by on_step" or ("stopped by rank %d"):format(who)
        end
      elseif vote then
        stopped = "stopped by on_step"
      end
      if prof then prof.rest = prof.rest + (lurn.clock() - prof.t_opt_end - prof.aside) end
    end
    if D.pos >= nb then
      -- the epoch is complete: evaluate, schedule, move on, checkpoint
      evaluate()
      if sched and not plateau and o.schedule_every == "epoch" then sched:step() end
      history[#history].seconds = lurn.clock() - epoch_t
      D.epoch, D.pos, D.batches = D.epoch + 1, 0, nil
      save_periodic()
    end
  end
  save_periodic()
  if o.restore_best and best_weights then
    model:load_state(best_weights)
  elseif avg then
    for i, v in ipairs(values) do v:copy(avg[i]) end
  end
  progress.line(("done: %d steps, %d epochs%s"):format(step, D.epoch - 1,
    stopped and ("; " .. stopped) or ""))
  if prof then prof.t_opt_end, prof.aside = nil, nil end
  return {
    profile = prof,
    step = step, epoch = D.epoch - 1, history = history, stopped = stopped,
    best = S.best and { metric = monitor, value = S.best, epoch = S.best_epoch,
      step = S.best_step } or nil,
    checkpoint = last_saved and o.checkpoint_dir and
        (o.checkpoint_dir .. ("/step-%08d.ckpt"):format(last_saved)) or nil,
  }
end

return M
