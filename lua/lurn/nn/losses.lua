--- Losses: nn.CrossEntropy, nn.BCEWithLogits, nn.MSE.
--
--   local loss_fn = nn.CrossEntropy{weight = w, ignore_index = -100, reduction = "mean"}
--   local loss = loss_fn:forward(logits, targets)   -- a Lua number
--   local dlogits = loss_fn:backward()              -- d loss / d logits
--
-- CrossEntropy takes logits [N, C] with int32 targets [N] (0-based), or the
-- per-step form logits [T, B, C] (a tensor or Seq) with targets [T, B]; a
-- Seq's lengths (or opts.lengths) leave padded steps out of the loss.
-- label_smoothing = e (Szegedy et al. 2016, PyTorch's definition) trains
-- towards (1 - e) on the target plus e/C on every class:
--   loss = (1 - e) * nll + e * mean_c(-log softmax(x)_c)
-- averaged (or summed) over the counted targets; not combined with weight.
--
-- BCEWithLogits takes logits of any shape with 0/1 (or [0, 1]) float
-- targets of the same shape; per-step logits [T, B, K] in a Seq with
-- lengths (or opts.lengths, [B] int32) leave the padded steps out, so
-- "mean" is over the T_b * K counted elements of each sample.
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

local M = {}

-- A kernel's error (shapes that do not match, a missing target) at the
-- user's line instead of this file's.
local function kernel(fn, ...)
  local ok, loss, d = pcall(fn, ...)
  if not ok then util.user_error(loss) end
  return loss, d
end

-- forward's arguments: the input (a tensor or Seq) and a target tensor.
local function check_args(name, x, target)
  if not seq.split(x) then
    util.user_error(("%s: expected the input (a tensor or Seq), got %s"):format(name, seq.describe(x)))
  end
  if not lurn.is_tensor(target) then
    util.user_error(("%s: expected a target tensor, got %s"):format(name, seq.describe(target)))
  end
end

-- Options: nil or a table whose keys are all known.
local function options(opts, known, name)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    util.user_error(("%s: options must be a table, got %s"):format(name, type(opts)))
  end
  util.check_keys(opts, known, name)
  return opts
end

local function reduction(opts, name)
  local r = opts.reduction or "mean"
  if r ~= "mean" and r ~= "sum" then
    util.user_error(("%s: reduction must be 'mean' or 'sum', got '%s'"):format(name, tostring(r)))
  end
  return r
end

--- nn.CrossEntropy([opts]) — softmax cross-entropy with integer targets, PyTorch's torch.nn.CrossEntropyLoss.
-- m:forward(logits, targets) returns the loss (a number), m:backward() its
-- gradient with respect to the logits. Logits [N, C] with int32 targets [N]
-- (0-based classes), or per step [T, B, C] (a tensor or Seq) with targets
-- [T, B]; a Seq's lengths leave padded steps out.
-- Options (default first):
--   reduction = "mean"    or "sum"; "mean" is weighted: sum w[t]*nll / sum w[t]
--   weight = nil          class weights, a [C] tensor or a list
--   ignore_index = -100   targets with this value count for nothing
--   lengths = nil         int32 [B] for the per-step form given as a tensor
--   label_smoothing = 0   e in [0, 1]: (1 - e)*nll + e*mean_c(-log p_c)
-- @tparam[opt] table opts the options above
-- @treturn nn.CrossEntropy the module
-- @usage local ce = nn.CrossEntropy { label_smoothing = 0.1 }
-- local loss = ce:forward(lurn.randn(4, 3), lurn.tensor({0, 2, 1, 0}, "int32"))
-- local dlogits = ce:backward()                    -- [4, 3]
-- @function CrossEntropy
local CrossEntropy = class("nn.CrossEntropy", Module)
function CrossEntropy:__init(opts)
  Module.__init(self)
  opts = options(opts, { weight = 1, ignore_index = 1, reduction = 1, lengths = 1,
    label_smoothing = 1 }, "nn.CrossEntropy")
  self.weight, self.ignore_index = opts.weight, opts.ignore_index
  -- a plain list of class weights (what spec() gives back) becomes a tensor
  if type(self.weight) == "table" and not lurn.is_tensor(self.weight) then
    self.weight = lurn.tensor(self.weight)
  end
  self.reduction = reduction(opts, "nn.CrossEntropy")
  self.lengths = opts.lengths
  local e = opts.label_smoothing or 0
  if type(e) ~= "number" or e < 0 or e > 1 then
    util.user_error(("nn.CrossEntropy: label_smoothing must be in [0, 1], got %s"):format(tostring(e)))
  end
  if e > 0 and self.weight then
    util.user_error("nn.CrossEntropy: label_smoothing with class weights is not supported")
  end
  self.label_smoothing = e
end

--- The smoothing term e * mean over counted targets of -mean_c log p_c, and
-- its gradient: e * (softmax(x) - 1/C) on counted rows, / count for "mean".
local function smoothing(self, logits, targets, lengths)
  local C = logits:size(-1)
  local x = logits:reshape(-1, C)
  local counted = targets:ne(self.ignore_index or -100):float()          -- per target
  if lengths then                                                        -- per-step form [T, B]
    local T, B = targets:size(1), targets:size(2)
    counted = counted:mul(lurn.arange(T):view(T, 1):lt(lengths:float():view(1, B)))
  end
  counted = counted:reshape(-1, 1)                                       -- [N, 1]
  local n = counted:sum()
  local lsm = core.log_softmax(x)                                        -- [N, C]
  local e = self.label_smoothing
  local div = (self.reduction == "mean") and math.max(n, 1) or 1
  if n == 0 then div = 1 end
  local loss = -e * (lsm * counted):sum() / (C * div)
  local d = (lsm:exp() - 1 / C):mul(counted):mul(e / div)
  return loss, d:view(logits:shape())
end
function CrossEntropy:forward(input, targets)
  local logits, lengths = seq.split(input)
  if not logits then
    util.user_error(("nn.CrossEntropy: expected logits, got %s"):format(seq.describe(input)))
  end
  check_args("nn.CrossEntropy", input, targets)
  local loss, d = kernel(core.cross_entropy, logits, targets, {
    weight = self.weight, ignore_index = self.ignore_index, reduction = self.reduction,
    lengths = lengths or self.lengths,
  })
  local e = self.label_smoothing
  if e > 0 then
    local ls, ds = smoothing(self, logits, targets, logits:dim() == 3 and (lengths or self.lengths) or nil)
    loss = (1 - e) * loss + ls
    d = d:mul(1 - e):add_(ds)
  end
  self._d = d
  self.output = loss
  return loss
end
function CrossEntropy:backward() return self._d end
function CrossEntropy:describe()
  return self.label_smoothing > 0 and ("nn.CrossEntropy(label_smoothing=%g)"):format(self.label_smoothing)
    or "nn.CrossEntropy"
end
function CrossEntropy:spec()
  if self.lengths then
    util.user_error("nn.CrossEntropy: spec() cannot describe a fixed lengths tensor")
  end
  local w
  if self.weight then
    w = {}
    for i = 1, self.weight:numel() do w[i] = self.weight:reshape(-1):get(i) end
  end
  return { type = "CrossEntropy", args = { { weight = w, ignore_index = self.ignore_index,
    reduction = self.reduction,
    label_smoothing = self.label_smoothing > 0 and self.label_smoothing or nil } } }
end
M.CrossEntropy = CrossEntropy

--- nn.BCEWithLogits([opts]) — sigmoid and binary cross-entropy in one, PyTorch's torch.nn.BCEWithLogitsLoss.
-- m:forward(x, target) with float32 targets in [0, 1] of x's shape returns
-- the loss; m:backward() its gradient with respect to x.
-- Options (default first):
--   reduction = "mean"    or "sum" (the mean is over all elements)
--   pos_weight = nil      weight of the positive term, a number or a [C] tensor
-- @tparam[opt] table opts the options above
-- @treturn nn.BCEWithLogits the module
-- @usage local bce = nn.BCEWithLogits()
-- local loss = bce:forward(lurn.randn(4, 2), lurn.tensor {{1, 0}, {0, 1}, {1, 1}, {0, 0}})
-- @function BCEWithLogits
local BCEWithLogits = class("nn.BCEWithLogits", Module)
function BCEWithLogits:__init(opts)
  Module.__init(self)
  opts = opts or {}
  self.pos_weight = opts.pos_weight
  self.reduction = reduction(opts, "nn.BCEWithLogits")
  self.lengths = opts.lengths
end

-- Per-step logits [T, B, K] with lengths [B]: the steps t > lengths[b] are
-- padding and stay out of the loss, the mean and the gradient. The C kernel
-- has no mask, so the padded elements are set to logit 0 and target 0,
-- where each costs exactly log 2; that constant is taken off again and the
-- gradient (1/2 there) is masked to 0.
local LOG2 = math.log(2)
local function masked_bce(self, x, target, lengths)
  local T, B = x:size(1), x:size(2)
  if not lurn.is_tensor(lengths) or lengths:dim() ~= 1 or lengths:size(1) ~= B then
    util.user_error(("nn.BCEWithLogits: lengths %s do not match logits %s (expected [%d])"):format(
      seq.describe(lengths), tostring(x:shape()), B))
  end
  local mask = lurn.arange(T):view(T, 1):lt(lengths:float():view(1, B)):view(T, B, 1)
  local per_step = x:numel() // (T * B)
  local counted = mask:sum() * per_step
  local loss, d = kernel(core.bce_with_logits, x:mul(mask), target:mul(mask),
    { pos_weight = self.pos_weight, reduction = "sum" })
  loss = loss - (x:numel() - counted) * LOG2
  d:mul_(mask)
  if self.reduction == "mean" and counted > 0 then
    loss = loss / counted
    d:div_(counted)
  end
  return loss, d
end

function BCEWithLogits:forward(x, target)
  check_args("nn.BCEWithLogits", x, target)
  local data, lengths = seq.split(x)
  lengths = lengths or self.lengths
  local loss, d
  if lengths and data:dim() == 3 then
    loss, d = masked_bce(self, data, target, lengths)
  else
    loss, d = kernel(core.bce_with_logits, data, target,
      { pos_weight = self.pos_weight, reduction = self.reduction })
  end
  self._d = d
  self.output = loss
  return loss
end
function BCEWithLogits:backward() return self._d end
function BCEWithLogits:describe() return "nn.BCEWithLogits" end
function BCEWithLogits:spec()
  if self.pos_weight ~= nil and type(self.pos_weight) ~= "number" then
    util.user_error("nn.BCEWithLogits: spec() cannot describe a pos_weight tensor")
  end
  if self.lengths then
    util.user_error("nn.BCEWithLogits: spec() cannot describe a fixed lengths tensor")
  end
  return { type = "BCEWithLogits", args = { { pos_weight = self.pos_weight,
    reduction = self.reduction } } }
end
M.BCEWithLogits = BCEWithLogits

--- nn.MSE([opts]) — mean squared error, PyTorch's torch.nn.MSELoss.
-- m:forward(x, target) returns mean((x - target)^2) (or the sum);
-- m:backward() its gradient with respect to x. x may be a Seq.
-- Options (default first):
--   reduction = "mean"    or "sum"
-- @tparam[opt] table opts the options above
-- @treturn nn.MSE the module
-- @usage local loss = nn.MSE():forward(lurn.zeros(2, 3), lurn.ones(2, 3))   -- 1
-- @function MSE
local MSE = class("nn.MSE", Module)
function MSE:__init(opts)
  Module.__init(self)
  self.reduction = reduction(options(opts, { reduction = 1 }, "nn.MSE"), "nn.MSE")
end
function MSE:forward(x, target)
  check_args("nn.MSE", x, target)
  local loss, d = kernel(core.mse, seq.split(x), target, { reduction = self.reduction })
  self._d = d
  self.output = loss
  return loss
end
function MSE:backward() return self._d end
function MSE:describe() return "nn.MSE" end
function MSE:spec() return { type = "MSE", args = { { reduction = self.reduction } } } end
M.MSE = MSE

return M
