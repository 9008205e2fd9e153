--- lurn.checkpoint — a whole training state in one file, and back.
--
--   checkpoint.save(path, {
--     model = model,            -- required: an nn module (or a {name = tensor} table): "model/<name>"
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
--   local s = checkpoint.load(path)   -- validated in full (the schema below); the parts:
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
local util = require "lurn.util"

local M = {}

--- checkpoint.KIND — the `kind` a training state's metadata carries ("lurn-training-state").
-- @usage print(checkpoint.KIND)
M.KIND = "lurn-training-state"
--- checkpoint.VERSION — the training-state version this lurn writes and reads (1).
-- @usage print(checkpoint.VERSION)
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

-- {name = tensor} from a module or a weights table; anything else is an
-- error at the user's line naming `what`.
local function weights_of(m, what)
  if type(m) == "table" and m.parameters then return m:state() end
  if type(m) ~= "table" then
    util.user_error(("%s must be an nn module or a table name -> tensor, got %s"):format(what,
      lurn.is_tensor(m) and "a tensor" or type(m)))
  end
  return m
end

-- core.save_checkpoint's failures (a directory in the way, a full disk)
-- start with the path; without the position of this file.
local function write_file(path, tensors, meta)
  local ok, err = pcall(core.save_checkpoint, path, tensors, meta)
  if not ok then error(util.strip_position(tostring(err)), 0) end
end

--- checkpoint.save(path, parts) — write a training state to path, atomically.
-- parts (only model is required):
--   model                 an nn module (or {name = tensor}): tensors "model/<name>"
--   optimizer             an optim optimizer: its moments and hyperparameters
--   schedule              an optim schedule
--   rng                   true: lurn.rng_state() now (or a 56-byte string)
--   data, vocab, config, history, train, extra   JSON-able (a data.Vocab is saved by its state)
--   step                  optimizer steps taken
--   tensors               {name = tensor}, anything else
-- Written to a temp file, fsynced and renamed: an error leaves the old file.
-- @tparam string path
-- @tparam table parts the parts above
-- @usage local opt = optim.Adam(model:parameters())
-- checkpoint.save("m.ckpt", { model = model, optimizer = opt, rng = true, step = 0 })
function M.save(path, parts)
  if type(path) ~= "string" then util.user_error("checkpoint.save: path must be a string") end
  if type(parts) ~= "table" then util.user_error("checkpoint.save: parts must be a table") end
  for k in pairs(parts) do
    if not KNOWN[k] then
      util.user_error(("checkpoint.save: unknown part '%s' (known: %s)"):format(tostring(k),
        table.concat(sorted_keys(KNOWN), ", ")))
    end
  end
  -- A nil model (a misspelt variable, say) must not write a state without
  -- weights that every resume would then refuse.
  if parts.model == nil then
    util.user_error("checkpoint.save: part 'model' is missing (nil): a training state holds the model's "
      .. "weights")
  end
  local tensors, meta = {}, {}
  local contents = {}
  if parts.model then
    local w = weights_of(parts.model, "checkpoint.save: part 'model'")
    local names = sorted_keys(w)
    for _, name in ipairs(names) do tensors["model/" .. name] = w[name] end
    contents[#contents + 1] = "model"
  end
  if parts.optimizer then
    if type(parts.optimizer) ~= "table" then
      util.user_error(("checkpoint.save: part 'optimizer' must be an optim optimizer, got %s")
        :format(type(parts.optimizer)))
    end
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
        util.user_error(("checkpoint.save: part '%s': %s"):format(k, tostring(s)))
      end
      meta[k] = s
      contents[#contents + 1] = k
    end
  end
  meta.kind = core.json_encode { kind = M.KIND, version = M.VERSION, parts = contents }
  write_file(path, tensors, meta)
end

-- ---- the schema of a training state -------------------------------------------
--
-- Everything read from a file is checked here, before restore or train.fit
-- use any of it: a crafted file with valid checksums gets an error naming
-- the file and the field ("m.ckpt: data.pos is 1000000, beyond the 2
-- batches of data.batches"), never a Lua error from deep inside the loop,
-- a silent repair or a path it chose. docs/checkpoint-format.md lists the
-- fields; docs/security.md the promises.

local NULL = core.json_null

local function describe(v)
  if v == nil then return "missing" end
  if v == NULL then return "null" end
  if type(v) == "string" then
    return ("the string %q"):format(#v > 40 and v:sub(1, 40) .. "..." or v)
  end
  if type(v) == "table" then return next(v) == nil and "empty" or "a table" end
  return tostring(v)
end

local function is_int(v, min)
  return math.type(v) == "integer" and v >= (min or math.mininteger)
end

local function is_finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

-- A JSON array: a table with keys exactly 1..n (json_decode gives an empty
-- {} for both [] and {}).
local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #v
end

local function is_object(v)
  if type(v) ~= "table" then return false end
  for k in pairs(v) do if type(k) ~= "string" then return false end end
  return true
end

-- A checker bound to one file: check(cond, field, fmt, ...) fails with
-- "<path>: <field> <message>".
local function checker(path)
  local function fail(field, fmt, ...)
    error(("%s: %s %s"):format(path, field, fmt:format(...)), 0)
  end
  local C = { fail = fail }
  function C.int(v, field, min)
    if not is_int(v, min) then
      fail(field, "must be an integer >= %d, got %s", min, describe(v))
    end
  end
  function C.opt_int(v, field, min) if v ~= nil then C.int(v, field, min) end end
  function C.number(v, field)
    if not is_finite(v) then fail(field, "must be a finite number, got %s", describe(v)) end
  end
  function C.object(v, field)
    if not is_object(v) then fail(field, "must be a JSON object, got %s", describe(v)) end
  end
  function C.array(v, field)
    if not is_array(v) then fail(field, "must be a JSON array, got %s", describe(v)) end
  end
  -- Only the known keys, so a misspelt or injected field is named.
  function C.keys(v, field, known)
    local bad = {}
    for k in pairs(v) do if not known[k] then bad[#bad + 1] = tostring(k) end end
    if #bad > 0 then
      table.sort(bad)
      fail(field, "has unknown field(s) %s", table.concat(bad, ", "))
    end
  end
  return C
end

local function set(list)
  local t = {}
  for _, k in ipairs(list) do t[k] = true end
  return t
end

--- checkpoint.PERIODIC_PATTERN — the Lua pattern of the periodic checkpoint names train.fit
-- writes (step-<8+ digits>.ckpt); the only names it will ever delete.
-- @usage print(("step-00000010.ckpt"):match(checkpoint.PERIODIC_PATTERN) ~= nil)   --> true
M.PERIODIC_PATTERN = "^step%-%d%d%d%d%d%d%d%d+%.ckpt$"

local PARTS = set { "model", "optimizer", "rng", "schedule", "data", "vocab", "config",
  "history", "step", "train", "extra" }

local function check_data(C, d)
  C.object(d, "data")
  C.keys(d, "data", set { "epoch", "pos", "batches", "size" })
  C.int(d.epoch, "data.epoch", 1)
  C.int(d.pos, "data.pos", 0)
  C.opt_int(d.size, "data.size", 0)
  if d.batches == nil then
    if d.pos ~= 0 then C.fail("data.pos", "is %d, but there is no data.batches plan", d.pos) end
    return
  end
  C.array(d.batches, "data.batches")
  if d.pos > #d.batches then
    C.fail("data.pos", "is %d, beyond the %d batches of data.batches", d.pos, #d.batches)
  end
  for i, b in ipairs(d.batches) do
    local field = ("data.batches[%d]"):format(i)
    C.array(b, field)
    if #b == 0 then C.fail(field, "is empty") end
    for j, k in ipairs(b) do
      if not is_int(k, 1) or (d.size and k > d.size) then
        C.fail(("%s[%d]"):format(field, j), "must be a sample index in 1..%s, got %s",
          d.size and tostring(d.size) or "n", describe(k))
      end
    end
  end
end

local function check_train(C, t)
  C.object(t, "train")
  C.keys(t, "train", set { "run_loss", "run_n", "best", "best_epoch", "best_step", "bad",
    "checkpoints", "threads", "ranks" })
  C.number(t.run_loss, "train.run_loss")
  C.int(t.run_n, "train.run_n", 0)
  C.int(t.bad, "train.bad", 0)
  C.opt_int(t.threads, "train.threads", 1)
  C.opt_int(t.ranks, "train.ranks", 1)   -- MPI ranks that wrote it (lurn.dist)
  if (t.best == nil) ~= (t.best_epoch == nil) or (t.best == nil) ~= (t.best_step == nil) then
    C.fail("train.best", "best, best_epoch and best_step must be all present or all absent")
  end
  if t.best ~= nil then
    C.number(t.best, "train.best")
    C.int(t.best_epoch, "train.best_epoch", 1)
    C.int(t.best_step, "train.best_step", 0)
  end
  if t.checkpoints ~= nil then
    C.array(t.checkpoints, "train.checkpoints")
    for i, name in ipairs(t.checkpoints) do
      -- A name from the file never chooses a path: only lurn's own pattern.
      if type(name) ~= "string" or not name:match(M.PERIODIC_PATTERN) then
        C.fail(("train.checkpoints[%d]"):format(i), "must be a name like step-00000010.ckpt, "
          .. "got %s", describe(name))
      end
    end
  end
end

local function check_history(C, h)
  C.array(h, "history")
  for i, r in ipairs(h) do
    local field = ("history[%d]"):format(i)
    C.object(r, field)
    for k, v in pairs(r) do
      if type(v) ~= "string" and type(v) ~= "boolean" then C.number(v, field .. "." .. k) end
    end
    C.opt_int(r.epoch, field .. ".epoch", 1)
    C.opt_int(r.step, field .. ".step", 0)
  end
end

local function check_schedule(C, s)
  C.object(s, "schedule")
  C.keys(s, "schedule", set { "name", "t", "base_lrs", "best", "num_bad", "cooldown_counter" })
  if type(s.name) ~= "string" then C.fail("schedule.name", "must be a string, got %s", describe(s.name)) end
  C.int(s.t, "schedule.t", 0)
  if s.base_lrs ~= nil then
    C.array(s.base_lrs, "schedule.base_lrs")
    for i, v in ipairs(s.base_lrs) do C.number(v, ("schedule.base_lrs[%d]"):format(i)) end
  end
  if s.best ~= nil and s.best ~= NULL then C.number(s.best, "schedule.best") end
  C.opt_int(s.num_bad, "schedule.num_bad", 0)
  C.opt_int(s.cooldown_counter, "schedule.cooldown_counter", 0)
end

local function check_vocab(C, v)
  C.object(v, "vocab")
  C.keys(v, "vocab", set { "tokens" })
  C.array(v.tokens, "vocab.tokens")
  local seen = {}
  for i, tok in ipairs(v.tokens) do
    if type(tok) ~= "string" then
      C.fail(("vocab.tokens[%d]"):format(i), "must be a string, got %s", describe(tok))
    end
    if seen[tok] then
      C.fail(("vocab.tokens[%d]"):format(i), "repeats token %q (also at %d)", tok, seen[tok])
    end
    seen[tok] = i
  end
end

-- The per-parameter buffers each optimizer's update rule keeps
-- (src/lua/optim.c); `when` says which hyperparameter makes one exist.
local BUFFERS = {
  sgd = { momentum_buffer = function(c) return (c.momentum or 0) ~= 0 end },
  adam = { exp_avg = true, exp_avg_sq = true, max_exp_avg_sq = function(c) return c.amsgrad == true end },
  rmsprop = { square_avg = true, grad_avg = function(c) return c.centered == true end,
    momentum_buffer = function(c) return (c.momentum or 0) > 0 end },
  adagrad = { sum = true },
}
BUFFERS.adamw = BUFFERS.adam
local STEP_FN = { sgd = "sgd_step", adam = "adam_step", adamw = "adamw_step",
  rmsprop = "rmsprop_step", adagrad = "adagrad_step" }

-- The optimizer part and its tensors: the kind, every group's
-- hyperparameters (checked by the update rule itself, on a scratch
-- parameter), every parameter's step count, and every buffer its rule
-- needs with the parameter's shape: a missing moment would be recreated as
-- zeros and the resume would no longer be exact.
local function check_optimizer(C, o, tensors, model)
  C.object(o, "optimizer")
  C.keys(o, "optimizer", set { "kind", "groups", "steps" })
  local kind = o.kind
  if not BUFFERS[kind] then
    C.fail("optimizer.kind", "must be one of adam, adamw, adagrad, rmsprop, sgd, got %s",
      describe(kind))
  end
  C.array(o.groups, "optimizer.groups")
  if #o.groups == 0 then C.fail("optimizer.groups", "is empty") end
  local group_of = {}
  local known = {}
  for k in pairs(core.optim_defaults(kind)) do known[k] = true end
  for gi, g in ipairs(o.groups) do
    local field = ("optimizer.groups[%d]"):format(gi)
    C.object(g, field)
    C.keys(g, field, set { "config", "params" })
    C.object(g.config, field .. ".config")
    C.keys(g.config, field .. ".config", known)
    local ok, err = pcall(core[STEP_FN[kind]], core.zeros(1), core.zeros(1), {}, g.config)
    if not ok then C.fail(field .. ".config", "is invalid: %s", tostring(err)) end
    C.array(g.params, field .. ".params")
    for i, name in ipairs(g.params) do
      if type(name) ~= "string" then
        C.fail(("%s.params[%d]"):format(field, i), "must be a string, got %s", describe(name))
      end
      if group_of[name] then
        C.fail(("%s.params[%d]"):format(field, i), "repeats parameter '%s'", name)
      end
      group_of[name] = g
    end
  end
  C.object(o.steps or {}, "optimizer.steps")
  for name, n in pairs(o.steps or {}) do
    if not group_of[name] then
      C.fail(("optimizer.steps['%s']"):format(name), "names no parameter of optimizer.groups")
    end
    C.int(n, ("optimizer.steps['%s']"):format(name), 0)
  end
  for key, t in pairs(tensors) do
    local name, buf = key:match("^(.*)/([^/]+)$")
    local field = ("tensor 'optim/%s'"):format(key)
    if not name or not group_of[name] then C.fail(field, "belongs to no optimizer parameter") end
    if not (o.steps and o.steps[name]) then
      C.fail(field, "belongs to parameter '%s', which has no step count", name)
    end
    local rule = BUFFERS[kind][buf]
    if not rule or (type(rule) == "function" and not rule(group_of[name].config)) then
      C.fail(field, "is not a buffer of %s with this group's hyperparameters", kind)
    end
    if t:dtype() ~= "float32" then C.fail(field, "must be float32, got %s", t:dtype()) end
    local p = model and model[name]
    if p and t:shape() ~= p:shape() then
      C.fail(field, "has shape %s, parameter '%s' has %s", tostring(t:shape()), name,
        tostring(p:shape()))
    end
  end
  for name, n in pairs(o.steps or {}) do
    if n > 0 then
      for buf, rule in pairs(BUFFERS[kind]) do
        if (rule == true or rule(group_of[name].config)) and not tensors[name .. "/" .. buf] then
          C.fail(("tensor 'optim/%s/%s'"):format(name, buf), "is missing (parameter '%s' has "
            .. "taken %d steps with %s)", name, n, kind)
        end
      end
    end
  end
end

--- checkpoint.load(path) — read and validate a whole training state; its parts as plain data.
-- Every part is checked against the schema before anything is returned; a
-- damaged or hostile file is an error naming the file and the field.
-- @tparam string path
-- @treturn table s: s.model {name = tensor}, s.optimizer {config =, tensors =},
--   s.schedule, s.rng (bytes), s.data, s.vocab, s.config, s.history, s.step,
--   s.train, s.extra, s.tensors, s.path
-- @usage checkpoint.save("m.ckpt", { model = model, step = 3 })
-- local s = checkpoint.load("m.ckpt")   -- s.step == 3, s.model["3.weight"]
function M.load(path)
  if type(path) ~= "string" then util.user_error("checkpoint.load: path must be a string") end
  local tensors, meta = read_file(path)   -- errors name the path and the damage
  local function fail(fmt, ...) error(path .. ": " .. fmt:format(...), 0) end
  local C = checker(path)
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
  C.keys(kind, "kind", set { "kind", "version", "parts" })
  C.array(kind.parts or {}, "kind.parts")
  local s = { path = path, tensors = {}, parts = {} }
  for i, p in ipairs(kind.parts or {}) do
    if not PARTS[p] then C.fail(("kind.parts[%d]"):format(i), "names no part: %s", describe(p)) end
    if s.parts[p] then C.fail(("kind.parts[%d]"):format(i), "repeats part '%s'", p) end
    s.parts[p] = true
  end
  -- Every metadata entry is a listed part, and every listed part is there.
  for key in pairs(meta) do
    if key ~= "kind" and not (PARTS[key] and key ~= "model") then
      fail("unexpected metadata entry '%s'", key)
    end
    if key ~= "kind" and not s.parts[key] then fail("part '%s' is present but not listed in kind.parts", key) end
  end
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
      if t:dtype() ~= "float32" then C.fail(("tensor '%s'"):format(name), "must be float32, got %s", t:dtype()) end
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
    if not okk then fail("part 'optimizer' is not valid JSON (%s)", tostring(cfg)) end
    check_optimizer(C, cfg, opt_tensors, s.model)
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
    -- The generator checks its own state (a spare-value flag of 0 or 1,
    -- ...): try it here, and put the current state back, so restore never
    -- fails after it has changed the model (found by fuzz_state).
    local now = lurn.rng_state()
    local okr, err = pcall(lurn.set_rng_state, bytes)
    lurn.set_rng_state(now)
    if not okr then
      fail("part 'rng' is not a valid generator state (%s)", tostring(err))
    end
    s.rng = bytes
  end
  if s.step ~= nil then C.int(s.step, "step", 0) end
  if s.data ~= nil then check_data(C, s.data) end
  if s.train ~= nil then check_train(C, s.train) end
  if s.history ~= nil then check_history(C, s.history) end
  if s.schedule ~= nil then check_schedule(C, s.schedule) end
  if s.vocab ~= nil then check_vocab(C, s.vocab) end
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

--- checkpoint.restore(s, targets) — put a loaded state back into live objects.
-- targets: model, optimizer, schedule (each restored when given; the state
-- must have it), rng = true (restore the generator). Everything is checked
-- before anything changes, so a mismatch leaves the objects as they were.
-- @tparam table s what checkpoint.load returned
-- @tparam table targets {model =, optimizer =, schedule =, rng = true}
-- @treturn table s
-- @usage checkpoint.save("m.ckpt", { model = model, rng = true })
-- checkpoint.restore(checkpoint.load("m.ckpt"), { model = other, rng = true })
function M.restore(s, targets)
  if type(s) ~= "table" then
    util.user_error(("checkpoint.restore: expected what checkpoint.load returned, got %s"):format(type(s)))
  end
  if type(targets) ~= "table" then
    util.user_error(("checkpoint.restore: targets must be a table {model =, optimizer =, ...}, got %s")
      :format(type(targets)))
  end
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
    if not ok then error(prefix .. util.message(err), 0) end
  end
  if targets.schedule then
    local ok, err = pcall(targets.schedule.load_state, targets.schedule, s.schedule)
    if not ok then error(prefix .. util.message(err), 0) end
  end
  if targets.rng then
    local ok, err = pcall(lurn.set_rng_state, s.rng)
    if not ok then error(prefix .. tostring(err), 0) end
  end
  return s
end

--- checkpoint.save_weights(path, model [, opts]) — the weights alone, as a plain safetensors
-- file any reader (PyTorch via safetensors or numpy) can load.
-- Options (default first):
--   prefix = ""           keep the names that start with it, stripped ("1." turns
--                         "1.weight_ih_l0" into torch.nn.LSTM's "weight_ih_l0")
-- @tparam string path
-- @tparam table model an nn module or {name = tensor}
-- @tparam[opt] table opts the options above
-- @treturn integer the number of tensors written
-- @usage checkpoint.save_weights("gru.safetensors", model, { prefix = "1." })
function M.save_weights(path, model, opts)
  if type(path) ~= "string" then util.user_error("checkpoint.save_weights: path must be a string") end
  opts = opts or {}
  local w, out, n = weights_of(model, "checkpoint.save_weights: model"), {}, 0
  local prefix = opts.prefix or ""
  for name, t in pairs(w) do
    if name:sub(1, #prefix) == prefix then
      out[name:sub(#prefix + 1)] = t
      n = n + 1
    end
  end
  if n == 0 then
    util.user_error(("checkpoint.save_weights: no parameter name starts with '%s' (names: %s)")
      :format(prefix, table.concat(sorted_keys(w), ", ")))
  end
  write_file(path, out)
  return n
end

--- checkpoint.load_weights(path [, opts]) — {name = tensor} from a lurn training state (its
-- model weights) or any safetensors file (every tensor).
-- Options (default first):
--   prefix = ""           prepended to every name
-- @tparam string path
-- @tparam[opt] table opts the options above
-- @treturn table name -> tensor
-- @usage checkpoint.save_weights("gru.safetensors", model, { prefix = "1." })
-- local w = checkpoint.load_weights("gru.safetensors", { prefix = "1." })   -- w["1.weight_ih_l0"]
function M.load_weights(path, opts)
  if type(path) ~= "string" then util.user_error("checkpoint.load_weights: path must be a string") end
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

--- checkpoint.load_into(model, path [, opts]) — load_weights into a model, checked like restore
-- (every parameter present with its shape, nothing else).
-- @tparam nn.Module model
-- @tparam string path a training state or a safetensors file
-- @tparam[opt] table opts {prefix = ""} as load_weights
-- @treturn nn.Module model
-- @usage checkpoint.save("m.ckpt", { model = model })
-- checkpoint.load_into(other, "m.ckpt")
function M.load_into(model, path, opts)
  if type(model) ~= "table" or type(model.parameters) ~= "function" then
    util.user_error(("checkpoint.load_into: expected an nn module, got %s"):format(type(model)))
  end
  local w = M.load_weights(path, opts)
  check_weights(path .. ": ", model, w)
  model:load_state(w)
  return model
end

return M
