--- nn.Sequential{m1, m2, ...} — modules applied one after another.
--
-- Children are named "0", "1", ... (PyTorch's state_dict keys). A child's
-- error is rethrown prefixed with its position and type, so a failure deep
-- in a model reads "nn.Sequential: module 2 (nn.LSTM): ...".
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local util = require "lurn.util"

--- nn.Sequential(modules) — modules applied one after another.
-- Children are named "0", "1", ... (PyTorch's state_dict keys: "1.weight_ih_l0").
-- A child's error names it: "nn.Sequential: module 2 (nn.LSTM): ...".
-- m:add(module) appends one more.
-- @tparam[opt] {nn.Module,...} modules the modules, in order
-- @treturn nn.Sequential the module
-- @usage local m = nn.Sequential { nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2) }
-- local y = m:forward(lurn.randn(3, 4))           -- [3, 2]
-- @function Sequential
local Sequential = class("nn.Sequential", Module)

function Sequential:__init(modules)
  Module.__init(self)
  self.modules = {}
  if modules ~= nil and type(modules) ~= "table" then
    util.user_error(("nn.Sequential: expected a list of modules {m1, m2, ...}, got %s")
      :format(type(modules)))
  end
  for _, m in ipairs(modules or {}) do self:add(m) end
end

function Sequential:add(m)
  if type(m) ~= "table" or not m.forward then
    util.user_error(("nn.Sequential: element %d is not a module"):format(#self.modules + 1))
  end
  self.modules[#self.modules + 1] = m
  self:add_module(tostring(#self.modules - 1), m)
  return self
end

-- At the user's line (the child's own position, lurn's or the user's, dropped).
local function rethrow(self, i, err)
  if type(err) ~= "string" then error(err, 0) end
  util.user_error(("%s: module %d (%s): %s"):format(self.__name, i, self.modules[i].__name,
    util.message(err)))
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
