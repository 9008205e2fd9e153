--- lurn — recurrent neural networks in Lua, numbers in C on BLIS.
--
-- `require "lurn"` gives the tensor functions of the C module `lurn.core`
-- (tensor, zeros, ones, full, arange, eye, rand, randn, cat, mm, seed,
-- threads, info, ...) plus the library's submodules, loaded on first use:
-- lurn.nn, lurn.optim, lurn.data, lurn.text, lurn.train, lurn.checkpoint,
-- lurn.gradcheck, lurn.help (and lurn.cli, lurn.util, lurn.class,
-- lurn.errors). Any other lua/lurn/<name>.lua (or <name>/init.lua) is
-- loaded the same way, so `lurn.x` works for every module the tree has.
-- @module lurn

-- Under the stock interpreter (`lua5.4` with LUA_PATH/LUA_CPATH set), lurn's
-- own modules ("lurn.*") are looked up only beside this file, and the C
-- module only on package.cpath without Lua's default "./" entries: a
-- planted ./lurn/x.lua or ./lurn/core.so never loads. A lurn module missing
-- there is an error, not a reason to try the next searcher. (The lurn
-- executable does the same in C before any Lua runs: src/main.c.)
do
  local dir = debug.getinfo(1, "S").source:match("^@(.*)/lurn/init%.lua$")
  if dir and not package.loaded["lurn.host"] then
    local lua_path = dir .. "/?.lua;" .. dir .. "/?/init.lua"
    table.insert(package.searchers, 2, function(name)
      if name ~= "lurn" and name:sub(1, 5) ~= "lurn." then return "\n\tnot one of lurn's modules" end
      if name == "lurn.core" then
        local cpath = {}
        for entry in package.cpath:gmatch("[^;]+") do
          if entry:sub(1, 2) ~= "./" then cpath[#cpath + 1] = entry end
        end
        local file, err = package.searchpath(name, table.concat(cpath, ";"))
        if not file then error(("module 'lurn.core' not found:%s"):format(err), 0) end
        local loader, lerr = package.loadlib(file, "luaopen_lurn_core")
        if not loader then error(lerr, 0) end
        return loader, file
      end
      local file = package.searchpath(name, lua_path)
      if not file then
        error(("module '%s' is not part of lurn (looked in %s)"):format(name, dir), 0)
      end
      local chunk, err = loadfile(file, "t")
      if not chunk then error(err, 0) end
      return chunk, file
    end)
  end
end

local core = require "lurn.core"

local M = {}
for k, v in pairs(core) do M[k] = v end
M.core = core

local submodules = {
  nn = true, optim = true, data = true, text = true, train = true, checkpoint = true,
  gradcheck = true, help = true, cli = true, util = true, class = true, errors = true,
}

-- lurn's modules are found beside this file (the host and the searcher
-- above do not use package.path for them), or on package.path.
local libdir = debug.getinfo(1, "S").source:match("^@(.*)/lurn/init%.lua$")
--- lurn.module_file(name) — the file of lurn module `name` ("lurn.nn"), or nil.
-- @tparam string name
-- @treturn string|nil
-- @usage print(lurn.module_file("lurn.nn"))
function M.module_file(name)
  local rel = name:gsub("%.", "/")
  if libdir then
    for _, f in ipairs { libdir .. "/" .. rel .. ".lua", libdir .. "/" .. rel .. "/init.lua" } do
      local h = io.open(f, "r")
      if h then h:close(); return f end
    end
  end
  return (package.searchpath(name, package.path))
end

setmetatable(M, {
  __index = function(t, k)
    if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then return nil end
    local name = "lurn." .. k
    local file = package.loaded[name] or M.module_file(name)
    if submodules[k] or file then
      if not file then
        -- one line instead of require's search path of every directory
        error(("lurn.%s: module '%s' is not installed (no %s.lua under the lurn library)")
          :format(k, name, name:gsub("%.", "/")), 2)
      end
      local mod = require(name)
      rawset(t, k, mod)
      return mod
    end
    return nil
  end,
})

local Tensor = core.Tensor

--- t:type() -> "float32" | "int32" (alias of dtype, torch7 style)
-- @usage print(lurn.zeros(2):type())   --> float32
Tensor.type = Tensor.dtype

--- lurn.is_tensor(x) — true when x is a lurn tensor.
-- @param x any value
-- @treturn boolean
-- @usage print(lurn.is_tensor(lurn.zeros(2)), lurn.is_tensor({}))   --> true false
function M.is_tensor(x)
  return getmetatable(x) == getmetatable(core.zeros(0))
end

--- lurn.zeros_like(t) — zeros of t's shape and dtype.
-- @tparam Tensor t
-- @treturn Tensor
-- @usage local g = lurn.zeros_like(lurn.randn(2, 3))
function M.zeros_like(t) return core.zeros(t:shape(), t:dtype()) end
--- lurn.ones_like(t) — ones of t's shape and dtype.
-- @tparam Tensor t
-- @treturn Tensor
-- @usage local m = lurn.ones_like(lurn.randn(2, 3))
function M.ones_like(t) return core.ones(t:shape(), t:dtype()) end
--- lurn.randn_like(t) — float32 N(0, 1) values of t's shape.
-- @tparam Tensor t
-- @treturn Tensor
-- @usage local noise = lurn.randn_like(lurn.zeros(2, 3))
function M.randn_like(t) return core.randn(t:shape()) end

return M
