--- lurn.tasks.lm — character and word language models (config task = "lm").
--
-- One long text (data.train; data.valid, or the last lm.valid_fraction of
-- it, for validation) is laid out as train.batch_size parallel streams and
-- cut into chunks of lm.bptt steps (lurn.text.stream). Each training step
-- reads one chunk: the recurrent layers (stateful) start from the states the
-- previous chunk ended with, and gradients stop at the chunk's start
-- (truncated backpropagation through time). The loss is the cross-entropy
-- of every step's next-token prediction, in nats per token; validation
-- also reports bits per token (bits per character for lm.tokenizer =
-- "char") and perplexity. The states are reset at the start of each pass.
--
--   task.run(cfg, opts)             lurn train (a run directory like classify's)
--   task.load_saved(file, st, b)    lurn.run.saved.load for an lm checkpoint
--   task.eval(s, o)                 lurn eval RUN_DIR
--   task.generate(s, o, write)      lurn sample: primes, then samples token by token
--
-- Exact resume: besides what train.fit saves, every checkpoint holds the
-- carried states (extra/carry/<layer>/h and /c), so a resumed run continues
-- the streams where they were, bit for bit.
local lurn = require "lurn"
local errors = require "lurn.errors"
local stream = require "lurn.text.stream"
local progress = require "lurn.run.progress"
local monitor = require "lurn.run.monitor"
local models = require "lurn.run.model"
local json = require "lurn.run.json"

local M = {}

local LN2 = math.log(2)
local RECURRENT = { lstm = "LSTM", gru = "GRU", rnn = "RNN" }

-- ---- data ----------------------------------------------------------------------

-- The texts of a corpus in one of lurn.text's formats (data.format), one per
-- line: a text's own line breaks become spaces, so the word tokenizer's
-- <eos> marks the end of each text. Labels are not read; aclImdb's unsup/
-- (50,000 unlabelled reviews, when fetched) is read beside pos/ and neg/.
local function read_corpus(path, d)
  local read = require "lurn.text.read"
  local r = read.read(path, { format = d.format, text_field = d.text_field, unlabelled = true })
  local texts = r.texts
  if r.format == "imdb" then
    local names = require("lurn.core").text_listdir(path .. "/unsup")
    if names then
      table.sort(names, function(a, b)
        return (tonumber(a:match("^%d+")) or 0) < (tonumber(b:match("^%d+")) or 0)
      end)
      for _, name in ipairs(names) do
        if name:match("^%d+_%d+%.txt$") then
          texts[#texts + 1] = read.slurp(path .. "/unsup/" .. name)
        end
      end
    end
  end
  local out = {}
  for i, t in ipairs(texts) do out[i] = (t:gsub("\r?\n", " ")) end
  out[#out + 1] = ""
  return table.concat(out, "\n")
end

-- The text of data.train (key names it in messages): the file as it is, or
-- with data.format set, the texts of that corpus, one per line.
local function read_text(path, key, d)
  if path == nil or path == "" then
    errors.raise("config", "%s is not set: a language model needs a text file", key)
  end
  if d and d.format and d.format ~= "auto" then return read_corpus(path, d) end
  local f, err = io.open(path, "rb")
  if not f then errors.raise("data", "%s: cannot read (%s)", path, tostring(err)) end
  local s = f:read("a")
  f:close()
  if not s then errors.raise("data", "%s: cannot read (a directory?)", path) end
  return s
end

local function slice(list, i, j)
  return table.move(list, i, j, 1, {})
end

--- The data of an lm config: {vocab, train = ids, valid = ids|nil, files,
-- train_what, valid_what}. Raises "data" errors for texts that are too short.
function M.prepare(cfg)
  local d, l = cfg.data, cfg.lm
  local kind = l.tokenizer
  local toks = stream.tokens(read_text(d.train, "data.train", d), kind, l.lower)
  local files = { d.train }
  local train, valid, valid_what
  if (d.valid or "") ~= "" then
    train, valid = toks, stream.tokens(read_text(d.valid, "data.valid", d), kind, l.lower)
    files[2], valid_what = d.valid, d.valid
  elseif l.valid_fraction > 0 then
    local nv = math.floor(#toks * l.valid_fraction)
    if nv < 2 or #toks - nv < 2 then
      errors.raise("data", "%s: %d tokens; lm.valid_fraction = %g leaves too little to train on or "
        .. "to validate (at least 2 tokens each)", d.train, #toks, l.valid_fraction)
    end
    train, valid = slice(toks, 1, #toks - nv), slice(toks, #toks - nv + 1, #toks)
    valid_what = ("%s (last %g%%: %d tokens)"):format(d.train, l.valid_fraction * 100, nv)
  else
    train = toks
  end
  local vocab
  if kind == "char" then
    -- every character of the file, held-out part included (char-rnn's way): a
    -- character first seen there would otherwise have no id
    vocab = stream.Vocab.build({ train, valid }, { kind = "char" })
  else
    vocab = stream.Vocab.build({ train }, { kind = "word", min_count = d.min_count,
      max_size = d.max_vocab })
  end
  local out = { vocab = vocab, files = files, train_what = d.train, valid_what = valid_what,
    train_tokens = #train }
  out.train = vocab:encode(train, d.train)
  if valid then out.valid, out.valid_unk = vocab:encode(valid, valid_what) end
  return out
end

-- ---- the model ------------------------------------------------------------------

--- The model spec of an lm config for a vocabulary of V tokens: Embedding ->
-- stateful recurrent layers -> Linear to V logits at every step.
function M.spec(cfg, V)
  local m = cfg.model
  if m.type == "custom" then
    return require("lurn.config").model_spec(cfg, { vocab_size = V, num_classes = V })
  end
  if not RECURRENT[m.type] then
    errors.raise("config", "model.type = %q: a language model needs a recurrent layer (lstm, gru, "
      .. "rnn or custom)", tostring(m.type))
  end
  if m.bidirectional then
    errors.raise("config", "model.bidirectional = true: a language model reads left to right "
      .. "(the reverse direction would see the tokens it predicts)")
  end
  local eopts = m.embed_dropout > 0 and { dropout = m.embed_dropout } or nil
  local ropts = { layers = m.layers, dropout = m.dropout, input_dropout = m.input_dropout,
    output_dropout = m.output_dropout, stateful = true }
  return { type = "Sequential", args = { {
    { type = "Embedding", args = { V, m.embed, eopts } },
    { type = RECURRENT[m.type], args = { m.embed, m.hidden, ropts } },
    { type = "Linear", args = { m.hidden, V } },
  } } }
end

--- The stateful recurrent layers of a model, depth first.
function M.stateful_layers(model, out)
  out = out or {}
  if model.stateful and model.reset_state then out[#out + 1] = model end
  for _, c in ipairs(model._children or {}) do M.stateful_layers(c.module, out) end
  return out
end

local function reset(layers) for _, l in ipairs(layers) do l:reset_state() end end
local function get_carry(layers)
  local c = {}
  for i, l in ipairs(layers) do c[i] = l._carry or false end
  return c
end
local function set_carry(layers, c)
  for i, l in ipairs(layers) do l._carry = c[i] or nil end
end

-- The carried states as checkpoint tensors.
local function carry_tensors(layers)
  local t = {}
  for i, l in ipairs(layers) do
    if l._carry then
      t[("carry/%d/h"):format(i)] = l._carry.h
      if l._carry.c then t[("carry/%d/c"):format(i)] = l._carry.c end
    end
  end
  return t
end

local function restore_carry(layers, tensors, path)
  for i, l in ipairs(layers) do
    local h, c = tensors[("carry/%d/h"):format(i)], tensors[("carry/%d/c"):format(i)]
    if h then
      local want = l.layers * l.dirs
      if h:dim() ~= 3 or h:size(1) ~= want or h:size(3) ~= l.hidden
          or (c and tostring(c:shape()) ~= tostring(h:shape())) then
        errors.raise("checkpoint", "%s: the carried state of recurrent layer %d has shape %s, the "
          .. "model's is [%d,B,%d]", path, i, tostring(h:shape()), want, l.hidden)
      end
      l._carry = { h = h, c = c }
    else
      l._carry = nil
    end
  end
end

--- Mean loss (nats per token), bits per token, perplexity and next-token
-- accuracy of a model over Streams, in eval mode, from reset states; the
-- model's mode and carried states are put back afterwards.
function M.evaluate(model, data, loss_fn, layers)
  layers = layers or M.stateful_layers(model)
  loss_fn = loss_fn or lurn.nn.CrossEntropy()
  local saved = get_carry(layers)
  reset(layers)
  local was = model.training
  model:eval()
  local sum, n, correct = 0, 0, 0
  for k = 1, data:size() do
    local b = data:chunk(k)
    local out = model:forward(b)
    sum = sum + loss_fn:forward(out, b.targets) * b.tokens
    correct = correct + lurn.train.accuracy(out, b.targets)
    n = n + b.tokens
  end
  model:train(was)
  set_carry(layers, saved)
  local loss = sum / n
  return { loss = loss, bits = loss / LN2, perplexity = math.exp(loss), accuracy = correct / n,
    n = n }
end

-- ---- lurn train -------------------------------------------------------------------

-- Keys of classification that a language model does not read, and what to
-- set instead: set to anything but their default, they are an error rather
-- than silently ignored.
local UNUSED = {
  { "data", "valid_split", "lm.valid_fraction" }, { "data", "tokenizer", "lm.tokenizer" },
  { "data", "lower", "lm.lower" }, { "data", "ngrams", nil }, { "data", "max_len", "lm.bptt" },
  { "data", "truncate", nil }, { "data", "label_field", nil }, { "model", "pool", nil },
}

--- Raise a "config" error for a classification key set in an lm config.
function M.check_unused(cfg)
  local schema = require "lurn.config.schema"
  for _, u in ipairs(UNUSED) do
    local key = u[1] .. "." .. u[2]
    local v, default = cfg[u[1]][u[2]], schema.lookup(key).default
    if v ~= nil and v ~= default then
      errors.raise("config", "%s = %s: task \"lm\" does not read it (the text is read whole, "
        .. "as UTF-8)%s", key, type(v) == "string" and ("%q"):format(v) or tostring(v),
        u[3] and ("; set %s instead"):format(u[3]) or "")
    end
  end
end

-- The monitored metric: the classification default (valid_accuracy) means the
-- validation loss here; any other must be a loss.
local function best_metric(cfg, has_valid)
  local bm = cfg.train.best_metric
  if bm == "valid_accuracy" or bm == "valid_loss" or bm == "valid_bits" then
    if not has_valid then
      if bm ~= "valid_accuracy" then
        errors.raise("config", "train.best_metric = %q needs validation data (data.valid or "
          .. "lm.valid_fraction > 0)", bm)
      end
      return "train_loss"
    end
    return bm == "valid_bits" and "valid_bits" or "valid_loss"
  end
  if bm == "train_loss" then return bm end
  errors.raise("config", "train.best_metric = %q: a language model picks its best checkpoint by "
    .. "valid_loss, valid_bits or train_loss", bm)
end

local function fmt(v, f) return v == nil and "-" or (f or "%.4f"):format(v) end

-- The progress printer, with the language model's figures in its lines.
local function printer(mode, cfg, unit)
  local P = progress.new { mode = mode, epochs = cfg.train.epochs, metric = "valid_loss" }
  local base_eval, base_summary = P.eval, P.summary
  function P:eval(r, is_best)
    if self.mode == "json" or self.mode == "quiet" then return base_eval(self, r, is_best) end
    self:_write(("eval   epoch %d  step %d  %s loss %s  %s %s  perplexity %s%s"):format(
      r.epoch, r.step, r.split, fmt(r.loss), unit, fmt(r.bits), fmt(r.perplexity, "%.2f"),
      is_best and "  (best)" or ""))
  end
  function P:summary(s)
    if self.mode == "json" or self.mode == "quiet" then return base_summary(self, s) end
    self:finish()
    local lines = { ("%-12s %s"):format("run", s.run_dir),
      ("%-12s %s after %d steps, %d epochs, %s%s"):format("status", s.status, s.steps or 0,
        s.epochs or 0, progress.fmt_time(s.seconds), s.stopped and ("; " .. s.stopped) or ""), "",
      ("%-22s %10s %10s %10s %8s"):format("", "loss", unit, "perplexity", "step") }
    local function row(name, r)
      if r then
        lines[#lines + 1] = ("%-22s %10s %10s %10s %8s"):format(name, fmt(r.loss), fmt(r.bits),
          fmt(r.perplexity, "%.2f"), r.step and tostring(r.step) or "")
      end
    end
    local rec = s.best and s.best.record
    row(((rec and rec.split) or "valid") .. ", best", rec)
    row("valid, final", s.final)
    row("test, best weights", s.test)
    lines[#lines + 1] = ""
    if s.checkpoints and (s.checkpoints.best or s.checkpoints.last) then
      lines[#lines + 1] = ("%-12s %s (best), %s (last)"):format("checkpoints",
        s.checkpoints.best or "none", s.checkpoints.last or "none")
    end
    for _, l in ipairs(lines) do self.out:write(l, "\n") end
    self.out:flush()
  end
  return P
end

-- The units the figures are in.
local function bits_unit(kind) return kind == "char" and "bits/char" or "bits/word" end

function M.run(cfg, opts)
  opts = opts or {}
  local trainc = require "lurn.commands.train"
  local l = cfg.lm
  local P = printer(opts.progress or "lines", cfg, bits_unit(l.tokenizer))
  if cfg.threads and cfg.threads > 0 and not opts.threads_fixed then lurn.threads(cfg.threads) end
  lurn.seed(cfg.seed)
  if (cfg.data.folds or 0) > 0 then
    errors.raise("config", "data.folds = %d: k-fold cross-validation is for classification; a "
      .. "language model holds out the end of its text (lm.valid_fraction)", cfg.data.folds)
  end
  M.check_unused(cfg)
  local d = M.prepare(cfg)
  local has_valid = d.valid ~= nil
  local metric = best_metric(cfg, has_valid)
  local B, T = cfg.train.batch_size, l.bptt
  local layers
  local train_data = stream.Streams(d.train, { batch = B, bptt = T, what = d.train_what,
    on_start = function() reset(layers) end })
  local valid_data = has_valid and stream.Streams(d.valid, { batch = l.eval_batch_size > 0 and
    l.eval_batch_size or B, bptt = T, what = d.valid_what }) or nil

  -- the model, optimizer and schedule before the run directory: a config
  -- they refuse leaves nothing behind
  local V = d.vocab:size()
  local spec = M.spec(cfg, V)
  local ok, model = pcall(lurn.nn.build, spec)
  if not ok then errors.raise("config", "model: %s", tostring(model)) end
  layers = M.stateful_layers(model)
  local opt = models.optimizer(cfg, model:parameters())
  local sched, every = models.schedule(cfg, opt, train_data:size())
  local b = { spec = spec, model = model }

  local run, ckpt_path, state = trainc.open_run(cfg, opts, d.files)
  if state then restore_carry(layers, state.tensors or {}, ckpt_path) end
  P:note((state and "resuming " or "run ") .. run.path)
  for _, c in ipairs(opts.info and opts.info.changed or {}) do
    P:note(("  %s: %s -> %s"):format(c.key, tostring(c.old), tostring(c.new)))
  end
  P:note(("data: %d training tokens (%d streams of %d, %d chunks of %d steps)%s; vocabulary of %d "
    .. "%s; model of %d parameters"):format(d.train_tokens, B, train_data.L, train_data:size(), T,
    has_valid and (", %d validation tokens"):format(d.valid:numel()) or "", V,
    l.tokenizer == "char" and "characters" or "words", model:num_parameters()))
  if #layers == 0 then
    P:note("  note: the model has no stateful recurrent layer: nothing is carried across chunks")
  end
  if d.valid_unk and d.valid_unk > 0 then
    P:note(("  note: %d validation words are not in the vocabulary (<unk>)"):format(d.valid_unk))
  end

  -- the monitor watches the metric chosen above, always a loss (smaller is better)
  local mcfg = setmetatable({ train = setmetatable({ best_metric = metric, best_mode = "min" },
    { __index = cfg.train }) }, { __index = cfg })
  local mon = monitor.new { run = run, cfg = mcfg, progress = P }
  local function on_eval(r)
    local rec = { step = r.step, epoch = r.epoch, split = "valid", loss = r.valid_loss,
      bits = r.valid_bits, perplexity = r.valid_perplexity, accuracy = r.valid_accuracy,
      lr = r.lr, elapsed = mon.elapsed() }
    if r.valid_loss == nil then
      rec.split, rec.loss = "train", r.train_loss
      rec.bits, rec.perplexity, rec.accuracy = r.train_loss / LN2, math.exp(r.train_loss), nil
    end
    run:log_metric(rec)
    local v = r[metric]
    local better = v ~= nil and monitor.is_better("min", v, mon.best)
    if better then mon.best, mon.best_record = v, rec end
    if rec.split == "valid" then mon.last_valid = rec end
    P:eval(rec, better)
    mon.draw()
  end
  local loss_fn = lurn.nn.CrossEntropy { label_smoothing = cfg.train.label_smoothing }
  local eval_loss = lurn.nn.CrossEntropy()
  local t = cfg.train
  local eval_every = t.eval_every > 0 and t.eval_every or nil
  local bundle = { kind = "lurn-run", version = 1, task = "lm", model = spec,
    vocab = d.vocab:state(), tokenizer = l.tokenizer, lower = l.lower, bptt = T,
    eval_batch_size = valid_data and valid_data.B or B }

  lurn.catch_signals()
  local okf, result = pcall(lurn.train.fit, {
    model = model, loss = loss_fn, optimizer = opt, schedule = sched,
    schedule_every = every or "epoch", train_data = train_data, valid_data = valid_data,
    epochs = t.epochs, batch_size = B, shuffle = false, clip = t.clip > 0 and t.clip or nil,
    eval_every = eval_every,
    checkpoint_every = t.checkpoint_every > 0 and t.checkpoint_every or eval_every,
    keep_checkpoints = t.keep_checkpoints, monitor = metric, mode = "min",
    patience = t.early_stop > 0 and t.early_stop or nil,
    checkpoint_dir = run:file("checkpoints"), resume = ckpt_path, config = cfg, extra = bundle,
    tensors = function() return carry_tensors(layers) end,
    -- the validation loss is the plain cross-entropy (label smoothing trains only)
    evaluate = function(m, data) return M.evaluate(m, data, eval_loss, layers) end,
    on_step = function(info)
      info.tokens = train_data.last_tokens
      return mon.on_step(info)
    end,
    on_eval = on_eval, on_checkpoint = mon.on_checkpoint, progress = "none",
  })
  P:finish()
  local status, failure
  status, failure, result = require("lurn.commands.train").outcome(okf, result, mon)
  mon.draw()
  local summary = trainc.summarize(run, opts, mon, b, result, status, failure)
  summary.task = "lm"
  summary.unit = bits_unit(l.tokenizer)
  if status == "completed" and (cfg.data.test or "") ~= "" and summary.checkpoints.best then
    local toks = stream.tokens(read_text(cfg.data.test, "data.test", cfg.data), l.tokenizer, l.lower)
    local ids = d.vocab:encode(toks, cfg.data.test)
    require("lurn.checkpoint").load_into(model, summary.checkpoints.best)
    local te = stream.Streams(ids, { batch = math.min(valid_data and valid_data.B or B,
      math.max(1, ids:numel() - 1)), bptt = T, what = cfg.data.test })
    local r = M.evaluate(model, te, eval_loss, layers)
    summary.test = { n = r.n, loss = r.loss, bits = r.bits, perplexity = r.perplexity,
      accuracy = r.accuracy }
    run:log_metric { step = summary.steps, epoch = summary.epochs, split = "test", loss = r.loss,
      bits = r.bits, perplexity = r.perplexity, accuracy = r.accuracy, elapsed = mon.elapsed() }
  end
  run:write_json("summary.json", summary)
  run:close()
  P:summary(summary)
  require("lurn.commands.train").raise_outcome(status, failure, summary, mon, run)
  return summary
end

-- ---- saved runs ---------------------------------------------------------------------

--- An lm checkpoint ready to use: {path, state, model (eval mode), spec,
-- vocab (stream.Vocab), kind ("char"|"word"), lower, tokenizer (its state() for
-- lurn inspect), bptt, eval_batch_size, config, bundle}.
function M.load_saved(file, state, b)
  local function fail(fmt_, ...) errors.raise("checkpoint", file .. ": " .. fmt_, ...) end
  if type(state.model) ~= "table" then fail("the model weights are missing") end
  if b.tokenizer ~= "char" and b.tokenizer ~= "word" then fail("the tokenizer is missing") end
  local vocab = errors.wrap("checkpoint", file .. ": ", stream.Vocab.from_state, b.vocab)
  if vocab.kind ~= b.tokenizer then fail("the vocabulary is of %ss, the tokenizer %s", vocab.kind,
    b.tokenizer) end
  local model = errors.wrap("checkpoint", file .. ": model: ", lurn.nn.build, b.model)
  errors.wrap("checkpoint", "", require("lurn.checkpoint").restore, state, { model = model })
  model:eval()
  local kind, lower = b.tokenizer, b.lower and true or false
  -- tokenizer: what lurn inspect shows (a state() like lurn.text's tokenizers)
  local tokenizer = { state = function() return { kind = kind, lower = lower, ngrams = 1 } end }
  return { path = file, state = state, model = model, spec = b.model, vocab = vocab,
    tokenizer = tokenizer, kind = kind, lower = lower,
    bptt = math.tointeger(b.bptt) or 100,
    eval_batch_size = math.tointeger(b.eval_batch_size) or 1, config = state.config or {},
    bundle = b }
end

--- lurn eval for an lm run: the loss in nats per token, bits per token and
-- perplexity on --data FILE (a text file) or the run's own validation text
-- (rebuilt from its config), in the run's stream layout unless --batch-size
-- says otherwise (the default, 64, means the run's).
function M.eval(s, o)
  local ids, what
  if o.data then
    local toks = stream.tokens(read_text(o.data, "--data", s.config.data), s.kind, s.lower)
    ids, what = s.vocab:encode(toks, o.data), o.data
  else
    local cfg = s.config
    if type(cfg.data) ~= "table" or type(cfg.lm) ~= "table" then
      errors.raise("usage", "%s: the checkpoint has no data config; give --data FILE", s.path)
    end
    if o.split == "test" then
      if (cfg.data.test or "") == "" then
        errors.raise("usage", "the run has no test text (data.test is not set); give --data FILE")
      end
      local toks = stream.tokens(read_text(cfg.data.test, "data.test", cfg.data), s.kind, s.lower)
      ids, what = s.vocab:encode(toks, cfg.data.test), cfg.data.test
    else
      local d = M.prepare(cfg)
      local same = d.vocab:size() == s.vocab:size()
      for i = 1, same and s.vocab:size() or 0 do
        if d.vocab.itos[i] ~= s.vocab.itos[i] then same = false; break end
      end
      if not same then
        errors.raise("data", "%s: the text changed since this model was trained (its vocabulary "
          .. "differs); give the text to evaluate with --data FILE", cfg.data.train)
      end
      if not d.valid then
        errors.raise("usage", "the run has no validation text (lm.valid_fraction is 0 and "
          .. "data.valid is not set); give --data FILE")
      end
      ids, what = d.valid, d.valid_what
    end
  end
  if ids:numel() < 2 then errors.raise("data", "%s: fewer than 2 tokens", what) end
  local B = (o.batch_size and o.batch_size ~= 64) and o.batch_size or s.eval_batch_size
  B = math.max(1, math.min(B, ids:numel() - 1))
  local data = stream.Streams(ids, { batch = B, bptt = s.bptt, what = what })
  local r = M.evaluate(s.model, data)
  local unit = bits_unit(s.kind)
  if o.json then
    print(json.object({ checkpoint = s.path, step = s.state.step, data = what, n = r.n,
      loss = r.loss, bits = r.bits, unit = unit, perplexity = r.perplexity, accuracy = r.accuracy,
      streams = B }, { "checkpoint", "step", "data", "n", "loss", "bits", "unit", "perplexity" }))
  else
    print(("checkpoint  %s (step %s)"):format(s.path, tostring(s.state.step)))
    print(("data        %s (%d tokens scored, %d streams)"):format(what, r.n, B))
    print(("loss        %.4f   (nats per %s)"):format(r.loss, s.kind == "char" and "character"
      or "word"))
    print(("%-11s %.4f"):format(unit, r.bits))
    print(("perplexity  %.3f"):format(r.perplexity))
    print(("accuracy    %.4f   (next %s)"):format(r.accuracy, s.kind == "char" and "character"
      or "word"))
  end
  return 0
end

-- ---- sampling -----------------------------------------------------------------------

-- A 0-based id drawn from logits (a Lua list) at temperature temp (0:
-- the largest), among the top_k largest (0: all), with lurn's generator.
local function draw(x, temp, top_k)
  local V = #x
  local best = 1
  for i = 2, V do if x[i] > x[best] then best = i end end
  if temp == 0 then return best - 1 end
  local thr = -math.huge
  if top_k > 0 and top_k < V then
    local sorted = table.move(x, 1, V, 1, {})
    table.sort(sorted, function(a, b) return a > b end)
    thr = sorted[top_k]
  end
  local m, w, total = x[best], {}, 0
  for i = 1, V do
    local p = x[i] >= thr and math.exp((x[i] - m) / temp) or 0
    w[i], total = p, total + p
  end
  local u = lurn.rand(1):get(1) * total
  local acc = 0
  for i = 1, V do
    acc = acc + w[i]
    if u < acc then return i - 1 end
  end
  return best - 1
end

--- Generate from a loaded lm run: o = {length, temperature, top_k, prime,
-- seed}; write(text) receives the prime, then each sampled token's text as
-- soon as it is drawn. The same seed gives the same text.
function M.generate(s, o, write)
  local layers = M.stateful_layers(s.model)
  if #layers == 0 then
    errors.raise("usage", "%s: the model has no stateful recurrent layer to carry the text so far",
      s.path)
  end
  lurn.seed(o.seed)
  reset(layers)
  s.model:eval()
  local vocab, word = s.vocab, s.kind == "word"
  local prime = o.prime or ""
  local toks = {}
  if prime ~= "" then
    toks = stream.tokens(prime, s.kind, s.lower)
    if word and prime:sub(-1) ~= "\n" then toks[#toks] = nil end   -- no <eos> the prime lacks
  end
  if #toks == 0 then   -- start as after a line break
    local start = word and stream.EOS or "\n"
    toks = { vocab.stoi[start] and start or vocab.itos[1] }
  end
  local ids = {}
  for i, t in ipairs(toks) do
    ids[i] = vocab.stoi[t] or (word and vocab.unk)
    if not ids[i] then
      errors.raise("usage", "--prime: character %d (%q) is not in the model's vocabulary", i, t)
    end
  end
  write(prime)
  local at_line_start = prime == "" or prime:sub(-1) == "\n"
  local out = s.model:forward({ ids = lurn.tensor(ids, "int32"):view(#ids, 1) })
  local x = require("lurn.nn.seq").split(out)
  local logits = x:select(1, x:size(1)):reshape(-1)
  for n = 1, o.length do
    local id = draw(logits:totable(), o.temperature, o.top_k)
    local t = vocab.itos[id + 1]
    if word then
      if t == stream.EOS then t, at_line_start = "\n", true
      else
        t = (at_line_start and "" or " ") .. t
        at_line_start = false
      end
    end
    write(t)
    if n < o.length then
      out = s.model:forward({ ids = lurn.tensor({ { id } }, "int32") })
      logits = require("lurn.nn.seq").split(out):reshape(-1)
    end
  end
end

return M
