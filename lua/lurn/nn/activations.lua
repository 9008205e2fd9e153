--- nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Softmax, nn.LogSoftmax — elementwise
-- and last-dim layers without parameters. Each accepts a tensor or a Seq.
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

local M = {}

--- A parameter-free layer from a forward(x) -> y and backward(dy, x, y) -> dx.
local function simple(name, fwd, bwd)
  local C = class(name, Module)
  function C:__init() Module.__init(self) end
  function C:forward(input)
    local x, lengths = seq.split(input)
    if not x or x:dtype() ~= "float32" then
      util.user_error(("%s: expected a float32 tensor or Seq, got %s"):format(name, seq.describe(input)))
    end
    self._x = x
    self._y = fwd(x)
    self.output = seq.is(input) and seq.new(self._y, lengths) or self._y
    return self.output
  end
  function C:backward(dy)
    self:_check_backward(self._y, dy)
    return bwd(dy, self._x, self._y)
  end
  function C:describe() return name end
  function C:spec() return { type = self:spec_type(), args = {} } end
  return C
end

--- nn.ReLU() — max(0, x), elementwise; no parameters.
-- Input: a float32 tensor or a Seq (lengths kept); backward uses the output.
-- @treturn nn.ReLU the module
-- @usage local y = nn.ReLU():forward(lurn.randn(3, 4))   -- [3, 4]
M.ReLU = simple("nn.ReLU", function(x) return core.activation_forward("relu", x) end,
  function(dy, _, y) return core.activation_backward("relu", dy, y) end)
--- nn.Tanh() — tanh(x), elementwise; no parameters.
-- Input: a float32 tensor or a Seq (lengths kept); backward uses the output.
-- @treturn nn.Tanh the module
-- @usage local y = nn.Tanh():forward(lurn.randn(3, 4))   -- [3, 4]
M.Tanh = simple("nn.Tanh", function(x) return core.activation_forward("tanh", x) end,
  function(dy, _, y) return core.activation_backward("tanh", dy, y) end)
--- nn.Sigmoid() — 1 / (1 + exp(-x)), elementwise; no parameters.
-- Input: a float32 tensor or a Seq (lengths kept); backward uses the output.
-- @treturn nn.Sigmoid the module
-- @usage local y = nn.Sigmoid():forward(lurn.randn(3, 4))   -- [3, 4]
M.Sigmoid = simple("nn.Sigmoid", function(x) return core.activation_forward("sigmoid", x) end,
  function(dy, _, y) return core.activation_backward("sigmoid", dy, y) end)
--- nn.Softmax() — softmax over the last dim (the max subtracted first); no parameters.
-- Input: a float32 tensor or a Seq (lengths kept); backward uses the output.
-- @treturn nn.Softmax the module
-- @usage local y = nn.Softmax():forward(lurn.randn(3, 4))   -- [3, 4], rows sum to 1
M.Softmax = simple("nn.Softmax", core.softmax,
  function(dy, _, y) return core.softmax_backward(dy, y) end)
--- nn.LogSoftmax() — log softmax over the last dim; no parameters.
-- Input: a float32 tensor or a Seq (lengths kept); backward uses the output.
-- @treturn nn.LogSoftmax the module
-- @usage local y = nn.LogSoftmax():forward(lurn.randn(3, 4))   -- [3, 4]
M.LogSoftmax = simple("nn.LogSoftmax", core.log_softmax,
  function(dy, _, y) return core.log_softmax_backward(dy, y) end)

return M
