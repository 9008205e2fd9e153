--- lurn.config.sandbox — evaluates config text where it can do no harm.
--
--   ok, value = sandbox.eval { source =, chunkname =, mode = "config"|"model",
--                              info =, limits = }
--   ok == false: value = { kind = "syntax"|"error"|"limit"|"crash", message = }
--
-- The value is plain data (numbers, strings, booleans, tables of them);
-- a function in it (a model.spec function) comes back as a marker for which
-- sandbox.is_function(v) is true, with v.line its first line.
local core = require "lurn.core"

local M = {}

local fn_mt = { __name = "config function" }
function M.is_function(v) return getmetatable(v) == fn_mt end
local function fn_marker(line) return setmetatable({ line = line }, fn_mt) end

-- the prelude sits beside this file: the same trusted directory
local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\][^/\\]*$") or "."
local prelude_text
local function prelude()
  if not prelude_text then
    local f = assert(io.open(here .. "/prelude.lua", "rb"))
    prelude_text = f:read("a")
    f:close()
  end
  return prelude_text
end
M.prelude = prelude

-- the constructors a config's nn may name: those of the host's lurn.nn
local nn_names
function M.nn_names()
  if not nn_names then
    nn_names = {}
    for k, v in pairs(require "lurn.nn") do
      if k:match("^%u") and k ~= "Module" and (type(v) == "table" or type(v) == "function") then
        nn_names[#nn_names + 1] = k
      end
    end
    table.sort(nn_names)
  end
  return nn_names
end

--- The environment variables a config may read with os.getenv.
M.env_allow = { "HOME", "TMPDIR", "XDG_DATA_HOME", "XDG_CACHE_HOME" }
M.env_prefix = "LURN_"
local function allowed_env()
  local out = {}
  for _, name in ipairs(M.env_allow) do out[name] = os.getenv(name) end
  for _, name in ipairs(core.sandbox_env_names(M.env_prefix)) do
    out[name] = os.getenv(name)
  end
  return out
end

M.realpath = core.sandbox_realpath          -- path -> real path | nil, reason
M.read_regular = core.sandbox_read_regular  -- path, max bytes -> text | nil, reason
M.file_kind = core.sandbox_file_kind        -- path -> "file"|"directory"|"other" | nil, reason

--- Evaluate; see the header.
function M.eval(req)
  local limits = req.limits or {}
  local r = core.sandbox_eval({
    source = req.source, chunkname = req.chunkname, mode = req.mode or "config",
    info = req.info or {}, prelude = prelude(), nn = M.nn_names(), env = allowed_env(),
    instructions = limits.instructions, memory = limits.memory, seconds = limits.seconds,
    max_string = limits.max_string, exe = (not limits.in_process) and M.exe() or nil,
  }, fn_marker)
  if r.ok then return true, r.value end
  return false, { kind = r.kind, message = r.message }
end

--- The lurn executable to run configs in (a child process), or nil for an
-- in-process fresh state (the stock lua5.4 interpreter loading lurn).
function M.exe()
  local host = package.loaded["lurn.host"]
  return host and host.exe or nil
end

return M
