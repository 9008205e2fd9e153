--- lurn — recurrent neural networks in Lua, numbers in C on BLIS.
--
-- `require "lurn"` gives the tensor functions of the C module `lurn.core`
-- (tensor, zeros, ones, full, arange, eye, rand, randn, cat, mm, seed,
-- threads, info, ...) plus the library's submodules, loaded on first use:
-- lurn.nn, lurn.optim, lurn.data, lurn.train, lurn.config, lurn.metrics,
-- lurn.gradcheck.
local core = require "lurn.core"

local M = {}
for k, v in pairs(core) do M[k] = v end
M.core = core

local submodules = {
  nn = true, optim = true, data = true, train = true, config = true, metrics = true,
  gradcheck = true, json = true, checkpoint = true, cli = true, util = true, plot = true,
  class = true, text = true, errors = true,
}

setmetatable(M, {
  __index = function(t, k)
    if submodules[k] then
      local mod = require("lurn." .. k)
      rawset(t, k, mod)
      return mod
    end
    return nil
  end,
})

local Tensor = core.Tensor

--- t:type() -> "float32" | "int32" (alias of dtype, torch7 style)
Tensor.type = Tensor.dtype

--- True when x is a lurn tensor.
function M.is_tensor(x)
  return getmetatable(x) == getmetatable(core.zeros(0))
end

--- zeros_like / ones_like / randn_like
function M.zeros_like(t) return core.zeros(t:shape(), t:dtype()) end
function M.ones_like(t) return core.ones(t:shape(), t:dtype()) end
function M.randn_like(t) return core.randn(t:shape()) end

return M
