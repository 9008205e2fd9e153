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

--- opts: which ("best" | "last"), any_state = true to accept a training
-- state without lurn train's bundle (then only path, state, config are set).
function M.load(path, opts)
  opts = opts or {}
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
    label_list = s.labels, what = what })
end

return M
