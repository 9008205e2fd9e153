--- lurn.errors — error objects with a code the command line maps to an exit status.
--
--   errors.raise("data", "%s:%d: expected 2 fields, got %d", file, line, n)
--   local ok, e = pcall(f); if errors.is(e, "data") then ... end
--
-- An error object is {code = "usage"|"config"|"data"|"checkpoint"|"diverged"|
-- "interrupted", message = "..."}; tostring(e) is its message.
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "lurn.Error"
Error.__tostring = function(e) return e.message end
M.Error = Error

--- A new error object (not raised).
function M.new(code, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  return setmetatable({ code = code, message = msg }, Error)
end

--- Raise an error object. Level 0: the message is used as is, no position.
function M.raise(code, fmt, ...)
  error(M.new(code, fmt, ...), 0)
end

--- True when e is an error object (with the given code, if one is given).
function M.is(e, code)
  return getmetatable(e) == Error and (code == nil or e.code == code)
end

return M
