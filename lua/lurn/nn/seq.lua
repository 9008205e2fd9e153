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

--- nn.seq.new(data [, lengths]) — a Seq: time-major data and each sample's valid steps.
-- @tparam Tensor data float32 [T, B, D]
-- @tparam[opt] Tensor lengths int32 [B], each in 0..T (nil: all T steps are valid)
-- @treturn table the Seq {data =, lengths =}
-- @usage local s = nn.seq.new(lurn.randn(5, 2, 8), lurn.tensor({5, 3}, "int32"))
function M.new(data, lengths)
  return setmetatable({ data = data, lengths = lengths }, Seq)
end

--- nn.seq.is(x) — true when x is a Seq made by nn.seq.new (or a layer).
-- @param x any value
-- @treturn boolean
-- @usage if nn.seq.is(y) then y = y.data end
function M.is(x) return getmetatable(x) == Seq end

--- nn.seq.split(x) — data, lengths of a Seq, a {data=, lengths=} table or a bare tensor.
-- @param x a Seq, a {data =, lengths =} table or a tensor
-- @treturn Tensor|nil the data (nil for anything else)
-- @treturn Tensor|nil the lengths
-- @usage local x, lengths = nn.seq.split(input)
function M.split(x)
  if lurn.is_tensor(x) then return x, nil end
  if type(x) == "table" and x.data then return x.data, x.lengths end
  return nil
end

--- nn.seq.describe(x) — a short description of any value for error messages ("[3,4] float32", "nil").
-- @usage nn.seq.describe(lurn.zeros(3, 4))   --> "[3,4] float32"
function M.describe(x)
  if lurn.is_tensor(x) then return tostring(x:shape()) .. " " .. x:dtype() end
  if type(x) == "table" and x.data then return tostring(M.new(x.data, x.lengths)) end
  if type(x) == "table" and x.ids then return "batch {ids " .. tostring(x.ids:shape()) .. "}" end
  return type(x)
end

return M
