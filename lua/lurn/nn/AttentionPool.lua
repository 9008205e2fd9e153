--- nn.AttentionPool(dim [, {hidden = dim}]) — attention over the valid steps of a Seq.
--
-- [T, B, D] (with each sample's lengths) -> [B, D], the additive attention of
-- Yang et al. 2016 ("Hierarchical attention networks"):
--   u_t = tanh(W x_t + b)           W [H, D], b [H]
--   s_t = v . u_t                   v [H]  (weight of shape [1, H], like nn.Linear)
--   a   = softmax over the valid steps t < length of s
--   y   = sum_t a_t x_t
-- Padded steps get weight 0; a sample of length 0 pools to zeros (as nn.Pool).
-- self.weights holds the last forward's a as [B, T] (to show what a model reads).
-- Parameters are named weight, bias (W, b) and context (v), initialised like
-- nn.Linear's: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)).
-- Memory: the forward keeps u [T*B, H] and a [B, T] besides its input.
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.AttentionPool(dim [, opts]) — additive attention over a Seq's valid steps: [T, B, dim] -> [B, dim].
-- u_t = tanh(W x_t + b), s_t = v . u_t, a = softmax of s over the valid
-- steps, y = sum_t a_t x_t (Yang et al. 2016). After forward, m.weights
-- holds a as [B, T]. Parameters weight [hidden, dim], bias [hidden],
-- context [1, hidden].
-- Options (default first):
--   hidden = dim          size of u_t
-- @tparam integer dim feature size of the input
-- @tparam[opt] table opts the options above
-- @treturn nn.AttentionPool the module
-- @usage local m = nn.AttentionPool(64, {hidden = 32})
-- local y = m:forward(nn.seq.new(lurn.randn(7, 4, 64)))   -- [4, 64]; m.weights [4, 7]
-- @function AttentionPool
local AttentionPool = class("nn.AttentionPool", Module)

-- A score far below any real one: exp() of it is exactly 0 in float32.
local MASKED = -1e30

function AttentionPool:__init(dim, opts)
  Module.__init(self)
  opts = opts or {}
  util.check_keys(opts, { hidden = 1 }, "nn.AttentionPool")
  local hidden = opts.hidden or dim
  if math.type(dim) ~= "integer" or dim < 1 or math.type(hidden) ~= "integer" or hidden < 1 then
    util.user_error(("nn.AttentionPool: dim and hidden must be positive integers, got %s, %s")
      :format(tostring(dim), tostring(hidden)))
  end
  self.dim, self.hidden = dim, hidden
  local bd, bh = 1 / math.sqrt(dim), 1 / math.sqrt(hidden)
  self:add_parameter("weight", lurn.rand({ hidden, dim }, -bd, bd))
  self:add_parameter("bias", lurn.rand({ hidden }, -bd, bd))
  self:add_parameter("context", lurn.rand({ 1, hidden }, -bh, bh))
end

--- valid [B, T]: 1 at steps t < lengths[b], else 0.
local function valid_mask(lengths, B, T)
  local steps = lurn.arange(T):view(1, T)
  if not lengths then return lurn.ones(B, T) end
  return steps:lt(lengths:float():view(B, 1))
end

function AttentionPool:forward(input)
  local x, lengths = seq.split(input)
  if not x or x:dim() ~= 3 or x:size(3) ~= self.dim then
    util.user_error(("nn.AttentionPool(%d): expected a [T, B, %d] Seq, got %s"):format(self.dim, self.dim,
      seq.describe(input)))
  end
  local T, B, D = x:size(1), x:size(2), x:size(3)
  local x2 = x:reshape(T * B, D)
  local u = core.activation_forward("tanh", core.linear_forward(x2, self.weight, self.bias))  -- [T*B, H]
  local s = core.linear_forward(u, self.context):view(T, B):t()                              -- [B, T]
  local valid = valid_mask(lengths, B, T)                                                     -- [B, T]
  -- masked steps get MASKED before the softmax; multiplying by valid after it
  -- zeroes a length-0 sample (whose softmax would be uniform over padding)
  local a = core.softmax(s + (1 - valid) * MASKED):mul(valid)                                -- [B, T]
  local y = (x * a:t():view(T, B, 1)):sum(1)                                                  -- [B, D]
  self._x, self._x2, self._u, self._a, self._valid = x, x2, u, a, valid
  self.weights = a
  self.output = y
  return y
end

function AttentionPool:backward(dy)
  self:_check_backward(self._x, dy)
  local x, a, valid = self._x, self._a, self._valid
  local T, B, D = x:size(1), x:size(2), x:size(3)
  local p = self._params
  -- y = sum_t a_t x_t:  dx_t += a_t dy,  da_t = x_t . dy
  local dyb = dy:view(1, B, D)
  local dx = dyb * a:t():view(T, B, 1)                                 -- [T, B, D]
  local da = (x * dyb):sum(3):t():mul(valid)                           -- [B, T]
  -- softmax backward over the steps (a is the softmax times valid; valid is 0/1)
  local ds = core.softmax_backward(da, a):mul(valid)                   -- [B, T]
  ds = ds:t():contiguous():view(T * B, 1)
  -- s = u v^T: du = ds v, dv += ds^T u
  local du = core.linear_backward(self._u, self.context, ds, p[3].grad)
  local dz = core.activation_backward("tanh", du, self._u)            -- [T*B, H]
  local dx2 = core.linear_backward(self._x2, self.weight, dz, p[1].grad, p[2].grad)
  return dx:add_(dx2:view(T, B, D))
end

function AttentionPool:describe()
  return ("nn.AttentionPool(%d, hidden=%d)"):format(self.dim, self.hidden)
end

function AttentionPool:spec()
  return { type = "AttentionPool", args = { self.dim,
    self.hidden ~= self.dim and { hidden = self.hidden } or nil } }
end

return AttentionPool
