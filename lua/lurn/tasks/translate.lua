--- lurn.tasks.translate — `task = "translate"`: train, evaluate and use a translation model.
--
-- The config's `translate` section names a parallel corpus (PREFIX.SRC and
-- PREFIX.TGT files, one sentence a line, for train, valid and test) and the
-- model (nn.Seq2Seq: a bidirectional GRU/LSTM encoder, an attentional decoder
-- with input feeding). lurn train runs lurn.train.fit on teacher-forced
-- cross-entropy (train.label_smoothing applies), keeps the checkpoint of the
-- best train.best_metric (valid_loss or valid_accuracy, the next-token accuracy)
-- and then decodes the test set with beam search from the best weights:
-- summary.json's test.bleu, the translations in test.hyp.
--
--   task.run(cfg, opts) -> summary          (lurn train)
--   task.load_saved(file, state, bundle)    (lurn.run.saved: the model, both vocabularies)
--   task.eval(s, o)                         (lurn eval RUN_DIR: BLEU on the test split)
--   task.translate(s, lines, opts) -> outputs   (lurn translate)
local lurn = require "lurn"
local lfs = require "lfs"
local errors = require "lurn.errors"
local rundir = require "lurn.run.dir"
local models = require "lurn.run.model"
local progress = require "lurn.run.progress"
local monitor = require "lurn.run.monitor"
local json = require "lurn.run.json"
local sd = require "lurn.seq2seq.data"
local search = require "lurn.seq2seq.search"
local bleu = require "lurn.seq2seq.bleu"

local M = {}

local function command_line(argv)
  local parts = { "lurn" }
  for _, a in ipairs(argv or {}) do
    parts[#parts + 1] = a:match("^[%w%._/=:,+-]+$") and a or rundir.shell_quote(a)
  end
  return table.concat(parts, " ")
end

local function fmt_value(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

-- ---- data ----------------------------------------------------------------------

local function encode_all(vocab, token_lists, max_len)
  local out = {}
  for i, t in ipairs(token_lists) do out[i] = sd.encode(vocab, t, max_len) end
  return out
end

--- The corpus of a config: vocabularies from train, the three datasets (valid
-- and test nil when not configured), with the raw lines of valid and test kept
-- for BLEU.
local function load_data(cfg, P)
  local c = cfg.translate
  if c.train == "" then errors.raise("config", "translate.train: the training corpus prefix is required") end
  local tok = { lower = c.lower }
  local files = {}
  local function part(prefix)
    local s, t, f = sd.read_pair(prefix, c.src, c.tgt)
    for _, x in ipairs(f) do files[#files + 1] = x end
    return s, t
  end
  local src, tgt = part(c.train)
  local st, tt = sd.tokenize_all(src, tok), sd.tokenize_all(tgt, tok)
  -- pairs with an empty side or a side over max_len teach nothing useful
  local ks, kt, dropped = {}, {}, 0
  for i = 1, #st do
    local a, b = #st[i], #tt[i]
    if a == 0 or b == 0 or (c.max_len > 0 and (a > c.max_len or b > c.max_len)) then
      dropped = dropped + 1
    else
      ks[#ks + 1], kt[#kt + 1] = st[i], tt[i]
    end
  end
  if #ks == 0 then
    errors.raise("data", "%s.%s: no usable sentence pairs (%d read, all empty or longer than "
      .. "translate.max_len = %d)", c.train, c.src, #st, c.max_len)
  end
  if dropped > 0 then
    P:note(("  note: %d of %d training pairs left out (an empty side, or longer than "
      .. "translate.max_len = %d)"):format(dropped, #st, c.max_len))
  end
  local vs = sd.build_vocab(ks, { min_count = c.min_count, max_size = c.max_vocab })
  local vt = sd.build_vocab(kt, { min_count = c.min_count, max_size = c.max_vocab })
  local ds = { files = files, src_vocab = vs, tgt_vocab = vt }
  ds.train = sd.Dataset { src = encode_all(vs, ks), tgt = encode_all(vt, kt) }
  for _, name in ipairs { "valid", "test" } do
    if c[name] ~= "" then
      local s2, t2 = part(c[name])
      local a, b = sd.tokenize_all(s2, tok), sd.tokenize_all(t2, tok)
      ds[name] = sd.Dataset { src = encode_all(vs, a), tgt = encode_all(vt, b),
        text = { src = s2, tgt = t2 } }
    end
  end
  return ds
end

local function model_spec(cfg, ds)
  local c = cfg.translate
  return { type = "Seq2Seq", args = { ds.src_vocab:size(), ds.tgt_vocab:size(), {
    cell = c.cell, embed = c.embed, hidden = c.hidden, layers = c.layers,
    bidirectional = c.bidirectional, attention = c.attention, input_feeding = c.input_feeding,
    tie_embeddings = c.tie_embeddings, dropout = c.dropout, bos = sd.BOS, eos = sd.EOS } } }
end

-- ---- translating -----------------------------------------------------------------

--- Translate sentences with a loaded run (M.load_saved's s).
-- @tparam table s the loaded run
-- @tparam {string,...} lines source sentences
-- @tparam[opt] table opts `beam`, `alpha`, `batch_size`, `attention` (keep the weights)
--   (defaults: the run's config)
-- @treturn table outputs[i] = {tokens = {...}, text = "...", source = {...}, score, attention}
function M.translate(s, lines, opts)
  opts = opts or {}
  local c = s.config.translate or {}
  local beam = opts.beam or c.beam or 5
  local alpha = opts.alpha or c.alpha or 1
  local max_out = c.max_out or 2
  local bs = opts.batch_size or c.decode_batch or 64
  local tok = { lower = s.lower }
  local out = {}
  -- longest first, so each batch pads little; results go back in input order
  local order = {}
  local toks = {}
  for i, l in ipairs(lines) do order[i] = i; toks[i] = sd.tokenize(l, tok) end
  table.sort(order, function(a, b)
    if #toks[a] ~= #toks[b] then return #toks[a] > #toks[b] end
    return a < b
  end)
  for first = 1, #order, bs do
    local idx = table.move(order, first, math.min(first + bs - 1, #order), 1, {})
    local srcs = {}
    for k, i in ipairs(idx) do
      local ids = sd.encode(s.src_vocab, toks[i])
      -- an empty sentence still needs one step for the encoder: </s> alone
      srcs[k] = #ids > 0 and ids or { sd.EOS }
    end
    local batch = sd.Dataset { src = srcs, tgt = srcs }:make_batch((function()
      local r = {}
      for k = 1, #idx do r[k] = k end
      return r
    end)())
    local o = { max_len = function(n) return max_out * n + 10 end, attention = opts.attention }
    local hyps
    if beam == 1 then hyps = search.greedy(s.model, batch.src, batch.src_lengths, o)
    else
      o.beam, o.alpha = beam, alpha
      hyps = search.beam(s.model, batch.src, batch.src_lengths, o)
    end
    for k, i in ipairs(idx) do
      local t = sd.decode(s.tgt_vocab, hyps[k].ids)
      out[i] = { tokens = t, text = sd.detokenize(t), source = toks[i], score = hyps[k].score,
        attention = hyps[k].attention }
    end
  end
  return out
end

--- BLEU of a dataset with raw text (valid or test): the hypotheses' tokens
-- joined by spaces against the raw references (13a-tokenised by bleu.corpus).
local function bleu_of(s, dataset, opts)
  local outs = M.translate(s, dataset.text.src, opts)
  local hyps = {}
  for i, o in ipairs(outs) do hyps[i] = table.concat(o.tokens, " ") end
  local r = bleu.corpus(hyps, dataset.text.tgt, { lowercase = s.lower })
  return r, outs
end

-- ---- lurn train ----------------------------------------------------------------------

local function check_config(cfg)
  local bm = cfg.train.best_metric
  local known = { valid_loss = true, valid_accuracy = true, train_loss = true }
  if not known[bm] then
    errors.raise("config", "train.best_metric = %q: task translate monitors valid_loss, "
      .. "valid_accuracy (next-token accuracy) or train_loss", bm)
  end
  local want = bm:find("loss") and "min" or "max"
  if cfg.train.best_mode ~= want then
    errors.raise("config", "train.best_mode = %q but train.best_metric = %q is better when %s",
      cfg.train.best_mode, bm, want == "min" and "smaller (best_mode = \"min\")"
        or "larger (best_mode = \"max\")")
  end
  if bm:match("^valid_") and cfg.translate.valid == "" then
    errors.raise("config", "train.best_metric = %q needs translate.valid (a validation corpus)", bm)
  end
end

local function open_run(cfg, opts, files)
  local config = require "lurn.config"
  local run, ckpt = opts.resume, nil
  local cmd = command_line(opts.argv)
  if run then
    ckpt = errors.wrap("checkpoint", "", lurn.train.latest_checkpoint, run:file("checkpoints"))
    if not ckpt then
      errors.raise("checkpoint", "%s: no checkpoint to resume from; start a new run instead", run.path)
    end
    local state = errors.wrap("checkpoint", "", require("lurn.checkpoint").load, ckpt)
    run:keep_metrics(state.step or 0)
    run:write("command.txt", (run:read("command.txt") or "") .. cmd .. "\n")
  else
    run = rundir.create { out = opts.out, root = opts.root, name = cfg.name }
    run:write("config.lua", (opts.info and opts.info.source) or config.serialize(cfg))
    run:write("command.txt", cmd .. "\n")
    run:write_json("env.json", rundir.environment(cfg, files))
  end
  run:write("config.resolved.lua", config.serialize(cfg))
  return run, ckpt
end

--- lurn train for task "translate" (see the module header).
-- @tparam table cfg the resolved config
-- @tparam table opts lurn.commands.train's run options (out, root, info, progress, argv, resume)
-- @treturn table summary.json's table
function M.run(cfg, opts)
  opts = opts or {}
  local P = progress.new { mode = opts.progress or "lines", epochs = cfg.train.epochs,
    metric = cfg.train.best_metric }
  if cfg.threads and cfg.threads > 0 and not opts.threads_fixed then lurn.threads(cfg.threads) end
  lurn.seed(cfg.seed)
  check_config(cfg)
  local ds = load_data(cfg, P)
  local nn = lurn.nn
  local spec = model_spec(cfg, ds)
  local okm, model = pcall(nn.build, spec)
  if not okm then errors.raise("config", "translate: %s", tostring(model)) end
  local opt = models.optimizer(cfg, model:parameters())
  local steps_per_epoch = math.ceil(ds.train:size() / cfg.train.batch_size)
  local sched, every = models.schedule(cfg, opt, steps_per_epoch)
  local loss = nn.CrossEntropy { label_smoothing = cfg.train.label_smoothing }
  local run, ckpt = open_run(cfg, opts, ds.files)
  P:note((ckpt and "resuming " or "run ") .. run.path)
  for _, ch in ipairs(opts.info and opts.info.changed or {}) do
    P:note(("  %s: %s -> %s"):format(ch.key, fmt_value(ch.old), fmt_value(ch.new)))
  end
  P:note(("data: %d train, %s valid, %s test pairs; vocabularies %d (%s) and %d (%s); model of "
    .. "%d parameters"):format(ds.train:size(), ds.valid and ds.valid:size() or "no",
    ds.test and ds.test:size() or "no", ds.src_vocab:size(), cfg.translate.src,
    ds.tgt_vocab:size(), cfg.translate.tgt, model:num_parameters()))
  local mon = monitor.new { run = run, cfg = cfg, progress = P }
  -- validation: teacher-forced loss and next-token accuracy (BLEU comes at the end)
  function mon.evaluate(m, data, eo)
    return lurn.train.evaluate(m, data, { loss = eo.loss, batch_size = eo.batch_size })
  end
  local bundle = { kind = "lurn-run", version = 1, task = "translate", model = spec,
    src_vocab = ds.src_vocab:state(), tgt_vocab = ds.tgt_vocab:state(), lower = cfg.translate.lower }
  local t = cfg.train
  local eval_every = t.eval_every > 0 and t.eval_every or nil
  lurn.catch_signals()
  local ok, result = pcall(lurn.train.fit, {
    model = model, loss = loss, optimizer = opt, schedule = sched, schedule_every = every or "epoch",
    train_data = ds.train, valid_data = ds.valid, epochs = t.epochs, batch_size = t.batch_size,
    shuffle = true, bucket = t.bucket, clip = t.clip > 0 and t.clip or nil, eval_every = eval_every,
    checkpoint_every = t.checkpoint_every > 0 and t.checkpoint_every or eval_every,
    keep_checkpoints = t.keep_checkpoints, monitor = t.best_metric, mode = t.best_mode,
    patience = t.early_stop > 0 and t.early_stop or nil, checkpoint_dir = run:file("checkpoints"),
    resume = ckpt, config = cfg, extra = bundle, evaluate = mon.evaluate,
    on_step = mon.on_step, on_eval = mon.on_eval, on_checkpoint = mon.on_checkpoint,
    progress = "none",
  })
  P:finish()
  local status, failure
  status, failure, result = require("lurn.commands.train").outcome(ok, result, mon)
  mon.draw()
  local dir = run:file("checkpoints")
  local okl, last = pcall(lurn.train.latest_checkpoint, dir)
  local function present(p) return lfs.attributes(p) and p or nil end
  local summary = {
    run_dir = run.path, status = status, exit_code = errors.EXIT[status] or 0,
    steps = result and result.step or 0, epochs = result and result.epoch or nil,
    seconds = mon.elapsed(), stopped = mon.stop_reason or (result and result.stopped)
      or (failure and failure.message),
    best = mon.best_record and { metric = mon.monitor, value = mon.best, step = mon.best_record.step,
      epoch = mon.best_record.epoch } or nil,
    final = mon.last_valid,
    checkpoints = { last = present(dir .. "/last.ckpt") or (okl and last or nil),
      best = present(dir .. "/best.ckpt"), newest = okl and last or nil },
    command = command_line(opts.argv), num_parameters = model:num_parameters(),
  }
  if status == "completed" and ds.test and summary.checkpoints.best then
    local s = M.load_saved(summary.checkpoints.best, require("lurn.checkpoint").load(
      summary.checkpoints.best), bundle)
    local t0 = lurn.clock()
    local r, outs = bleu_of(s, ds.test)
    local lines = {}
    for i, o in ipairs(outs) do lines[i] = o.text end
    run:write("test.hyp", table.concat(lines, "\n") .. "\n")
    summary.test = { n = #outs, bleu = r.score, precisions = r.precisions, bp = r.bp,
      sys_len = r.sys_len, ref_len = r.ref_len, beam = cfg.translate.beam,
      lowercase = cfg.translate.lower, seconds = lurn.clock() - t0 }
    run:log_metric { step = summary.steps, epoch = summary.epochs, split = "test", bleu = r.score,
      elapsed = mon.elapsed() }
    P:note(("test: %s (beam %d%s, %d sentences, %.1f s)"):format(bleu.format(r), cfg.translate.beam,
      cfg.translate.lower and ", lowercased" or "", #outs, summary.test.seconds))
  end
  run:write_json("summary.json", summary)
  run:close()
  if P.mode == "json" then P:summary(summary)
  else
    -- the shared table has classification columns: the BLEU line goes below it
    local shown = {}
    for k, v in pairs(summary) do shown[k] = v end
    shown.test = nil
    P:summary(shown)
    if summary.test then
      P:note(("test BLEU    %.2f (beam %d%s, %d sentences; %s/test.hyp)"):format(summary.test.bleu,
        summary.test.beam, summary.test.lowercase and ", lowercased" or "", summary.test.n, run.path))
    end
  end
  require("lurn.commands.train").raise_outcome(status, failure, summary, mon, run)
  return summary
end

-- ---- a saved run ------------------------------------------------------------------------

--- The model and vocabularies of a translate run's checkpoint (lurn.run.saved calls this).
-- @tparam string file the checkpoint's path
-- @tparam table state checkpoint.load's
-- @tparam table bundle the run bundle saved with it
-- @treturn table {path, state, model (eval mode), config, spec, src_vocab, tgt_vocab, lower, bundle}
function M.load_saved(file, state, bundle)
  local function fail(fmt, ...) errors.raise("checkpoint", file .. ": " .. fmt, ...) end
  for _, k in ipairs { "src_vocab", "tgt_vocab", "model" } do
    if type(bundle[k]) ~= "table" then fail("the translate run's %s is missing", k) end
  end
  if type(state.model) ~= "table" then fail("the model weights are missing") end
  local model = errors.wrap("checkpoint", file .. ": model: ", lurn.nn.build, bundle.model)
  if not model.encode then fail("the model is not an nn.Seq2Seq") end
  errors.wrap("checkpoint", "", require("lurn.checkpoint").restore, state, { model = model })
  model:eval()
  local Vocab = lurn.data.Vocab
  local vs = errors.wrap("checkpoint", file .. ": source vocabulary: ", Vocab.from_state, bundle.src_vocab)
  local vt = errors.wrap("checkpoint", file .. ": target vocabulary: ", Vocab.from_state, bundle.tgt_vocab)
  if vs:size() ~= model.src_vocab or vt:size() ~= model.tgt_vocab then
    fail("vocabularies of %d and %d tokens do not match the model's %d and %d", vs:size(),
      vt:size(), model.src_vocab, model.tgt_vocab)
  end
  return { path = file, state = state, model = model, config = state.config or {}, spec = bundle.model,
    src_vocab = vs, tgt_vocab = vt, lower = bundle.lower and true or false, bundle = bundle }
end

-- ---- lurn eval ----------------------------------------------------------------------------

--- lurn eval RUN_DIR for a translate run: corpus BLEU with beam search on the
-- test corpus (--split valid: the validation corpus; --data PREFIX: PREFIX.SRC
-- and PREFIX.TGT), printed like sacreBLEU's line, or as JSON with --json.
function M.eval(s, o)
  local c = s.config.translate or {}
  local prefix, what
  if o.data then
    prefix, what = o.data, o.data
  else
    local split = o.split or ((c.test or "") ~= "" and "test" or "valid")
    prefix = c[split]
    if not prefix or prefix == "" then
      errors.raise("usage", "%s: the run's config has no translate.%s corpus; give one with "
        .. "--data PREFIX", s.path, split)
    end
    what = split
  end
  local src, tgt = sd.read_pair(prefix, c.src or "de", c.tgt or "en")
  local t0 = lurn.clock()
  local dataset = { text = { src = src, tgt = tgt } }
  local r = bleu_of(s, dataset, { batch_size = o.batch_size })
  local secs = lurn.clock() - t0
  if o.json then
    print(json.object { split = what, n = #src, bleu = r.score, precisions = r.precisions, bp = r.bp,
      sys_len = r.sys_len, ref_len = r.ref_len, beam = c.beam, lowercase = s.lower, seconds = secs,
      checkpoint = s.path })
  else
    print(("%s (%d sentences): %s"):format(what, #src, bleu.format(r)))
    print(("beam %d, alpha %g%s; 13a tokens; %s; %.1f s"):format(c.beam or 5, c.alpha or 1,
      s.lower and ", lowercased" or "", s.path, secs))
  end
  return 0
end

return M
