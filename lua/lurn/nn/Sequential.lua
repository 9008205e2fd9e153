--- nn.Sequential{m1, m2, ...} — modules applied one after another.
--
-- Children are named "0", "1", ... (PyTorch's state_dict keys). A child's
-- error is rethrown prefixed with its position and type, so a failure deep
-- in a model reads "nn.Sequential: module 2 (nn.LSTM): ...".
local class = require "lurn.class"
local Module = require "lurn.nn.Module"

local Sequential = class("nn.Sequential", Module)

function Sequential:__init(modules)
  Module.__init(self)
  self.modules = {}
  for _, m in ipairs(modules or {}) do self:add(m) end
end

function Sequential:add(m)
  if type(m) ~= "table" or not m.forward then
    error(("nn.Sequential: element %d is not a module"):format(#self.modules + 1), 2)
  end
  self.modules[#self.modules + 1] = m
  self:add_module(tostring(#self.modules - 1), m)
  return self
end

local function rethrow(self, i, err)
  error(("%s: module %d (%s): %s"):format(self.__name, i, self.modules[i].__name,
    tostring(err)), 0)
end

function Sequential:forward(input)
  local x = input
  for i, m in ipairs(self.modules) do
    local ok, y = pcall(m.forward, m, x)
    if not ok then rethrow(self, i, y) end
    x = y
  end
  self.output = x
  return x
end

function Sequential:backward(grad_output)
  local g = grad_output
  for i = #self.modules, 1, -1 do
    local m = self.modules[i]
    local ok, d = pcall(m.backward, m, g)
    if not ok then rethrow(self, i, d) end
    g = d
  end
  return g
end

function Sequential:describe() return "nn.Sequential" end

-- The children as they are now (modules added after construction included).
function Sequential:spec()
  local children = {}
  for i, m in ipairs(self.modules) do children[i] = m:spec() end
  return { type = "Sequential", args = { children } }
end

return Sequential
