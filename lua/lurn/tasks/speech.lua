--- lurn.tasks.speech — spoken digits: isolated-digit classification and
-- digit-string recognition with CTC, on recordings named like the Free Spoken
-- Digit Dataset's (`<digit>_<speaker>_<take>.wav`, datasets/fsdd).
--
-- A config with task = "speech" and its `speech` section (lurn config keys
-- speech) picks:
--   mode = "classify"  one recording, one digit: a recurrent encoder over
--                      the feature frames, pooled (model.pool), a linear
--                      layer to 10 classes, cross-entropy; beside it
--                      (speech.baseline) an MFCC + logistic-regression
--                      baseline: the mean MFCC vector of each of
--                      speech.baseline_segments equal time segments,
--                      standardised, into one linear layer
--   mode = "ctc"       utterances of min_digits..max_digits digits made by
--                      concatenating recordings with random gaps and gains
--                      (test utterances from test takes only), a recurrent
--                      encoder with a linear layer to 11 classes per step
--                      (blank = 0, digit d = d + 1), nn.CTC; scored by the
--                      digit error rate (edit distance / reference digits)
--                      with greedy decoding while training and prefix beam
--                      search (speech.beam) on the test set
-- The run directory is the classify path's (config files, env.json,
-- metrics, checkpoints, curves.svg, summary.json); the checkpoints' bundle
-- has task = "speech", the model spec, the mode and the feature options, so
-- `lurn eval` and `lurn transcribe` need nothing else.
local lurn = require "lurn"
local lfs = require "lfs"
local errors = require "lurn.errors"
local audio = require "lurn.audio"
local fsdd = require "lurn.audio.fsdd"
local rundir = require "lurn.run.dir"
local models = require "lurn.run.model"
local progress = require "lurn.run.progress"
local monitor = require "lurn.run.monitor"
local metrics = require "lurn.run.metrics"
local json = require "lurn.run.json"

local M = {}

local DIGITS = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" }
local CELLS = { lstm = "LSTM", gru = "GRU", rnn = "RNN" }

--- The model spec for a feature size D and a mode.
-- @tparam table cfg a resolved config
-- @tparam integer D features per step
-- @treturn table a spec for nn.build
function M.model_spec(cfg, D)
  local m, mode = cfg.model, cfg.speech.mode
  local cell = CELLS[m.type]
  if not cell then
    errors.raise("config", "model.type = %q: task speech takes lstm, gru or rnn", tostring(m.type))
  end
  local opts = { layers = m.layers, bidirectional = m.bidirectional, dropout = m.dropout,
    input_dropout = m.input_dropout, output_dropout = m.output_dropout }
  local W = m.hidden * (m.bidirectional and 2 or 1)
  local layers = { { type = cell, args = { D, m.hidden, opts } } }
  if mode == "classify" then
    if m.pool == "attention" then
      layers[#layers + 1] = { type = "AttentionPool", args = { W } }
    else
      layers[#layers + 1] = { type = "Pool", args = { m.pool } }
    end
    layers[#layers + 1] = { type = "Linear", args = { W, 10 } }
  else
    layers[#layers + 1] = { type = "Linear", args = { W, 11 } }
  end
  return { type = "Sequential", args = { layers } }
end

-- ---- data ----------------------------------------------------------------------------

-- Samples of a recording at the feature rate.
local function load_samples(rec, rate)
  local x, r = audio.read(rec.path)
  return audio.resample(x, r, rate)
end

-- The mean MFCC vector of each of k equal time segments, concatenated.
local function segment_means(f, k)
  local T = f:size(1)
  local parts = {}
  for s = 0, k - 1 do
    local a = math.floor(s * T / k)
    local b = math.max(a + 1, math.floor((s + 1) * T / k))
    if a >= T then a = T - 1; b = T end
    parts[#parts + 1] = f:narrow(1, a + 1, b - a):mean(1)
  end
  return lurn.cat(parts, 1)
end

--- Isolated digits: features of every recording of each split, and the
-- baseline's vectors when asked.
local function classify_data(cfg, parts, P)
  local sp = cfg.speech
  local fo = fsdd.feature_options(sp)
  local bo = { sample_rate = sp.sample_rate, win_ms = sp.win_ms, hop_ms = sp.hop_ms,
    n_mels = sp.n_mels, n_mfcc = sp.n_mfcc, deltas = 0, normalize = false, stack = 1 }
  local t0 = lurn.clock()
  local out, nfiles = {}, 0
  for _, split in ipairs { "train", "valid", "test" } do
    local list = parts[split]
    local feats, vecs = {}, {}
    for i, rec in ipairs(list) do
      local x = load_samples(rec, sp.sample_rate)
      feats[i] = audio.features(x, sp.sample_rate, fo)
      if sp.baseline then vecs[i] = segment_means(audio.features(x, sp.sample_rate, bo), sp.baseline_segments) end
    end
    nfiles = nfiles + #list
    if #list > 0 then
      out[split] = fsdd.Dataset.new { n = #list, length = function(i) return feats[i]:size(1) end,
        features = function(i) return feats[i] end, label = function(i) return list[i].digit end }
      out[split].vectors = vecs
    end
  end
  P:note(("features of %d recordings in %.1f s"):format(nfiles, lurn.clock() - t0))
  return out
end

--- Digit strings: recipes for each split (rendered and featurised per batch;
-- the validation and test features are kept once made).
local function ctc_data(cfg, parts, P)
  local sp = cfg.speech
  if sp.min_digits > sp.max_digits then
    errors.raise("config", "speech.min_digits = %d is above speech.max_digits = %d", sp.min_digits,
      sp.max_digits)
  end
  local fo = fsdd.feature_options(sp)
  local o = { min_digits = sp.min_digits, max_digits = sp.max_digits,
    max_gap = math.floor(sp.max_gap_ms * sp.sample_rate / 1000), gain_db = sp.gain_db }
  local counts = { train = sp.train_utterances, valid = sp.valid_utterances, test = sp.test_utterances }
  local out = {}
  local t0 = lurn.clock()
  for k, split in ipairs { "train", "valid", "test" } do
    local pool = parts[split]
    if #pool > 0 and counts[split] > 0 then
      local samples = {}
      for i, rec in ipairs(pool) do samples[i] = load_samples(rec, sp.sample_rate) end
      local recipes = fsdd.recipes(counts[split], pool, o, cfg.seed * 7919 + k)
      local lens = {}
      for i, r in ipairs(recipes) do
        local n = r.tail
        for _, p in ipairs(r.parts) do n = n + p.gap + samples[p.rec]:size(1) end
        lens[i] = fsdd.steps(n, fo)
      end
      out[split] = fsdd.Dataset.new {
        n = #recipes, cache = split ~= "train",
        length = function(i) return lens[i] end,
        features = function(i) return audio.features(fsdd.render(recipes[i], samples), sp.sample_rate, fo) end,
        labels = function(i)
          local l = {}
          for j, d in ipairs(recipes[i].digits) do l[j] = d + 1 end
          return l
        end,
      }
      out[split].recipes = recipes
    end
  end
  P:note(("utterances: %d train, %d valid, %d test (recipes in %.1f s)"):format(
    out.train and out.train:size() or 0, out.valid and out.valid:size() or 0,
    out.test and out.test:size() or 0, lurn.clock() - t0))
  return out
end

-- Labels (CTC classes) back to a digit string.
local function digits_of(labels)
  local s = {}
  for i, l in ipairs(labels) do s[i] = tostring(l - 1) end
  return table.concat(s)
end

--- CTC scoring of a dataset: mean loss, digit error rate (edit distance over
-- reference digits) and utterance error rate, greedy or beam decoding.
-- @treturn table `{n, loss, der, uer, digits}`
function M.evaluate_ctc(model, data, o)
  o = o or {}
  local was = model.training
  model:eval()
  local nn = lurn.nn
  local loss_fn = o.loss or nn.CTC { zero_infinity = true }
  local n, loss_sum, errs, ref, wrong = 0, 0, 0, 0, 0
  for batch in data:batches { size = o.batch_size or 32 } do
    local out = model:forward(batch)
    local b = #batch.index
    loss_sum = loss_sum + loss_fn:forward(out, batch.targets) * b
    local hyps = o.beam and nn.CTC.beam(out, o.beam) or nn.CTC.greedy(out)
    for i, h in ipairs(hyps) do
      local r = batch.targets.lists[i]
      local e = fsdd.edit_distance(h, r)
      errs, ref, wrong = errs + e, ref + #r, wrong + (e > 0 and 1 or 0)
    end
    n = n + b
  end
  model:train(was)
  return { n = n, loss = n > 0 and loss_sum / n or nil, der = ref > 0 and errs / ref or 0,
    uer = n > 0 and wrong / n or 0, digits = ref }
end

-- ---- the baseline ------------------------------------------------------------------

-- MFCC + logistic regression: a linear layer on standardised segment means.
local function baseline(cfg, ds, P)
  local sp = cfg.speech
  local nn, optim = lurn.nn, lurn.optim
  local rows = {}
  for i, v in ipairs(ds.train.vectors) do rows[i] = v:view(1, -1) end
  local X = lurn.cat(rows, 1)
  local mean = X:mean(1)
  local sd = (X - mean):square():mean(1):sqrt():add(1e-5)
  local function set(split)
    local d = ds[split]
    if not d then return nil end
    local vecs = {}
    for i, v in ipairs(d.vectors) do vecs[i] = ((v - mean) / sd):view(1, -1) end
    return fsdd.Dataset.new { n = d:size(), length = function() return 1 end,
      features = function(i) return vecs[i] end, label = d.label }
  end
  local train, valid, test = set("train"), set("valid"), set("test")
  local V = mean:size(1)
  local model = nn.Sequential { nn.Pool("mean"), nn.Linear(V, 10) }
  local t0 = lurn.clock()
  local opt = optim.Adam(model:parameters(), { lr = 1e-2, weight_decay = 1e-4 })
  local r = lurn.train.fit { model = model, loss = nn.CrossEntropy(), optimizer = opt,
    train_data = train, valid_data = valid, epochs = sp.baseline_epochs, batch_size = 64,
    monitor = valid and "valid_accuracy" or "train_loss", restore_best = true, progress = "none" }
  local loss = nn.CrossEntropy()
  local te = lurn.train.evaluate(model, test, { loss = loss, batch_size = 256 })
  local out = { features = ("%d x %d MFCC segment means"):format(sp.baseline_segments, sp.n_mfcc),
    parameters = model:num_parameters(), epochs = sp.baseline_epochs,
    valid_accuracy = r.best and r.best.value or nil, test_accuracy = te.accuracy, test_n = te.n,
    seconds = lurn.clock() - t0 }
  P:note(("baseline (MFCC + logistic regression): test accuracy %.4f on %d, valid %.4f, %.1f s")
    :format(te.accuracy, te.n, out.valid_accuracy or 0 / 0, out.seconds))
  return out
end

-- ---- the run -----------------------------------------------------------------------

local function command_line(argv)
  local parts = { "lurn" }
  for _, a in ipairs(argv or {}) do
    parts[#parts + 1] = a:match("^[%w%._/=:,+-]+$") and a or rundir.shell_quote(a)
  end
  return table.concat(parts, " ")
end


--- lurn train for task = "speech" (see lurn.tasks).
-- @tparam table cfg the resolved config
-- @tparam table opts commands.train.run's options
-- @treturn table summary.json's table
function M.run(cfg, opts)
  opts = opts or {}
  local sp = cfg.speech
  local ctc = sp.mode == "ctc"
  -- the monitored metric: CTC runs watch the validation digit error rate
  local rcfg = cfg
  if ctc then
    rcfg = setmetatable({ train = setmetatable({ best_metric = "valid_der", best_mode = "min" },
      { __index = cfg.train }) }, { __index = cfg })
  end
  local P = progress.new { mode = opts.progress or "lines", epochs = cfg.train.epochs,
    metric = rcfg.train.best_metric }
  if cfg.threads and cfg.threads > 0 and not opts.threads_fixed then lurn.threads(cfg.threads) end
  lurn.seed(cfg.seed)
  local recs = fsdd.scan(sp.dir)
  local parts = fsdd.split(recs, sp.test_takes, sp.valid_takes, sp.limit)
  if #parts.train == 0 then errors.raise("data", "%s: no training takes (all takes are below %d)",
    sp.dir, sp.test_takes + sp.valid_takes) end
  local ds = ctc and ctc_data(cfg, parts, P) or classify_data(cfg, parts, P)
  local fo = fsdd.feature_options(sp)
  local D = audio.dims(fo)
  local nn = lurn.nn
  local spec = M.model_spec(cfg, D)
  local ok, model = pcall(nn.build, spec)
  if not ok then errors.raise("config", "model: %s", tostring(model)) end
  local opt = models.optimizer(cfg, model:parameters())
  local steps_per_epoch = math.ceil(ds.train:size() / cfg.train.batch_size)
  local sched, every = models.schedule(rcfg, opt, steps_per_epoch)
  local loss = ctc and nn.CTC { zero_infinity = true } or
      nn.CrossEntropy { label_smoothing = cfg.train.label_smoothing }

  -- the run directory
  local config = require "lurn.config"
  local run, ckpt_path = opts.resume, nil
  local cmd = command_line(opts.argv)
  if run then
    ckpt_path = lurn.train.latest_checkpoint(run:file("checkpoints"))
    if not ckpt_path then
      errors.raise("checkpoint", "%s: no checkpoint to resume from; start a new run instead", run.path)
    end
    local st = errors.wrap("checkpoint", "", require("lurn.checkpoint").load, ckpt_path)
    run:keep_metrics(st.step or 0)
    run:write("command.txt", (run:read("command.txt") or "") .. cmd .. "\n")
  else
    run = rundir.create { out = opts.out, root = opts.root, name = cfg.name }
    run:write("config.lua", (opts.info and opts.info.source) or config.serialize(cfg))
    run:write("command.txt", cmd .. "\n")
    local env = rundir.environment(cfg, {})
    env.recordings = { dir = sp.dir, count = #recs }
    run:write_json("env.json", env)
  end
  run:write("config.resolved.lua", config.serialize(cfg))
  P:note((ckpt_path and "resuming " or "run ") .. run.path)
  for _, c in ipairs(opts.info and opts.info.changed or {}) do
    P:note(("  %s: %s -> %s"):format(c.key, tostring(c.old), tostring(c.new)))
  end
  P:note(("data: %d train, %d valid, %d test %s; %d features per step; model of %d parameters")
    :format(ds.train:size(), ds.valid and ds.valid:size() or 0, ds.test and ds.test:size() or 0,
      ctc and "utterances" or "recordings", D, model:num_parameters()))

  local mon = monitor.new { run = run, cfg = rcfg, progress = P, labels = DIGITS }
  local evaluate = mon.evaluate
  if ctc then
    evaluate = function(m, data, eo) return M.evaluate_ctc(m, data, { loss = eo.loss,
      batch_size = eo.batch_size }) end
  end
  local t = cfg.train
  local eval_every = t.eval_every > 0 and t.eval_every or nil
  local bundle = { kind = "lurn-run", version = 1, task = "speech", mode = sp.mode, model = spec,
    features = fo, labels = DIGITS, blank = 0, beam = sp.beam }
  lurn.catch_signals()
  local okf, result = pcall(lurn.train.fit, {
    model = model, loss = loss, optimizer = opt, schedule = sched, schedule_every = every or "epoch",
    train_data = ds.train, valid_data = ds.valid, epochs = t.epochs, batch_size = t.batch_size,
    shuffle = true, bucket = t.bucket, clip = t.clip > 0 and t.clip or nil, eval_every = eval_every,
    checkpoint_every = t.checkpoint_every > 0 and t.checkpoint_every or eval_every,
    keep_checkpoints = t.keep_checkpoints, monitor = rcfg.train.best_metric,
    mode = rcfg.train.best_mode, patience = t.early_stop > 0 and t.early_stop or nil,
    checkpoint_dir = run:file("checkpoints"), resume = ckpt_path, config = cfg, extra = bundle,
    evaluate = evaluate, on_step = mon.on_step, on_eval = mon.on_eval,
    on_checkpoint = mon.on_checkpoint, metrics = ctc and {} or nil, progress = "none",
  })
  P:finish()
  local status, failure
  status, failure, result = require("lurn.commands.train").outcome(okf, result, mon)
  mon.draw()
  local dir = run:file("checkpoints")
  local okl, last = pcall(lurn.train.latest_checkpoint, dir)
  if not okl then last = nil end
  local function present(p) return lfs.attributes(p) and p or nil end
  local records = mon.records
  local summary = {
    run_dir = run.path, status = status, exit_code = errors.EXIT[status] or 0, task = "speech",
    mode = sp.mode,
    steps = result and result.step or (records[#records] and records[#records].step) or 0,
    epochs = result and result.epoch or nil, seconds = mon.elapsed(),
    stopped = mon.stop_reason or (result and result.stopped) or (failure and failure.message),
    best = mon.best_record and { metric = mon.monitor, value = mon.best, step = mon.best_record.step,
      epoch = mon.best_record.epoch, record = mon.best_record } or nil,
    final = mon.last_valid,
    checkpoints = { last = present(dir .. "/last.ckpt") or last, best = present(dir .. "/best.ckpt"),
      newest = last },
    command = cmd, num_parameters = model:num_parameters(), threads = lurn.threads(),
  }
  -- the test set with the best weights (the newest if no validation picked one)
  local weights = summary.checkpoints.best or summary.checkpoints.newest
  if status ~= "diverged" and ds.test and weights then
    require("lurn.checkpoint").load_into(model, weights)
    local t0 = lurn.clock()
    if ctc then
      local g = M.evaluate_ctc(model, ds.test, { batch_size = t.batch_size })
      local b = M.evaluate_ctc(model, ds.test, { batch_size = t.batch_size, beam = sp.beam })
      summary.test = { n = g.n, digits = g.digits, loss = g.loss, der_greedy = g.der, uer_greedy = g.uer,
        der = b.der, uer = b.uer, beam = sp.beam, seconds = lurn.clock() - t0 }
      run:log_metric { step = summary.steps, epoch = summary.epochs, split = "test", loss = g.loss,
        der = b.der, der_greedy = g.der, elapsed = mon.elapsed() }
      P:note(("test: digit error rate %.4f (beam %d), %.4f (greedy) on %d utterances of %d digits")
        :format(b.der, sp.beam, g.der, g.n, g.digits))
    else
      local rec = metrics.evaluate(model, ds.test, { loss = loss, labels = DIGITS,
        batch_size = t.batch_size })
      summary.test = { n = rec.n, loss = rec.loss, accuracy = rec.accuracy, macro_f1 = rec.macro_f1 }
      run:log_metric { step = summary.steps, epoch = summary.epochs, split = "test", loss = rec.loss,
        accuracy = rec.accuracy, macro_f1 = rec.macro_f1, elapsed = mon.elapsed() }
    end
  end
  if status == "completed" and not ctc and sp.baseline and ds.test then
    summary.baseline = baseline(cfg, ds, P)
  end
  run:write_json("summary.json", summary)
  run:close()
  P:summary(summary)
  require("lurn.commands.train").raise_outcome(status, failure, summary, mon, run)
  return summary
end

--- A speech run's checkpoint, for lurn eval and lurn transcribe.
-- @treturn table `{path, state, model, config, mode, features, beam, labels}`
function M.load_saved(file, state, b)
  local function fail(fmt, ...) errors.raise("checkpoint", file .. ": " .. fmt, ...) end
  if b.mode ~= "classify" and b.mode ~= "ctc" then fail("speech mode %s is unknown", tostring(b.mode)) end
  if type(b.features) ~= "table" then fail("the feature options are missing") end
  if type(state.model) ~= "table" then fail("the model weights are missing") end
  local okf, err = pcall(audio.options, b.features)
  if not okf then fail("feature options: %s", tostring(err)) end
  local model = errors.wrap("checkpoint", file .. ": model: ", lurn.nn.build, b.model)
  errors.wrap("checkpoint", "", require("lurn.checkpoint").restore, state, { model = model })
  model:eval()
  return { path = file, state = state, model = model, config = state.config or {}, mode = b.mode,
    features = b.features, beam = math.tointeger(b.beam) or 8, labels = DIGITS, spec = b.model }
end

--- Recognise the digits of feature sequences.
-- @tparam table s load_saved's table
-- @tparam table feats `{[T, D], ...}`
-- @tparam[opt] integer beam (ctc; default the run's speech.beam)
-- @treturn table digit strings
function M.recognize(s, feats, beam)
  local ds = fsdd.Dataset.new { n = #feats, length = function(i) return feats[i]:size(1) end,
    features = function(i) return feats[i] end }
  local batch = ds:make_batch((function() local l = {} for i = 1, #feats do l[i] = i end return l end)())
  local out = s.model:forward(batch)
  local res = {}
  if s.mode == "classify" then
    local pred = out:argmax(2)
    for i = 1, #feats do res[i] = tostring(pred:get(i)) end
  else
    local hyps = lurn.nn.CTC.beam(out, beam or s.beam)
    for i, h in ipairs(hyps) do res[i] = digits_of(h) end
  end
  return res
end

--- lurn eval RUN_DIR for a speech run: the test set again, from the run's config.
function M.eval(s, o)
  local cfg = s.config
  if type(cfg) ~= "table" or type(cfg.speech) ~= "table" then
    errors.raise("checkpoint", "%s: the run's config is missing", s.path)
  end
  lurn.seed(cfg.seed or 1)
  local P = progress.new { mode = o.json and "json" or "quiet" }
  local sp = cfg.speech
  local parts = fsdd.split(fsdd.scan(sp.dir), sp.test_takes, sp.valid_takes, sp.limit)
  local res
  if s.mode == "ctc" then
    local ds = ctc_data(cfg, parts, P)
    local g = M.evaluate_ctc(s.model, ds.test, { batch_size = o.batch_size })
    local b = M.evaluate_ctc(s.model, ds.test, { batch_size = o.batch_size, beam = sp.beam })
    res = { checkpoint = s.path, step = s.state.step, n = g.n, digits = g.digits, der = b.der,
      uer = b.uer, der_greedy = g.der, beam = sp.beam }
    if not o.json then
      print(("%s (step %s): %d test utterances, %d digits\ndigit error rate %.4f (beam %d), %.4f "
        .. "(greedy); utterances wrong %.4f"):format(s.path, tostring(s.state.step), g.n, g.digits,
        b.der, sp.beam, g.der, b.uer))
    end
  else
    local ds = classify_data(setmetatable({ speech = setmetatable({ baseline = false },
      { __index = sp }) }, { __index = cfg }), parts, P)
    local rec, rep = metrics.evaluate(s.model, ds.test, { loss = lurn.nn.CrossEntropy(),
      labels = DIGITS, batch_size = o.batch_size })
    res = { checkpoint = s.path, step = s.state.step, n = rec.n, loss = rec.loss,
      accuracy = rec.accuracy, macro_f1 = rec.macro_f1, confusion = rep.matrix }
    if not o.json then
      print(("%s (step %s): %d test recordings\naccuracy %.4f  macro-F1 %.4f  loss %.4f"):format(
        s.path, tostring(s.state.step), rec.n, rec.accuracy, rec.macro_f1, rec.loss))
    end
  end
  if o.json then print(json.object(res, { "checkpoint", "step", "n" })) end
  return 0
end

return M
