--- lurn.run.saved — a trained model back from its checkpoint, ready to use.
--
--   local s = saved.load("runs/x")            -- or a .ckpt file; opts.which = "best"|"last"
--   s.model (eval mode, weights loaded), s.labels, s.vocab, s.tokenizer,
--   s.config (the resolved config), s.spec, s.state (checkpoint.load's), s.path
--   (a run of another task, bundle.task set: its lurn.tasks module's
--   load_saved(file, state, bundle) builds the table, and s.task names it)
--   saved.encode(s, texts) -> Dataset     -- tokenized, truncated like the training data
--
-- Everything comes from the checkpoint: the model is rebuilt from its spec
-- (nn.build) and the tokenizer and vocabulary from their plain-data states.
-- No config code runs. Every failure is a "checkpoint" error (exit 4) that
-- names the file.
local lfs = require "lfs"
local errors = require "lurn.errors"
local checkpoint = require "lurn.checkpoint"
local core = require "lurn.core"
local seqm = require "lurn.nn.seq"

local M = {}

local function exists(p) return lfs.attributes(p) ~= nil end

-- The checkpoint file a run directory (or a checkpoints/ directory) means.
function M.resolve(path, which)
  which = which or "best"
  if which ~= "best" and which ~= "last" then
    errors.raise("usage", "--checkpoint must be best or last, got '%s'", tostring(which))
  end
  local mode = lfs.attributes(path, "mode")
  if not mode then errors.raise("checkpoint", "%s: no such file or directory", path) end
  if mode ~= "directory" then return path end
  local dir = path:gsub("/+$", "")
  if M.members(dir) then
    errors.raise("usage", "%s is an ensemble (train.ensemble): lurn eval and lurn predict take "
      .. "it whole; one model is one of its members (%s/member-1, ...)", path, dir)
  end
  if exists(dir .. "/checkpoints") then dir = dir .. "/checkpoints" end
  if which == "best" and exists(dir .. "/best.ckpt") then return dir .. "/best.ckpt" end
  local f = io.open(dir .. "/latest", "rb")
  local name = f and f:read("l")
  if f then f:close() end
  if name and name ~= "" and not name:find("/", 1, true) then return dir .. "/" .. name end
  if exists(dir .. "/fold-1") then
    errors.raise("usage", "%s is a k-fold run: give one of its folds (%s/fold-1, ...)", path, dir)
  end
  errors.raise("checkpoint", "%s: no checkpoint in it (no best.ckpt, no latest)", path)
end

--- The member directories of an ensemble run (train.ensemble), in order,
-- or nil when dir is not one.
function M.members(dir)
  dir = dir:gsub("/+$", "")
  if lfs.attributes(dir .. "/checkpoints") or lfs.attributes(dir .. "/member-1", "mode") ~= "directory" then
    return nil
  end
  local out = {}
  while lfs.attributes(("%s/member-%d"):format(dir, #out + 1), "mode") == "directory" do
    out[#out + 1] = ("%s/member-%d"):format(dir, #out + 1)
  end
  return out
end

-- An ensemble as one model: the log of the mean of its members'
-- probabilities, so argmax, cross-entropy and softmax read it as logits.
local Ensemble = {}
Ensemble.__index = Ensemble

function Ensemble:forward(batch)
  local sum
  for _, m in ipairs(self.members) do
    local p = core.softmax(seqm.split(m:forward(batch)))
    sum = sum and sum:add(p) or p
  end
  return sum:div(#self.members):log()
end

function Ensemble:eval() for _, m in ipairs(self.members) do m:eval() end; self.training = false end

function Ensemble:train(on)
  on = on == nil and true or on
  for _, m in ipairs(self.members) do m:train(on) end
  self.training = on
end

function Ensemble:num_parameters()
  local n = 0
  for _, m in ipairs(self.members) do n = n + m:num_parameters() end
  return n
end

--- An ensemble's members (paths: run directories or checkpoints) loaded as
-- one: s.model averages their probabilities; s.members holds each one's
-- saved table. The members must agree on labels, tokenizer and vocabulary
-- (an ensemble run's do: same data, same split). opts: which, what (the
-- ensemble's path, for s.path and messages).
function M.load_ensemble(paths, opts)
  opts = opts or {}
  local what = opts.what or paths[1]
  local members = {}
  for i, p in ipairs(paths) do
    local s = M.load(p, { which = opts.which })
    if s.task then
      errors.raise("checkpoint", "%s: member %d is a task-%s run; ensembles classify", what, i, s.task)
    end
    local first = members[1]
    if first then
      local function differ(part)
        errors.raise("checkpoint", "%s: member %d (%s) has other %s than member 1 (%s): not one "
          .. "ensemble", what, i, s.path, part, first.path)
      end
      if table.concat(s.labels, "\0") ~= table.concat(first.labels, "\0") then differ("labels") end
      if s.vocab:size() ~= first.vocab:size() then differ("a vocabulary") end
      for t = 1, #s.vocab.itos do
        if s.vocab.itos[t] ~= first.vocab.itos[t] then differ("a vocabulary") end
      end
      local ts, tf = s.bundle.tokenizer, first.bundle.tokenizer
      for k, v in pairs(tf) do if ts[k] ~= v then differ("a tokenizer") end end
      for k, v in pairs(ts) do if tf[k] ~= v then differ("a tokenizer") end end
    end
    members[i] = s
  end
  local models = {}
  for i, s in ipairs(members) do models[i] = s.model end
  local first = members[1]
  return {
    path = what, members = members, model = setmetatable({ members = models, training = false },
      Ensemble), labels = first.labels, vocab = first.vocab, tokenizer = first.tokenizer,
    config = first.config, spec = first.spec, bundle = first.bundle,
    state = { step = nil },
  }
end

--- opts: which ("best" | "last"), any_state = true to accept a training
-- state without lurn train's bundle (then only path, state, config are set).
-- A directory of an ensemble run loads as one model (load_ensemble), and so
-- do several paths joined by commas ("runs/a,runs/b").
function M.load(path, opts)
  opts = opts or {}
  local mode = lfs.attributes(path, "mode")
  -- "a,b,c": the runs (or checkpoints) named as one ensemble, each counting once
  if not mode and path:find(",", 1, true) then
    local parts = {}
    for p in path:gmatch("[^,]+") do parts[#parts + 1] = p end
    if #parts < 2 then errors.raise("checkpoint", "%s: no such file or directory", path) end
    if opts.any_state then
      errors.raise("usage", "%s names %d models: give one of them", path, #parts)
    end
    return M.load_ensemble(parts, { which = opts.which, what = path })
  end
  local members = mode == "directory" and M.members(path)
  if members then
    if opts.any_state then
      errors.raise("usage", "%s is an ensemble of %d models: give one of them (%s/member-1, ...)",
        path, #members, path:gsub("/+$", ""))
    end
    return M.load_ensemble(members, { which = opts.which, what = path:gsub("/+$", "") })
  end
  local file = M.resolve(path, opts.which)
  local s = errors.wrap("checkpoint", "", checkpoint.load, file)
  local function fail(fmt, ...) errors.raise("checkpoint", file .. ": " .. fmt, ...) end
  local b = s.extra
  if type(b) ~= "table" or b.kind ~= "lurn-run" then
    if opts.any_state then return { path = file, state = s, config = s.config or {} } end
    fail("not written by lurn train (it has no model description); load it with "
      .. "lurn.checkpoint in a script")
  end
  if b.version ~= 1 then fail("run bundle version %s, this lurn reads version 1", tostring(b.version)) end
  -- another task's run (lurn.tasks): its module rebuilds what it saved
  if b.task ~= nil and b.task ~= "classify" then
    local tasks = require "lurn.tasks"
    local okt, task = pcall(tasks.module, b.task)
    if not okt or not task or not task.load_saved then
      fail("written for task '%s', which this lurn does not know", tostring(b.task))
    end
    local out = task.load_saved(file, s, b)
    out.task = b.task
    return out
  end
  if type(b.labels) ~= "table" or #b.labels < 1 then fail("the label names are missing") end
  for i, l in ipairs(b.labels) do
    if type(l) ~= "string" then fail("label %d is not a string", i) end
  end
  if type(s.vocab) ~= "table" then fail("the vocabulary is missing") end
  if type(s.model) ~= "table" then fail("the model weights are missing") end
  local lurn = require "lurn"
  local model = errors.wrap("checkpoint", file .. ": model: ", lurn.nn.build, b.model)
  errors.wrap("checkpoint", "", checkpoint.restore, s, { model = model })
  model:eval()
  local text = require "lurn.text"
  local tok = errors.wrap("checkpoint", file .. ": ", text.Tokenizer.from_state, b.tokenizer)
  local vocab = errors.wrap("checkpoint", file .. ": vocabulary: ", lurn.data.Vocab.from_state, s.vocab)
  return {
    path = file, state = s, model = model, spec = b.model, labels = b.labels, vocab = vocab,
    tokenizer = tok, config = s.config or {}, bundle = b,
  }
end

--- A Dataset of texts (and labels, strings, when given), encoded like the
-- training data was: the saved tokenizer and vocabulary, data.max_len and
-- data.truncate of the run's config. what names the source in messages.
function M.encode(s, texts, labels, what)
  local text = require "lurn.text"
  local d = s.config.data or {}
  local index = {}
  for i, l in ipairs(s.labels) do index[l] = i - 1 end
  return text.encode(texts, { tokenizer = s.tokenizer, vocab = s.vocab, max_len = d.max_len or 0,
    truncate = d.truncate or "head", labels = labels, label_index = index,
    label_list = s.labels, what = what, subwords = d.subwords or 0 })
end

return M
