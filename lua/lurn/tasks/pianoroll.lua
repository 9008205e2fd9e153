--- lurn.tasks.pianoroll — polyphonic music as piano rolls: next-step prediction.
--
-- A piece is a sequence of time steps, each the set of keys sounding then
-- (MIDI pitches). The model reads the roll of steps 1..t-1 (an all-off
-- step before the first) and gives one logit per key for step t; the
-- keys are independent Bernoullis given the past, as in
-- Boulanger-Lewandowski et al. (2012). The loss is BCEWithLogits summed
-- over the keys, averaged over the time steps: the negative
-- log-likelihood per time step in nats, the measure published on the JSB
-- chorales (every step counted, the first included).
--
--   lurn train configs/jsb.lua                  -- task = "pianoroll"
--   lurn eval RUN_DIR [--split test] [--json]   -- NLL per step, frame accuracy
--   lurn sample RUN_DIR --midi out.mid          -- a sampled piece (Bernoulli per key, seeded)
--
-- The data file (data.train) is JSON: {"train": [...], "valid": [...],
-- "test": [...]}, each a list of pieces, each a list of steps, each a list
-- of MIDI pitches (datasets/jsb writes it), or a bare list of pieces.
-- Options: the config's `pianoroll` section (low, keys, bpm, step_beats,
-- length, hold); the model: model.type (lstm, gru, rnn or custom),
-- model.hidden, layers, dropout, input_dropout, output_dropout.
local lurn = require "lurn"
local core = require "lurn.core"
local lfs = require "lfs"
local errors = require "lurn.errors"
local rundir = require "lurn.run.dir"
local progress = require "lurn.run.progress"
local monitor = require "lurn.run.monitor"
local models = require "lurn.run.model"
local json = require "lurn.run.json"
local seqm = require "lurn.nn.seq"

local M = {}

-- ---- data ------------------------------------------------------------------

local SPLITS = { train = true, valid = true, test = true }

-- What a JSON value is, for messages: JSON's names (json_decode gives null
-- as a light userdata, objects and lists as tables).
local function json_type(v)
  if v == core.json_null then return "null" end
  if type(v) == "table" then return (next(v) == nil or v[1] ~= nil) and "a list" or "an object" end
  if type(v) == "string" then return "a string" end
  if type(v) == "boolean" then return tostring(v) end
  return type(v)
end

-- Whether v is a JSON list (json_decode's table with keys 1..n; {} is the empty list or object).
local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

-- One list of pieces, checked: where names it in messages.
local function check_pieces(list, where, low, keys)
  if not is_list(list) then
    errors.raise("data", "%s: expected a list of pieces, got %s", where, json_type(list))
  end
  for i, piece in ipairs(list) do
    if not is_list(piece) or #piece == 0 then
      errors.raise("data", "%s: piece %d is %s (a non-empty list of time steps expected)", where, i,
        is_list(piece) and "empty" or json_type(piece))
    end
    for t, step in ipairs(piece) do
      if not is_list(step) then
        errors.raise("data", "%s: piece %d, step %d: %s (a list of MIDI pitches expected)", where,
          i, t, json_type(step))
      end
      for k, p in ipairs(step) do
        local n = math.type(p) == "integer" and p or (math.type(p) == "float" and math.tointeger(p))
        if not n then
          errors.raise("data", "%s: piece %d, step %d: item %d is %s, not an integer MIDI pitch",
            where, i, t, k, type(p) == "number" and tostring(p) or json_type(p))
        end
        if n < low or n > low + keys - 1 then
          errors.raise("data", "%s: piece %d, step %d: pitch %d is outside the %d keys %d..%d "
            .. "(pianoroll.low, pianoroll.keys)", where, i, t, n, keys, low, low + keys - 1)
        end
        step[k] = n
      end
    end
  end
  return list
end

--- Read a piano-roll JSON file.
-- @param path the file: {"train": [...], "valid": [...], "test": [...]} or a bare list of pieces
-- @param opts low (lowest MIDI pitch, 21), keys (88)
-- @return {train =, valid =, test =} (the splits present), or {pieces =} for a bare list;
--   each piece a list of steps, each a list of integer pitches
function M.read(path, opts)
  opts = opts or {}
  local low, keys = opts.low or 21, opts.keys or 88
  local f, err = io.open(path, "rb")
  if not f then errors.raise("data", "%s: cannot read: %s", path, (tostring(err):gsub("^.-: ", ""))) end
  local text = f:read("a")
  f:close()
  if not text:find("%S") then errors.raise("data", "%s: empty file (JSON piano rolls expected)", path) end
  local ok, v = pcall(core.json_decode, text)
  if not ok then
    -- the decoder's message gives byte, line and column; no Lua position
    local msg = tostring(v):gsub("^.-json_decode: ", "")
    errors.raise("data", "%s: not valid JSON: %s", path, msg)
  end
  if type(v) ~= "table" then errors.raise("data", "%s: expected a JSON object or list", path) end
  if v[1] ~= nil or next(v) == nil then
    return { pieces = check_pieces(v, path, low, keys) }
  end
  local out = {}
  for k, list in pairs(v) do
    if not SPLITS[k] then
      errors.raise("data", "%s: unknown split '%s' (train, valid and test are read)", path, tostring(k))
    end
    out[k] = check_pieces(list, ("%s: %s"):format(path, k), low, keys)
  end
  return out
end

--- A set of piano rolls that train.fit can batch (data.Dataset's batching:
-- shuffling, bucketing by length, resumable plans).
-- Batches: {data = [T, B, keys] inputs (the roll shifted one step, all-off
-- first), lengths = [B] int32, targets = [T, B, keys], index}.
local Rolls = setmetatable({}, { __index = lurn.data.Dataset })
Rolls.__index = Rolls
Rolls.__name = "pianoroll.Rolls"
Rolls.__tostring = function(d) return ("pianoroll.Rolls(%d pieces)"):format(#d.seqs) end

--- Piano rolls from pieces.
-- @param pieces a list of pieces (lists of steps of MIDI pitches)
-- @param opts low (21), keys (88)
function M.Rolls(pieces, opts)
  opts = opts or {}
  return setmetatable({ seqs = pieces, low = opts.low or 21, keys = opts.keys or 88, cache = {} },
    Rolls)
end

--- Number of time steps over all pieces.
function Rolls:steps()
  local n = 0
  for _, s in ipairs(self.seqs) do n = n + #s end
  return n
end

--- Piece i as a 0/1 tensor [T, keys] (built once, then kept).
-- @param i the piece's index
-- @return the tensor
function Rolls:roll(i)
  local r = self.cache[i]
  if r then return r end
  local piece = self.seqs[i]
  r = lurn.zeros(#piece, self.keys)
  for t, step in ipairs(piece) do
    for _, p in ipairs(step) do r:set(t, p - self.low + 1, 1) end
  end
  self.cache[i] = r
  return r
end

--- One batch from piece indices (see Rolls).
function Rolls:make_batch(index)
  local B, T = #index, 1
  for _, i in ipairs(index) do T = math.max(T, #self.seqs[i]) end
  local x, y = lurn.zeros(T, B, self.keys), lurn.zeros(T, B, self.keys)
  local lengths = {}
  for b, i in ipairs(index) do
    local r = self:roll(i)
    local n = r:size(1)
    lengths[b] = n
    y:select(2, b):narrow(1, 1, n):copy(r)
    if n > 1 then x:select(2, b):narrow(1, 2, n - 1):copy(r:narrow(1, 1, n - 1)) end
  end
  return { data = x, lengths = lurn.tensor(lengths, "int32"), targets = y, index = index }
end

-- ---- the loss and the measures -------------------------------------------------

--- The training loss: Bernoulli NLL summed over the keys, averaged over
-- the counted time steps of a batch (BCEWithLogits's mean over counted
-- elements, times the number of keys).
local StepNLL = {}
StepNLL.__index = StepNLL
StepNLL.__name = "pianoroll.StepNLL"

--- A new per-step NLL loss (forward(logits Seq, targets) -> number; backward() -> d logits).
function M.StepNLL()
  return setmetatable({ bce = lurn.nn.BCEWithLogits() }, StepNLL)
end
--- The loss of a batch: logits (a Seq with lengths) against 0/1 targets [T, B, keys].
-- @return the mean over counted steps of the NLL summed over the keys
function StepNLL:forward(out, target)
  local x = seqm.split(out)
  self.keys = x:size(-1)
  self.output = self.bce:forward(out, target) * self.keys
  return self.output
end
--- d loss / d logits of the last forward.
function StepNLL:backward() return self.bce:backward():mul(self.keys) end

--- NLL and frame accuracy of a model over a set of rolls (eval mode; the
-- model's mode is restored).
-- @param model the model
-- @param ds a Rolls
-- @param opts batch_size (64)
-- @return {loss = NLL per time step (nats, summed over keys, every step),
--   nll_rest = the same over steps 2.. of each piece, accuracy = frame
--   accuracy TP / (TP + FP + FN) of the 0.5-thresholded predictions over all
--   steps (Bay et al. 2009), steps =, pieces =}
function M.evaluate(model, ds, opts)
  opts = opts or {}
  local was = model.training
  model:eval()
  local bce = lurn.nn.BCEWithLogits { reduction = "sum" }
  local total, first, steps, pieces, tp, fp, fn = 0, 0, 0, 0, 0, 0, 0
  for batch in ds:batches { size = opts.batch_size or 64 } do
    local out = model:forward(batch)
    local x, lengths = seqm.split(out)
    local T, B = x:size(1), x:size(2)
    total = total + bce:forward(out, batch.targets)
    -- every piece has a first step
    first = first + lurn.core.bce_with_logits(x:narrow(1, 1, 1), batch.targets:narrow(1, 1, 1),
      { reduction = "sum", grad = false })
    local mask = lurn.arange(T):view(T, 1):lt(lengths:float():view(1, B)):view(T, B, 1)
    local pred = x:gt(0):mul(mask)
    local hit = pred:mul(batch.targets):sum()
    tp, fp, fn = tp + hit, fp + pred:sum() - hit, fn + batch.targets:sum() - hit
    steps, pieces = steps + lengths:sum(), pieces + B
  end
  model:train(was)
  local denom = tp + fp + fn
  return { loss = steps > 0 and total / steps or 0 / 0,
    nll_rest = steps > pieces and (total - first) / (steps - pieces) or 0 / 0,
    accuracy = denom > 0 and tp / denom or 0 / 0, steps = steps, pieces = pieces, n = pieces }
end

-- ---- configs, models ----------------------------------------------------------

local function check_config(cfg)
  local p = cfg.pianoroll
  if p.low + p.keys - 1 > 127 then
    errors.raise("config", "pianoroll.low + pianoroll.keys - 1 = %d is above 127, the highest "
      .. "MIDI pitch", p.low + p.keys - 1)
  end
  if cfg.data.train == "" then
    errors.raise("config", "data.train: task 'pianoroll' needs a piano-roll JSON file "
      .. "(datasets/jsb writes one)")
  end
  if cfg.data.format ~= "auto" and cfg.data.format ~= "json" then
    errors.raise("config", "data.format = %q: task 'pianoroll' reads JSON piano rolls (auto or json)",
      cfg.data.format)
  end
  local m = cfg.model
  if m.type == "bow" then
    errors.raise("config", "model.type = 'bow': task 'pianoroll' needs a recurrent model (lstm, "
      .. "gru, rnn) or a custom one")
  end
  if m.bidirectional then
    errors.raise("config", "model.bidirectional = true: a next-step model may not read the future")
  end
  local bm = cfg.train.best_metric
  if bm ~= "valid_loss" and bm ~= "valid_accuracy" and bm ~= "train_loss" then
    errors.raise("config", "train.best_metric = %q: task 'pianoroll' has valid_loss (NLL per "
      .. "step), valid_accuracy (frame accuracy) and train_loss", bm)
  end
  local want = bm == "valid_accuracy" and "max" or "min"
  if cfg.train.best_mode ~= want then
    errors.raise("config", "train.best_mode = %q: %s is better when %s (set train.best_mode = %q)",
      cfg.train.best_mode, bm, want == "min" and "smaller" or "larger", want)
  end
end

local RECURRENT = { lstm = "LSTM", gru = "GRU", rnn = "RNN" }

--- The model of a config as a spec: recurrent layers over the keys, then
-- one logit per key.
-- @param cfg a resolved config
-- @return the spec (nn.build makes the model)
function M.spec(cfg)
  local m, K = cfg.model, cfg.pianoroll.keys
  if m.type == "custom" then
    return require("lurn.config").model_spec(cfg, { vocab_size = K, num_classes = K, labels = {} })
  end
  local opts = { layers = m.layers, dropout = m.dropout, input_dropout = m.input_dropout,
    output_dropout = m.output_dropout }
  return { type = "Sequential", args = { {
    { type = RECURRENT[m.type], args = { K, m.hidden, opts } },
    { type = "Linear", args = { m.hidden, K } },
  } } }
end

-- The data of a config: Rolls for train, valid (the file's, or a seeded
-- part of train: data.valid_split) and test, and the files read.
local function load_data(cfg, note)
  local p = cfg.pianoroll
  local ropts = { low = p.low, keys = p.keys }
  local main = M.read(cfg.data.train, ropts)
  local files = { cfg.data.train }
  local function part(key, split)
    local path = cfg.data[key]
    if path == "" then return main[split] end
    files[#files + 1] = path
    local r = M.read(path, ropts)
    local v = r.pieces or r[split]
    if not v then errors.raise("data", "%s: no '%s' split in it", path, split) end
    return v
  end
  local train = main.pieces or main.train
  if not train then errors.raise("data", "%s: no 'train' split in it", cfg.data.train) end
  local valid, test = part("valid", "valid"), part("test", "test")
  if not valid and cfg.data.valid_split > 0 then
    local vs = cfg.data.valid_split
    local n = vs < 1 and math.floor(#train * vs + 0.5) or math.tointeger(vs)
    if n < 1 or n >= #train then
      errors.raise("data", "data.valid_split = %g leaves %d of %d pieces for validation", vs, n, #train)
    end
    local perm = lurn.randperm(#train)
    local tr, va = {}, {}
    for i = 1, #train do
      local piece = train[perm:get(i) + 1]
      if i <= n then va[#va + 1] = piece else tr[#tr + 1] = piece end
    end
    if note then note(("  note: %d of %d training pieces held out for validation (data.valid_split)")
      :format(n, #train)) end
    train, valid = tr, va
  end
  local function rolls(list) return list and M.Rolls(list, ropts) or nil end
  return { train = rolls(train), valid = rolls(valid), test = rolls(test), files = files }
end

-- ---- lurn train --------------------------------------------------------------

local function command_line(argv)
  local parts = { "lurn" }
  for _, a in ipairs(argv or {}) do
    parts[#parts + 1] = a:match("^[%w%._/=:,+-]+$") and a or rundir.shell_quote(a)
  end
  return table.concat(parts, " ")
end

-- The run directory: new, or the resumed one with its checkpoint.
local function open_run(cfg, opts, files)
  local config = require "lurn.config"
  local run, ckpt_path = opts.resume, nil
  if run then
    local okj, env = pcall(json.decode, run:read("env.json") or "")
    local old = okj and type(env) == "table" and env.data or {}
    for _, f in ipairs(files) do
      local h = rundir.sha256(f)
      if old[f] and old[f] ~= h then
        errors.raise("data", "%s changed since the run started (SHA-256 %s..., now %s...); "
          .. "resuming would not continue the same run", f, old[f]:sub(1, 12), h:sub(1, 12))
      end
    end
    ckpt_path = errors.wrap("checkpoint", "", lurn.train.latest_checkpoint, run:file("checkpoints"))
    if not ckpt_path then
      errors.raise("checkpoint", "%s: no checkpoint to resume from; start a new run instead", run.path)
    end
    local state = errors.wrap("checkpoint", "", require("lurn.checkpoint").load, ckpt_path)
    run:keep_metrics(state.step or 0)
    run:write("command.txt", (run:read("command.txt") or "") .. command_line(opts.argv) .. "\n")
  else
    run = rundir.create { out = opts.out, root = opts.root, name = cfg.name }
    run:write("config.lua", (opts.info and opts.info.source) or config.serialize(cfg))
    run:write("command.txt", command_line(opts.argv) .. "\n")
    run:write_json("env.json", rundir.environment(cfg, files))
  end
  run:write("config.resolved.lua", config.serialize(cfg))
  return run, ckpt_path
end


local function bundle(cfg, spec)
  local p = cfg.pianoroll
  return { kind = "lurn-run", version = 1, task = "pianoroll", model = spec, low = p.low,
    keys = p.keys, bpm = p.bpm, step_beats = p.step_beats, length = p.length, hold = p.hold }
end

--- lurn train for task "pianoroll" (lurn.tasks' interface; opts as
-- lurn.commands.train.run's).
-- @param cfg a resolved config
-- @param opts out, root, info, progress, argv, resume, threads_fixed
-- @return summary.json's table
function M.run(cfg, opts)
  opts = opts or {}
  local t = cfg.train
  local P = progress.new { mode = opts.progress or "lines", epochs = t.epochs, metric = t.best_metric }
  if cfg.threads and cfg.threads > 0 and not opts.threads_fixed then lurn.threads(cfg.threads) end
  lurn.seed(cfg.seed)
  check_config(cfg)
  local ds = load_data(cfg, function(s) P:note(s) end)
  local spec = M.spec(cfg)
  local okb, model = pcall(lurn.nn.build, spec)
  if not okb then errors.raise("config", "model: %s", tostring(model)) end
  local opt = models.optimizer(cfg, model:parameters())
  local sched, every = models.schedule(cfg, opt, math.ceil(ds.train:size() / t.batch_size))
  local run, ckpt_path = open_run(cfg, opts, ds.files)
  P:note((opts.resume and "resuming " or "run ") .. run.path)
  for _, c in ipairs(opts.info and opts.info.changed or {}) do
    P:note(("  %s: %s -> %s"):format(c.key, tostring(c.old), tostring(c.new)))
  end
  local sizes = { ("%d train (%d steps)"):format(ds.train:size(), ds.train:steps()) }
  if ds.valid then sizes[#sizes + 1] = ("%d valid"):format(ds.valid:size()) end
  if ds.test then sizes[#sizes + 1] = ("%d test"):format(ds.test:size()) end
  P:note(("data: %s pieces; %d keys from MIDI pitch %d; model of %d parameters"):format(
    table.concat(sizes, ", "), cfg.pianoroll.keys, cfg.pianoroll.low, model:num_parameters()))
  local mon = monitor.new { run = run, cfg = cfg, progress = P, labels = {} }

  local eval_every = t.eval_every > 0 and t.eval_every or nil
  lurn.catch_signals()
  local ok, result = pcall(lurn.train.fit, {
    model = model, loss = M.StepNLL(), optimizer = opt, schedule = sched,
    schedule_every = every or "epoch", train_data = ds.train, valid_data = ds.valid,
    epochs = t.epochs, batch_size = t.batch_size, shuffle = true, bucket = t.bucket,
    clip = t.clip > 0 and t.clip or nil, eval_every = eval_every,
    checkpoint_every = t.checkpoint_every > 0 and t.checkpoint_every or eval_every,
    keep_checkpoints = t.keep_checkpoints, monitor = t.best_metric, mode = t.best_mode,
    patience = t.early_stop > 0 and t.early_stop or nil, checkpoint_dir = run:file("checkpoints"),
    resume = ckpt_path, config = cfg, extra = bundle(cfg, spec), target = "targets",
    evaluate = function(m, d, eo) return M.evaluate(m, d, { batch_size = eo.batch_size }) end,
    on_step = mon.on_step, on_eval = mon.on_eval, on_checkpoint = mon.on_checkpoint,
    progress = "none",
  })
  P:finish()
  local status, failure
  status, failure, result = require("lurn.commands.train").outcome(ok, result, mon)
  mon.draw()
  local dir = run:file("checkpoints")
  local okl, last = pcall(lurn.train.latest_checkpoint, dir)
  if not okl then last = nil end
  local function present(p) return lfs.attributes(p) and p or nil end
  local summary = {
    run_dir = run.path, task = "pianoroll", status = status, exit_code = errors.EXIT[status] or 0,
    steps = result and result.step or 0, epochs = result and result.epoch or nil,
    seconds = mon.elapsed(), stopped = mon.stop_reason or (result and result.stopped)
      or (failure and failure.message),
    best = mon.best_record and { metric = mon.monitor, value = mon.best, step = mon.best_record.step,
      epoch = mon.best_record.epoch, record = mon.best_record } or nil,
    final = mon.last_valid,
    checkpoints = { last = present(dir .. "/last.ckpt") or last, best = present(dir .. "/best.ckpt"),
      newest = last },
    command = command_line(opts.argv), num_parameters = model:num_parameters(),
  }
  if status == "completed" and ds.test and summary.checkpoints.best then
    require("lurn.checkpoint").load_into(model, summary.checkpoints.best)
    local r = M.evaluate(model, ds.test, { batch_size = t.batch_size })
    summary.test = { loss = r.loss, nll_rest = r.nll_rest, accuracy = r.accuracy, steps = r.steps,
      pieces = r.pieces }
    run:log_metric { step = summary.steps, epoch = summary.epochs, split = "test", loss = r.loss,
      accuracy = r.accuracy, elapsed = mon.elapsed() }
  end
  run:write_json("summary.json", summary)
  run:close()
  P:summary(summary)
  if summary.test and P.mode ~= "json" and P.mode ~= "quiet" then
    P:note(("test NLL %.4f nats per time step (steps 2.. of each piece: %.4f), frame accuracy "
      .. "%.4f, %d pieces, %d steps"):format(summary.test.loss, summary.test.nll_rest,
      summary.test.accuracy, summary.test.pieces, summary.test.steps))
  end
  require("lurn.commands.train").raise_outcome(status, failure, summary, mon, run)
  return summary
end

-- ---- using a trained run --------------------------------------------------------

--- A trained run back from its checkpoint (lurn.run.saved's hook).
-- @param file the checkpoint file
-- @param state checkpoint.load's table
-- @param b the run bundle saved with it
-- @return {path, state, model (eval mode), spec, config, bundle, low, keys}
function M.load_saved(file, state, b)
  local function fail(fmt, ...) errors.raise("checkpoint", file .. ": " .. fmt, ...) end
  for _, k in ipairs { "low", "keys" } do
    if math.type(b[k]) ~= "integer" then fail("the run bundle has no integer '%s'", k) end
  end
  if type(state.model) ~= "table" then fail("the model weights are missing") end
  local model = errors.wrap("checkpoint", file .. ": model: ", lurn.nn.build, b.model)
  errors.wrap("checkpoint", "", require("lurn.checkpoint").restore, state, { model = model })
  model:eval()
  return { path = file, state = state, model = model, spec = b.model, config = state.config or {},
    bundle = b, low = b.low, keys = b.keys }
end

--- lurn eval for a pianoroll run: NLL per time step and frame accuracy on
-- the run's test split (or --split valid, or --data FILE).
-- @param s load_saved's table
-- @param o lurn eval's parsed options (data, split, batch_size, json)
function M.eval(s, o)
  local cfg = s.config
  local r, where
  if o.data then
    local d = M.read(o.data, { low = s.low, keys = s.keys })
    local split = o.split or "test"
    local list = d.pieces or d[split]
    if not list then errors.raise("data", "%s: no '%s' split in it", o.data, split) end
    r = M.evaluate(s.model, M.Rolls(list, { low = s.low, keys = s.keys }), { batch_size = o.batch_size })
    where = ("%s%s"):format(o.data, d.pieces and "" or (", split " .. split))
  else
    if type(cfg.data) ~= "table" or type(cfg.pianoroll) ~= "table" then
      errors.raise("usage", "%s: the checkpoint has no data config; give --data FILE", s.path)
    end
    lurn.seed(cfg.seed)   -- a held-out valid part is drawn as in training
    local ds = load_data(cfg)
    local split = o.split or (ds.test and "test" or "valid")
    if not ds[split] then errors.raise("usage", "the run has no %s split; give --data FILE", split) end
    r = M.evaluate(s.model, ds[split], { batch_size = o.batch_size })
    where = ("%s, split %s"):format(cfg.data.train, split)
  end
  local st = s.state
  local out = { checkpoint = s.path, step = st.step, data = where, pieces = r.pieces, steps = r.steps,
    nll = r.loss, nll_rest = r.nll_rest, frame_accuracy = r.accuracy, keys = s.keys }
  if o.json then
    print(json.encode(out))
    return 0
  end
  print(("checkpoint  %s (step %s)"):format(s.path, tostring(st.step)))
  print(("data        %s (%d pieces, %d time steps)"):format(where, r.pieces, r.steps))
  print(("NLL         %.4f nats per time step (Bernoulli, summed over %d keys; every step)")
    :format(r.loss, s.keys))
  print(("NLL, t > 1  %.4f nats per time step (the first step of each piece left out)")
    :format(r.nll_rest))
  print(("frame acc.  %.4f (TP / (TP + FP + FN), keys above probability 0.5)"):format(r.accuracy))
  return 0
end

-- ---- sampling ----------------------------------------------------------------

local function recurrent_modules(m, out)
  out = out or {}
  if m.reset_state and m.stateful ~= nil then out[#out + 1] = m end
  for _, c in ipairs(m._children or {}) do recurrent_modules(c.module, out) end
  return out
end

--- Sample a piece from a trained model: at each step every key is a
-- Bernoulli draw with probability sigmoid(logit / temperature), the drawn
-- step fed back as the next input.
-- @param s load_saved's table
-- @param opts length (steps, 64), seed (1), temperature (1)
-- @return the roll: a list of steps, each a sorted list of MIDI pitches
function M.sample(s, opts)
  opts = opts or {}
  local length, temp = opts.length or 64, opts.temperature or 1
  if math.type(length) ~= "integer" or length < 1 then
    errors.raise("usage", "--length must be a positive integer, got %s", tostring(length))
  end
  if type(temp) ~= "number" or not (temp > 0) then
    errors.raise("usage", "--temperature must be above 0, got %s", tostring(temp))
  end
  local model, K, low = s.model, s.keys, s.low
  model:eval()
  local recs, was = recurrent_modules(model), {}
  for i, r in ipairs(recs) do was[i] = r.stateful; r.stateful = true; r:reset_state() end
  lurn.seed(opts.seed or 1)
  local x = lurn.zeros(1, 1, K)
  local roll = {}
  local ok, err = pcall(function()
    for t = 1, length do
      local logits = seqm.split(model:forward(seqm.new(x)))
      local p = logits:reshape(K):div(temp):sigmoid()
      local on = lurn.rand(K):lt(p)
      local step = {}
      for k = 1, K do if on:get(k) > 0 then step[#step + 1] = low + k - 1 end end
      roll[t] = step
      x = on:view(1, 1, K)
    end
  end)
  for i, r in ipairs(recs) do r.stateful = was[i]; r:reset_state() end
  if not ok then error(err, 0) end
  return roll
end

local NAMES = { "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B" }
--- A MIDI pitch's name: 60 is C4, 21 is A0.
function M.pitch_name(p) return NAMES[p % 12 + 1] .. tostring(p // 12 - 1) end

local function sample_parser()
  local argparse = require "argparse"
  local p = argparse("lurn sample", "Sample a piece from a trained piano-roll model.")
  p:add_help(false)
  p:argument("model", "a run directory or checkpoint"):argname("RUN_DIR|CHECKPOINT")
  p:option("--length", "time steps to sample (default: the run's pianoroll.length)")
      :convert(math.tointeger):argname("N")
  p:option("--seed", "random seed: the same seed gives the same piece", "1"):convert(math.tointeger)
  p:option("--temperature", "divides the logits: below 1 fewer surprises", "1"):convert(tonumber)
  p:option("--midi", "write the piece to this MIDI file"):argname("FILE")
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:flag("--json", "print the piece as one JSON list of steps (lists of MIDI pitches)")
  p:flag("-h --help", "show this help")
  return p
end

-- The options of lurn sample: parsed here from its arguments (a list of
-- strings), or already parsed by lurn sample (a table of fields).
local function sample_options(args)
  if type(args) == "table" and (#args > 0 or next(args) == nil) then
    local ok, o = sample_parser():pparse(args)
    if not ok then errors.raise("usage", "%s (try lurn sample --help)", o) end
    return o
  end
  return args or {}
end

--- lurn sample for a pianoroll run: prints the sampled steps (one line
-- each: step, then note names) or, with --json, the roll as JSON; --midi
-- FILE writes it as a MIDI file (format 1, the run's pianoroll.bpm and
-- step_beats; consecutive steps of a key are one held note when
-- pianoroll.hold is set).
-- @param args lurn sample's arguments (strings) or its parsed options
--   (length, seed, temperature, midi, json)
-- @param s lurn.run.saved's table for the run
-- @return 0
function M.sample_main(args, s)
  local o = sample_options(args)
  local b = s.bundle or {}
  local roll = M.sample(s, { length = o.length or b.length or 64, seed = o.seed or 1,
    temperature = o.temperature or 1 })
  if o.json then
    print(json.encode(roll))
  else
    for t, step in ipairs(roll) do
      local names = {}
      for i, p in ipairs(step) do names[i] = M.pitch_name(p) end
      print(("%4d  %s"):format(t, table.concat(names, " ")))
    end
  end
  if o.midi then
    local midi = require "lurn.midi"
    local division = 480
    local tps = math.max(1, math.floor(division * (b.step_beats or 1) + 0.5))
    local song = midi.from_roll(roll, { division = division, ticks_per_step = tps,
      bpm = b.bpm or 100, hold = b.hold ~= false, name = "lurn sample" })
    midi.write(o.midi, song)
    local notes = #midi.notes(song)
    io.stderr:write(("wrote %s (%d steps, %d notes, %g quarter notes per minute)\n"):format(o.midi,
      #roll, notes, b.bpm or 100))
  end
  return 0
end

return M
