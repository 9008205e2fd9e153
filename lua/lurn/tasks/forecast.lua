--- lurn.tasks.forecast — time-series forecasting (config task = "forecast").
--
-- A recurrent network reads `forecast.input_len` steps of a series (one or
-- more value columns of a CSV file, lurn.series.csv) seen through
-- lurn.series.norm (log, seasonal and first differences, standardisation,
-- fitted on the training rows) and predicts the next step: sequence-to-one
-- (output = "one": the last step's output) or sequence-to-sequence
-- (output = "seq": the next value at every step of the window), with MSE.
-- Rows are split by time: training, then `valid` rows, then the test part
-- (forecast.test_from or forecast.test). See docs/forecast.md.
--
--   task.run(cfg, opts) -> summary         -- lurn train
--   task.load_saved(file, state, bundle)   -- lurn.run.saved.load
--   task.eval(s, o)                        -- lurn eval RUN_DIR
--   task.one_step(s, cols, from, to)       -- one-step-ahead predictions of rows from..to
--   task.forecast(s, cols, origin, steps)  -- autoregressive forecast from row `origin`
--   task.report(s, cols, split, steps)     -- RMSE/MAE and the baselines on the test part
--
-- Everything needed to forecast — the model spec, the transform's state and
-- the series itself — is in the checkpoint's bundle: lurn forecast needs no
-- data file.
local lurn = require "lurn"
local errors = require "lurn.errors"
local csv = require "lurn.series.csv"
local norm = require "lurn.series.norm"
local rundir = require "lurn.run.dir"
local progress = require "lurn.run.progress"
local monitor = require "lurn.run.monitor"
local models = require "lurn.run.model"
local json = require "lurn.run.json"

local M = {}

local RECURRENT = { lstm = "LSTM", gru = "GRU", rnn = "RNN" }

-- ---- the series and its split ------------------------------------------------------

--- Read the series a forecast config names.
-- @param f the config's forecast section
-- @param path the file (default f.file)
-- @return lurn.series.csv's series
function M.read(f, path)
  path = path or f.file
  if path == "" then errors.raise("config", "forecast.file: not set (the CSV series to train on)") end
  return csv.read(path, { time = f.time_column, columns = csv.column_list(f.columns) })
end

--- Where the parts of a series start: {valid = row, test = row} (test = n + 1
-- when there is no test part). Raises "config" errors naming the key.
function M.split(f, s)
  local n, test = s.n, s.n + 1
  if f.test_from ~= "" then
    test = nil
    local iso = f.test_from:match("^%d%d%d%d")
    for i, t in ipairs(s.times) do
      if t == f.test_from or (iso and t:match("^%d%d%d%d%-%d%d") and t >= f.test_from) then
        test = i
        break
      end
    end
    if not test then
      errors.raise("config", "forecast.test_from = %q: no row of %s is at or after it (the last "
        .. "is %s)", f.test_from, s.path, s.times[n])
    end
  elseif f.test > 0 then
    if f.test >= n then
      errors.raise("config", "forecast.test = %d: %s has only %d rows", f.test, s.path, n)
    end
    test = n - f.test + 1
  end
  local valid = test - f.valid
  if valid < 3 then
    errors.raise("config", "forecast.valid = %d: leaves %d training row(s) before it", f.valid,
      math.max(valid - 1, 0))
  end
  return { valid = valid, test = test }
end

-- the first n rows of each column
local function head(cols, n)
  local out = {}
  for j, xs in ipairs(cols) do out[j] = table.move(xs, 1, math.min(n, #xs), 1, {}) end
  return out
end

-- The longest multi-step forecast the functions below make: far beyond any
-- use, and a bound on the work a wrong count can ask for.
local MAX_STEPS = 1000000

-- Check the arguments of the public forecasting functions: a loaded run s,
-- columns of equal length n, and positions (1..n+1) and counts in range.
-- Returns n.
local function check_args(fname, s, cols, positions)
  if type(s) ~= "table" or type(s.model) ~= "table" or type(s.norm) ~= "table"
      or math.type(s.input_len) ~= "integer" then
    error(("forecast.%s: expected a loaded forecast run (lurn.run.saved.load), got %s")
      :format(fname, type(s)), 3)
  end
  if type(cols) ~= "table" or #cols == 0 then
    error(("forecast.%s: expected a list of columns (lists of numbers)"):format(fname), 3)
  end
  local n
  for j, xs in ipairs(cols) do
    if type(xs) ~= "table" then
      error(("forecast.%s: column %d is a %s, not a list of numbers"):format(fname, j, type(xs)), 3)
    end
    n = n or #xs
    if #xs ~= n then
      error(("forecast.%s: column %d has %d rows, column 1 %d"):format(fname, j, #xs, n), 3)
    end
  end
  for _, p in ipairs(positions) do
    local name, v, lo, hi = p[1], p[2], p[3], p[4]
    if type(v) ~= "number" or v ~= math.floor(v) then
      error(("forecast.%s: %s must be a whole number, got %s"):format(fname, name, tostring(v)), 3)
    end
    if v < lo or v > hi then
      error(("forecast.%s: %s = %s is outside %d..%d"):format(fname, name, tostring(v), lo, hi), 3)
    end
  end
  return n
end

--- The transform's options from a forecast section.
function M.norm_options(f, names)
  if f.seasonal_diff and f.season < 1 then
    errors.raise("config", "forecast.seasonal_diff = true needs forecast.season > 0 (the lag)")
  end
  return { log = f.log, season = f.seasonal_diff and f.season or 0, diff = f.diff,
    standardize = f.standardize, names = names }
end

-- ---- windows: what train.fit iterates over ----------------------------------------

local Windows = {}
Windows.__index = Windows

-- z: transformed columns; targets: list of indices k into z (the predicted
-- step); L: input_len; output: "one" | "seq"
local function windows(z, targets, L, output)
  return setmetatable({ z = z, targets = targets, L = L, output = output, D = #z }, Windows)
end

function Windows:size() return #self.targets end

function Windows:make_batch(index)
  local L, D, B, z = self.L, self.D, #index, self.z
  local x = lurn.zeros(L, B, D)
  local y = self.output == "one" and lurn.zeros(B, D) or lurn.zeros(L, B, D)
  for b, i in ipairs(index) do
    local k = self.targets[i]
    for j = 1, D do
      local col = z[j]
      for t = 1, L do
        x:set(t, b, j, col[k - L + t - 1])
        if self.output == "seq" then y:set(t, b, j, col[k - L + t]) end
      end
      if self.output == "one" then y:set(b, j, col[k]) end
    end
  end
  return { data = x, targets = y, index = index }
end

function Windows:batches(opts)
  opts = opts or {}
  local it = {}
  if opts.resume then
    it.plan, it.pos = opts.resume.batches, opts.resume.pos
  else
    local n, size = #self.targets, opts.size or 32
    local order = {}
    if opts.shuffle then
      local perm = lurn.randperm(n)
      for i = 1, n do order[i] = perm:get(i) + 1 end
    else
      for i = 1, n do order[i] = i end
    end
    local plan = {}
    for s = 1, n, size do plan[#plan + 1] = table.move(order, s, math.min(s + size - 1, n), 1, {}) end
    it.plan, it.pos = plan, 0
  end
  function it.state() return { batches = it.plan, pos = it.pos } end
  return function()
    it.pos = it.pos + 1
    local index = it.plan[it.pos]
    if index then return self:make_batch(index) end
  end, it
end

-- Mean MSE over a window set (eval mode): train.fit's evaluate.
local function evaluate(model, data, eo)
  local was = model.training
  model:eval()
  local n, sum = 0, 0
  for batch in data:batches { size = eo.batch_size or 64 } do
    local b = #batch.index
    sum = sum + eo.loss:forward(model:forward(batch), batch.targets) * b
    n = n + b
  end
  model:train(was)
  return { n = n, loss = n > 0 and sum / n or nil }
end

-- ---- the model ------------------------------------------------------------------

--- The model spec: recurrent layers (model.type, hidden, layers, dropout)
-- then a Linear to one value per column, at the last step (output "one") or
-- at every step ("seq").
function M.spec(cfg, D)
  local m, f = cfg.model, cfg.forecast
  if m.type == "custom" then
    return require("lurn.config").model_spec(cfg, { inputs = D, outputs = D,
      input_len = f.input_len, output = f.output })
  end
  local kind = RECURRENT[m.type]
  if not kind then
    errors.raise("config", "model.type = %q: task forecast takes lstm, gru, rnn or custom", m.type)
  end
  local opts = { layers = m.layers, dropout = m.dropout, input_dropout = m.input_dropout,
    output_dropout = m.output_dropout, output = f.output == "one" and "last" or "all" }
  return { type = "Sequential", args = { {
    { type = kind, args = { D, m.hidden, opts } },
    { type = "Linear", args = { m.hidden, D } },
  } } }
end

-- ---- forecasting --------------------------------------------------------------

-- The next row's values from the history cols (rows 1..n of each column).
local function predict_next(s, cols)
  local st, L, D = s.norm, s.input_len, #cols
  local need = L + norm.lost(st)
  local recent = {}
  for j, xs in ipairs(cols) do
    recent[j] = table.move(xs, #xs - need + 1, #xs, 1, {})
  end
  local z = norm.apply(st, recent)
  local x = lurn.zeros(L, 1, D)
  for j = 1, D do for t = 1, L do x:set(t, 1, j, z[j][t]) end end
  local out = s.model:forward({ data = x })
  if type(out) == "table" then out = out.data end
  local last = out:dim() == 3 and out:select(1, L) or out   -- [1, D]
  local v = {}
  for j = 1, D do v[j] = norm.next_value(st, j, recent[j], last:get(1, j)) end
  return v
end

--- Rows needed before the first prediction (input_len + what differencing uses).
function M.history_needed(s) return s.input_len + norm.lost(s.norm) end

--- One-step-ahead predictions of rows from..to, each from the true rows before it.
-- @return list of rows, each a list of column values
function M.one_step(s, cols, from, to)
  local n = check_args("one_step", s, cols, { { "to", to, 0, math.maxinteger } })
  check_args("one_step", s, cols, { { "from", from, 1, n + 1 }, { "to", to, 0, n } })
  local out = {}
  for r = from, to do
    out[#out + 1] = predict_next(s, head(cols, r - 1))
  end
  return out
end

--- An autoregressive forecast of `steps` rows from row `origin` on: the rows
-- before it are the truth, each later one the model's own prediction.
-- @return list of rows, each a list of column values
function M.forecast(s, cols, origin, steps)
  local n = check_args("forecast", s, cols, { { "steps", steps, 1, MAX_STEPS } })
  check_args("forecast", s, cols, { { "origin", origin, 1, n + 1 } })
  local hist = head(cols, origin - 1)
  local out = {}
  for h = 1, steps do
    local v = predict_next(s, hist)
    for j = 1, #hist do hist[j][#hist[j] + 1] = v[j] end
    out[h] = v
  end
  return out
end

local function errors_of(pred, cols, from, j)
  local se, ae, n = 0, 0, 0
  for h, row in ipairs(pred) do
    local truth = cols[j][from + h - 1]
    if truth then
      se, ae, n = se + (row[j] - truth) ^ 2, ae + math.abs(row[j] - truth), n + 1
    end
  end
  if n == 0 then return nil end
  return { rmse = math.sqrt(se / n), mae = ae / n, n = n }
end

--- The test-part report: for each column, one-step and multi-step RMSE and
-- MAE of the model and of the persistence and seasonal-naive baselines
-- (season = s.season; none when 0), in the series' units.
-- @param s a loaded run (load_saved's)
-- @param cols the series' columns
-- @param test the first test row
-- @param steps the multi-step horizon (default: to the end of the series)
function M.report(s, cols, test, steps)
  local n = check_args("report", s, cols, { { "steps", steps or 0, 0, MAX_STEPS } })
  check_args("report", s, cols, { { "test", test, 2, n } })
  steps = (steps and steps > 0) and steps or (n - test + 1)
  local one = M.one_step(s, cols, test, n)
  local multi = M.forecast(s, cols, test, steps)
  local sn = s.season
  local pers1, persm, seas1, seasm = {}, {}, {}, {}
  for r = test, n do
    local a, b = {}, {}
    for j, xs in ipairs(cols) do a[j] = xs[r - 1]; b[j] = sn > 0 and xs[r - sn] or nil end
    pers1[#pers1 + 1], seas1[#seas1 + 1] = a, b
  end
  for h = 1, steps do
    local a, b = {}, {}
    for j, xs in ipairs(cols) do
      a[j] = xs[test - 1]
      b[j] = sn > 0 and xs[test - sn + (h - 1) % sn] or nil
    end
    persm[h], seasm[h] = a, b
  end
  local out = { test_from = test, rows = n - test + 1, steps = steps, columns = {} }
  for j, name in ipairs(s.names) do
    local c = {
      name = name,
      one_step = errors_of(one, cols, test, j), multi_step = errors_of(multi, cols, test, j),
      persistence = { one_step = errors_of(pers1, cols, test, j),
        multi_step = errors_of(persm, cols, test, j) },
    }
    if sn > 0 then
      c.seasonal_naive = { one_step = errors_of(seas1, cols, test, j),
        multi_step = errors_of(seasm, cols, test, j) }
    end
    out.columns[j] = c
  end
  return out, one, multi
end

--- The report as text lines.
function M.report_lines(rep, times, season)
  local lines = {}
  local last = rep.test_from + rep.rows - 1
  lines[#lines + 1] = ("test part: rows %d-%d (%s to %s, %d rows); multi-step: %d steps from %s")
      :format(rep.test_from, last, times[rep.test_from], times[last], rep.rows, rep.steps,
        times[rep.test_from])
  for _, c in ipairs(rep.columns) do
    lines[#lines + 1] = ""
    lines[#lines + 1] = ("%-26s %10s %10s %10s %10s"):format(c.name, "1-step RMSE", "MAE",
      ("%d-step RMSE"):format(rep.steps), "MAE")
    local function row(label, one, multi)
      local function f(e, k) return e and ("%.3f"):format(e[k]) or "-" end
      lines[#lines + 1] = ("%-26s %10s %10s %10s %10s"):format(label, f(one, "rmse"), f(one, "mae"),
        f(multi, "rmse"), f(multi, "mae"))
    end
    row("model", c.one_step, c.multi_step)
    row("persistence", c.persistence.one_step, c.persistence.multi_step)
    if c.seasonal_naive then
      row(("seasonal naive (season %d)"):format(season), c.seasonal_naive.one_step,
        c.seasonal_naive.multi_step)
    end
  end
  return lines
end

-- ---- lurn train ------------------------------------------------------------------

local function command_line(argv)
  local parts = { "lurn" }
  for _, a in ipairs(argv or {}) do
    parts[#parts + 1] = a:match("^[%w%._/=:,+-]+$") and a or rundir.shell_quote(a)
  end
  return table.concat(parts, " ")
end

-- Everything a run needs from its config and data, built in the same order
-- every time (exact resume).
local function prepare(cfg)
  local f = cfg.forecast
  local s = M.read(f)
  local sp = M.split(f, s)
  local nopts = M.norm_options(f, s.names)
  -- values the log cannot take, named by their line (norm.fit would name the row)
  for j, xs in ipairs(s.values) do
    local i, v = norm.invalid({ log = nopts.log }, xs)
    if i then
      errors.raise("data", "%s:%d: column '%s': %s <= 0, and forecast.log = true needs positive "
        .. "values", s.path, s.lines[i], s.names[j], tostring(v))
    end
  end
  local train_cols = head(s.values, sp.valid - 1)
  local ok, st = pcall(norm.fit, train_cols, nopts)
  if not ok then errors.raise("data", "%s: %s", s.path, tostring(st)) end
  local z = norm.apply(st, s.values)
  local lost, L = norm.lost(st), f.input_len
  -- z[k] is row k + lost; a target k needs k - L >= 1
  local train_t, valid_t = {}, {}
  for k = L + 1, #z[1] do
    local row = k + lost
    if row < sp.valid then train_t[#train_t + 1] = k
    elseif row < sp.test then valid_t[#valid_t + 1] = k end
  end
  if #train_t == 0 then
    errors.raise("config", "forecast.input_len = %d: no training window fits in the %d training "
      .. "rows (%d are used up by differencing)", L, sp.valid - 1, lost)
  end
  if f.valid > 0 and #valid_t == 0 then
    errors.raise("config", "forecast.valid = %d: no validation window (input_len %d)", f.valid, L)
  end
  return {
    series = s, split = sp, norm = st,
    train = windows(z, train_t, L, f.output),
    valid = #valid_t > 0 and windows(z, valid_t, L, f.output) or nil,
  }
end

local function bundle(cfg, p, spec)
  local s, f = p.series, cfg.forecast
  return {
    kind = "lurn-run", version = 1, task = "forecast", model = spec, norm = p.norm,
    input_len = f.input_len, output = f.output, season = f.season,
    names = s.names, time_name = s.time_name, file = s.path,
    times = s.times, values = s.values, valid_from = p.split.valid, test_from = p.split.test,
  }
end


--- lurn train for task "forecast" (see lurn.tasks): trains, then reports
-- on the test part with the best weights (summary.test).
function M.run(cfg, opts)
  opts = opts or {}
  local t = cfg.train
  local P = progress.new { mode = opts.progress or "lines", epochs = t.epochs,
    metric = "valid_loss" }
  if cfg.threads and cfg.threads > 0 and not opts.threads_fixed then lurn.threads(cfg.threads) end
  lurn.seed(cfg.seed)
  local p = prepare(cfg)
  local s = p.series
  local spec = M.spec(cfg, #s.names)
  local okb, model = pcall(lurn.nn.build, spec)
  if not okb then errors.raise("config", "model: %s", tostring(model)) end
  local opt = models.optimizer(cfg, model:parameters())
  local steps_per_epoch = math.ceil(p.train:size() / t.batch_size)
  local sched, every = models.schedule(cfg, opt, steps_per_epoch)

  local config = require "lurn.config"
  local run, ckpt_path = opts.resume, nil
  if run then
    ckpt_path = errors.wrap("checkpoint", "", lurn.train.latest_checkpoint, run:file("checkpoints"))
    if not ckpt_path then
      errors.raise("checkpoint", "%s: no checkpoint to resume from; start a new run", run.path)
    end
    local st = errors.wrap("checkpoint", "", require("lurn.checkpoint").load, ckpt_path)
    run:keep_metrics(st.step or 0)
    run:write("command.txt", (run:read("command.txt") or "") .. command_line(opts.argv) .. "\n")
  else
    run = rundir.create { out = opts.out, root = opts.root, name = cfg.name }
    run:write("config.lua", (opts.info and opts.info.source) or config.serialize(cfg))
    run:write("command.txt", command_line(opts.argv) .. "\n")
    run:write_json("env.json", rundir.environment(cfg, { s.path }))
  end
  run:write("config.resolved.lua", config.serialize(cfg))
  P:note((ckpt_path and "resuming " or "run ") .. run.path)
  local sp = p.split
  P:note(("data: %s, %d rows x %d column(s); %d train windows%s%s; input %d steps; model of %d "
    .. "parameters"):format(s.path, s.n, #s.names, p.train:size(),
      p.valid and (", %d valid"):format(p.valid:size()) or "",
      sp.test <= s.n and (", test from %s (%d rows)"):format(s.times[sp.test], s.n - sp.test + 1) or "",
      cfg.forecast.input_len, model:num_parameters()))

  -- the run is monitored on the MSE (transformed units) of the validation
  -- windows, or of the training windows when there are none
  local metric = p.valid and "valid_loss" or "train_loss"
  local mcfg = { train = setmetatable({ best_metric = metric, best_mode = "min" },
    { __index = t }) }
  local mon = monitor.new { run = run, cfg = mcfg, progress = P }
  lurn.catch_signals()
  local ok, result = pcall(lurn.train.fit, {
    model = model, loss = lurn.nn.MSE(), optimizer = opt, schedule = sched,
    schedule_every = every or "epoch", train_data = p.train, valid_data = p.valid,
    epochs = t.epochs, batch_size = t.batch_size, shuffle = true,
    clip = t.clip > 0 and t.clip or nil, eval_every = t.eval_every > 0 and t.eval_every or nil,
    checkpoint_every = t.checkpoint_every > 0 and t.checkpoint_every or nil,
    keep_checkpoints = t.keep_checkpoints, monitor = metric, mode = "min",
    patience = t.early_stop > 0 and t.early_stop or nil, checkpoint_dir = run:file("checkpoints"),
    resume = ckpt_path, config = cfg, extra = bundle(cfg, p, spec), evaluate = evaluate,
    metrics = {}, on_step = mon.on_step, on_eval = mon.on_eval, on_checkpoint = mon.on_checkpoint,
    progress = "none",
  })
  P:finish()
  local status, failure
  status, failure, result = require("lurn.commands.train").outcome(ok, result, mon)
  mon.draw()
  local lfs = require "lfs"
  local dir = run:file("checkpoints")
  local okl, newest = pcall(lurn.train.latest_checkpoint, dir)
  local function present(path) return lfs.attributes(path) and path or nil end
  local summary = {
    run_dir = run.path, status = status, exit_code = errors.EXIT[status] or 0,
    steps = result and result.step or 0, epochs = result and result.epoch or nil,
    seconds = mon.elapsed(), stopped = mon.stop_reason or (result and result.stopped) or
        (failure and failure.message),
    best = mon.best_record and { metric = metric, value = mon.best, step = mon.best_record.step,
      epoch = mon.best_record.epoch, record = mon.best_record } or nil,
    final = mon.last_valid,
    checkpoints = { last = present(dir .. "/last.ckpt") or (okl and newest or nil),
      best = present(dir .. "/best.ckpt"), newest = okl and newest or nil },
    command = command_line(opts.argv), num_parameters = model:num_parameters(),
  }
  local lines
  if status == "completed" and sp.test <= s.n and summary.checkpoints.best then
    local saved = require("lurn.run.saved").load(summary.checkpoints.best)
    local rep = M.report(saved, s.values, sp.test, cfg.forecast.steps)
    summary.test = rep
    local c = rep.columns[1]
    run:log_metric { step = summary.steps, epoch = summary.epochs, split = "test",
      rmse = c.one_step.rmse, mae = c.one_step.mae, multi_rmse = c.multi_step.rmse,
      multi_mae = c.multi_step.mae, elapsed = mon.elapsed() }
    lines = M.report_lines(rep, s.times, cfg.forecast.season)
  end
  run:write_json("summary.json", summary)
  run:close()
  if P.mode == "json" then
    P:summary(summary)
  else
    -- the classification table has no columns for these figures: they follow it
    local shown = {}
    for k, v in pairs(summary) do shown[k] = v end
    shown.test = nil
    P:summary(shown)
  end
  if lines and P.mode ~= "json" and P.mode ~= "quiet" then
    for _, l in ipairs(lines) do io.stdout:write(l, "\n") end
  end
  require("lurn.commands.train").raise_outcome(status, failure, summary, mon, run)
  return summary
end

-- ---- a saved run ------------------------------------------------------------------

--- Rebuild a forecast run from its checkpoint (lurn.run.saved.load calls it).
-- @return {path, state, model, config, spec, norm, input_len, output, season,
--   names, times, values, test_from, valid_from, bundle}
function M.load_saved(file, state, b)
  local function fail(fmt, ...) errors.raise("checkpoint", file .. ": " .. fmt, ...) end
  for _, k in ipairs { "norm", "names", "times", "values", "model" } do
    if type(b[k]) ~= "table" then fail("the forecast bundle has no '%s'", k) end
  end
  if math.type(b.input_len) ~= "integer" or b.input_len < 1 then fail("bad input_len") end
  if #b.values ~= #b.names or #b.values < 1 then fail("the saved series does not match its columns") end
  for j, xs in ipairs(b.values) do
    if #xs ~= #b.times then fail("saved column %d has %d rows, the times %d", j, #xs, #b.times) end
  end
  local st = b.norm
  if type(st.mean) ~= "table" or type(st.sd) ~= "table" or math.type(st.season) ~= "integer"
      or math.type(st.diff) ~= "integer" then
    fail("the saved normalisation is incomplete")
  end
  local model = errors.wrap("checkpoint", file .. ": model: ", lurn.nn.build, b.model)
  errors.wrap("checkpoint", "", require("lurn.checkpoint").restore, state, { model = model })
  model:eval()
  return {
    path = file, state = state, model = model, spec = b.model, config = state.config or {},
    bundle = b, norm = st, input_len = b.input_len, output = b.output, season = b.season or 0,
    names = b.names, time_name = b.time_name, times = b.times, values = b.values,
    test_from = b.test_from, valid_from = b.valid_from, file = b.file,
  }
end

--- The series to use with a loaded run: the saved one, or a CSV file read
-- with the run's columns (its test part found as in training).
-- @return times, columns, first test row
function M.series_of(s, path)
  if not path then return s.times, s.values, s.test_from end
  local f = s.config.forecast or {}
  local series = csv.read(path, { time = s.time_name, columns = s.names })
  local test = series.n + 1
  if type(f.test_from) == "string" then
    local ok, sp = pcall(M.split, f, series)
    test = ok and sp.test or test
  end
  return series.times, series.values, test
end

--- lurn eval RUN_DIR for a forecast run: one-step and multi-step RMSE and
-- MAE on the test part in the series' units, beside the persistence and
-- seasonal-naive baselines. o.data: a CSV file with the run's columns
-- instead of the saved series; o.json.
function M.eval(s, o)
  local times, cols, test = M.series_of(s, o.data)
  local n = #cols[1]
  if test > n then
    errors.raise("usage", "%s: the run has no test part (forecast.test_from / forecast.test)",
      s.path)
  end
  if test - 1 < M.history_needed(s) then
    errors.raise("data", "the test part starts at row %d: %d rows of history are needed", test,
      M.history_needed(s))
  end
  local f = s.config.forecast or {}
  local rep = M.report(s, cols, test, f.steps)
  if o.json then
    local out = { checkpoint = s.path, step = s.state.step, data = o.data or s.file }
    for k, v in pairs(rep) do out[k] = v end
    print(json.object(out, { "checkpoint", "step", "data" }))
  else
    print(("checkpoint  %s (step %s)"):format(s.path, tostring(s.state.step)))
    print(("data        %s"):format(o.data or (s.file .. " (saved with the run)")))
    for _, l in ipairs(M.report_lines(rep, times, s.season)) do print(l) end
  end
  return 0
end

return M
