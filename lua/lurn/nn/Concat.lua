--- nn.Concat(dim, {branch1, branch2, ...}) — parallel branches, joined.
--
-- Every branch gets the same input; their outputs (tensors, or Seqs with the
-- same lengths) are concatenated along `dim` (1-based, negative from the
-- end). Backward splits the gradient along `dim`, runs each branch's
-- backward and sums their input gradients. With it and Sequential a model
-- can fork and join, e.g. two encoders over the same embeddings.
local lurn = require "lurn"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.Concat(dim, branches) — run branches on the same input and join their outputs.
-- Outputs (tensors, or Seqs with the same lengths) are concatenated along
-- dim (1-based; negative counts from the end). Backward splits the
-- gradient, runs each branch's backward and sums their input gradients.
-- Children are named "0", "1", ... like Sequential's.
-- @tparam integer dim the dim to join along
-- @tparam {nn.Module,...} branches the branches
-- @treturn nn.Concat the module
-- @usage local m = nn.Concat(-1, {nn.Linear(8, 3), nn.Linear(8, 5)})
-- local y = m:forward(lurn.randn(2, 8))           -- [2, 8]
-- @function Concat
local Concat = class("nn.Concat", Module)

function Concat:__init(dim, branches)
  Module.__init(self)
  if math.type(dim) ~= "integer" then util.user_error("nn.Concat: dim must be an integer") end
  self.dim = dim
  self.branches = {}
  if type(branches) ~= "table" then
    util.user_error(("nn.Concat: expected a list of branches {m1, m2, ...}, got %s"):format(type(branches)))
  end
  for i, m in ipairs(branches) do
    if type(m) ~= "table" or not m.forward then
      util.user_error(("nn.Concat: branch %d is not a module"):format(i))
    end
    self.branches[i] = m
    self:add_module(tostring(i - 1), m)
  end
end

-- At the user's line (the branch's own position, lurn's or the user's, dropped).
local function rethrow(self, i, err)
  if type(err) ~= "string" then error(err, 0) end
  util.user_error(("%s: branch %d (%s): %s"):format(self.__name, i, self.branches[i].__name,
    util.message(err)))
end

function Concat:forward(input)
  local datas, lengths, is_seq = {}, nil, false
  self.widths = {}
  for i, m in ipairs(self.branches) do
    local ok, y = pcall(m.forward, m, input)
    if not ok then rethrow(self, i, y) end
    local d, l = seq.split(y)
    is_seq = is_seq or seq.is(y)
    lengths = lengths or l
    datas[i] = d
  end
  local d = self.dim < 0 and datas[1]:dim() + self.dim + 1 or self.dim
  self._d = d
  for i, x in ipairs(datas) do self.widths[i] = x:size(d) end
  local out = lurn.cat(datas, d)
  self.output = is_seq and seq.new(out, lengths) or out
  return self.output
end

function Concat:backward(grad_output)
  self:_check_backward(self._d, grad_output)
  local grad_input
  local at = 1
  for i, m in ipairs(self.branches) do
    local g = grad_output:narrow(self._d, at, self.widths[i])
    at = at + self.widths[i]
    local ok, gi = pcall(m.backward, m, g)
    if not ok then rethrow(self, i, gi) end
    if gi ~= nil then
      if grad_input == nil then grad_input = gi:clone() else grad_input:add_(gi) end
    end
  end
  return grad_input
end

function Concat:describe() return ("nn.Concat(dim=%d)"):format(self.dim) end

function Concat:spec()
  local branches = {}
  for i, m in ipairs(self.branches) do branches[i] = m:spec() end
  return { type = "Concat", args = { self.dim, branches } }
end

return Concat
