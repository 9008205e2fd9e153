--- lurn.config.prelude — builds a config's environment inside its own Lua state.
--
-- This chunk is trusted: the host passes its text to the sandbox, which runs
-- it first in the config's fresh Lua state (src/lua/sandbox.c), with only the
-- base, string, table and math libraries opened. It is called as
--
--   run = prelude(G, opts)
--
-- G: that state's globals; opts.env: the allow-listed environment variables
-- (name -> value) os.getenv may read; opts.nn: the names of the nn
-- constructors; opts.max_string: the largest string a library call may build;
-- opts.own_state: true when the state belongs to the config alone (then the
-- string metatable is narrowed too). It returns run(source, chunkname, mode,
-- info) -> true, value: mode "config" gives the config's table, mode "model"
-- calls the config's model.spec function with (nn, info) and gives the spec;
-- a syntax error gives false, message.
--
-- Why every function the config can reach is a Lua function: the count hook
-- that bounds a config's work fires only on Lua instructions. A C function
-- used as a metamethod (say __index = rawlen under table.insert) could loop
-- inside C with no hook. Wrapping every C function in a Lua closure makes
-- each call cost instructions, so the hook sees it. The library functions
-- that can spend long in one call (string.rep, pattern matching,
-- table.move/concat/insert with huge ranges) get size guards as well.
local G, opts = ...
local error, type, select, tostring, pairs, next, ipairs = G.error, G.type, G.select,
  G.tostring, G.pairs, G.next, G.ipairs
local rawget, rawset, rawequal, rawlen = G.rawget, G.rawset, G.rawequal, G.rawlen
local setmetatable, getmetatable, load, pcall = G.setmetatable, G.getmetatable, G.load, G.pcall
local tonumber, assert = G.tonumber, G.assert
local S, T, M = G.string, G.table, G.math
local find, gsub, sub, format, rep, len = S.find, S.gsub, S.sub, S.format, S.rep, S.len
local pack, unpack, concat, move = T.pack, T.unpack, T.concat, T.move
local mtype, huge = M.type, M.huge
-- the host's check: raises again once a limit was hit, so pcall cannot hide it
local limit_check = opts.limit_check or function() end
local max_string = opts.max_string or 16 * 1024 * 1024

-- f wrapped so that every call runs Lua instructions (see above)
local function wrap(f)
  return function(...) return f(...) end
end

local function guard(name, ok, fmt, ...)
  if not ok then error(format("%s: " .. fmt, name, ...), 3) end
end

-- Pattern matching is backtracking in C: a subject of n bytes and a pattern
-- with q repetition items can cost n^(q+1) steps. Refuse what could pass
-- ~1e8 steps; configs never need more.
local function pattern_guard(name, s, p, init, plain)
  if type(s) ~= "string" and type(s) ~= "number" then return end
  if type(p) ~= "string" or plain then return end
  local n = #tostring(s)
  if n <= 64 then return end
  local q = 0
  for _ in p:gmatch("[%*%+%-%?]") do q = q + 1 end
  for _ in p:gmatch("%%b") do q = q + 1 end
  local cost = n ^ (q + 1)
  guard(name, cost <= 1e8, "pattern with %d repetitions on a %d-byte subject is over the "
    .. "config's matching limit (n^(q+1) <= 1e8)", q, n)
end

local safe_string = {
  byte = wrap(S.byte), char = wrap(S.char), format = wrap(S.format), len = wrap(len),
  lower = wrap(S.lower), upper = wrap(S.upper), reverse = wrap(S.reverse), sub = wrap(sub),
  rep = function(s, n, sep)
    local total = #tostring(s) * (tonumber(n) or 0) + #tostring(sep or "") * ((tonumber(n) or 1) - 1)
    guard("string.rep", total <= max_string, "result of %.0f bytes is over the config's "
      .. "limit of %d bytes", total, max_string)
    return rep(s, n, sep)
  end,
  find = function(s, p, init, plain)
    pattern_guard("string.find", s, p, init, plain)
    return find(s, p, init, plain)
  end,
  match = function(s, p, init)
    pattern_guard("string.match", s, p, init)
    return S.match(s, p, init)
  end,
  gmatch = function(s, p, init)
    pattern_guard("string.gmatch", s, p, init)
    return wrap(S.gmatch(s, p, init))
  end,
  gsub = function(s, p, r, n)
    pattern_guard("string.gsub", s, p)
    if type(r) == "function" then local f = r; r = function(...) return f(...) end end
    return gsub(s, p, r, n)
  end,
}

local function range_guard(name, i, j)
  if mtype(i) == "integer" and mtype(j) == "integer" and j - i > 1e7 then
    error(format("%s: a range of %.0f elements is over the config's limit of 1e7", name,
      j - i + 0.0), 3)
  end
end

local safe_table = {
  insert = function(t, ...)
    guard("table.insert", type(t) ~= "table" or #t <= 1e7, "table too long")
    return T.insert(t, ...)
  end,
  remove = function(t, ...)
    guard("table.remove", type(t) ~= "table" or #t <= 1e7, "table too long")
    return T.remove(t, ...)
  end,
  concat = function(t, sep, i, j)
    range_guard("table.concat", i or 1, j or (type(t) == "table" and #t or 0))
    return concat(t, sep, i, j)
  end,
  unpack = function(t, i, j)
    range_guard("table.unpack", i or 1, j or (type(t) == "table" and #t or 0))
    return unpack(t, i, j)
  end,
  move = function(a, f, e, t, b)
    range_guard("table.move", f, e)
    return move(a, f, e, t, b)
  end,
  sort = function(t, cmp)
    guard("table.sort", type(t) ~= "table" or #t <= 1e6, "table too long")
    if cmp then local c = cmp; cmp = function(a, b) return c(a, b) end end
    return T.sort(t, cmp)
  end,
  pack = wrap(pack),
}

-- math without the random generator: configs are deterministic, and the
-- generator's state is not theirs to change
local safe_math = {}
for _, k in ipairs { "abs", "ceil", "exp", "floor", "fmod", "log", "max", "min", "modf",
                     "sqrt", "tointeger", "type", "ult", "sin", "cos", "tan", "asin", "acos",
                     "atan" } do
  safe_math[k] = wrap(M[k])
end
safe_math.pi, safe_math.huge = M.pi, M.huge
safe_math.maxinteger, safe_math.mininteger = M.maxinteger, M.mininteger

-- os.getenv reads only the variables the host allow-listed
local env_vars = opts.env or {}
local safe_os = {
  getenv = function(name)
    if type(name) ~= "string" then error("os.getenv: the name must be a string", 2) end
    return env_vars[name]
  end,
}

-- setmetatable on the config's own tables only, without finalizers: a __gc
-- would run while the state closes, after the config has returned
local function safe_setmetatable(t, mt)
  if type(t) ~= "table" then error("setmetatable: a config can set metatables of tables only", 2) end
  if mt ~= nil and type(mt) ~= "table" then error("setmetatable: the metatable must be a table", 2) end
  if mt and rawget(mt, "__gc") ~= nil then error("setmetatable: __gc is not allowed in a config", 2) end
  return setmetatable(t, mt)
end

local function safe_getmetatable(v)
  if type(v) ~= "table" then return nil end
  return getmetatable(v)
end

-- the spec builder: nn.LSTM(16, 32, {layers = 2}) -> {type = "LSTM", args = {16, 32, {layers = 2}}}
local function closest(name, names)
  local best, bd = nil, huge
  for _, k in ipairs(names) do
    -- cheap distance: common prefix and length difference suffice for a hint
    local d = 0
    local la, lb = #name, #k
    local dp = {}
    for j = 0, lb do dp[j] = j end
    for a = 1, la do
      local prev, cur = dp[0], a
      dp[0] = a
      for b = 1, lb do
        local cost = sub(name, a, a) == sub(k, b, b) and 0 or 1
        local v = M.min(dp[b] + 1, cur + 1, prev + cost)
        prev = dp[b]; dp[b] = v; cur = v
      end
    end
    d = dp[lb]
    if d < bd or (d == bd and k < best) then best, bd = k, d end
  end
  return best
end

local nn_names = opts.nn or {}
local nn = {}
for _, name in ipairs(nn_names) do
  nn[name] = function(...)
    local args = pack(...)
    local out = {}
    for i = 1, args.n do
      if args[i] == nil then
        error(format("nn.%s: argument %d is nil", name, i), 2)
      end
      out[i] = args[i]
    end
    return { type = name, args = out }
  end
end
setmetatable(nn, {
  __index = function(_, k)
    error(format("nn.%s is not an nn constructor (did you mean nn.%s?)", tostring(k),
      tostring(closest(tostring(k), nn_names))), 2)
  end,
  __newindex = function() error("nn is read-only in a config", 2) end,
  __metatable = false,
})

local function safe_pcall(f, ...)
  local r = pack(pcall(f, ...))
  limit_check()
  return unpack(r, 1, r.n)
end

-- a library table that names what a config may not use
local function closed(lib, t, what)
  return setmetatable(t, {
    __index = function(_, k)
      error(format("%s.%s is not available in a config%s", lib, tostring(k), what or ""), 2)
    end,
    __metatable = false,
  })
end
closed("string", safe_string)
closed("table", safe_table)
closed("math", safe_math, " (no random numbers: a config is deterministic)")
closed("os", safe_os, " (only os.getenv)")

-- fresh per config: nothing a config changes here outlives it
local function new_env()
  local env = {
    assert = wrap(assert), error = function(msg, level)
      -- one frame deeper than the config's call: keep its positions right
      level = level or 1
      error(msg, level > 0 and level + 1 or 0)
    end, ipairs = function(t)
      local f, s, i = ipairs(t); return wrap(f), s, i
    end,
    next = wrap(next), pairs = function(t)
      local f, s, k = pairs(t); return wrap(f), s, k
    end,
    pcall = safe_pcall, rawequal = wrap(rawequal), rawget = wrap(rawget), rawlen = wrap(rawlen),
    rawset = wrap(rawset), select = wrap(select), tonumber = wrap(tonumber),
    tostring = wrap(tostring), type = wrap(type), setmetatable = safe_setmetatable,
    getmetatable = safe_getmetatable, _VERSION = G._VERSION,
    string = safe_string, table = safe_table, math = safe_math, os = safe_os, nn = nn,
  }
  env._G = env
  return setmetatable(env, {
    __index = function(_, k)
      error(format("undefined global '%s'", tostring(k)), 2)
    end,
    __metatable = false,
  })
end

if opts.own_state then
  -- method calls on strings ("x"):rep(n) go through this table: the guarded one
  local smt = getmetatable("")
  smt.__index = safe_string
  smt.__metatable = false
end

-- -> true, value; or false, message for a syntax error (errors raise)
return function(source, chunkname, mode, info)
  local chunk, err = load(source, chunkname, "t", new_env())
  if not chunk then return false, err end
  local result = chunk()
  limit_check()
  if mode == "config" then return true, result end
  -- mode "model": the config's model.spec(nn, info)
  local model = type(result) == "table" and rawget(result, "model")
  local fn = type(model) == "table" and rawget(model, "spec")
  if type(fn) ~= "function" then error("model.spec is not a function in this config", 0) end
  local spec = fn(nn, info)
  limit_check()
  return true, spec
end
