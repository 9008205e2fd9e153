--- lurn gradcheck FILE.lua [--eps E] [--tol T]
--
-- FILE.lua returns a table {module = m, input = x} (or a function returning
-- one); the command runs lurn.gradcheck.check on it, prints the relative
-- error per parameter, and exits 0 when every one is within tolerance.
local lurn = require "lurn"
local errors = require "lurn.errors"

local M = {}

local usage = [[
usage: lurn gradcheck FILE.lua [--eps E] [--tol T]
  FILE.lua returns {module = m, input = x}; prints the relative error of
  the module's gradients against central finite differences.
  Exit status 0 when all are within the tolerance, else 1.]]

function M.main(args)
  local path
  local opts = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      print(usage)
      return 0
    elseif a == "--eps" or a == "--tol" then
      local v = tonumber(args[i + 1])
      if not v then errors.raise("usage", "%s needs a number", a) end
      opts[a:sub(3)] = v
      i = i + 2
    elseif a:match("^%-") then
      io.stderr:write(("lurn gradcheck: unknown option '%s'\n"):format(a), usage, "\n")
      return 2
    elseif not path then
      path, i = a, i + 1
    else
      errors.raise("usage", "unexpected argument '%s'", a)
    end
  end
  if not path then
    io.stderr:write(usage, "\n")
    return 2
  end
  _G.lurn = lurn
  local chunk, err = loadfile(path, "t")
  if not chunk then errors.raise("usage", "%s", err) end
  local spec = chunk()
  if type(spec) == "function" then spec = spec() end
  if type(spec) ~= "table" or not spec.module or spec.input == nil then
    errors.raise("usage", "%s must return {module = m, input = x}", path)
  end
  local report = lurn.gradcheck.check(spec.module, spec.input, opts)
  print(report.summary)
  return report.ok and 0 or 1
end

return M
