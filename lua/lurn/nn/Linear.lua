--- nn.Linear(in, out [, {bias = true}]) — y = x W^T + b over the last dim.
--
-- Input: a tensor [..., in] or a Seq (applied at every step, lengths kept).
-- weight [out, in] and bias [out] as PyTorch's, initialised like it:
-- uniform(-1/sqrt(in), 1/sqrt(in)).
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.Linear(in, out [, opts]) — a fully connected layer, PyTorch's torch.nn.Linear.
-- y = x W^T + b over the last dim of a tensor [..., in] or of a Seq's data
-- (lengths kept). weight [out, in], bias [out], both U(-1/sqrt(in), 1/sqrt(in)).
-- Options (default first):
--   bias = true           add the bias
-- @tparam integer in input features
-- @tparam integer out output features
-- @tparam[opt] table opts the options above
-- @treturn nn.Linear the module
-- @usage local m = nn.Linear(16, 2)
-- local y = m:forward(lurn.randn(8, 16))          -- [8, 2]
-- @function Linear
local Linear = class("nn.Linear", Module)

function Linear:__init(n_in, n_out, opts)
  Module.__init(self)
  opts = opts or {}
  util.check_keys(opts, { bias = 1 }, "nn.Linear")
  if math.type(n_in) ~= "integer" or math.type(n_out) ~= "integer" or n_in < 1 or n_out < 1 then
    util.user_error(("nn.Linear: sizes must be positive integers, got %s, %s")
      :format(tostring(n_in), tostring(n_out)))
  end
  self.n_in, self.n_out = n_in, n_out
  local bound = 1 / math.sqrt(n_in)
  self:add_parameter("weight", lurn.rand({ n_out, n_in }, -bound, bound))
  if opts.bias ~= false then self:add_parameter("bias", lurn.rand({ n_out }, -bound, bound)) end
end

function Linear:forward(input)
  local x, lengths = seq.split(input)
  if not x then util.user_error(("nn.Linear: expected a tensor or Seq, got %s"):format(seq.describe(input))) end
  if x:dim() < 1 or x:size(-1) ~= self.n_in then
    util.user_error(("nn.Linear(%d -> %d): input %s does not end in %d"):format(self.n_in, self.n_out,
      tostring(x:shape()), self.n_in))
  end
  local shape = x:shape()
  self._x2 = x:reshape(-1, self.n_in)
  local y = core.linear_forward(self._x2, self.weight, self.bias)
  shape[#shape] = self.n_out
  y = y:view(shape)
  self._in_shape = x:shape()
  self.output = seq.is(input) and seq.new(y, lengths) or y
  return self.output
end

function Linear:backward(grad_output)
  if not self._x2 then util.user_error("nn.Linear: backward before forward") end
  if not lurn.is_tensor(grad_output) then
    util.user_error(("nn.Linear: backward expects a gradient tensor, got %s"):format(type(grad_output)))
  end
  local dy = grad_output:reshape(-1, self.n_out)
  local p = self._params
  local dx = core.linear_backward(self._x2, self.weight, dy, p[1].grad, p[2] and p[2].grad)
  return dx:view(self._in_shape)
end

function Linear:describe()
  return ("nn.Linear(%d -> %d%s)"):format(self.n_in, self.n_out, self.bias and "" or ", no bias")
end

function Linear:spec()
  return { type = "Linear", args = { self.n_in, self.n_out, self.bias == nil and { bias = false } or nil } }
end

return Linear
