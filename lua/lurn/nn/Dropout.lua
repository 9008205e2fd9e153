--- nn.Dropout(p [, {variational = false}]) — inverted dropout in training.
--
-- Zeroes each element with probability p and scales the rest by 1/(1-p);
-- the identity in eval mode. variational = true draws one mask per sequence
-- ([1, B, D] over a [T, B, D] input or Seq), the same at every step.
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.Dropout(p [, opts]) — inverted dropout, the identity in eval mode.
-- In training, zeroes each element with probability p and scales the rest
-- by 1/(1-p). Input: a tensor or a Seq (lengths kept).
-- Options (default first):
--   variational = false   one mask per sequence ([1, B, D] over [T, B, D]),
--                         the same at every step
-- @tparam number p drop probability in [0, 1)
-- @tparam[opt] table opts the options above
-- @treturn nn.Dropout the module
-- @usage local m = nn.Dropout(0.3, {variational = true})
-- local y = m:forward(lurn.randn(5, 2, 8))        -- m:eval() turns it off
-- @function Dropout
local Dropout = class("nn.Dropout", Module)

function Dropout:__init(p, opts)
  Module.__init(self)
  if type(p) ~= "number" or p < 0 or p >= 1 then
    util.user_error(("nn.Dropout: p must be in [0, 1), got %s"):format(tostring(p)))
  end
  self.p = p
  util.check_keys(opts or {}, { variational = 1 }, "nn.Dropout")
  self.variational = opts and opts.variational or false
end

function Dropout:forward(input)
  local x, lengths = seq.split(input)
  if not x then util.user_error(("nn.Dropout: expected a tensor or Seq, got %s"):format(seq.describe(input))) end
  if not self.training or self.p == 0 then
    self.mask = nil
    self.output = input
    return input
  end
  local shape = x:shape()
  if self.variational then
    if #shape ~= 3 then
      util.user_error(("nn.Dropout: variational dropout needs [T, B, D], got %s"):format(tostring(x:shape())))
    end
    shape[1] = 1
  end
  self.mask = core.dropout_mask(shape, self.p)
  local y = x:mul(self.mask)
  self.output = seq.is(input) and seq.new(y, lengths) or y
  return self.output
end

function Dropout:backward(grad_output)
  if not self.mask then return grad_output end
  return grad_output:mul(self.mask)
end

function Dropout:describe()
  return ("nn.Dropout(p=%g%s)"):format(self.p, self.variational and ", variational" or "")
end

function Dropout:spec()
  return { type = "Dropout", args = { self.p, self.variational and { variational = true } or nil } }
end

return Dropout
