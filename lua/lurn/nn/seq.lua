--- nn.seq — the value a batch of variable-length sequences travels as.
--
-- A Seq is {data = [T, B, D] float32, lengths = [B] int32 or nil}: time-major
-- data and each sample's number of valid steps (nil: all T). Embedding makes
-- one, the recurrent layers consume and produce one, Pool turns one into
-- [B, D]. Gradients with respect to a Seq are plain [T, B, D] tensors (the
-- lengths get none), so backward passes tensors only.
local lurn = require "lurn"

local Seq = {}
Seq.__index = Seq
Seq.__name = "nn.Seq"
Seq.__tostring = function(s)
  return ("nn.Seq(data %s%s)"):format(tostring(s.data:shape()),
    s.lengths and (", lengths " .. tostring(s.lengths:shape())) or "")
end

local M = {}

function M.new(data, lengths)
  return setmetatable({ data = data, lengths = lengths }, Seq)
end

function M.is(x) return getmetatable(x) == Seq end

--- data, lengths of a Seq, a {data=, lengths=} table or a bare tensor.
function M.split(x)
  if lurn.is_tensor(x) then return x, nil end
  if type(x) == "table" and x.data then return x.data, x.lengths end
  return nil
end

--- Describe an input for error messages.
function M.describe(x)
  if lurn.is_tensor(x) then return tostring(x:shape()) .. " " .. x:dtype() end
  if type(x) == "table" and x.data then return tostring(M.new(x.data, x.lengths)) end
  if type(x) == "table" and x.ids then return "batch {ids " .. tostring(x.ids:shape()) .. "}" end
  return type(x)
end

return M
