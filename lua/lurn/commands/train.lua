--- lurn train CONFIG [key=value ...] [--out DIR] [--folds K] [--print-config] [--resume RUN_DIR]
--             [--quiet] [--json]
--
-- Trains the model a config describes, in a run directory (lurn.run.dir):
-- config files, env.json, metrics, checkpoints, curves.svg, summary.json.
--
-- For other commands (sweep, autotune) the work is one function:
--
--   local train = require "lurn.commands.train"
--   local summary = train.run(cfg, {out = "runs/x", info = info, progress = "quiet"})
--
-- cfg is a resolved config (config.load's), opts.out the directory to create
-- (or opts.root + cfg.name for a fresh runs/<name>-<time>-<hex>), opts.info
-- config.load's info (the file's text for config.lua, the overrides),
-- opts.progress "live" | "lines" | "json" | "quiet" | "none", opts.argv the command
-- line for command.txt. It returns summary.json's table; failures raise
-- lurn.errors objects (a diverged run raises "diverged" after writing its
-- summary; an interrupted one "interrupted", after saving a checkpoint).
--
-- Exact resume: a fresh run and a resumed one build everything in the same
-- order from the same seed (data, model, optimizer, schedule); train.fit then
-- copies the checkpoint's state over it, so the steps that follow are the
-- ones the uninterrupted run takes, bit for bit (same thread count).
local lurn = require "lurn"
local lfs = require "lfs"
local argparse = require "argparse"
local errors = require "lurn.errors"
local rundir = require "lurn.run.dir"
local metrics = require "lurn.run.metrics"
local models = require "lurn.run.model"
local progress = require "lurn.run.progress"
local monitor = require "lurn.run.monitor"
local json = require "lurn.run.json"
local dist = require "lurn.dist"

local M = {}

M.summary_text = "train a model from a config file"

--- Keys that may change when a run is resumed: they do not change the
-- steps already taken or the ones that follow.
M.SAFE_ON_RESUME = { ["train.epochs"] = true, ["train.log_every"] = true,
  ["train.max_time"] = true }

local function parser()
  local p = argparse("lurn train", "Train a model from a config file, in a new run directory.")
  p:add_help(false)
  p:usage("usage: lurn train CONFIG [key=value ...] [options]\n"
    .. "       lurn train --resume RUN_DIR [CONFIG] [key=value ...] [options]")
  p:argument("args", "the config file, then overrides like optim.lr=3e-3 train.epochs=5")
      :args("*"):argname("CONFIG key=value")
  p:option("--out", "the run directory to create (default runs/<name>-<UTC time>-<4 hex>)")
      :argname("DIR")
  p:option("--resume", "continue the run in RUN_DIR from its last checkpoint; the config may "
    .. "differ only in train.epochs, train.log_every, train.max_time"):argname("RUN_DIR")
  p:option("--folds", "k-fold cross-validation: the same as the override data.folds=K")
      :argname("K")
  p:option("--jobs", "train an ensemble's members (train.ensemble) this many at a time, as "
    .. "separate processes sharing the threads (default: the threads lurn uses divided by the "
    .. "config's threads, at least 1; 1: one after another with every thread)")
      :convert(math.tointeger):argname("N")
  p:option("--member", "train member I of the config's ensemble alone, into --out (what --jobs "
    .. "runs; also a way to spread members over machines)"):convert(math.tointeger):argname("I")
  p:option("--fold", "train fold F of the config's k-fold split (data.folds) alone, into --out "
    .. "(a way to spread folds over machines)"):convert(math.tointeger):argname("F")
  p:flag("--print-config", "print the resolved config and exit")
  p:flag("--quiet", "print nothing but errors and the run directory")
  p:flag("--json", "progress and summary as JSON lines")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage or config error, 3 data error, 4 checkpoint error,\n"
    .. "5 diverged (NaN/Inf loss), 130 interrupted (a checkpoint was saved; the message\n"
    .. "says how to resume), 1 an internal error (or an ensemble member's: its log says).\n"
    .. "See docs/cli.md.")
  return p
end

function M.help() return parser():get_help() end

-- ---- helpers -------------------------------------------------------------------

local function config_lib() return require "lurn.config" end

local function fmt_value(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

-- The command line as a shell would take it back.
local function command_line(argv)
  local parts = { "lurn" }
  for _, a in ipairs(argv or {}) do
    parts[#parts + 1] = a:match("^[%w%._/=:,+-]+$") and a or rundir.shell_quote(a)
  end
  return table.concat(parts, " ")
end

local function labels_info(ds)
  return { vocab_size = ds.vocab:size(), num_classes = #ds.labels, labels = ds.labels }
end

local function text_lib() return require "lurn.text" end

-- The data (lurn.text raises "data" error objects for the data's faults;
-- anything else it raises is a bug and keeps its traceback).
local function load_data(cfg, fold, P)
  local ds = text_lib().load_dataset(cfg.data, { seed = cfg.seed, fold = fold,
    log = function(msg) P:note("  note: " .. msg) end })
  if not ds.train or ds.train:size() == 0 then
    errors.raise("data", "%s: no training samples", cfg.data.train)
  end
  return ds
end

-- What lurn train needs of a config beyond the schema, checked before any
-- data is read.
local function check_config(cfg, fold)
  if cfg.task ~= "classify" then
    errors.raise("config", "task = %q: lurn train does classification only", tostring(cfg.task))
  end
  local bm = cfg.train.best_metric
  local known = { valid_loss = true, valid_accuracy = true, valid_macro_f1 = true, train_loss = true }
  if not known[bm] then
    errors.raise("config", "train.best_metric = %q: one of valid_accuracy, valid_macro_f1, "
      .. "valid_loss, train_loss", bm)
  end
  if bm:match("^valid_") and cfg.data.valid == "" and cfg.data.valid_split == 0 and not fold then
    errors.raise("config", "train.best_metric = %q needs validation data (data.valid or "
      .. "data.valid_split > 0)", bm)
  end
  require("lurn.run.pretrained").check_config(cfg)
end

-- What it needs of the data.
local function check_data(cfg, ds)
  local bm = cfg.train.best_metric
  if bm:match("^valid_") and not ds.valid then
    errors.raise("config", "train.best_metric = %q needs validation data (data.valid or "
      .. "data.valid_split > 0)", bm)
  end
  if #ds.labels < 2 then
    errors.raise("data", "%s: %d label(s) in the training data; classification needs at least 2",
      cfg.data.train, #ds.labels)
  end
end

-- ---- the run -------------------------------------------------------------------

--- Everything a run builds from its config, in the same order every time.
-- A fresh run with pretrained.from starts the embedding and recurrent
-- layers from that language model (lurn.run.pretrained); a resumed one
-- skips it, since the checkpoint's weights replace them anyway.
local function build(cfg, ds, resuming)
  local nn = lurn.nn
  local info = labels_info(ds)
  local spec = models.spec(cfg, info)
  local ok, model = pcall(nn.build, spec)
  if not ok then errors.raise("config", "model: %s", tostring(model)) end
  local pre = require "lurn.run.pretrained"
  local pinfo = not resuming and pre.apply(cfg, model, ds.vocab, ds.tokenizer) or nil
  local opt = models.optimizer(cfg, pre.param_groups(cfg, model))
  local steps_per_epoch = math.ceil(ds.train:size() / cfg.train.batch_size)
  local sched, every = models.schedule(cfg, opt, steps_per_epoch)
  return { spec = spec, model = model, optimizer = opt, schedule = sched, every = every,
    loss = nn.CrossEntropy { label_smoothing = cfg.train.label_smoothing },
    steps_per_epoch = steps_per_epoch, pretrained = pinfo }
end

--- The run's state for evaluation, prediction and inspection, saved in
-- every checkpoint beside the weights: nothing else is needed to use them.
-- (fold: the k-fold fold it validated on, so that lurn eval rebuilds that split)
local function bundle(cfg, ds, spec, fold)
  local text = text_lib()
  return {
    kind = "lurn-run", version = 1, model = spec, labels = ds.labels,
    tokenizer = text.tokenizer_state(ds.tokenizer), fold = fold,
  }
end

-- Classify an error raised inside train.fit: a NaN/Inf is a divergence.
local function fit_error(e)
  if errors.is(e) then return e end
  local msg = tostring(e)
  if msg:find("^train%.fit: loss is ") or msg:find("^train%.fit: non%-finite gradient") then
    return errors.new("diverged", (msg:gsub("^train%.fit: ", "")))
  end
  return nil
end

-- A resumed run's checkpoint, after checking that the data files are the
-- ones the run started with. Returns its path and its loaded state.
local function resume_point(run, files)
  local ok, env = pcall(json.decode, run:read("env.json") or "")
  local old = ok and type(env) == "table" and env.data or {}
  for _, f in ipairs(files) do
    local h = rundir.sha256(f)
    if old[f] and old[f] ~= h then
      errors.raise("data", "%s changed since the run started (SHA-256 %s..., now %s...); "
        .. "resuming would not continue the same run", f, old[f]:sub(1, 12), h:sub(1, 12))
    end
  end
  local dir = run:file("checkpoints")
  local path = errors.wrap("checkpoint", "", lurn.train.latest_checkpoint, dir)
  if not path then
    errors.raise("checkpoint", "%s: no checkpoint to resume from (%s/latest is missing); "
      .. "start a new run instead", run.path, dir)
  end
  -- loaded here too, so that a damaged file is a checkpoint error (exit 4)
  return path, errors.wrap("checkpoint", "", require("lurn.checkpoint").load, path)
end

-- The run directory: a new one with its config files and env.json, or the
-- resumed one (its metrics cut back to the checkpoint). Returns the run,
-- the checkpoint to resume from and its state (nil for a new run).
local function open_run(cfg, opts, files, env_extra)
  local config = config_lib()
  local run, ckpt_path, state = opts.resume, nil, nil
  local cmd = command_line(opts.argv)
  if run then
    ckpt_path, state = resume_point(run, files)
    run:keep_metrics(state.step or 0)
    run:write("command.txt", (run:read("command.txt") or "") .. cmd .. "\n")
  else
    run = rundir.create { out = opts.out, root = opts.root, name = cfg.name }
    run:write("config.lua", (opts.info and opts.info.source) or config.serialize(cfg))
    run:write("command.txt", cmd .. "\n")
    local env = rundir.environment(cfg, files)
    env.fold, env.member = opts.fold, opts.member
    for k, v in pairs(env_extra or {}) do env[k] = v end
    run:write_json("env.json", env)
  end
  run:write("config.resolved.lua", config.serialize(cfg))
  return run, ckpt_path, state
end

-- What the run prints before training: where it is, what the command
-- line changed, the data, a thread count that differs from the checkpoint's.
-- (Rows dropped for want of a label were noted while the data was read.)
local function announce(P, run, opts, state, ds, b, cfg)
  P:note((state and "resuming " or "run ") .. run.path)
  local was = state and state.train and state.train.threads
  if was and was ~= lurn.threads() then
    P:note(("  note: %d thread(s) now, the checkpoint was written with %d: the results may "
      .. "differ from an uninterrupted run in the last bits"):format(lurn.threads(), was))
  end
  if dist.active() then
    local b = cfg.train.batch_size
    P:note(("  mpi: %d ranks x %d thread(s); the global batch of %d is split %d-%d per rank; "
      .. "rank 0 writes"):format(dist.size(), lurn.threads(), b, b // dist.size(),
      -(-b // dist.size())))
  end
  local ranks = state and state.train and state.train.ranks or 1
  if state and ranks ~= dist.size() then
    P:note(("  note: %d rank(s) now, the checkpoint was written by %d: the same global batches "
      .. "from the same position; the sums over them differ in the last bits"):format(dist.size(),
      ranks))
  end
  for _, c in ipairs(opts.info and opts.info.changed or {}) do
    P:note(("  %s: %s -> %s"):format(c.key, fmt_value(c.old), fmt_value(c.new)))
  end
  local sizes = { ("%d train"):format(ds.train:size()) }
  if ds.valid then sizes[#sizes + 1] = ("%d valid"):format(ds.valid:size()) end
  if ds.test then sizes[#sizes + 1] = ("%d test"):format(ds.test:size()) end
  P:note(("data: %s; %d labels; vocabulary of %d; model of %d parameters"):format(
    table.concat(sizes, ", "), #ds.labels, ds.vocab:size(), b.model:num_parameters()))
  if b.pretrained then
    P:note("  " .. require("lurn.run.pretrained").describe(b.pretrained)
      .. (state and " (when the run started)" or ""))
  end
end

-- train.fit's options for a config (cfg.train's 0 = off becomes nil).
local function fit_options(cfg, ds, b, mon, checkpoint_dir, ckpt_path, fold)
  local t = cfg.train
  local eval_every = t.eval_every > 0 and t.eval_every or nil
  return {
    model = b.model, loss = b.loss, optimizer = b.optimizer, schedule = b.schedule,
    schedule_every = b.every or "epoch",
    train_data = ds.train, valid_data = ds.valid, epochs = t.epochs, batch_size = t.batch_size,
    shuffle = true, bucket = t.bucket, clip = t.clip > 0 and t.clip or nil,
    average = t.average > 0 and t.average or nil,
    eval_every = eval_every,
    -- checkpoint_every = 0: a checkpoint at each evaluation
    checkpoint_every = t.checkpoint_every > 0 and t.checkpoint_every or eval_every,
    keep_checkpoints = t.keep_checkpoints, monitor = t.best_metric, mode = t.best_mode,
    patience = t.early_stop > 0 and t.early_stop or nil,
    checkpoint_dir = checkpoint_dir, resume = ckpt_path, config = cfg, vocab = ds.vocab,
    extra = bundle(cfg, ds, b.spec, fold), evaluate = mon.evaluate,
    on_step = mon.on_step, on_eval = mon.on_eval, on_checkpoint = mon.on_checkpoint,
    progress = "none",
  }
end

-- summary.json's table once train.fit has returned (or failed).
local function summarize(run, opts, mon, b, result, status, failure)
  local dir = run:file("checkpoints")
  local okl, last = pcall(lurn.train.latest_checkpoint, dir)
  if not okl then last = nil end
  local function present(p) return lfs.attributes(p) and p or nil end
  local records = mon.records
  return {
    run_dir = run.path, status = status, exit_code = errors.EXIT[status] or 0,
    steps = result and result.step or (records[#records] and records[#records].step) or 0,
    epochs = result and result.epoch or nil,
    seconds = mon.elapsed(),
    stopped = mon.stop_reason or (result and result.stopped) or (failure and failure.message),
    best = mon.best_record and { metric = mon.monitor, value = mon.best, step = mon.best_record.step,
      epoch = mon.best_record.epoch, record = mon.best_record } or nil,
    final = mon.last_valid,
    checkpoints = { last = present(dir .. "/last.ckpt") or last, best = present(dir .. "/best.ckpt"),
      newest = last },
    command = command_line(opts.argv),
    num_parameters = b.model:num_parameters(),
  }
end

-- The test split, with the best weights, once training is over.
local function test_best(run, cfg, ds, b, mon, summary)
  require("lurn.checkpoint").load_into(b.model, summary.checkpoints.best)
  local rec, rep = metrics.evaluate(b.model, ds.test, { loss = b.loss, labels = ds.labels,
    batch_size = cfg.train.batch_size })
  summary.test = { n = rec.n, loss = rec.loss, accuracy = rec.accuracy, macro_f1 = rec.macro_f1,
    classes = rep.classes }
  run:log_metric { step = summary.steps, epoch = summary.epochs, split = "test", loss = rec.loss,
    accuracy = rec.accuracy, macro_f1 = rec.macro_f1, elapsed = mon.elapsed() }
end

-- Ranks 1..N-1 of `mpirun -np N lurn train`: the same data, model and
-- checkpoint as rank 0 (which names it: the run directory is rank 0's), the
-- same train.fit loop on their shards; nothing written, nothing printed.
local function run_rank(cfg, opts)
  if cfg.threads and cfg.threads > 0 and not opts.threads_fixed then lurn.threads(cfg.threads) end
  lurn.seed(cfg.seed)
  check_config(cfg, opts.fold)
  local P = progress.new { mode = "none" }
  local ds = load_data(cfg, opts.fold, P)
  check_data(cfg, ds)
  -- the language model's weights only for a fresh run (rank 0 says which);
  -- apply copies into the model in place, so the optimizer built already fits
  local b = build(cfg, ds, true)
  local ckpt_path = dist.bcast(nil)
  if ckpt_path == "" then
    b.pretrained = require("lurn.run.pretrained").apply(cfg, b.model, ds.vocab, ds.tokenizer)
  end
  local mon = { evaluate = function(model, data, eo)
    return (metrics.evaluate(model, data, { loss = eo.loss, batch_size = eo.batch_size,
      labels = ds.labels }))
  end }
  lurn.catch_signals()
  local fo = fit_options(cfg, ds, b, mon, nil, ckpt_path ~= "" and ckpt_path or nil, opts.fold)
  fo.checkpoint_every = nil   -- rank 0's business
  local ok, res = pcall(lurn.train.fit, fo)
  if not ok then
    local failure = fit_error(res)
    if not failure then error(res, 0) end
    -- a failure of the loop's shared state (NaN gradients are the same on
    -- every rank after the allreduce) happens on every rank at once
    failure.collective = failure.collective or failure.code == "diverged"
    error(failure, 0)
  end
  if lurn.caught_signal() then
    local e = errors.new("interrupted", "rank %d: stopped by %s with the other ranks at step %d",
      dist.rank(), lurn.caught_signal(), res.step)
    e.collective = true
    error(e, 0)
  end
  return nil
end

function M.run(cfg, opts)
  opts = opts or {}
  local task = require("lurn.tasks").module(cfg.task)
  if task and dist.active() then
    errors.raise("usage", "task %q does not run under mpirun yet (only classification does)",
      cfg.task)
  end
  if cfg.data.subwords > 0 and (task or cfg.data.tokenizer ~= "word") then
    errors.raise("config", "data.subwords = %d: subword vectors need task classify and the word "
      .. "tokenizer (task is %s, data.tokenizer %s)", cfg.data.subwords, cfg.task, cfg.data.tokenizer)
  end
  if task and cfg.train.ensemble > 1 then
    errors.raise("config", "train.ensemble = %d: task %q does not train ensembles (classification "
      .. "does)", cfg.train.ensemble, cfg.task)
  end
  if task then
    local p, schema = cfg.pretrained, require "lurn.config.schema"
    for _, k in ipairs { "from", "checkpoint", "lr_scale" } do
      if p and p[k] ~= schema.lookup("pretrained." .. k).default then
        errors.raise("config", "pretrained.%s = %s: task %q does not read it (a language model "
          .. "starts classification runs only)", k, fmt_value(p[k]), cfg.task)
      end
    end
    return task.run(cfg, opts)
  end
  if dist.active() and dist.rank() > 0 then return run_rank(cfg, opts) end
  local P = progress.new { mode = opts.progress or "lines", epochs = cfg.train.epochs,
    metric = cfg.train.best_metric }
  if cfg.threads and cfg.threads > 0 and not opts.threads_fixed then lurn.threads(cfg.threads) end
  -- an ensemble's member i draws from seed + i - 1; the data and its split from seed alone
  lurn.seed(cfg.seed + (opts.member or 1) - 1)
  check_config(cfg, opts.fold)
  local ds = load_data(cfg, opts.fold, P)
  check_data(cfg, ds)
  -- the model, optimizer and schedule before the run directory: a config
  -- they refuse leaves nothing behind
  local b = build(cfg, ds, opts.resume ~= nil)
  local run, ckpt_path, state = open_run(cfg, opts, ds.files or { cfg.data.train },
    { pretrained = b.pretrained })
  if not b.pretrained and state then   -- resumed: what the fresh run copied, from its env.json
    local okj, env = pcall(json.decode, run:read("env.json") or "")
    b.pretrained = okj and type(env) == "table" and type(env.pretrained) == "table"
      and env.pretrained or nil
  end
  if dist.active() then dist.bcast(ckpt_path or "") end   -- the other ranks' resume point
  announce(P, run, opts, state, ds, b, cfg)
  local mon = monitor.new { run = run, cfg = cfg, progress = P, labels = ds.labels }

  -- from here a Ctrl-C or a SIGTERM stops after the current step, with a checkpoint
  lurn.catch_signals()
  local ok, result = pcall(lurn.train.fit, fit_options(cfg, ds, b, mon, run:file("checkpoints"),
    ckpt_path, opts.fold))
  P:finish()
  local status, failure = "completed", nil
  if not ok then
    failure = fit_error(result)
    if not failure then error(result, 0) end   -- a bug: the traceback is the report
    status, result = failure.code, nil
    failure.collective = failure.collective or (dist.active() and failure.code == "diverged")
  elseif mon.signal then
    status = "interrupted"
  end

  mon.draw()
  local summary = summarize(run, opts, mon, b, result, status, failure)
  summary.pretrained = b.pretrained
  summary.profile = result and result.profile   -- LURN_PROFILE=1: seconds per phase (train.fit)
  if dist.active() then   -- rank 0's view of the gradient allreduce (bench/mpi.sh reads it)
    local st = dist.stats()
    summary.dist = { ranks = dist.size(), wait_seconds = st.wait_s, reduce_seconds = st.reduce_s,
      buckets_reduced = st.reduces, bytes_reduced = st.bytes, sparse_exchanges = st.sparse,
      sparse_bytes = st.sparse_bytes, dense_fallbacks = st.dense_fallbacks }
  end
  if status == "completed" and ds.test and summary.checkpoints.best then
    test_best(run, cfg, ds, b, mon, summary)
  end
  run:write_json("summary.json", summary)
  run:close()
  P:summary(summary)
  if status == "diverged" then
    local e = errors.new("diverged", "%s\n%s; a lower optim.lr (or train.clip) may help",
      failure.message, summary.checkpoints.newest and ("the checkpoints before it are intact "
        .. "(last: %s)"):format(summary.checkpoints.newest) or "no checkpoint was written before it")
    e.collective = failure.collective
    error(e, 0)
  end
  if failure then error(failure, 0) end
  if status == "interrupted" and dist.active() and not result then
    -- stopped inside a wait (another rank died): rank 0's own failure
    error(failure, 0)
  end
  if status == "interrupted" then
    local e = errors.new("interrupted", "%s at step %d; checkpoint saved: %s\nresume with: "
      .. "lurn train --resume %s", mon.stop_reason, summary.steps,
      tostring(summary.checkpoints.newest), run.path)
    e.collective = dist.active()   -- every rank stopped after the same step
    error(e, 0)
  end
  return summary
end

-- ---- k-fold cross-validation ------------------------------------------------------

local function mean_sd(xs)
  local n, sum = #xs, 0
  for _, x in ipairs(xs) do sum = sum + x end
  local mean = sum / n
  local ss = 0
  for _, x in ipairs(xs) do ss = ss + (x - mean) ^ 2 end
  return mean, n > 1 and math.sqrt(ss / (n - 1)) or 0
end

--- data.folds = k >= 2: k runs, fold-1 ... fold-k inside one run directory,
-- each validating on its fold (lurn.text.kfold's stratified folds, from the
-- seed) and each a complete run (eval, predict, inspect take a fold's
-- directory). The top directory's summary.json has every fold's best value
-- of train.best_metric and their mean and sample standard deviation.
-- --resume continues it: finished folds are kept, an interrupted one resumes,
-- the rest start.
-- The directory above a k-fold run's folds or an ensemble's members: new
-- (its config, command and env.json) or resumed (the command appended).
local function open_top(cfg, opts, env_extra)
  local config = config_lib()
  local top = opts.resume
  if not top then
    top = rundir.create { out = opts.out, root = opts.root, name = cfg.name }
    top:write("config.lua", (opts.info and opts.info.source) or config.serialize(cfg))
    top:write("command.txt", command_line(opts.argv) .. "\n")
    local files = {}
    for _, part in ipairs { "train", "valid", "test" } do
      if cfg.data[part] ~= "" then files[#files + 1] = cfg.data[part] end
    end
    for f in cfg.data.extra:gmatch("[^,]+") do files[#files + 1] = f:match("^%s*(.-)%s*$") end
    local env = rundir.environment(cfg, files)
    for k, v in pairs(env_extra or {}) do env[k] = v end
    top:write_json("env.json", env)
  else
    top:write("command.txt", (top:read("command.txt") or "") .. command_line(opts.argv) .. "\n")
  end
  top:write("config.resolved.lua", config.serialize(cfg))
  return top
end

-- The summary.json of a part (a fold, a member) that completed, else nil.
local function completed(dir)
  local s = rundir.is_run(dir) and json.decode(rundir.open(dir):read("summary.json") or "null")
  return s and s.status == "completed" and s or nil
end

-- Runs one part (a fold, a member) in its directory dir below a top
-- directory: a finished part is kept, one with a checkpoint resumes, one
-- stopped before its first checkpoint starts again. opts: the part's run
-- options without out/resume; P and label: what it prints. Returns its summary.
local function run_part(dir, run_fn, cfg, opts, top, nested, P, label)
  local done = completed(dir)
  if done then
    P:note(("%s: done before (%s)"):format(label, dir))
    return done
  end
  P:note(label)
  if rundir.is_run(dir) and (nested or lfs.attributes(dir .. "/checkpoints/latest")) then
    opts.resume = rundir.open(dir)
  else
    -- nothing to continue: its directory (ours, inside this run) starts again
    if lfs.attributes(dir) then os.execute("rm -rf -- " .. rundir.shell_quote(dir)) end
    opts.out = dir
  end
  local ok, res = pcall(run_fn, cfg, opts)
  if not ok then
    if errors.is(res, "interrupted") then   -- the whole run resumes, not the part
      errors.raise("interrupted", "%s\nresume with: lurn train --resume %s",
        res.message:gsub("\nresume with: .*$", ""), top.path)
    end
    error(res, 0)
  end
  return res
end

function M.run_folds(cfg, opts)
  local k = cfg.data.folds
  local P = progress.new { mode = opts.progress or "lines" }
  local top = open_top(cfg, opts)
  P:note(("%s %s: %d-fold cross-validation"):format(opts.resume and "resuming" or "run", top.path, k))
  local folds, values = {}, {}
  for i = 1, k do
    local dir = top:file(("fold-%d"):format(i))
    local ens = cfg.train.ensemble > 1
    local o = { fold = i, info = opts.info, argv = opts.argv, jobs = opts.jobs,
      progress = opts.progress == "quiet" and "none" or opts.progress,
      threads_fixed = opts.threads_fixed }
    local summary = run_part(dir, ens and M.run_ensemble or M.run, cfg, o, top, ens, P,
      ("fold %d/%d"):format(i, k))
    local best = summary.best and summary.best.value
    folds[i] = { fold = i, run_dir = dir, best = best, steps = summary.steps, test = summary.test }
    values[#values + 1] = best
  end
  local mean, sd = mean_sd(values)
  local out = { run_dir = top.path, status = "completed", exit_code = 0, folds = folds,
    metric = cfg.train.best_metric, mean = mean, sd = sd, command = command_line(opts.argv) }
  top:write_json("summary.json", out)
  if P.mode == "json" then
    P:_json("summary", out)
  elseif P.mode == "quiet" then
    io.stdout:write(top.path, "\n")
  else
    P:note(("%-8s %s"):format("fold", "best " .. cfg.train.best_metric))
    for _, f in ipairs(folds) do P:note(("%-8d %.4f"):format(f.fold, f.best or 0 / 0)) end
    P:note(("%-8s %.4f +- %.4f (mean +- sd over %d folds)"):format("all", mean, sd, k))
  end
  return out
end

-- ---- ensembles -------------------------------------------------------------------

local ENSEMBLE_METRIC = { valid_accuracy = "accuracy", valid_macro_f1 = "macro_f1",
  valid_loss = "loss" }

--- The overrides that make member i of the config's ensemble (train.ensemble_vary:
-- "key=v1,v2,... key2=w1,w2,...", member i takes the i-th value of each key, cycling),
-- a list of "key=value" strings ({} when the members differ by seed only). Keys that
-- would change the data, the seed or the ensemble itself are refused: the members
-- must read the same data into the same vocabulary.
function M.member_overrides(cfg, i)
  local out = {}
  for word in cfg.train.ensemble_vary:gmatch("%S+") do
    local key, vals = word:match("^([%w_.]+)=(.+)$")
    if not key then
      errors.raise("config", "train.ensemble_vary: %q is not key=v1,v2,...", word)
    end
    if key == "seed" or key == "task" or key:match("^data%.") or key:match("^train%.ensemble")
        or key:match("^pretrained%.") then
      errors.raise("config", "train.ensemble_vary: %s cannot differ between members (they share "
        .. "the data, its vocabulary and the seeds seed, seed+1, ...)", key)
    end
    local list = {}
    for v in vals:gmatch("[^,]+") do list[#list + 1] = v end
    out[#out + 1] = ("%s=%s"):format(key, list[(i - 1) % #list + 1])
  end
  return out
end

local ensemble_grows   -- (below)

-- Member i's config: the ensemble's with member_overrides applied (checked as overrides are).
local function member_config(cfg, i)
  local ov = M.member_overrides(cfg, i)
  if #ov == 0 then return cfg, ov end
  local c = config_lib().apply(cfg, ov, { check_paths = false })
  return c, ov
end

-- An ensemble's members, opts.jobs at a time, each a `lurn train --member I`
-- process with its share of the threads and its output in member-I.log.
-- Returns the summaries of the members that completed; a failed member
-- stops the ensemble (the others finish first); Ctrl-C stops them all with
-- a checkpoint each.
local function run_members_parallel(cfg, opts, top, P, jobs, variants)
  local runner = require "lurn.sweep.runner"
  local K = cfg.train.ensemble
  local per = math.max(1, lurn.threads() // jobs)
  local r = runner.new { threads = per }
  local done, todo, failed, signal = {}, {}, nil, nil
  for i = 1, K do
    local dir = top:file(("member-%d"):format(i))
    local prev = completed(dir)
    if prev then
      P:note(("member %d/%d: done before (%s)"):format(i, K, dir))
      done[i] = prev
    else
      todo[#todo + 1] = i
    end
  end
  P:note(("  %d member(s) to train, %d at a time, %d thread(s) each; their output: %s/member-I.log")
    :format(#todo, jobs, per, top.path))
  lurn.catch_signals()
  local function tick()
    local sig = lurn.caught_signal()
    if sig and not signal then
      signal = sig
      r:signal("TERM")
    end
  end
  local next_i = 1
  while true do
    tick()
    while not signal and not failed and next_i <= #todo and r:running() < jobs do
      local i = todo[next_i]
      next_i = next_i + 1
      local dir = top:file(("member-%d"):format(i))
      local argv
      if rundir.is_run(dir) and lfs.attributes(dir .. "/checkpoints/latest") then
        -- with the keys a resume may change, as this run has them now
        argv = { "train", "--resume", dir }
        for key in pairs(M.SAFE_ON_RESUME) do
          local sect, k = key:match("^(%w+)%.(.+)$")
          argv[#argv + 1] = ("%s=%s"):format(key, tostring(cfg[sect][k]))
        end
      else
        if lfs.attributes(dir) then os.execute("rm -rf -- " .. rundir.shell_quote(dir)) end
        argv = { "train", top:file("config.resolved.lua"), "--member", tostring(i), "--out", dir }
        if opts.fold then
          table.insert(argv, 3, "--fold")
          table.insert(argv, 4, tostring(opts.fold))
        end
      end
      r:start(i, argv, dir .. ".log")
      local ov = variants[i].overrides
      P:note(("member %d/%d (seed %d)%s%s"):format(i, K, cfg.seed + i - 1,
        #ov > 0 and (": " .. table.concat(ov, " ")) or "", argv[2] == "--resume" and ": resuming" or ""))
    end
    if r:running() == 0 then break end
    local ev = r:wait(tick)
    local i, dir = ev.id, top:file(("member-%d"):format(ev.id))
    local sm = completed(dir)
    if ev.exit_code == 0 and sm then
      done[i] = sm
      P:note(("member %d/%d: done in %.0f s, best %s %s"):format(i, K, ev.seconds,
        cfg.train.best_metric, sm.best and ("%.4f"):format(sm.best.value) or "-"))
    elseif ev.exit_code == errors.EXIT.interrupted then
      -- a Ctrl-C reaches the members too, and one may stop before this process sees its own
      -- signal: an interruption, not a failure; the others are stopped as well
      if not signal then
        signal = lurn.caught_signal() or ("a signal to member %d"):format(i)
        r:signal("TERM")
      end
    elseif not signal then
      failed = failed or { i = i, code = ev.exit_code, log = ev.log }
      P:note(("member %d/%d: failed (exit %d): %s"):format(i, K, ev.exit_code,
        runner.tail(ev.log, 3):gsub("\n", "\n  ")))
    end
  end
  if signal then
    errors.raise("interrupted", "interrupted by %s: the members saved a checkpoint each\nresume "
      .. "with: lurn train --resume %s", signal, top.path)
  end
  if failed then
    errors.raise(errors.code_of(failed.code, "failed"), "member %d of the ensemble %s failed "
      .. "(exit %d); its log: %s\nthe finished members are kept: lurn train --resume %s",
      failed.i, top.path, failed.code, failed.log, top.path)
  end
  return done
end

--- train.ensemble = K >= 2: K runs, member-1 ... member-K inside one run
-- directory (a fold's directory under data.folds), member i trained with the
-- random seed seed + i - 1 on the same data and validation split (those come
-- from seed alone), each a complete run. The ensemble predicts the mean of
-- its members' probabilities (best checkpoints; lurn.run.saved loads the
-- directory as one model). Once every member is done it is evaluated on the
-- validation split and the test file; summary.json's best is its value of
-- train.best_metric, so folds and sweeps rank an ensemble like one run.
-- --resume continues it member by member.
function M.run_ensemble(cfg, opts)
  local K = cfg.train.ensemble
  local P = progress.new { mode = opts.progress or "lines" }
  check_config(cfg, opts.fold)
  local variants = {}
  for i = 1, K do   -- every member's config checked before the first one trains
    local c, ov = member_config(cfg, i)
    check_config(c, opts.fold)
    variants[i] = { cfg = c, overrides = ov }
  end
  local top = open_top(cfg, opts, { fold = opts.fold, ensemble = K })
  P:note(("%s %s: an ensemble of %d models"):format(opts.resume and "resuming" or "run", top.path, K))
  local members, dirs, values = {}, {}, {}
  -- side by side by default: each member its config's threads (1 when unset), as many at once
  -- as the threads lurn may use allow
  local jobs = opts.jobs or math.max(1, lurn.threads() // (cfg.threads > 0 and cfg.threads or 1))
  jobs = math.min(jobs, K)
  local summaries = jobs > 1 and run_members_parallel(cfg, opts, top, P, jobs, variants) or {}
  for i = 1, K do
    local dir = top:file(("member-%d"):format(i))
    local o = { fold = opts.fold, member = i, info = opts.info, argv = opts.argv,
      progress = opts.progress == "quiet" and "none" or opts.progress,
      threads_fixed = opts.threads_fixed }
    local ov = variants[i].overrides
    local summary = summaries[i] or run_part(dir, M.run, variants[i].cfg, o, top, false, P,
      ("member %d/%d (seed %d)%s"):format(i, K, cfg.seed + i - 1,
        #ov > 0 and (": " .. table.concat(ov, " ")) or ""))
    members[i] = { member = i, seed = cfg.seed + i - 1, run_dir = dir, overrides = ov,
      best = summary.best and summary.best.value, steps = summary.steps, seconds = summary.seconds }
    dirs[i], values[#values + 1] = dir, members[i].best
  end
  -- the ensemble on the run's own validation split and test file, from the
  -- members' best checkpoints and from their last (final) ones
  local saved = require "lurn.run.saved"
  local ds = load_data(cfg, opts.fold, progress.new { mode = "none" })
  local scores, final = {}, {}
  for which, into in pairs { best = scores, last = final } do
    local ens = saved.load_ensemble(dirs, { which = which, what = top.path })
    for _, split in ipairs { "valid", "test" } do
      if ds[split] then
        local rec, rep = metrics.evaluate(ens.model, ds[split], {
          loss = require("lurn.nn").CrossEntropy(), labels = ds.labels,
          batch_size = cfg.train.batch_size })
        into[split] = { n = rec.n, loss = rec.loss, accuracy = rec.accuracy,
          macro_f1 = rec.macro_f1, classes = rep.classes }
      end
    end
  end
  local field = ENSEMBLE_METRIC[cfg.train.best_metric]
  local value = field and scores.valid and scores.valid[field]
  local mean, sd
  if #values == K then mean, sd = mean_sd(values) end
  -- best, final, test and seconds read as a single run's summary do (folds, sweeps, bench/)
  local out = { run_dir = top.path, status = "completed", exit_code = 0, ensemble = K,
    members = members, valid = scores.valid, test = scores.test, final = final.valid,
    final_test = final.test,
    best = value and { metric = cfg.train.best_metric, value = value } or nil,
    members_mean = mean, members_sd = sd, steps = 0, seconds = 0,
    command = command_line(opts.argv) }
  for _, m in ipairs(members) do
    out.steps, out.seconds = out.steps + (m.steps or 0), out.seconds + (m.seconds or 0)
  end
  top:write_json("summary.json", out)
  if P.mode == "json" then
    P:_json("summary", out)
  elseif P.mode == "quiet" then
    io.stdout:write(top.path, "\n")
  else
    local metric = "best " .. cfg.train.best_metric
    P:note(("%-10s %s"):format("member", metric))
    for _, m in ipairs(members) do P:note(("%-10d %.4f"):format(m.member, m.best or 0 / 0)) end
    if mean then P:note(("%-10s %.4f +- %.4f (mean +- sd)"):format("members", mean, sd)) end
    P:note(("ensemble of %d (the mean of the members' probabilities):"):format(K))
    for _, row in ipairs { { "valid", scores.valid, "best" }, { "valid", final.valid, "last" },
        { "test", scores.test, "best" }, { "test", final.test, "last" } } do
      local r = row[2]
      if r then
        P:note(("  %-5s %s checkpoints  accuracy %.4f  macro-F1 %.4f  loss %.4f  (%d samples)")
          :format(row[1], row[3], r.accuracy, r.macro_f1, r.loss or 0 / 0, r.n))
      end
    end
    P:note(("use it: lurn eval %s   lurn predict %s"):format(top.path, top.path))
  end
  return out
end

-- ---- the command ---------------------------------------------------------------

-- The run-directory steps a task module (lurn.tasks) shares with this path.
M.open_run, M.command_line, M.fit_error, M.summarize = open_run, command_line, fit_error, summarize

--- How a task's train.fit call ended (lurn.tasks): the status ("completed",
-- "interrupted" or a failure's code: "diverged", ...), the failure (an
-- error object, or nil) and the result (nil on failure). Anything else
-- train.fit raised is a bug and is raised again with its traceback.
-- @usage local status, failure, result = train.outcome(pcall(lurn.train.fit, o), mon)
function M.outcome(ok, result, mon)
  if ok then return mon.signal and "interrupted" or "completed", nil, result end
  local failure = fit_error(result)
  if not failure then error(result, 0) end
  return failure.code, failure, nil
end

--- What a task's run that did not complete raises once its summary.json
-- is written: the divergence (and which checkpoints are intact), the
-- failure, or the interruption with the command that resumes it.
-- @usage train.raise_outcome(status, failure, summary, mon, run); return summary
function M.raise_outcome(status, failure, summary, mon, run)
  local newest = summary.checkpoints and summary.checkpoints.newest
  if status == "diverged" then
    errors.raise("diverged", "%s\n%s; a lower optim.lr (or train.clip) may help", failure.message,
      newest and ("the checkpoints before it are intact (last: %s)"):format(newest)
        or "no checkpoint was written before it")
  end
  if failure then error(failure, 0) end
  if status == "interrupted" then
    errors.raise("interrupted", "%s at step %d; checkpoint saved: %s\nresume with: lurn train "
      .. "--resume %s", mon.stop_reason, summary.steps, tostring(newest), run.path)
  end
end

--- `lurn train ...`; under mpirun on every rank (lurn.dist.main).
function M.main(args, ctx)
  return dist.main("train", M.main_rank, args, ctx)
end

local ENSEMBLE_KEYS = { ["train.ensemble"] = true, ["train.ensemble_vary"] = true }

-- Whether resuming the run with cfg instead of its saved config only grows
-- its ensemble: more members, and every member it had keeps its config
-- (train.ensemble_vary may change only for the new ones). Then the members it
-- has are kept and the new ones trained.
function ensemble_grows(saved, cfg, run)
  local k0, k1 = saved.train.ensemble, cfg.train.ensemble
  if k0 < 2 or k1 < k0 then return false end
  if k0 == k1 and saved.train.ensemble_vary == cfg.train.ensemble_vary then return false end
  local config = config_lib()
  for i = 1, k0 do
    local ok_a, a = pcall(member_config, saved, i)
    local ok_b, b = pcall(member_config, cfg, i)
    if not (ok_a and ok_b) then return false end
    for _, d in ipairs(config.diff(a, b)) do
      if not M.SAFE_ON_RESUME[d.key] and not ENSEMBLE_KEYS[d.key] then return false end
    end
  end
  return true
end

--- The command on one rank (or without MPI): what M.main runs.
function M.main_rank(args, ctx)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn train --help)", o) end
  if o.json and o.quiet then errors.raise("usage", "--json and --quiet exclude each other") end
  local config = config_lib()
  local path, overrides = nil, {}
  for _, a in ipairs(o.args) do
    if not path and not a:find("=", 1, true) then path = a else overrides[#overrides + 1] = a end
  end
  -- --folds K is sugar for the override, so the config layer checks K
  if o.folds then overrides[#overrides + 1] = "data.folds=" .. o.folds end
  local cfg, info, run
  if o.resume then
    if o.out then errors.raise("usage", "--out and --resume exclude each other") end
    run = rundir.open(o.resume)
    local saved = config.load(run:file("config.resolved.lua"))
    cfg, info = config.load(path or run:file("config.resolved.lua"), overrides)
    local diffs, bad = config.diff(saved, cfg), {}
    local grows = ensemble_grows(saved, cfg, run)
    for _, d in ipairs(diffs) do
      if not M.SAFE_ON_RESUME[d.key] and not (grows and ENSEMBLE_KEYS[d.key]) then
        bad[#bad + 1] = ("  %s: %s -> %s"):format(d.key, fmt_value(d.old), fmt_value(d.new))
      end
    end
    if #bad > 0 then
      errors.raise("config", "--resume %s: the config differs from the run's "
        .. "(config.resolved.lua):\n%s\nonly train.epochs, train.log_every and train.max_time may "
        .. "change when resuming (and an ensemble's train.ensemble may grow, its members keeping "
        .. "their configs); start a new run for the rest", run.path, table.concat(bad, "\n"))
    end
    info.changed = diffs
  else
    if not path then errors.raise("usage", "lurn train needs a config file (try lurn train --help)") end
    cfg, info = config.load(path, overrides)
  end
  if o.print_config then
    io.write(config.serialize(cfg))
    return 0
  end
  local mode = o.json and "json" or o.quiet and "quiet" or nil
  if not mode then
    local host = package.loaded["lurn.host"]
    mode = (host and host.isatty and host.isatty(1)) and "live" or "lines"
  end
  local argv = { "train" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local run_opts = { out = o.out, info = info, progress = mode, argv = argv, resume = run,
    threads_fixed = ctx and ctx.threads_fixed }
  -- a fold of a k-fold run resumed on its own stays that fold
  local okj, env = pcall(json.decode, run and run:read("env.json") or "null")
  run_opts.fold = okj and type(env) == "table" and math.tointeger(env.fold) or nil
  run_opts.member = okj and type(env) == "table" and math.tointeger(env.member) or nil
  if o.jobs ~= nil and (not math.tointeger(o.jobs) or o.jobs < 1) then
    errors.raise("usage", "--jobs must be a positive integer")
  end
  run_opts.jobs = o.jobs
  if o.jobs and cfg.train.ensemble < 2 then
    io.stderr:write("lurn train: note: --jobs runs an ensemble's members side by side; this "
      .. "config trains one model (train.ensemble = 1)\n")
  end
  if o.member then
    if run then errors.raise("usage", "--member and --resume exclude each other (a member's "
      .. "directory resumes as it is)") end
    if o.member < 1 or o.member > cfg.train.ensemble then
      errors.raise("usage", "--member %s: the config's ensemble has members 1 to %d "
        .. "(train.ensemble = %d)", tostring(o.member), cfg.train.ensemble, cfg.train.ensemble)
    end
    run_opts.member = o.member
    -- the member's own differences (train.ensemble_vary), as the ensemble gives them
    cfg = member_config(cfg, o.member)
  end
  if o.fold then
    if run then errors.raise("usage", "--fold and --resume exclude each other (a fold's "
      .. "directory resumes as it is)") end
    if (cfg.data.folds or 0) < 2 or o.fold < 1 or o.fold > cfg.data.folds then
      errors.raise("usage", "--fold %s: the config's k-fold split has folds 1 to %d (data.folds "
        .. "= %d)", tostring(o.fold), math.max(cfg.data.folds or 0, 0), cfg.data.folds or 0)
    end
    run_opts.fold = o.fold
  end
  local ensemble = cfg.train.ensemble > 1 and not run_opts.member
  if (cfg.data.folds or 0) >= 2 and not run_opts.fold then
    if dist.active() then
      errors.raise("usage", "k-fold cross-validation does not run under mpirun (run the folds "
        .. "one by one with data.folds and --resume, or use lurn sweep)")
    end
    M.run_folds(cfg, run_opts)
  elseif ensemble and not require("lurn.tasks").module(cfg.task) then
    if dist.active() then
      errors.raise("usage", "train.ensemble does not run under mpirun (train the members as "
        .. "separate runs with seed=S, or use lurn sweep)")
    end
    M.run_ensemble(cfg, run_opts)
  else
    M.run(cfg, run_opts)
  end
  return 0
end

return M
