--- lurn.errors — the error objects the command line turns into exit codes.
--
--   local errors = require "lurn.errors"
--   errors.raise("data", "%s:%d: no label", path, line)   -- raises {code=, message=}
--   errors.is(e, "data")       -- e is an error object with that code
--   errors.is(e)               -- e is an error object of any code
--   errors.new(code, message)  -- the object without raising it
--   errors.exit_code(e)        -- the exit status for e (1 for anything else)
--
-- An error object says "the user's input is wrong, here is what and where";
-- the command line prints its message alone (no traceback) and exits with
-- the code's status. Any other error (a string, a bug) is internal: it gets
-- a traceback and status 1. tostring(e) is the message, so code that
-- prints errors, or concatenates them with a prefix, keeps working.
--
-- Exit statuses (docs/cli.md, "Exit codes"):
--   0 ok, 1 internal error, 2 usage or config, 3 data, 4 checkpoint,
--   5 diverged (NaN/Inf), 130 interrupted (SIGINT/SIGTERM; a checkpoint was saved)
local M = {}

--- errors.EXIT — the exit status of each error code: usage 2, config 2, data 3,
-- checkpoint 4, diverged 5, interrupted 130; failed 1: a process lurn started (an ensemble's
-- member, a trial) failed on its own and its log says why (an internal error exits 1 too).
-- @usage print(errors.EXIT.data)   --> 3
M.EXIT = {
  usage = 2, config = 2, data = 3, checkpoint = 4, diverged = 5, interrupted = 130, failed = 1,
}

--- errors.code_of(status [, default]) — the error code a child process's exit status stands for
-- (2 is "config"), or default (nil) when no code has that status.
-- @tparam integer status
-- @tparam[opt] string default
-- @usage print(errors.code_of(3), errors.code_of(1), errors.code_of(9, "data"))   --> data failed data
function M.code_of(status, default)
  for k, v in pairs(M.EXIT) do
    if v == status and k ~= "usage" then return k end
  end
  return default
end

local Error = {}
Error.__index = Error
Error.__name = "lurn.Error"
Error.__tostring = function(e) return e.message end
--- errors.Error — the metatable of error objects {code =, message =}; tostring(e) is the message.
-- @usage print(getmetatable(errors.new("data", "x")) == errors.Error)   --> true
M.Error = Error

--- errors.new(code, fmt, ...) — a new error object (not raised); fmt and its arguments as string.format's.
-- @tparam string code "usage", "config", "data", "checkpoint", "diverged" or "interrupted"
-- @tparam string fmt
-- @treturn table {code =, message =}
-- @usage local e = errors.new("data", "%s:%d: no label", "train.tsv", 3)
function M.new(code, fmt, ...)
  if M.EXIT[code] == nil then
    error(("errors.new: unknown code '%s'"):format(tostring(code)), 2)
  end
  local msg = select("#", ...) > 0 and fmt:format(...) or tostring(fmt)
  return setmetatable({ code = code, message = msg }, Error)
end

--- errors.raise(code, fmt, ...) — raise an error object; the message is used as is, no position
-- (the command line prints it and exits with the code's status).
-- @tparam string code
-- @tparam string fmt
-- @usage local ok, e = pcall(errors.raise, "data", "%s: empty", "train.tsv")   -- e.code == "data"
function M.raise(code, fmt, ...)
  error(M.new(code, fmt, ...), 0)
end

--- errors.is(e [, code]) — true when e is an error object (of that code, when given).
-- Tables of the same shape {code =, message =} built elsewhere count too.
-- @param e an error value
-- @tparam[opt] string code "usage", "config", "data", "checkpoint", "diverged" or "interrupted"
-- @treturn boolean
-- @usage local ok, e = pcall(errors.raise, "data", "line %d: no label", 3)
-- print(errors.is(e, "data"), errors.is(e, "config"))   --> true false
function M.is(e, code)
  if type(e) ~= "table" or getmetatable(e) ~= Error then
    -- objects built by hand with the same shape count too (other modules
    -- may raise {code=, message=} without requiring this one)
    if type(e) ~= "table" or type(e.code) ~= "string" or M.EXIT[e.code] == nil
        or type(e.message) ~= "string" then
      return false
    end
  end
  return code == nil or e.code == code
end

--- errors.exit_code(e) — the exit status for e: its code's (errors.EXIT), 1 for anything else.
-- @param e an error value
-- @treturn integer the status
-- @usage print(errors.exit_code(errors.new("data", "line 3: no label")))   --> 3
function M.exit_code(e)
  if M.is(e) then return M.EXIT[e.code] end
  return 1
end

--- errors.wrap(code, prefix, fn, ...) — run fn(...); an error that is not an error object becomes
-- one of `code`, its message prefixed (for wrapping a library call whose
-- failures are the user's: a damaged file, a shape that does not fit).
-- @return what fn returned
-- @usage local ok, e = pcall(errors.wrap, "checkpoint", "m.ckpt: ", error, "truncated", 0)
-- print(e.code, e.message)   --> checkpoint  m.ckpt: truncated
function M.wrap(code, prefix, fn, ...)
  local res = table.pack(pcall(fn, ...))
  if res[1] then return table.unpack(res, 2, res.n) end
  local e = res[2]
  if M.is(e) then error(e, 0) end
  error(M.new(code, "%s%s", prefix or "", tostring(e)), 0)
end

return M
