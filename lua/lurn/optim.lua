--- lurn.optim — optimizers over parameter groups, learning-rate schedules,
-- gradient clipping. The update rules are C (src/core/optim.c, PyTorch 1.13's
-- formulas); this file keeps the bookkeeping.
--
--   local opt = optim.Adam(model:parameters(), {lr = 1e-3, weight_decay = 1e-5})
--   local opt = optim.SGD({
--     {params = optim.select(params, "bias$"), weight_decay = 0},   -- a group
--     {params = optim.select(params, "bias$", true)},                 -- the rest
--   }, {lr = 0.1, momentum = 0.9})
--   opt:step()            -- one update of every parameter from its .grad
--   opt:zero_grad()
--   opt:set_lr(0.01)      -- every group; never touches the state
--   local s = opt:state() -- {config = <JSON-able>, tensors = {name = tensor}}
--   opt:load_state(s)     -- exact resume
--
-- Parameters are the records of Module:parameters(): {name=, value=, grad=}.
-- Config and state are separate objects (torch-rnn lost Adam's moments by
-- mixing them): `group.config` holds hyperparameters only, `opt.per_param`
-- holds each parameter's state table (step and buffers, created by the C
-- step functions on first use), keyed by the parameter's name.
--
-- Schedules (each sets the lr of every group from its base lr; call
-- sched:step() once per epoch or per iteration, as you choose):
--   optim.ConstantLR(opt)
--   optim.StepLR(opt, {step_size = 30, gamma = 0.1})
--   optim.MultiStepLR(opt, {milestones = {30, 80}, gamma = 0.1})
--   optim.ExponentialLR(opt, {gamma = 0.95})
--   optim.CosineLR(opt, {total = 1000, warmup = 100, min_lr = 0})
--   optim.LinearWarmup(opt, {warmup = 100, start_factor = 0})
--   optim.ReduceLROnPlateau(opt, {mode = "min", factor = 0.1, patience = 10, ...})
--     (its step takes the metric: sched:step(val_loss))
-- All have sched:get_lr(), sched:state() (JSON-able) and sched:load_state(s).
local core = require "lurn.core"
local util = require "lurn.util"

local M = {}

-- ---- small helpers ---------------------------------------------------------

-- Error for an unknown option, naming the closest known one.
local function check_keys(t, known, what, skip)
  util.check_keys(t, known, what, 3, skip)
end

local function copy_value(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy_value(x) end
  return c
end

local function is_record(p)
  return type(p) == "table" and p.value ~= nil and p.grad ~= nil
end

--- optim.select(params, pattern [, invert]) — the parameter records whose name matches
-- the Lua pattern (or, with invert, those that do not): groups without weight decay.
-- @tparam table params parameter records
-- @tparam string pattern a Lua pattern ("bias$")
-- @tparam[opt] boolean invert keep the records that do not match
-- @treturn table the records
-- @usage local params = nn.Linear(4, 2):parameters()
-- local opt = optim.SGD({ {params = optim.select(params, "bias$"), weight_decay = 0},
--   {params = optim.select(params, "bias$", true)} }, {lr = 0.1, weight_decay = 1e-4})
function M.select(params, pattern, invert)
  if type(params) ~= "table" then
    util.user_error(("optim.select: expected a list of parameter records, got %s"):format(type(params)))
  end
  if type(pattern) ~= "string" then
    util.user_error(("optim.select: the pattern must be a string, got %s"):format(type(pattern)))
  end
  local out = {}
  for i, p in ipairs(params) do
    if not is_record(p) then
      util.user_error(("optim.select: entry %d is not a {name=, value=, grad=} record"):format(i))
    end
    local hit = p.name and p.name:find(pattern) ~= nil
    if hit ~= (invert or false) then out[#out + 1] = p end
  end
  return out
end

-- ---- Optimizer --------------------------------------------------------------

local Optimizer = {}
Optimizer.__index = Optimizer

local STEP = {
  sgd = core.sgd_step, adam = core.adam_step, adamw = core.adamw_step,
  rmsprop = core.rmsprop_step, adagrad = core.adagrad_step,
}
local NAMES = { sgd = "SGD", adam = "Adam", adamw = "AdamW", rmsprop = "RMSprop",
  adagrad = "Adagrad" }

local function new_optimizer(kind, params, config)
  local what = "optim." .. NAMES[kind]
  config = config or {}
  if type(params) ~= "table" or #params == 0 then
    util.user_error(what .. ": expected a non-empty list of parameters or parameter groups")
  end
  local defaults = core.optim_defaults(kind)
  check_keys(config, defaults, what)
  local groups_in = is_record(params[1]) and { { params = params } } or params
  local self = setmetatable({ kind = kind, groups = {}, per_param = {} }, Optimizer)
  local seen = {}
  for gi, g in ipairs(groups_in) do
    if type(g) ~= "table" or type(g.params) ~= "table" then
      util.user_error(("%s: group %d needs a params list"):format(what, gi))
    end
    check_keys(g, defaults, ("%s group %d"):format(what, gi), { params = true })
    local cfg = {}
    for k, v in pairs(defaults) do
      local x = g[k]
      if x == nil then x = config[k] end
      if x == nil then x = v end
      cfg[k] = copy_value(x)
    end
    local plist = {}
    for pi, p in ipairs(g.params) do
      if not is_record(p) then
        util.user_error(("%s: group %d parameter %d is not a {name=, value=, grad=} record"):format(
          what, gi, pi))
      end
      local name = p.name or ("param" .. (#seen + 1))
      if seen[name] then util.user_error(("%s: parameter '%s' is in two groups"):format(what, name)) end
      seen[name] = true
      seen[#seen + 1] = name
      -- a row-sparse table's row width: lazy Adam updates it by rows
      plist[#plist + 1] = { name = name, value = p.value, grad = p.grad,
        row_width = p.row_sparse and p.value:shape()[2] or nil }
    end
    self.groups[gi] = { params = plist, config = cfg }
  end
  -- Check the hyperparameters now, not at the first step: one dry step of
  -- size 0 would need tensors, so run the C checks on a scratch parameter.
  for gi, g in ipairs(self.groups) do
    local ok, err = pcall(STEP[kind], core.zeros(1), core.zeros(1), {}, g.config)
    if not ok then util.user_error(("%s group %d: %s"):format(what, gi, err)) end
  end
  return self
end

--- One update of every parameter from its gradient.
function Optimizer:step()
  local fn = STEP[self.kind]
  for _, g in ipairs(self.groups) do
    for _, p in ipairs(g.params) do
      local s = self.per_param[p.name]
      if not s then
        s = {}
        self.per_param[p.name] = s
      end
      -- lazy (Adam, AdamW): a row-sparse table goes by rows, the unused left alone
      local ok, err = pcall(fn, p.value, p.grad, s, g.config, g.config.lazy and p.row_width or nil)
      if not ok then util.user_error(("%s (parameter '%s')"):format(err, p.name)) end
    end
  end
end

--- Set the gradient of every parameter to zero.
function Optimizer:zero_grad()
  for _, g in ipairs(self.groups) do
    for _, p in ipairs(g.params) do p.grad:zero() end
  end
end

--- The parameter records of every group, in order.
function Optimizer:parameters()
  local out = {}
  for _, g in ipairs(self.groups) do
    for _, p in ipairs(g.params) do out[#out + 1] = p end
  end
  return out
end

--- The lr of every group as a list (get_lr()[1] for a single group).
function Optimizer:get_lr()
  local out = {}
  for i, g in ipairs(self.groups) do out[i] = g.config.lr end
  return out
end

--- Set the lr of every group (a number), or per group (a list).
function Optimizer:set_lr(lr)
  for i, g in ipairs(self.groups) do
    g.config.lr = type(lr) == "table" and lr[i] or lr
  end
end

--- {config = JSON-able table, tensors = {"<param>/<buffer>" = tensor}}.
-- The tensors are the live buffers (save them, do not modify them).
function Optimizer:state()
  local groups, steps, tensors = {}, {}, {}
  for gi, g in ipairs(self.groups) do
    local names = {}
    for i, p in ipairs(g.params) do names[i] = p.name end
    groups[gi] = { config = copy_value(g.config), params = names }
  end
  for name, s in pairs(self.per_param) do
    steps[name] = s.step or 0
    for k, v in pairs(s) do
      if k ~= "step" then tensors[name .. "/" .. k] = v end
    end
  end
  return { config = { kind = self.kind, groups = groups, steps = steps }, tensors = tensors }
end

--- Restore what state() returned (possibly through a checkpoint): the
-- hyperparameters of every group (a schedule may have changed lr), each
-- parameter's step counter and buffers (copied in).
function Optimizer:load_state(s)
  local what = "optim." .. NAMES[self.kind] .. ":load_state"
  if type(s) ~= "table" then util.user_error(("%s: expected a state table, got %s"):format(what, type(s))) end
  local c = s.config
  if type(c) ~= "table" or c.kind ~= self.kind then
    util.user_error(("%s: state is for '%s', this optimizer is '%s'"):format(what,
      tostring(c and c.kind), self.kind))
  end
  if #c.groups ~= #self.groups then
    util.user_error(("%s: state has %d groups, this optimizer %d"):format(what, #c.groups, #self.groups))
  end
  for gi, g in ipairs(self.groups) do
    local names = c.groups[gi].params
    if #names ~= #g.params then
      util.user_error(("%s: group %d has %d parameters in the state, %d here"):format(what, gi, #names,
        #g.params))
    end
    for i, p in ipairs(g.params) do
      if names[i] ~= p.name then
        util.user_error(("%s: group %d parameter %d is '%s' in the state, '%s' here"):format(what, gi, i,
          tostring(names[i]), p.name))
      end
    end
  end
  local per = {}
  for name, step in pairs(c.steps or {}) do per[name] = { step = math.tointeger(step) or step } end
  for key, t in pairs(s.tensors or {}) do
    local name, buf = key:match("^(.*)/([^/]+)$")
    if not name or not per[name] then
      util.user_error(("%s: tensor '%s' belongs to no parameter in the state"):format(what, key))
    end
    per[name][buf] = t:clone()
  end
  for gi, g in ipairs(self.groups) do g.config = copy_value(c.groups[gi].config) end
  self.per_param = per
end

function Optimizer:__tostring()
  local parts = {}
  for i, g in ipairs(self.groups) do
    parts[i] = ("%d params, lr=%g"):format(#g.params, g.config.lr)
  end
  return ("optim.%s(%s)"):format(NAMES[self.kind], table.concat(parts, "; "))
end

--- optim.SGD(params [, config]) — stochastic gradient descent with momentum, PyTorch's torch.optim.SGD.
-- params: model:parameters() (records {name =, value =, grad =}) or a list
-- of groups {params = records, <option> = value, ...} whose options
-- override `config` for that group (optim.select splits records by name).
-- Unknown options are errors; every value is checked here, not at the
-- first step. The object has step(), zero_grad(), get_lr(), set_lr(lr),
-- parameters(), state() and load_state(s) (exact resume).
-- Options (default first):
--   lr = 0.01
--   momentum = 0
--   dampening = 0
--   nesterov = false
--   weight_decay = 0      L2 penalty added to the gradient
--   maximize = false
-- @tparam table params parameter records or groups
-- @tparam[opt] table config the options above
-- @treturn table the optimizer
-- @usage local model = nn.Linear(4, 2)
-- local opt = optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
-- opt:step()                    -- after model:backward: one update from the gradients
function M.SGD(params, config) return new_optimizer("sgd", params, config) end
--- optim.Adam(params [, config]) — Adam (Kingma & Ba 2015), PyTorch's torch.optim.Adam.
-- params: model:parameters() (records {name =, value =, grad =}) or a list
-- of groups {params = records, <option> = value, ...} whose options
-- override `config` for that group (optim.select splits records by name).
-- Unknown options are errors; every value is checked here, not at the
-- first step. The object has step(), zero_grad(), get_lr(), set_lr(lr),
-- parameters(), state() and load_state(s) (exact resume).
-- Options (default first):
--   lr = 1e-3
--   betas = {0.9, 0.999}
--   eps = 1e-8
--   weight_decay = 0      L2 penalty added to the gradient (AdamW decouples it)
--   amsgrad = false
--   maximize = false
--   lazy = false          true: the rows of an embedding table (records with
--                         row_sparse, from Module:parameters) that a step's
--                         gradient leaves all zero are not updated, nor their
--                         moments: the cost follows the rows the batch used
--                         (TensorFlow's LazyAdam); other parameters as Adam
-- @tparam table params parameter records or groups
-- @tparam[opt] table config the options above
-- @treturn table the optimizer
-- @usage local model = nn.Linear(4, 2)
-- local opt = optim.Adam(model:parameters(), {lr = 3e-3})
-- opt:step()                    -- after model:backward: one update from the gradients
function M.Adam(params, config) return new_optimizer("adam", params, config) end
--- optim.AdamW(params [, config]) — Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's torch.optim.AdamW.
-- params: model:parameters() (records {name =, value =, grad =}) or a list
-- of groups {params = records, <option> = value, ...} whose options
-- override `config` for that group (optim.select splits records by name).
-- Unknown options are errors; every value is checked here, not at the
-- first step. The object has step(), zero_grad(), get_lr(), set_lr(lr),
-- parameters(), state() and load_state(s) (exact resume).
-- Options (default first):
--   lr = 1e-3
--   betas = {0.9, 0.999}
--   eps = 1e-8
--   weight_decay = 0.01   decoupled: w := w - lr * weight_decay * w
--   amsgrad = false
--   maximize = false
--   lazy = false          as Adam's: unused rows of embedding tables are left
--                         alone (their decay too)
-- @tparam table params parameter records or groups
-- @tparam[opt] table config the options above
-- @treturn table the optimizer
-- @usage local model = nn.Linear(4, 2)
-- local opt = optim.AdamW(model:parameters(), {lr = 1e-3, weight_decay = 0.05})
-- opt:step()                    -- after model:backward: one update from the gradients
function M.AdamW(params, config) return new_optimizer("adamw", params, config) end
--- optim.RMSprop(params [, config]) — RMSprop, PyTorch's torch.optim.RMSprop.
-- params: model:parameters() (records {name =, value =, grad =}) or a list
-- of groups {params = records, <option> = value, ...} whose options
-- override `config` for that group (optim.select splits records by name).
-- Unknown options are errors; every value is checked here, not at the
-- first step. The object has step(), zero_grad(), get_lr(), set_lr(lr),
-- parameters(), state() and load_state(s) (exact resume).
-- Options (default first):
--   lr = 0.01
--   alpha = 0.99          smoothing of the squared gradient
--   eps = 1e-8
--   momentum = 0
--   centered = false
--   weight_decay = 0
--   maximize = false
-- @tparam table params parameter records or groups
-- @tparam[opt] table config the options above
-- @treturn table the optimizer
-- @usage local model = nn.Linear(4, 2)
-- local opt = optim.RMSprop(model:parameters(), {lr = 1e-3})
-- opt:step()                    -- after model:backward: one update from the gradients
function M.RMSprop(params, config) return new_optimizer("rmsprop", params, config) end
--- optim.Adagrad(params [, config]) — Adagrad, PyTorch's torch.optim.Adagrad.
-- params: model:parameters() (records {name =, value =, grad =}) or a list
-- of groups {params = records, <option> = value, ...} whose options
-- override `config` for that group (optim.select splits records by name).
-- Unknown options are errors; every value is checked here, not at the
-- first step. The object has step(), zero_grad(), get_lr(), set_lr(lr),
-- parameters(), state() and load_state(s) (exact resume).
-- Options (default first):
--   lr = 0.01
--   lr_decay = 0
--   initial_accumulator_value = 0
--   eps = 1e-10
--   weight_decay = 0
--   maximize = false
-- @tparam table params parameter records or groups
-- @tparam[opt] table config the options above
-- @treturn table the optimizer
-- @usage local model = nn.Linear(4, 2)
-- local opt = optim.Adagrad(model:parameters(), {lr = 0.05})
-- opt:step()                    -- after model:backward: one update from the gradients
function M.Adagrad(params, config) return new_optimizer("adagrad", params, config) end

-- ---- clipping -----------------------------------------------------------------

-- Gradients of records, or tensors as they are. A non-list is an error
-- here: ipairs over a tensor would see an empty list and clip nothing.
local function grads_of(params, what)
  if type(params) ~= "table" then
    util.user_error(("optim.%s: expected a list of parameter records or tensors, got %s"):format(what,
      type(params)))
  end
  local out = {}
  for i, p in ipairs(params) do out[i] = is_record(p) and p.grad or p end
  return out
end

--- optim.clip_grad_norm(params, max_norm [, norm_type]) — scale all gradients together
-- so that their global norm is at most max_norm (PyTorch's clip_grad_norm_).
-- @tparam table params parameter records or gradient tensors
-- @tparam number max_norm the largest norm allowed
-- @tparam[opt] number norm_type default 2 (math.huge: the largest magnitude)
-- @treturn number the norm before clipping
-- @usage local norm = optim.clip_grad_norm(model:parameters(), 5)
function M.clip_grad_norm(params, max_norm, norm_type)
  if type(max_norm) ~= "number" then
    util.user_error(("optim.clip_grad_norm: max_norm must be a number, got %s"):format(type(max_norm)))
  end
  return core.clip_grad_norm(grads_of(params, "clip_grad_norm"), max_norm, norm_type)
end

--- optim.clip_grad_value(params, clip) — clamp every gradient element to [-clip, clip]
-- (PyTorch's clip_grad_value_).
-- @tparam table params parameter records or gradient tensors
-- @tparam number clip the largest magnitude allowed
-- @usage optim.clip_grad_value(model:parameters(), 1)
function M.clip_grad_value(params, clip)
  if type(clip) ~= "number" then
    util.user_error(("optim.clip_grad_value: clip must be a number, got %s"):format(type(clip)))
  end
  core.clip_grad_value(grads_of(params, "clip_grad_value"), clip)
end

--- optim.check_finite(params) — nil if every gradient is finite; else a message naming the first
-- parameter (and element) holding NaN/Inf, plus the record and element.
-- @tparam table params parameter records or gradient tensors
-- @treturn string|nil the message
-- @usage local bad = optim.check_finite(model:parameters()); if bad then error(bad) end
function M.check_finite(params)
  local i, e = core.check_finite(grads_of(params, "check_finite"))
  if not i then return nil end
  local p = params[i]
  local name = is_record(p) and p.name or ("tensor " .. i)
  return ("non-finite gradient in '%s' at element %d"):format(name, e), p, e
end

-- ---- schedules -------------------------------------------------------------------

local Schedule = {}
Schedule.__index = Schedule

-- A schedule with a closed form: lr = base_lr * factor(t), t = steps taken.
-- Schedules drive an optimizer built above, nothing else.
local function check_optimizer(opt, name)
  if getmetatable(opt) ~= Optimizer then
    util.user_error(("optim.%s: expected an optimizer (optim.SGD, optim.Adam, ...), got %s"):format(name,
      type(opt)))
  end
end

-- Options of a schedule: nil or a table.
local function check_opts(opts, name)
  if opts ~= nil and type(opts) ~= "table" then
    util.user_error(("optim.%s: options must be a table, got %s"):format(name, type(opts)))
  end
  return opts or {}
end

local function closed_form(name, opt, opts, known, factor)
  check_optimizer(opt, name)
  opts = check_opts(opts, name)
  check_keys(opts, known, "optim." .. name)
  local self = setmetatable({ name = name, opt = opt, opts = opts, t = 0, factor = factor,
    base_lrs = opt:get_lr() }, Schedule)
  self:_apply()
  return self
end

function Schedule:_apply()
  local lrs = {}
  for i, base in ipairs(self.base_lrs) do lrs[i] = self.factor(self.opts, self.t, base) end
  self.opt:set_lr(lrs)
end

function Schedule:step()
  self.t = self.t + 1
  self:_apply()
end

function Schedule:get_lr() return self.opt:get_lr() end

function Schedule:state()
  return { name = self.name, t = self.t, base_lrs = copy_value(self.base_lrs) }
end

function Schedule:load_state(s)
  if type(s) ~= "table" then
    util.user_error(("optim.%s:load_state: expected a state table, got %s"):format(self.name, type(s)))
  end
  if s.name ~= self.name then
    util.user_error(("optim.%s:load_state: state is for %s"):format(self.name, tostring(s.name)))
  end
  if math.type(s.t) ~= "integer" or s.t < 0 then
    util.user_error(("optim.%s:load_state: t must be a non-negative integer, got %s"):format(self.name,
      tostring(s.t)))
  end
  local n = #self.opt.groups
  if type(s.base_lrs) ~= "table" or #s.base_lrs ~= n then
    util.user_error(("optim.%s:load_state: base_lrs must list %d learning rates"):format(self.name, n))
  end
  for i = 1, n do
    if type(s.base_lrs[i]) ~= "number" then
      util.user_error(("optim.%s:load_state: base_lrs[%d] is a %s, not a number"):format(self.name, i,
        type(s.base_lrs[i])))
    end
  end
  self.t = s.t
  self.base_lrs = copy_value(s.base_lrs)
  self:_apply()
end

function Schedule:__tostring()
  return ("optim.%s(t=%d, lr=%g)"):format(self.name, self.t, self.opt:get_lr()[1])
end

local function need(opts, key, what)
  opts = check_opts(opts, what)
  if opts[key] == nil then util.user_error(("optim.%s: option '%s' is required"):format(what, key)) end
  return opts[key]
end

--- optim.ConstantLR(opt) — a learning-rate schedule: keeps every group at its base lr (a schedule that does nothing, for configs).
-- t counts sched:step() calls (once per epoch or per iteration, as you
-- choose; train.fit's schedule_every). Each group's base lr is its lr when
-- the schedule was made. The schedule has step(), get_lr(), state() and
-- load_state(s).
-- @tparam table opt the optimizer (optim.SGD, optim.Adam, ...)
-- @tparam[opt] table opts none
-- @treturn table the schedule
-- @usage local opt = optim.SGD(nn.Linear(4, 2):parameters(), {lr = 0.1})
-- local sched = optim.ConstantLR(opt)
-- sched:step()
function M.ConstantLR(opt, opts)
  return closed_form("ConstantLR", opt, opts, {}, function(_, _, base) return base end)
end

--- optim.StepLR(opt, opts) — a learning-rate schedule: lr = base * gamma^floor(t / step_size).
-- t counts sched:step() calls (once per epoch or per iteration, as you
-- choose; train.fit's schedule_every). Each group's base lr is its lr when
-- the schedule was made. The schedule has step(), get_lr(), state() and
-- load_state(s).
-- Options (default first):
--   step_size             required: steps between decays
--   gamma = 0.1
-- @tparam table opt the optimizer (optim.SGD, optim.Adam, ...)
-- @tparam table opts the options above
-- @treturn table the schedule
-- @usage local opt = optim.SGD(nn.Linear(4, 2):parameters(), {lr = 0.1})
-- local sched = optim.StepLR(opt, {step_size = 30, gamma = 0.1})
-- sched:step()
function M.StepLR(opt, opts)
  need(opts or {}, "step_size", "StepLR")
  return closed_form("StepLR", opt, opts, { step_size = 1, gamma = 1 }, function(o, t, base)
    return base * (o.gamma or 0.1) ^ (t // o.step_size)
  end)
end

--- optim.MultiStepLR(opt, opts) — a learning-rate schedule: lr = base * gamma^(milestones passed).
-- t counts sched:step() calls (once per epoch or per iteration, as you
-- choose; train.fit's schedule_every). Each group's base lr is its lr when
-- the schedule was made. The schedule has step(), get_lr(), state() and
-- load_state(s).
-- Options (default first):
--   milestones            required: a list of steps, e.g. {30, 80}
--   gamma = 0.1
-- @tparam table opt the optimizer (optim.SGD, optim.Adam, ...)
-- @tparam table opts the options above
-- @treturn table the schedule
-- @usage local opt = optim.SGD(nn.Linear(4, 2):parameters(), {lr = 0.1})
-- local sched = optim.MultiStepLR(opt, {milestones = {30, 80}})
-- sched:step()
function M.MultiStepLR(opt, opts)
  need(opts or {}, "milestones", "MultiStepLR")
  return closed_form("MultiStepLR", opt, opts, { milestones = 1, gamma = 1 }, function(o, t, base)
    local k = 0
    for _, m in ipairs(o.milestones) do if t >= m then k = k + 1 end end
    return base * (o.gamma or 0.1) ^ k
  end)
end

--- optim.ExponentialLR(opt, opts) — a learning-rate schedule: lr = base * gamma^t.
-- t counts sched:step() calls (once per epoch or per iteration, as you
-- choose; train.fit's schedule_every). Each group's base lr is its lr when
-- the schedule was made. The schedule has step(), get_lr(), state() and
-- load_state(s).
-- Options (default first):
--   gamma                 required
-- @tparam table opt the optimizer (optim.SGD, optim.Adam, ...)
-- @tparam table opts the options above
-- @treturn table the schedule
-- @usage local opt = optim.SGD(nn.Linear(4, 2):parameters(), {lr = 0.1})
-- local sched = optim.ExponentialLR(opt, {gamma = 0.95})
-- sched:step()
function M.ExponentialLR(opt, opts)
  need(opts or {}, "gamma", "ExponentialLR")
  return closed_form("ExponentialLR", opt, opts, { gamma = 1 }, function(o, t, base)
    return base * o.gamma ^ t
  end)
end

-- Linear warmup from start_factor*base to base over `warmup` steps
-- (t/warmup with start_factor 0, as in the common transformer recipe).
local function warm(o, t)
  local w = o.warmup or 0
  if w <= 0 or t >= w then return 1 end
  local s = o.start_factor or 0
  return s + (1 - s) * t / w
end

--- optim.LinearWarmup(opt, opts) — a learning-rate schedule: lr rises linearly from start_factor * base to base over `warmup` steps, then stays.
-- t counts sched:step() calls (once per epoch or per iteration, as you
-- choose; train.fit's schedule_every). Each group's base lr is its lr when
-- the schedule was made. The schedule has step(), get_lr(), state() and
-- load_state(s).
-- Options (default first):
--   warmup                required: steps of warmup
--   start_factor = 0
-- @tparam table opt the optimizer (optim.SGD, optim.Adam, ...)
-- @tparam table opts the options above
-- @treturn table the schedule
-- @usage local opt = optim.SGD(nn.Linear(4, 2):parameters(), {lr = 0.1})
-- local sched = optim.LinearWarmup(opt, {warmup = 100})
-- sched:step()
function M.LinearWarmup(opt, opts)
  need(opts or {}, "warmup", "LinearWarmup")
  return closed_form("LinearWarmup", opt, opts, { warmup = 1, start_factor = 1 },
    function(o, t, base) return base * warm(o, t) end)
end

--- optim.CosineLR(opt, opts) — a learning-rate schedule: cosine decay from base to min_lr
-- over `total` steps, after an optional linear warmup; stays at min_lr after
-- `total`. t counts sched:step() calls; the schedule has step(), get_lr(),
-- state() and load_state(s).
-- Options (default first):
--   total                 required: steps of the whole schedule, warmup included
--   warmup = 0            steps of linear warmup
--   start_factor = 0      the warmup starts at start_factor * base
--   min_lr = 0
-- @tparam table opt the optimizer
-- @tparam table opts the options above
-- @treturn table the schedule
-- @usage local opt = optim.Adam(nn.Linear(4, 2):parameters())
-- local sched = optim.CosineLR(opt, {total = 1000, warmup = 100})
-- sched:step()
function M.CosineLR(opt, opts)
  need(opts or {}, "total", "CosineLR")
  return closed_form("CosineLR", opt, opts, { total = 1, warmup = 1, min_lr = 1, start_factor = 1 },
    function(o, t, base)
      local w = o.warmup or 0
      if t < w then return base * warm(o, t) end
      local span = math.max(1, o.total - w)
      local progress = math.min(1, (t - w) / span)
      local lo = o.min_lr or 0
      return lo + (base - lo) * 0.5 * (1 + math.cos(math.pi * progress))
    end)
end

-- ReduceLROnPlateau (PyTorch's rules): after more than `patience` steps
-- without improvement, lr := max(lr * factor, min_lr); then `cooldown`
-- steps before counting again.
local Plateau = {}
Plateau.__index = Plateau

--- optim.ReduceLROnPlateau(opt [, opts]) — lower the lr when a metric stops improving (PyTorch's rules).
-- sched:step(metric) after each evaluation: after more than `patience`
-- steps without improvement, lr := max(lr * factor, min_lr), then
-- `cooldown` steps before counting again.
-- Options (default first):
--   mode = "min"          "min" (a loss) or "max" (an accuracy)
--   factor = 0.1          must be < 1
--   patience = 10
--   threshold = 1e-4      what counts as an improvement
--   threshold_mode = "rel" or "abs"
--   cooldown = 0
--   min_lr = 0
--   eps = 1e-8            smaller lr changes are skipped
-- @tparam table opt the optimizer
-- @tparam[opt] table opts the options above
-- @treturn table the schedule
-- @usage local opt = optim.Adam(nn.Linear(4, 2):parameters())
-- local sched = optim.ReduceLROnPlateau(opt, {mode = "max", patience = 2})
-- sched:step(0.81)                                 -- the validation accuracy
function M.ReduceLROnPlateau(opt, opts)
  check_optimizer(opt, "ReduceLROnPlateau")
  opts = check_opts(opts, "ReduceLROnPlateau")
  check_keys(opts, { mode = 1, factor = 1, patience = 1, threshold = 1, threshold_mode = 1,
    cooldown = 1, min_lr = 1, eps = 1 }, "optim.ReduceLROnPlateau")
  local o = {
    mode = opts.mode or "min", factor = opts.factor or 0.1, patience = opts.patience or 10,
    threshold = opts.threshold or 1e-4, threshold_mode = opts.threshold_mode or "rel",
    cooldown = opts.cooldown or 0, min_lr = opts.min_lr or 0, eps = opts.eps or 1e-8,
  }
  if o.mode ~= "min" and o.mode ~= "max" then
    util.user_error("optim.ReduceLROnPlateau: mode must be 'min' or 'max'")
  end
  if o.threshold_mode ~= "rel" and o.threshold_mode ~= "abs" then
    util.user_error("optim.ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs'")
  end
  if not (o.factor < 1) then util.user_error("optim.ReduceLROnPlateau: factor must be < 1") end
  return setmetatable({ name = "ReduceLROnPlateau", opt = opt, o = o, t = 0, best = nil,
    num_bad = 0, cooldown_counter = 0 }, Plateau)
end

function Plateau:_better(a)
  local o, best = self.o, self.best
  if best == nil then return true end
  if o.mode == "min" then
    return o.threshold_mode == "rel" and a < best * (1 - o.threshold) or
        (o.threshold_mode == "abs" and a < best - o.threshold)
  end
  return o.threshold_mode == "rel" and a > best * (1 + o.threshold) or
      (o.threshold_mode == "abs" and a > best + o.threshold)
end

function Plateau:step(metric)
  if type(metric) ~= "number" then
    util.user_error("optim.ReduceLROnPlateau:step: needs the metric value (a number)")
  end
  self.t = self.t + 1
  if self:_better(metric) then
    self.best, self.num_bad = metric, 0
  else
    self.num_bad = self.num_bad + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad = 0
  end
  if self.num_bad > self.o.patience then
    local lrs = self.opt:get_lr()
    for i, old in ipairs(lrs) do
      local new = math.max(old * self.o.factor, self.o.min_lr)
      if old - new > self.o.eps then lrs[i] = new end
    end
    self.opt:set_lr(lrs)
    self.cooldown_counter = self.o.cooldown
    self.num_bad = 0
  end
end

function Plateau:get_lr() return self.opt:get_lr() end

-- (lrs themselves are in the optimizer's state)
function Plateau:state()
  return { name = self.name, t = self.t, best = self.best, num_bad = self.num_bad,
    cooldown_counter = self.cooldown_counter }
end

function Plateau:load_state(s)
  if type(s) ~= "table" then
    util.user_error(("optim.ReduceLROnPlateau:load_state: expected a state table, got %s"):format(type(s)))
  end
  if s.name ~= self.name then
    util.user_error(("optim.ReduceLROnPlateau:load_state: state is for %s"):format(tostring(s.name)))
  end
  self.t, self.best, self.num_bad, self.cooldown_counter = s.t, s.best, s.num_bad,
      s.cooldown_counter
end

function Plateau:__tostring()
  return ("optim.ReduceLROnPlateau(best=%s, bad=%d, lr=%g)"):format(tostring(self.best),
    self.num_bad, self.opt:get_lr()[1])
end

return M
