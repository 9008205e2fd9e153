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
local util = require "lurn.util"

--- nn.Module — the base class of every layer; its methods are the protocol.
-- A layer written in Lua derives from it (class("nn.MyLayer", nn.Module)),
-- calls Module.__init(self), registers tensors with add_parameter and
-- implements forward, backward, describe and spec.
-- @usage local class = require "lurn.class"
-- local Scale = class("nn.Scale", nn.Module)
-- function Scale:__init(n) nn.Module.__init(self); self:add_parameter("weight", lurn.ones(n)) end
-- @function Module
local Module = class("nn.Module")

function Module:__init()
  self.training = true
  self._params = {}     -- array of {name=, value=, grad=} owned by this module
  self._children = {}   -- array of {name=, module=}
end

--- m:add_parameter(name, value) — register a float32 parameter tensor (for layers).
-- Its gradient (zeros of the same shape) is allocated here; m[name] is the value.
-- @tparam string name the parameter's name ("weight")
-- @tparam Tensor value its initial value, kept (not copied)
-- @treturn table the record {name =, value =, grad =}
-- @usage local m = nn.Module()
-- m:add_parameter("weight", lurn.randn(4, 3))   -- m.weight; m:parameters()[1].grad
function Module:add_parameter(name, value)
  assert(value:dtype() == "float32", "parameters are float32")
  local rec = { name = name, value = value, grad = lurn.zeros(value:shape()) }
  self._params[#self._params + 1] = rec
  self[name] = value
  return rec
end

--- m:add_module(name, module) — register a child (for containers; they use "0", "1", ...).
-- Its parameters become the parent's, named "<name>.<param>".
-- @tparam string name the child's name
-- @tparam nn.Module module the child
-- @treturn nn.Module the child
-- @usage local m = nn.Module()
-- m:add_module("encoder", nn.LSTM(16, 32))   -- its parameters: "encoder.weight_ih_l0", ...
function Module:add_module(name, module)
  self._children[#self._children + 1] = { name = name, module = module }
  return module
end

--- m:parameters() — every parameter of the module and its children, depth first.
-- Records {name =, value =, grad =} named by path like PyTorch's state_dict
-- keys ("1.weight_ih_l0"); value and grad are the live tensors (optimizers
-- update them in place). The records of row-sparse tables (m:row_sparse(),
-- embedding weights) also hold row_sparse = true: optimizers with lazy = true
-- update only their rows a step used.
-- @treturn {table,...} the records
-- @usage for _, p in ipairs(model:parameters()) do print(p.name, p.value:shape()) end
function Module:parameters(prefix, out)
  local top = out == nil
  out = out or {}
  prefix = prefix or ""
  for _, p in ipairs(self._params) do
    out[#out + 1] = { name = prefix .. p.name, value = p.value, grad = p.grad }
  end
  for _, c in ipairs(self._children) do
    c.module:parameters(prefix .. c.name .. ".", out)
  end
  if top then
    local rows = {}
    for _, r in ipairs(self:row_sparse()) do rows[r.value] = true end
    for _, p in ipairs(out) do
      if rows[p.value] and p.value:dim() == 2 then p.row_sparse = true end
    end
  end
  return out
end

--- m:zero_grad() — set every parameter gradient to zero (backward accumulates into them).
-- @usage model:zero_grad()   -- before each backward
function Module:zero_grad()
  -- its own and its children's, without building parameters()'s records each step
  for _, p in ipairs(self._params) do p.grad:zero() end
  for _, c in ipairs(self._children) do c.module:zero_grad() end
end

--- m:row_sparse([out]) — the parameters whose gradient only some rows receive, per step.
-- Records {module =, value =}: value is a [rows, dim] parameter whose
-- gradient, after zero_grad and a backward, is zero outside the rows
-- module:touched_rows() names (module:reset_rows() starts the record).
-- nn.Embedding's weight is one; a container lists its children's; a module
-- that writes into such a gradient itself (tied weights) must leave it out.
-- Data-parallel training (lurn.dist) exchanges only those rows.
-- @tparam[opt] table out a list to append to
-- @treturn table the records
-- @usage for _, r in ipairs(model:row_sparse()) do print(r.module, r.value:shape()) end
function Module:row_sparse(out)
  out = out or {}
  for _, c in ipairs(self._children) do c.module:row_sparse(out) end
  return out
end

--- m:train([mode]) — training mode (dropout on) for the module and its children.
-- @tparam[opt] boolean mode true (default) for training, false for evaluation
-- @treturn nn.Module the module itself
-- @usage model:train()
function Module:train(mode)
  if mode == nil then mode = true end
  self.training = mode
  for _, c in ipairs(self._children) do c.module:train(mode) end
  return self
end

--- m:eval() — evaluation mode (dropout off); the same as m:train(false).
-- @treturn nn.Module the module itself
-- @usage model:eval(); local y = model:forward(batch)   -- dropout off
function Module:eval() return self:train(false) end

--- m:state() — the weights by name (the tensors themselves, not copies).
-- The names are PyTorch's state_dict keys; checkpoint.save_weights writes them.
-- @treturn table name -> tensor
-- @usage local w = model:state()["0.weight"]
function Module:state()
  local s = {}
  for _, p in ipairs(self:parameters()) do s[p.name] = p.value end
  return s
end

-- For layers: backward needs a forward first and a gradient tensor (or
-- Seq); anything else is an error at the user's line, not a kernel's
-- "bad argument" inside lurn.
function Module:_check_backward(ready, grad)
  if not ready then util.user_error(self.__name .. ": backward before forward") end
  if not lurn.is_tensor(grad) and not (type(grad) == "table" and lurn.is_tensor(grad.data)) then
    util.user_error(("%s: backward expects the gradient of the output (a tensor), got %s")
      :format(self.__name, type(grad)))
  end
end

--- m:load_state(s [, strict]) — copy weights in by name.
-- Every parameter must be present with its shape, and nothing else may be
-- (strict = false relaxes both).
-- @tparam table s name -> tensor, as m:state() gives
-- @tparam[opt] boolean strict default true
-- @treturn nn.Module the module itself
-- @usage other:load_state(model:state())
function Module:load_state(s, strict)
  if type(s) ~= "table" then
    util.user_error(("%s:load_state: expected a table name -> tensor, got %s"):format(self.__name, type(s)))
  end
  if strict == nil then strict = true end
  local known = {}
  for _, p in ipairs(self:parameters()) do
    known[p.name] = true
    local v = s[p.name]
    if v == nil then
      if strict then util.user_error(("load_state: missing parameter '%s'"):format(p.name)) end
    else
      if tostring(v:shape()) ~= tostring(p.value:shape()) then
        util.user_error(("load_state: parameter '%s' has shape %s, the model expects %s")
          :format(p.name, tostring(v:shape()), tostring(p.value:shape())))
      end
      p.value:copy(v)
    end
  end
  if strict then
    local extra = {}
    for k in pairs(s) do if not known[k] then extra[#extra + 1] = k end end
    table.sort(extra)
    if #extra > 0 then
      util.user_error(("load_state: unexpected parameter(s) %s"):format(table.concat(extra, ", ")))
    end
  end
  return self
end

--- m:num_parameters() — the number of weights (elements of every parameter).
-- @treturn integer the count
-- @usage print(model:num_parameters())
function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p.value:numel() end
  return n
end

--- m:spec() — the module as plain data: the nn constructor's name and
-- the arguments that rebuild it ({type = "LSTM", args = {16, 32, {layers = 2}}};
-- nn.build(spec) makes an equal module, weights apart). Every layer
-- overrides this; a layer that does not cannot be saved with its
-- architecture, so this says so.
-- @treturn table the spec
-- @usage local copy = nn.build(model:spec())
function Module:spec()
  util.user_error(("%s: spec() is not implemented (a layer needs one so that a checkpoint can "
    .. "rebuild it)"):format(self.__name))
end

--- m:spec_type() — the spec's type for this module: its class name without "nn.".
-- @usage nn.LSTM(2, 3):spec_type()   --> "LSTM"
function Module:spec_type() return (self.__name:gsub("^nn%.", "")) end

--- m:describe() — one line describing the layer (what tostring(model) shows; layers override it).
-- @usage print(nn.Linear(3, 4):describe())   --> nn.Linear(3 -> 4)
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

--- m:forward(input [, ...]) — the output for `input`; remembers what backward needs.
-- Layers take a tensor or a Seq (see each layer); losses take (input, target)
-- and return a number. The base class's forward is an error.
-- @param input a tensor, a Seq, or a batch {ids =, lengths =} (nn.Embedding)
-- @return the output (also kept in m.output)
-- @usage local y = model:forward(batch)
function Module:forward()
  util.user_error(("%s: forward is not implemented"):format(self.__name))
end

--- m:backward(grad_output) — the gradient of the input, from the output's gradient.
-- Parameter gradients ACCUMULATE into each record's grad (zero_grad clears
-- them). Call it after forward, with a gradient of the output's shape; a
-- loss's backward takes no argument.
-- @tparam Tensor grad_output d loss / d output
-- @return d loss / d input (nil for an embedding's integer ids)
-- @usage local loss = loss_fn:forward(model:forward(batch), batch.labels)
-- model:zero_grad()
-- model:backward(loss_fn:backward())
function Module:backward()
  util.user_error(("%s: backward is not implemented"):format(self.__name))
end

return Module
