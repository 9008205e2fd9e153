--- nn.Module — the module protocol every layer follows.
--
--   y  = m:forward(x)          compute and remember what backward needs
--   dx = m:backward(dy)        gradient of the input; parameter gradients
--                              ACCUMULATE into their .grad (call zero_grad)
--   m:zero_grad()              clear every parameter gradient
--   m:parameters()             { {name=, value=, grad=}, ... } in a stable order
--   m:train() / m:eval()       switch dropout etc. (m.training)
--   m:state() / m:load_state(s)  name -> tensor, the weights (PyTorch-style keys)
--   tostring(m)                the module, its shapes and parameter counts
--   m:spec()                   the module as plain data: {type = "LSTM", args = {16, 32,
--                              {layers = 2}}} (constructor name and arguments);
--                              nn.build(spec) makes an equal module (weights apart)
--
-- Parameters are updated in place and never replaced, so an optimizer may
-- hold on to the tensors of parameters(). Names are PyTorch's state_dict
-- keys: children are named by their 0-based position in containers
-- ("1.weight_ih_l0", "3.bias"), so weights move to and from PyTorch as is.
local lurn = require "lurn"
local class = require "lurn.class"

local Module = class("nn.Module")

function Module:__init()
  self.training = true
  self._params = {}     -- array of {name=, value=, grad=} owned by this module
  self._children = {}   -- array of {name=, module=}
end

--- Register a parameter tensor under `name`; its gradient is allocated here.
function Module:add_parameter(name, value)
  assert(value:dtype() == "float32", "parameters are float32")
  local rec = { name = name, value = value, grad = lurn.zeros(value:shape()) }
  self._params[#self._params + 1] = rec
  self[name] = value
  return rec
end

--- Register a child module under `name` (containers use "0", "1", ...).
function Module:add_module(name, module)
  self._children[#self._children + 1] = { name = name, module = module }
  return module
end

--- All parameters of this module and its children, depth first, named by path.
function Module:parameters(prefix, out)
  out = out or {}
  prefix = prefix or ""
  for _, p in ipairs(self._params) do
    out[#out + 1] = { name = prefix .. p.name, value = p.value, grad = p.grad }
  end
  for _, c in ipairs(self._children) do
    c.module:parameters(prefix .. c.name .. ".", out)
  end
  return out
end

function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p.grad:zero() end
end

function Module:train(mode)
  if mode == nil then mode = true end
  self.training = mode
  for _, c in ipairs(self._children) do c.module:train(mode) end
  return self
end

function Module:eval() return self:train(false) end

--- Weights by name (the tensors themselves, not copies).
function Module:state()
  local s = {}
  for _, p in ipairs(self:parameters()) do s[p.name] = p.value end
  return s
end

--- Copy weights in by name. Every parameter must be present with its
-- shape, and nothing else may be (strict = false relaxes both).
function Module:load_state(s, strict)
  if strict == nil then strict = true end
  local known = {}
  for _, p in ipairs(self:parameters()) do
    known[p.name] = true
    local v = s[p.name]
    if v == nil then
      if strict then error(("load_state: missing parameter '%s'"):format(p.name), 2) end
    else
      if tostring(v:shape()) ~= tostring(p.value:shape()) then
        error(("load_state: parameter '%s' has shape %s, the model expects %s")
          :format(p.name, tostring(v:shape()), tostring(p.value:shape())), 2)
      end
      p.value:copy(v)
    end
  end
  if strict then
    local extra = {}
    for k in pairs(s) do if not known[k] then extra[#extra + 1] = k end end
    table.sort(extra)
    if #extra > 0 then
      error(("load_state: unexpected parameter(s) %s"):format(table.concat(extra, ", ")), 2)
    end
  end
  return self
end

function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p.value:numel() end
  return n
end

--- The module as plain data (see the header): the nn constructor's name and
-- the arguments that rebuild it. Every layer overrides this; a layer that
-- does not cannot be saved with its architecture, so this says so.
function Module:spec()
  error(("%s: spec() is not implemented (a layer needs one so that a checkpoint can "
    .. "rebuild it)"):format(self.__name), 2)
end

--- The spec's type for this module: its class name without "nn.".
function Module:spec_type() return (self.__name:gsub("^nn%.", "")) end

--- One line describing the layer (subclasses override).
function Module:describe() return self.__name end

function Module:__tostring__()
  local n = self:num_parameters()
  if #self._children == 0 then
    return n > 0 and ("%s  [%d params]"):format(self:describe(), n) or self:describe()
  end
  local lines = { ("%s  [%d params]"):format(self:describe(), n) }
  for _, c in ipairs(self._children) do
    local sub = tostring(c.module):gsub("\n", "\n  ")
    lines[#lines + 1] = ("  (%s) %s"):format(c.name, sub)
  end
  return table.concat(lines, "\n")
end

function Module:forward()
  error(("%s: forward is not implemented"):format(self.__name), 2)
end

function Module:backward()
  error(("%s: backward is not implemented"):format(self.__name), 2)
end

return Module
