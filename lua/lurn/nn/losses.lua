--- Losses: nn.CrossEntropy, nn.BCEWithLogits, nn.MSE.
--
--   local loss_fn = nn.CrossEntropy{weight = w, ignore_index = -100, reduction = "mean"}
--   local loss = loss_fn:forward(logits, targets)   -- a Lua number
--   local dlogits = loss_fn:backward()              -- d loss / d logits
--
-- CrossEntropy takes logits [N, C] with int32 targets [N] (0-based), or the
-- per-step form logits [T, B, C] (a tensor or Seq) with targets [T, B]; a
-- Seq's lengths (or opts.lengths) leave padded steps out of the loss.
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"

local M = {}

local function reduction(opts, name)
  local r = opts.reduction or "mean"
  if r ~= "mean" and r ~= "sum" then
    error(("%s: reduction must be 'mean' or 'sum', got '%s'"):format(name, tostring(r)), 3)
  end
  return r
end

local CrossEntropy = class("nn.CrossEntropy", Module)
function CrossEntropy:__init(opts)
  Module.__init(self)
  opts = opts or {}
  self.weight, self.ignore_index = opts.weight, opts.ignore_index
  self.reduction = reduction(opts, "nn.CrossEntropy")
  self.lengths = opts.lengths
end
function CrossEntropy:forward(input, targets)
  local logits, lengths = seq.split(input)
  if not logits then
    error(("nn.CrossEntropy: expected logits, got %s"):format(seq.describe(input)), 2)
  end
  local loss, d = core.cross_entropy(logits, targets, {
    weight = self.weight, ignore_index = self.ignore_index, reduction = self.reduction,
    lengths = lengths or self.lengths,
  })
  self._d = d
  self.output = loss
  return loss
end
function CrossEntropy:backward() return self._d end
function CrossEntropy:describe() return "nn.CrossEntropy" end
M.CrossEntropy = CrossEntropy

local BCEWithLogits = class("nn.BCEWithLogits", Module)
function BCEWithLogits:__init(opts)
  Module.__init(self)
  opts = opts or {}
  self.pos_weight = opts.pos_weight
  self.reduction = reduction(opts, "nn.BCEWithLogits")
end
function BCEWithLogits:forward(x, target)
  local loss, d = core.bce_with_logits(seq.split(x), target,
    { pos_weight = self.pos_weight, reduction = self.reduction })
  self._d = d
  self.output = loss
  return loss
end
function BCEWithLogits:backward() return self._d end
function BCEWithLogits:describe() return "nn.BCEWithLogits" end
M.BCEWithLogits = BCEWithLogits

local MSE = class("nn.MSE", Module)
function MSE:__init(opts)
  Module.__init(self)
  self.reduction = reduction(opts or {}, "nn.MSE")
end
function MSE:forward(x, target)
  local loss, d = core.mse(seq.split(x), target, { reduction = self.reduction })
  self._d = d
  self.output = loss
  return loss
end
function MSE:backward() return self._d end
function MSE:describe() return "nn.MSE" end
M.MSE = MSE

return M
