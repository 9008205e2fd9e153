--- nn.Pool(kind) — pool a Seq over time: "mean", "max" or "last".
--
-- [T, B, D] (with each sample's lengths) -> [B, D], over valid steps only:
-- mean of the valid steps, their maximum, or the last valid step. A sample
-- of length 0 pools to zeros.
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.Pool([kind]) — pool a Seq over each sample's valid steps: [T, B, D] -> [B, D].
-- kind (default "max"): "mean" of the valid steps, their "max", or the
-- "last" valid step (what a classifier over an RNN's outputs wants). A
-- sample of length 0 pools to zeros.
-- @tparam[opt] string kind "max", "mean" or "last"
-- @treturn nn.Pool the module
-- @usage local m = nn.Pool("last")
-- local h = m:forward(nn.seq.new(lurn.randn(5, 2, 8), lurn.tensor({5, 3}, "int32")))   -- [2, 8]
-- @function Pool
local Pool = class("nn.Pool", Module)
local kinds = { mean = true, max = true, last = true }

function Pool:__init(kind)
  Module.__init(self)
  kind = kind or "max"
  if not kinds[kind] then
    util.user_error(("nn.Pool: kind must be mean, max or last, got '%s'"):format(tostring(kind)))
  end
  self.kind = kind
end

function Pool:forward(input)
  local x, lengths = seq.split(input)
  if not x or x:dim() ~= 3 then
    util.user_error(("nn.Pool: expected a [T, B, D] Seq, got %s"):format(seq.describe(input)))
  end
  self._lengths, self._T = lengths, x:size(1)
  local y, aux = core.pool_forward(self.kind, x, lengths)
  self._aux = aux
  self.output = y
  return y
end

function Pool:backward(grad_output)
  self:_check_backward(self._T, grad_output)
  return core.pool_backward(self.kind, grad_output, self._lengths, self._aux, self._T)
end

function Pool:describe() return ("nn.Pool(%s)"):format(self.kind) end

function Pool:spec() return { type = "Pool", args = { self.kind } } end

return Pool
