--- lurn.checkpoint — a whole training state in one file, and back.
--
--   checkpoint.save(path, {
--     model = model,            -- an nn module (or a {name = tensor} table): "model/<name>"
--     optimizer = opt,          -- opt:state(): tensors "optim/<param>/<buffer>", config as JSON
--     schedule = sched,         -- sched:state()                      (JSON)
--     rng = true,               -- lurn.rng_state() now, hex           (or a 56-byte string)
--     data = {...},             -- data position: epoch, pos, batch plan  (JSON)
--     vocab = vocab,            -- a data.Vocab (or its state())       (JSON)
--     config = cfg,             -- the resolved config                 (JSON)
--     history = {...},          -- metric history                      (JSON)
--     step = n,                 -- optimizer steps taken
--     train = {...},            -- the loop's own counters             (JSON)
--     extra = {...}, tensors = {name = tensor},   -- anything else: JSON / "extra/<name>"
--   })
--   local s = checkpoint.load(path)   -- validated; the parts as plain data:
--     s.model {name = tensor}, s.optimizer {config=, tensors=}, s.schedule, s.rng (bytes),
--     s.data, s.vocab, s.config, s.history, s.step, s.train, s.extra, s.tensors, s.path
--   checkpoint.restore(s, {model = m, optimizer = opt, schedule = sched, rng = true})
--     puts the state back into live objects; a mismatch is an error that names it:
--     "m.ckpt: parameter '1.weight_ih_l0' has shape [16,4] in the checkpoint, the model
--     expects [32,4]".
--
--   checkpoint.save_weights(path, model_or_weights [, {prefix = "1."}])
--   checkpoint.load_weights(path [, {prefix = "1."}]) -> {name = tensor}
--     Weights only, for moving them to and from PyTorch: save_weights keeps
--     the names that start with prefix and strips it (so "1.weight_ih_l0"
--     becomes torch.nn.LSTM's "weight_ih_l0"); load_weights reads a lurn
--     checkpoint's model weights or any safetensors file and prepends prefix.
--
-- The file is core.save_checkpoint's (docs/checkpoint-format.md): tensors
-- plus string metadata, each structured part one JSON string under its own
-- key. Nothing in it is executed: the header is parsed by cJSON, every part
-- by core.json_decode, and restore only copies numbers into existing
-- objects. docs/training.md lists every key.
local lurn = require "lurn"
local core = require "lurn.core"

local M = {}

M.KIND = "lurn-training-state"
M.VERSION = 1

-- Parts stored as JSON metadata, in a fixed order.
local JSON_PARTS = { "schedule", "data", "vocab", "config", "history", "step", "train", "extra" }
local KNOWN = { model = true, optimizer = true, rng = true, tensors = true }
for _, k in ipairs(JSON_PARTS) do KNOWN[k] = true end

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function unhex(h)
  if type(h) ~= "string" or #h % 2 ~= 0 or h:find("[^0-9a-f]") then return nil end
  return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

-- core.load_checkpoint, its message without the caller's position (the
-- message already starts with the path, which is what a user needs).
local function read_file(path, opts)
  local ok, tensors, meta = pcall(core.load_checkpoint, path, opts)
  if not ok then
    local msg = tostring(tensors)
    local i = msg:find(path, 1, true)
    error(i and msg:sub(i) or msg, 0)
  end
  return tensors, meta
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- {name = tensor} from a module or a weights table.
local function weights_of(m)
  if type(m) == "table" and m.parameters then return m:state() end
  return m
end

--- Write a training state (see the header) to path, atomically.
function M.save(path, parts)
  if type(path) ~= "string" then error("checkpoint.save: path must be a string", 2) end
  if type(parts) ~= "table" then error("checkpoint.save: parts must be a table", 2) end
  for k in pairs(parts) do
    if not KNOWN[k] then
      error(("checkpoint.save: unknown part '%s' (known: %s)"):format(tostring(k),
        table.concat(sorted_keys(KNOWN), ", ")), 2)
    end
  end
  local tensors, meta = {}, {}
  local contents = {}
  if parts.model then
    local w = weights_of(parts.model)
    local names = sorted_keys(w)
    for _, name in ipairs(names) do tensors["model/" .. name] = w[name] end
    contents[#contents + 1] = "model"
  end
  if parts.optimizer then
    local s = parts.optimizer.state and parts.optimizer:state() or parts.optimizer
    for k, t in pairs(s.tensors or {}) do tensors["optim/" .. k] = t end
    meta.optimizer = core.json_encode(s.config)
    contents[#contents + 1] = "optimizer"
  end
  if parts.rng then
    local bytes = parts.rng == true and lurn.rng_state() or parts.rng
    meta.rng = core.json_encode(hex(bytes))
    contents[#contents + 1] = "rng"
  end
  for k, t in pairs(parts.tensors or {}) do tensors["extra/" .. k] = t end
  for _, k in ipairs(JSON_PARTS) do
    local v = parts[k]
    if v ~= nil then
      if (k == "schedule" or k == "vocab") and type(v) == "table" and type(v.state) == "function" then
        v = v:state()
      end
      local ok, s = pcall(core.json_encode, v)
      if not ok then
        error(("checkpoint.save: part '%s': %s"):format(k, tostring(s)), 2)
      end
      meta[k] = s
      contents[#contents + 1] = k
    end
  end
  meta.kind = core.json_encode { kind = M.KIND, version = M.VERSION, parts = contents }
  core.save_checkpoint(path, tensors, meta)
end

--- Read and validate a training state; the parts as plain data (header).
function M.load(path)
  if type(path) ~= "string" then error("checkpoint.load: path must be a string", 2) end
  local tensors, meta = read_file(path)   -- errors name the path and the damage
  local function fail(fmt, ...) error(path .. ": " .. fmt:format(...), 0) end
  if not meta.kind then
    fail("not a training state (no 'kind' entry in the metadata; a weights file? use " ..
      "checkpoint.load_weights)")
  end
  local ok, kind = pcall(core.json_decode, meta.kind)
  if not ok or type(kind) ~= "table" or kind.kind ~= M.KIND then
    fail("not a training state (metadata 'kind' is %s)", tostring(meta.kind):sub(1, 60))
  end
  if kind.version ~= M.VERSION then
    fail("training state version %s, this lurn reads version %d", tostring(kind.version),
      M.VERSION)
  end
  local s = { path = path, tensors = {}, parts = {} }
  for _, p in ipairs(kind.parts or {}) do s.parts[p] = true end
  for _, k in ipairs(JSON_PARTS) do
    if meta[k] ~= nil then
      local okk, v = pcall(core.json_decode, meta[k])
      if not okk then fail("part '%s' is not valid JSON (%s)", k, tostring(v)) end
      s[k] = v
    elseif s.parts[k] then
      fail("part '%s' is listed but missing", k)
    end
  end
  if s.parts.model then s.model = {} end
  local opt_tensors = {}
  for name, t in pairs(tensors) do
    local rest = name:match("^model/(.+)$")
    if rest then
      if not s.model then fail("tensor '%s' but no model part", name) end
      s.model[rest] = t
    else
      rest = name:match("^optim/(.+)$")
      if rest then
        opt_tensors[rest] = t
      else
        rest = name:match("^extra/(.+)$")
        if not rest then fail("unexpected tensor '%s'", name) end
        s.tensors[rest] = t
      end
    end
  end
  if meta.optimizer then
    local okk, cfg = pcall(core.json_decode, meta.optimizer)
    if not okk or type(cfg) ~= "table" then fail("part 'optimizer' is not a JSON object") end
    s.optimizer = { config = cfg, tensors = opt_tensors }
  elseif next(opt_tensors) then
    fail("optimizer tensors but no optimizer part")
  end
  if meta.rng then
    local okk, h = pcall(core.json_decode, meta.rng)
    local bytes = okk and unhex(h)
    if not bytes or #bytes ~= #lurn.rng_state() then
      fail("part 'rng' is not a %d-byte generator state", #lurn.rng_state())
    end
    s.rng = bytes
  end
  return s
end

-- Check that a weights table fits the model exactly; the message names the
-- parameter and both shapes, or lists what is missing / unexpected.
local function check_weights(prefix, model, w)
  local missing, known = {}, {}
  for _, p in ipairs(model:parameters()) do
    known[p.name] = true
    local v = w[p.name]
    if v == nil then
      missing[#missing + 1] = p.name
    elseif v:shape() ~= p.value:shape() then
      error(("%sparameter '%s' has shape %s in the checkpoint, the model expects %s")
        :format(prefix, p.name, tostring(v:shape()), tostring(p.value:shape())), 0)
    elseif v:dtype() ~= p.value:dtype() then
      error(("%sparameter '%s' is %s in the checkpoint, the model expects %s")
        :format(prefix, p.name, v:dtype(), p.value:dtype()), 0)
    end
  end
  local extra = {}
  for k in pairs(w) do if not known[k] then extra[#extra + 1] = k end end
  table.sort(extra)
  if #missing > 0 then
    error(("%sthe checkpoint has no weights for %d model parameter(s): %s%s"):format(prefix,
      #missing, table.concat(missing, ", "),
      #extra > 0 and ("; it has %s instead"):format(table.concat(extra, ", ")) or ""), 0)
  end
  if #extra > 0 then
    error(("%sthe checkpoint has parameter(s) the model lacks: %s"):format(prefix,
      table.concat(extra, ", ")), 0)
  end
end

--- Put a loaded state back into live objects. targets: model, optimizer,
-- schedule (each restored when given and present in the state), rng = true
-- (restore the generator). Checks everything before changing anything, so a
-- mismatch leaves the objects as they were (the rng is set last).
function M.restore(s, targets)
  local prefix = (s.path or "checkpoint") .. ": "
  local function need(part)
    if s[part] == nil then error(("%sthe checkpoint has no %s part"):format(prefix, part), 0) end
  end
  if targets.model then
    need("model")
    check_weights(prefix, targets.model, s.model)
  end
  if targets.optimizer then need("optimizer") end
  if targets.schedule then need("schedule") end
  if targets.rng then need("rng") end
  if targets.model then targets.model:load_state(s.model) end
  if targets.optimizer then
    local ok, err = pcall(targets.optimizer.load_state, targets.optimizer, s.optimizer)
    if not ok then error(prefix .. tostring(err), 0) end
  end
  if targets.schedule then
    local ok, err = pcall(targets.schedule.load_state, targets.schedule, s.schedule)
    if not ok then error(prefix .. tostring(err), 0) end
  end
  if targets.rng then lurn.set_rng_state(s.rng) end
  return s
end

--- Weights only (see the header): the names starting with opts.prefix,
-- prefix stripped; a plain safetensors file any reader (PyTorch via numpy,
-- safetensors) can load.
function M.save_weights(path, model, opts)
  opts = opts or {}
  local w, out, n = weights_of(model), {}, 0
  local prefix = opts.prefix or ""
  for name, t in pairs(w) do
    if name:sub(1, #prefix) == prefix then
      out[name:sub(#prefix + 1)] = t
      n = n + 1
    end
  end
  if n == 0 then
    error(("checkpoint.save_weights: no parameter name starts with '%s' (names: %s)")
      :format(prefix, table.concat(sorted_keys(w), ", ")), 2)
  end
  core.save_checkpoint(path, out)
  return n
end

--- {name = tensor} from a lurn training state (its model weights) or any
-- safetensors file (every tensor), with opts.prefix prepended to each name.
function M.load_weights(path, opts)
  opts = opts or {}
  local tensors, meta = read_file(path, { safetensors = true })
  local out, prefix = {}, opts.prefix or ""
  local is_state = meta.kind ~= nil and tostring(meta.kind):find(M.KIND, 1, true)
  for name, t in pairs(tensors) do
    if is_state then
      local rest = name:match("^model/(.+)$")
      if rest then out[prefix .. rest] = t end
    else
      out[prefix .. name] = t
    end
  end
  return out
end

--- Load weights (load_weights) into a model, checked like restore.
function M.load_into(model, path, opts)
  local w = M.load_weights(path, opts)
  check_weights(path .. ": ", model, w)
  model:load_state(w)
  return model
end

return M
