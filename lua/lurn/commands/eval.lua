--- lurn eval RUN_DIR|CHECKPOINT [--data FILE [--format F]] [--split valid|test] [--checkpoint best|last] [--json]
--
-- An ensemble run's directory (train.ensemble) is evaluated as one model:
-- the mean of its members' probabilities.
-- Evaluates a trained classifier: N, mean cross-entropy, accuracy, per-class
-- precision, recall and F1, macro-F1, the confusion matrix. The data is a
-- labelled file (--data, read in the run's data.format), else the run's
-- test file, else its validation split (rebuilt from the run's config:
-- same files, same seed).
local argparse = require "argparse"
local errors = require "lurn.errors"
local saved = require "lurn.run.saved"
local metrics = require "lurn.run.metrics"
local json = require "lurn.run.json"

local M = {}

M.summary_text = "evaluate a run directory or checkpoint"

local function parser()
  local p = argparse("lurn eval", "Evaluate a trained model on labelled data.")
  p:add_help(false)
  p:usage("usage: lurn eval RUN_DIR|CHECKPOINT [--data FILE] [options]")
  p:argument("model", "a run directory (its best checkpoint) or a checkpoint file; an ensemble "
    .. "run's directory, or several paths joined by commas, evaluate as one model (the mean of "
    .. "their probabilities)"):argname("RUN_DIR|CHECKPOINT")
  p:option("--data", "a labelled file, read in the run's data.format (default: the run's test "
    .. "file, else its validation split)"):argname("FILE")
  p:option("--format", "the format of --data (default: the run's data.format)")
      :choices { "auto", "tsv", "csv", "json", "label_text", "fasttext", "imdb" }
  p:option("--split", "the run's own split to use when --data is not given"):choices { "valid", "test" }
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:option("--batch-size", "samples per batch", "64"):convert(math.tointeger):argname("N")
  p:flag("--json", "print the results as one JSON object")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage error, 3 data error, 4 checkpoint error (missing or "
    .. "damaged).")
  return p
end

function M.help() return parser():get_help() end

-- The data to evaluate: a Dataset and a description of where it came from.
local function dataset(s, o)
  if o.data then
    local text = require "lurn.text"
    local d = s.config.data or {}
    local r = text.read(o.data, { format = o.format or d.format or "auto", text_field = d.text_field,
      label_field = d.label_field })
    return saved.encode(s, r.texts, r.labels, o.data), o.data
  end
  local cfg = s.config
  if type(cfg.data) ~= "table" then
    errors.raise("usage", "%s: the checkpoint has no data config; give --data FILE", s.path)
  end
  local split = o.split or ((cfg.data.test or "") ~= "" and "test" or "valid")
  local text = require "lurn.text"
  -- a fold of a k-fold run: that fold's split
  local fold = s.bundle.fold
  local ds = text.load_dataset(cfg.data, { seed = cfg.seed, fold = fold })
  -- the run's vocabulary must be the one this data rebuilds, else the files changed
  local same = ds.vocab:size() == s.vocab:size()
  for i = 1, same and #s.vocab.itos or 0 do
    if ds.vocab.itos[i] ~= s.vocab.itos[i] then same = false; break end
  end
  if not same then
    errors.raise("data", "%s: the training data changed since this model was trained (its "
      .. "vocabulary differs); give the data to evaluate with --data FILE", cfg.data.train)
  end
  if not ds[split] then
    errors.raise("usage", "the run has no %s split (data.%s is not set%s); give --data FILE", split,
      split, split == "valid" and " and data.valid_split is 0" or "")
  end
  local what = split == "test" and cfg.data.test or
      ((cfg.data.valid or "") ~= "" and cfg.data.valid or
        (fold and ("%s (fold %d of %d, seed %s)"):format(cfg.data.train, fold, cfg.data.folds,
          tostring(cfg.seed))
        or ("%s (validation split %s, seed %s)"):format(cfg.data.train, tostring(cfg.data.valid_split),
          tostring(cfg.seed))))
  return ds[split], what
end

local function fmt(v) return v == nil and "-" or ("%.4f"):format(v) end

local function print_report(s, what, rec, rep)
  local st = s.state
  if s.members then
    print(("ensemble    %s: the mean of %d models' probabilities"):format(s.path, #s.members))
    for i, m in ipairs(s.members) do
      print(("  member %d  %s (%s)"):format(i, m.path, m.members and ("an ensemble of %d"):format(
        #m.members) or ("step " .. tostring(m.state.step))))
    end
  else
    print(("checkpoint  %s (step %s%s)"):format(s.path, tostring(st.step),
      st.data and st.data.epoch and (", epoch " .. (st.data.epoch - (st.data.pos == 0 and 1 or 0)))
      or ""))
  end
  print(("data        %s (%d samples)"):format(what, rec.n))
  print(("loss        %s   (mean cross-entropy)"):format(fmt(rec.loss)))
  print(("accuracy    %s"):format(fmt(rec.accuracy)))
  print(("macro-F1    %s"):format(fmt(rec.macro_f1)))
  print("")
  local w = 5
  for _, c in ipairs(rep.classes) do w = math.max(w, #c.label) end
  print(("%-" .. w .. "s  %9s  %9s  %9s  %7s"):format("class", "precision", "recall", "f1", "support"))
  for _, c in ipairs(rep.classes) do
    print(("%-" .. w .. "s  %9.4f  %9.4f  %9.4f  %7d"):format(c.label, c.precision, c.recall, c.f1,
      c.support))
  end
  print("")
  print("confusion matrix (rows: true class, columns: predicted)")
  local cw = 6
  for _, c in ipairs(rep.classes) do cw = math.max(cw, #c.label) end
  local head = { (" "):rep(w) }
  for _, c in ipairs(rep.classes) do head[#head + 1] = ("%" .. cw .. "s"):format(c.label) end
  print(table.concat(head, "  "))
  for i, c in ipairs(rep.classes) do
    local row = { ("%-" .. w .. "s"):format(c.label) }
    for j = 1, #rep.classes do row[#row + 1] = ("%" .. cw .. "d"):format(rep.matrix[i][j]) end
    print(table.concat(row, "  "))
  end
end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn eval --help)", o) end
  if not o.batch_size or o.batch_size < 1 then
    errors.raise("usage", "--batch-size must be a positive integer")
  end
  local s = saved.load(o.model, { which = o.checkpoint })
  if s.task then   -- another task's run (lurn.tasks) evaluates itself
    local task = require("lurn.tasks").module(s.task)
    if not task.eval then errors.raise("usage", "lurn eval does not evaluate task '%s' runs", s.task) end
    return task.eval(s, o) or 0
  end
  local data, what = dataset(s, o)
  local rec, rep = metrics.evaluate(s.model, data, { loss = require("lurn.nn").CrossEntropy(),
    labels = s.labels, batch_size = o.batch_size })
  if o.json then
    local members = nil
    for i, m in ipairs(s.members or {}) do
      members = members or {}
      members[i] = { checkpoint = m.path, step = m.state.step }
    end
    print(json.object({
      checkpoint = s.path, step = s.state.step, members = members, data = what, n = rec.n,
      loss = rec.loss,
      accuracy = rec.accuracy,
      macro_f1 = rec.macro_f1, classes = rep.classes,
      confusion = { labels = s.labels, matrix = rep.matrix },
    }, { "checkpoint", "step", "members", "data", "n", "loss", "accuracy", "macro_f1" }))
  else
    print_report(s, what, rec, rep)
  end
  return 0
end

return M
