-- LuaUnit suite: the Lua API torture test (issue 12).
--
-- Every function and method lurn exports is called with hostile arguments —
-- wrong types, nil, released tensors, empty and huge shapes, NaN and Inf,
-- non-contiguous and expanded views — and must answer with a Lua error or a
-- sane result, never a crash, a sanitizer report, a hang or a garbled
-- message. The targets are GENERATED, never listed by hand:
--   core     every function of lurn.core and of `lurn` itself
--   tensor   every method of lurn.Tensor (core.Tensor, C and Lua-added)
--   nn       every constructor of lurn.nn, and every method of each module
--            that one of a few argument templates manages to build
--   lib      every other module found under lua/lurn/ (optim, data, train,
--            checkpoint, gradcheck, cli, ... and whatever lands later): its
--            functions, its classes' constructors and methods
--   released for every core function and tensor method, the first argument
--            template that works is found, then each tensor in it is
--            replaced by a released one: the call must raise an error that
--            says "released"
-- so a function added later is covered without anyone remembering to.
--
-- Each group runs in a child process (this file with `--worker GROUP`), in a
-- fresh temporary directory (functions given the path "x" may write there).
-- Before each call the child writes the call's description to a progress
-- file; if the child dies (SIGSEGV, an ASan/UBSan abort, a timeout), the
-- test fails naming that call and showing the end of the child's output.
-- Under ASan the child runs with allocator_may_return_null=1, so a refused
-- multi-terabyte allocation is an error for lurn to report, as in release.
--
-- Call counts are bounded (a fixed seed picks the argument combinations) so
-- each pass takes a few seconds. A Lua loop that runs away (a count of 2^40
-- given to a generator) is cut by an instruction budget and counted, not
-- failed: the point here is memory safety, and the budget keeps it bounded.
--
-- Skips: SKIP below, each with its reason.
--
-- To chase a finding: `LURN_TORTURE_ONLY='Tensor.add(' build/lurn
-- tests/lua/test_torture.lua --worker tensor` (run in a scratch directory)
-- makes only the calls whose description contains the text;
-- LURN_TORTURE_AVOID='a(,b(' leaves out those containing any of the texts.
local lurn = require "lurn"
local core = lurn.core

-- Functions not called, and why. Keys are the names printed in reports.
local SKIP = {
  ["lurn.cli.repl"] = "reads commands from stdin until EOF; nothing of its own to torture",
}

-- ---- the value pool ------------------------------------------------------------

local NaN, Inf = 0 / 0, math.huge

local function released()
  local t = lurn.randn(2, 3)
  do local _ <close> = t end   -- what leaving a `<close>` scope does
  return t
end

-- name -> maker; makers build a fresh value per call (calls may mutate or
-- release their arguments).
local POOL = {
  { "nil", function() return nil end },
  { "false", function() return false end },
  { "true", function() return true end },
  { "0", function() return 0 end },
  { "1", function() return 1 end },
  { "2", function() return 2 end },
  { "3", function() return 3 end },
  { "-1", function() return -1 end },
  { "0.5", function() return 0.5 end },
  { "2^40", function() return 2.0 ^ 40 end },
  { "2^62", function() return 1 << 62 end },
  { "maxint", function() return math.maxinteger end },
  { "minint", function() return math.mininteger end },
  { "nan", function() return NaN end },
  { "inf", function() return Inf end },
  { "-inf", function() return -Inf end },
  { "''", function() return "" end },
  { "'x'", function() return "x" end },
  { "'sum'", function() return "sum" end },
  { "{}", function() return {} end },
  { "{1,2}", function() return { 1, 2 } end },
  { "{2^40,2^40}", function() return { 2 ^ 40, 2 ^ 40 } end },
  { "{0,2^62,4}", function() return { 0, 1 << 62, 4 } end },
  { "{-1}", function() return { -1 } end },
  { "{{1,2},{3,4}}", function() return { { 1, 2 }, { 3, 4 } } end },
  { "{'x'}", function() return { "x" } end },
  { "'max'", function() return "max" end },
  { "'tanh'", function() return "tanh" end },
  { "texts", function() return { "a b", "b a c" } end },
  { "dataset-spec", function() return { texts = { "a b", "b a c" }, labels = { 0, 1 } } end },
  { "function", function() return function() end end },
  { "coroutine", function() return coroutine.create(function() end) end },
  { "erroring-table", function()
      return setmetatable({}, { __index = function() error("torture: __index") end })
    end },
  { "scalar", function() return lurn.tensor(1.5) end },
  { "f[3]", function() return lurn.randn(3) end },
  { "f[2,3]", function() return lurn.randn(2, 3) end },
  { "f[2,2,3]", function() return lurn.randn(2, 2, 3) end },
  { "f[0]", function() return lurn.zeros(0) end },
  { "f[0,3]", function() return lurn.zeros(0, 3) end },
  { "i[3]", function() return lurn.tensor({ 0, 1, 2 }, "int32") end },
  { "i[2,2]", function() return lurn.tensor({ { 0, 1 }, { 1, 0 } }, "int32") end },
  { "nan[2,3]", function() return lurn.full({ 2, 3 }, NaN) end },
  { "inf[3]", function() return lurn.full({ 3 }, -Inf) end },
  { "noncontig[2,3]", function() return lurn.randn(3, 2):t() end },
  { "expanded[4,3]", function() return lurn.randn(1, 3):expand(4, 3) end },
  { "released", released },
  { "{f[2,3],f[2,3]}", function() return { lurn.randn(2, 3), lurn.randn(2, 3) } end },
  { "{released}", function() return { released() } end },
  { "params", function()
      return { { name = "w", value = lurn.randn(2, 3), grad = lurn.randn(2, 3) } }
    end },
  { "optimizer", function()
      return lurn.optim.SGD({ { name = "w", value = lurn.randn(2, 3), grad = lurn.randn(2, 3) } },
        { lr = 0.1 })
    end },
  { "module", function() return lurn.nn.Linear(3, 2) end },
  { "seq[3,2,3]", function()
      return lurn.nn.seq.new(lurn.randn(3, 2, 3), lurn.tensor({ 3, 1 }, "int32"))
    end },
  { "seq-bad-lengths", function()
      return lurn.nn.seq.new(lurn.randn(3, 2, 3), lurn.tensor({ 9, -1 }, "int32"))
    end },
  { "{module}", function() return { lurn.nn.Linear(3, 2), lurn.nn.Tanh() } end },
}
local BYNAME = {}
for _, e in ipairs(POOL) do BYNAME[e[1]] = e[2] end

-- Receivers for methods.
local SELVES = { "f[2,3]", "f[3]", "f[2,2,3]", "scalar", "f[0,3]", "i[3]", "noncontig[2,3]",
  "expanded[4,3]", "nan[2,3]", "released" }
-- First arguments for two-argument calls.
local FIRSTS = { "f[2,3]", "{f[2,3],f[2,3]}", "3", "{1,2}", "'x'", "params" }
-- Fewer for the Lua library, whose functions reach C through the bindings
-- swept in full above (it keeps the groups' run time in proportion).
local LIB_FIRSTS = { "f[2,3]", "{1,2}", "'x'" }

-- ---- one call ---------------------------------------------------------------------

local is_tensor = lurn.is_tensor
local getmt = debug.getmetatable   -- sees through __metatable protection
local BUDGET = 2000000   -- Lua instructions per call
local progress, stats = nil, { targets = 0, objects = 0, calls = 0, ok = 0, errors = 0, budget = 0 }
local failures, slow, notes = {}, {}, {}
local base_threads = lurn.threads()

local function fail(desc, why)
  failures[#failures + 1] = desc .. ": " .. why
end

-- A message that leaked a format directive or a C null. A reader's "(columns: ...)" echoes
-- the file's first line (under load the lib group may leave a checkpoint's bytes in a scratch
-- file that a reader then opens): data, not a format.
local function garbled(msg)
  msg = msg:gsub("%(columns: .*$", "")
  return msg:find("lua_pushfstring", 1, true) or msg:find("%%[%a]") or
      msg:find("(null)", 1, true)
end

-- A returned tensor must describe itself consistently (no overflowed count).
local function check_result(desc, r)
  if not is_tensor(r) or not pcall(r.dim, r) then return end   -- not a tensor, or released
  local prod = 1.0
  for _, s in ipairs(r:shape()) do
    if s < 0 then return fail(desc, "result has a negative size " .. s) end
    prod = prod * s
  end
  if prod ~= r:numel() or prod > 2 ^ 40 then
    fail(desc, ("result has %s elements but shape %s"):format(r:numel(), tostring(r:shape())))
  end
end

-- Call fn with arguments made by the named makers; returns ok, first result
-- or error message.
local ONLY = os.getenv("LURN_TORTURE_ONLY")   -- rerun the calls whose text contains this
local VERBOSE = os.getenv("LURN_TORTURE_VERBOSE")   -- print every error message to stderr

-- Wall time per function: a function that is slow by nature (a benchmark,
-- a whole training run) gets the calls that fit in this many seconds, the
-- rest are skipped and the function is listed as cut short.
local TARGET_SECONDS = tonumber(os.getenv("LURN_TORTURE_TARGET_SECONDS")) or 0.5
local target = { name = nil, deadline = math.huge, skipped = 0 }
local cut_short = {}

local function begin_target(name)
  local spent = target.name and lurn.clock() - target.start or 0
  if spent > 0.5 then slow[#slow + 1] = ("%s: %.2f s in all"):format(target.name, spent) end
  if target.skipped > 0 then
    cut_short[#cut_short + 1] = ("%s (%d calls skipped)"):format(target.name, target.skipped)
  end
  target.name, target.start, target.skipped = name, lurn.clock(), 0
  target.deadline = target.start + TARGET_SECONDS
end

-- and the calls whose text contains any of these (comma-separated): to look
-- past one known finding while chasing others, never in the suite
local AVOID = {}
for w in (os.getenv("LURN_TORTURE_AVOID") or ""):gmatch("[^,]+") do AVOID[#AVOID + 1] = w end

local function call(desc, fn, names)
  if ONLY and not desc:find(ONLY, 1, true) then return false, "skipped" end
  for _, w in ipairs(AVOID) do
    if desc:find(w, 1, true) then return false, "skipped" end
  end
  if lurn.clock() > target.deadline then
    target.skipped = target.skipped + 1
    return false, "skipped for time"
  end
  stats.calls = stats.calls + 1
  progress:seek("set")
  progress:write(desc, "\n")
  progress:flush()
  local args, n = {}, #names
  for i = 1, n do args[i] = BYNAME[names[i]]() end
  local t0 = lurn.clock()
  debug.sethook(function() error("torture: instruction budget exceeded", 2) end, "", BUDGET)
  local res = table.pack(pcall(fn, table.unpack(args, 1, n)))
  debug.sethook()
  local dt = lurn.clock() - t0
  if dt > 0.25 then slow[#slow + 1] = ("%s (%.2f s)"):format(desc, dt) end
  if VERBOSE then
    local f = io.open("/proc/self/statm")
    local rss = f and tonumber(f:read("a"):match("^%d+ (%d+)")) or 0
    if f then f:close() end
    if rss * 4096 > 512 * 2 ^ 20 then io.stderr:write(desc, " -> RSS ", rss * 4 // 1024, " MB\n") end
  end
  if lurn.threads() ~= base_threads then lurn.threads(base_threads) end
  if res[1] then
    stats.ok = stats.ok + 1
    for i = 2, res.n do check_result(desc, res[i]) end
    return true, res[2]
  end
  local e = res[2]
  -- the error object may be a hostile argument passed through (a function that re-raises what it
  -- was given): read it without its metamethods
  local okm, msg = pcall(function()
    return type(e) == "string" and e or tostring(type(e) == "table" and rawget(e, "message") or e)
  end)
  if not okm then msg = "(an error object that cannot be printed)" end
  if VERBOSE then io.stderr:write(desc, " -> ", msg, "\n") end
  if msg:find("torture: instruction budget exceeded", 1, true) then
    stats.budget = stats.budget + 1
  else
    stats.errors = stats.errors + 1
    if garbled(msg) then fail(desc, "garbled message: " .. msg) end
  end
  return false, msg
end

local function describe(name, names, method)
  if method then
    return ("%s:%s(%s)"):format(names[1], name, table.concat(names, ", ", 2))
  end
  return ("%s(%s)"):format(name, table.concat(names, ", "))
end

local rng_state = 12345
local function pick(list)   -- a fixed LCG, so every run makes the same calls
  rng_state = (rng_state * 1103515245 + 12345) % 2147483648
  return list[rng_state % #list + 1]
end

-- The hostile sweep of one function: no args, each pool value alone, two
-- arguments (a plausible first, then each pool value), and random triples.
local function sweep(name, fn, ntriples, firsts)
  if SKIP[name] then return end
  stats.targets = stats.targets + 1
  begin_target(name)
  local pool = {}
  for i, e in ipairs(POOL) do pool[i] = e[1] end
  call(describe(name, {}), fn, {})
  for _, v in ipairs(pool) do call(describe(name, { v }), fn, { v }) end
  for _, a in ipairs(firsts or FIRSTS) do
    for _, v in ipairs(pool) do call(describe(name, { a, v }), fn, { a, v }) end
  end
  for _ = 1, ntriples or 40 do
    local names = { pick(FIRSTS), pick(pool), pick(pool) }
    call(describe(name, names), fn, names)
  end
end

-- The sweep of one method: each receiver with no argument, with each pool
-- value, then random pairs.
local function sweep_method(name, fn, selves, npairs)
  if SKIP[name] then return end
  stats.targets = stats.targets + 1
  begin_target(name)
  local pool = {}
  for i, e in ipairs(POOL) do pool[i] = e[1] end
  for _, s in ipairs(selves) do
    call(describe(name, { s }, true), fn, { s })
    for _, v in ipairs(pool) do call(describe(name, { s, v }, true), fn, { s, v }) end
  end
  for _ = 1, npairs or 60 do
    local names = { pick(selves), pick(pool), pick(pool) }
    call(describe(name, names, true), fn, names)
  end
end

local function sorted_functions(t)
  local out = {}
  for k, v in pairs(t) do
    if type(k) == "string" and type(v) == "function" then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

local function callable(v)
  if type(v) == "function" then return true end
  local mt = type(v) == "table" and getmt(v)
  return mt and type(mt) == "table" and mt.__call ~= nil or false
end

-- Methods of an instance: the functions reachable from its metatable
-- through __index tables, metatables and __parent links (so both a plain
-- `Class.__index = Class` and lurn.class's protected metatables, whose
-- methods hide behind an __index function, are walked: for the latter the
-- class comes from class.of). Metamethods and private helpers (__*) are not
-- methods.
local class_of = (function()
  local ok, class = pcall(require, "lurn.class")
  return ok and type(class) == "table" and type(class.of) == "function" and class.of or nil
end)()

local function methods_of(obj)
  local seen, out, visited_t = {}, {}, {}
  local queue = { getmt(obj), class_of and class_of(obj) or nil }
  local i = 1
  while i <= #queue and i < 64 do
    local t = queue[i]
    i = i + 1
    if type(t) == "table" and not visited_t[t] then
      visited_t[t] = true
      for k, v in pairs(t) do
        if type(k) == "string" and type(v) == "function" and not k:find("^__") and not seen[k] then
          seen[k] = true
          out[#out + 1] = k
        end
      end
      local m = getmt(t)
      queue[#queue + 1] = rawget(t, "__index")
      queue[#queue + 1] = rawget(t, "__parent")
      if type(m) == "table" then queue[#queue + 1] = rawget(m, "__index") end
    end
  end
  table.sort(out)
  return out
end

-- Argument templates (pool names) that build a working object from most
-- constructors and factories: nn layers, containers, data classes,
-- optimizers, schedules.
local OBJ_TEMPLATES = {
  {}, { "3" }, { "3", "2" }, { "3", "2", "{}" }, { "'max'" }, { "'tanh'" }, { "2", "3" },
  { "{module}" }, { "texts" }, { "dataset-spec" }, { "params" }, { "params", "{}" },
  { "optimizer" }, { "optimizer", "{}" },
}

-- Objects made by fn: one per template that works, at most two, each a
-- table whose metatable has an __index (an instance with methods).
local function instances(fn)
  local out = {}
  for _, tpl in ipairs(OBJ_TEMPLATES) do
    if lurn.clock() > target.deadline then break end   -- the function's time is up
    local args = {}
    for i, n in ipairs(tpl) do args[i] = BYNAME[n]() end
    debug.sethook(function() error("torture: instruction budget exceeded", 2) end, "", BUDGET)
    local ok, obj = pcall(fn, table.unpack(args, 1, #tpl))
    debug.sethook()
    local mt = ok and type(obj) == "table" and getmt(obj)
    if type(mt) == "table" and rawget(mt, "__index") ~= nil then
      out[#out + 1] = obj
      if #out == 2 then break end
    end
  end
  return out
end

-- A method sweep on a live object: it is the receiver of every call (the
-- pool only fills the other arguments). The object is shared by the calls,
-- as in real use; a broken object afterwards still must not crash.
local function sweep_object(label, obj)
  stats.objects = stats.objects + 1
  for _, m in ipairs(methods_of(obj)) do
    local name = label .. ":" .. m
    if not SKIP[name] then
      local fn = obj[m]
      BYNAME["<obj>"] = function() return obj end
      sweep_method(name, fn, { "<obj>" }, 10)
    end
  end
end

-- ---- groups ------------------------------------------------------------------------

-- Explore a library table: sweep each function (constructors and factories
-- included), sweep the methods of one object of each class they build, and
-- descend into sub-tables (classes such as data.Vocab, nn.seq) once.
local swept_classes, visited = {}, {}

local function explore_function(label, fn, n)
  sweep(label, fn, n, LIB_FIRSTS)
  for _, obj in ipairs(instances(fn)) do
    local mt = getmt(obj)
    if not swept_classes[mt] then
      swept_classes[mt] = true
      sweep_object(("%s->%s"):format(label, tostring(rawget(mt, "__name") or "object")), obj)
    end
  end
end

local function explore_table(label, t, depth)
  if visited[t] then return end
  visited[t] = true
  for _, k in ipairs(sorted_functions(t)) do
    if not k:find("^__") then explore_function(label .. "." .. k, t[k], 20) end
  end
  local subs = {}
  for k, v in pairs(t) do
    if type(k) == "string" and not k:find("^__") and type(v) == "table" then subs[#subs + 1] = k end
  end
  table.sort(subs)
  for _, k in ipairs(subs) do
    local v = t[k]
    if callable(v) and not visited[v] then explore_function(label .. "." .. k, v, 20) end
    if depth < 2 then explore_table(label .. "." .. k, v, depth + 1) end
  end
end

local GROUPS = {}

function GROUPS.core()
  for _, k in ipairs(sorted_functions(core)) do sweep("core." .. k, core[k], 40) end
  for _, k in ipairs(sorted_functions(lurn)) do
    if core[k] == nil then sweep("lurn." .. k, lurn[k], 40) end
  end
end

function GROUPS.tensor()
  for _, k in ipairs(sorted_functions(core.Tensor)) do
    sweep_method("Tensor." .. k, core.Tensor[k], SELVES, 60)
  end
  -- the metamethods too: arithmetic on mixed operands, length, tostring
  local mt = getmetatable(lurn.zeros(1))
  for _, k in ipairs(sorted_functions(mt)) do
    if k ~= "__index" then sweep_method("Tensor." .. k, mt[k], SELVES, 20) end
  end
end

function GROUPS.nn()
  explore_table("lurn.nn", lurn.nn, 0)
end

-- Every module under lua/lurn/ except lurn itself and nn (own group).
local function library_modules()
  local dir = (os.getenv("LURN_TEST_SOURCE_DIR") or "../..") .. "/lua"
  local p = io.popen(("cd '%s' && find lurn -name '*.lua' | sort"):format(dir))
  local mods = {}
  for f in p:lines() do
    local m = f:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    if m ~= "lurn" and m ~= "lurn.nn" and not m:find("^lurn%.nn%.") then mods[#mods + 1] = m end
  end
  p:close()
  return mods
end

function GROUPS.lib()
  visited[lurn.nn] = true   -- the nn group's
  for _, modname in ipairs(library_modules()) do
    local ok, mod = pcall(require, modname)
    if not ok then
      -- a file loaded some other way (a sandbox prelude), not a module
      notes[#notes + 1] = ("not a module: %s (%s)"):format(modname, tostring(mod):sub(1, 120))
    elseif type(mod) == "table" then
      if callable(mod) then explore_function(modname, mod, 20) end
      explore_table(modname, mod, 0)
    elseif type(mod) == "function" then
      explore_function(modname, mod, 20)
    end
  end
end

-- Templates for finding a call that works; positions holding tensors (or
-- lists of tensors) are then released one at a time.
local TEMPLATES = {
  { "f[2,3]" }, { "f[2,3]", "f[2,3]" }, { "f[2,3]", "1" }, { "f[2,3]", "1", "2" },
  { "f[2,3]", "1", "1" }, { "f[2,3]", "f[2,3]", "f[2,3]" }, { "f[3]" }, { "f[3]", "f[3]" },
  { "f[3]", "f[3]", "{}", "{}" }, { "i[3]" }, { "f[2,3]", "2", "i[3]" },
  { "{f[2,3],f[2,3]}", "1" }, { "{f[2,3],f[2,3]}" }, { "f[2,3]", "{1,2}" }, { "f[3]", "1", "3" },
  { "f[2,2,3]", "2", "1", "3" }, { "f[2,3]", "3" },
}
local RELEASED_OF = { ["f[2,3]"] = "released", ["f[3]"] = "released", ["i[3]"] = "released",
  ["f[2,2,3]"] = "released", ["{f[2,3],f[2,3]}"] = "{released}" }
-- Functions that take a released tensor on purpose.
local ACCEPTS_RELEASED = {
  ["Tensor.free"] = "releasing twice is a no-op by design (idempotent, like __close)",
  ["lurn.is_tensor"] = "asks for the type only",
}

function GROUPS.released()
  for _, tpl in ipairs(TEMPLATES) do
    for _, a in ipairs(tpl) do assert(BYNAME[a], "template names an unknown value " .. a) end
  end
  local targets = {}
  for _, k in ipairs(sorted_functions(core)) do targets[#targets + 1] = { "core." .. k, core[k] } end
  for _, k in ipairs(sorted_functions(core.Tensor)) do
    targets[#targets + 1] = { "Tensor." .. k, core.Tensor[k] }
  end
  for _, k in ipairs(sorted_functions(lurn.optim)) do
    targets[#targets + 1] = { "lurn.optim." .. k, lurn.optim[k] }
  end
  local found, checked = 0, 0
  for _, tg in ipairs(targets) do
    local name, fn = tg[1], tg[2]
    if not ACCEPTS_RELEASED[name] and not SKIP[name] then
      for _, tpl in ipairs(TEMPLATES) do
        if call(describe(name, tpl), fn, tpl) then
          found = found + 1
          for i, a in ipairs(tpl) do
            -- only where a tensor is required: neither nil nor a string works there
            local function with(v)
              local names = table.move(tpl, 1, #tpl, 1, {})
              names[i] = v
              return names
            end
            if RELEASED_OF[a] and not call(describe(name, with("nil")), fn, with("nil"))
                and not call(describe(name, with("'x'")), fn, with("'x'")) then
              local names = with(RELEASED_OF[a])
              local ok, msg = call(describe(name, names), fn, names)
              checked = checked + 1
              if ok then fail(describe(name, names), "accepted a released tensor")
              elseif not tostring(msg):find("released", 1, true) then
                fail(describe(name, names), "error does not say the tensor is released: " .. tostring(msg))
              end
            end
          end
          break
        end
      end
    end
  end
  io.stdout:write(("released: %d of %d functions have a working template; %d released-argument calls checked")
    :format(found, #targets, checked), "\n")
  if found < #targets // 2 then fail("released", "fewer than half the functions found a template") end
end

-- ---- worker and driver -----------------------------------------------------------

if arg and arg[1] == "--worker" then
  local group = assert(GROUPS[arg[2]], "unknown group")
  progress = assert(io.open("progress", "w"))
  os.exit = function() error("torture: os.exit called") end   -- luacheck: ignore
  lurn.seed(1)
  local real_print = print
  print = function() end   -- luacheck: ignore (lurn.cli.info and friends talk)
  group()
  print = real_print   -- luacheck: ignore
  for _, f in ipairs(failures) do print("FAIL " .. f) end
  begin_target(nil)
  for _, f in ipairs(slow) do print("SLOW " .. f) end
  for _, f in ipairs(cut_short) do print("CUT SHORT " .. f) end
  for _, f in ipairs(notes) do print("NOTE " .. f) end
  print(("DONE %s: %d functions and methods (%d live objects), %d calls: %d returned, %d raised, " ..
    "%d cut by the instruction budget"):format(arg[2], stats.targets, stats.objects, stats.calls,
    stats.ok, stats.errors, stats.budget))
  io.stdout:flush()
  -- an exit that skips lua_close would hide leaks from LeakSanitizer; this one runs it
  return
end

local lu = require "luaunit"

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function run_group(group)
  local exe = os.getenv("LURN_TEST_BUILD_DIR") .. "/lurn"
  local here = os.getenv("LURN_TEST_SOURCE_DIR") .. "/tests/lua/test_torture.lua"
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. sh_quote(dir)))
  local asan = os.getenv("ASAN_OPTIONS")
  asan = (asan and asan ~= "" and asan .. ":" or "") .. "allocator_may_return_null=1"
  local cmd = ("cd %s && ASAN_OPTIONS=%s LURN_THREADS=1 timeout -k 5 120 %s %s --worker %s " ..
    "</dev/null >out 2>&1; echo $? >rc"):format(sh_quote(dir), sh_quote(asan), sh_quote(exe),
    sh_quote(here), group)
  os.execute(cmd)
  local function slurp(f)
    local h = io.open(dir .. "/" .. f)
    if not h then return "" end
    local s = h:read("a")
    h:close()
    return s
  end
  local out, rc, last = slurp("out"), tonumber(slurp("rc")), slurp("progress"):match("[^\n]*")
  os.execute("rm -rf " .. sh_quote(dir))
  local summary = out:match("DONE [^\n]*")
  if rc ~= 0 or not summary then
    local tail = out:sub(-3000)
    lu.fail(("torture %s: the child exited with status %s (124 = timeout, >128 = signal) " ..
      "during the call\n  %s\nend of its output:\n%s"):format(group, tostring(rc), last, tail))
  end
  local fails = {}
  for l in out:gmatch("FAIL [^\n]*") do fails[#fails + 1] = l end
  print("  " .. summary)
  local n = 0
  for l in out:gmatch("[^\n]+") do
    if (l:find("^SLOW ") or l:find("^CUT SHORT ") or l:find("^NOTE ")) and n < 12 then
      print("    " .. l)
      n = n + 1
    end
  end
  if #fails > 0 then
    lu.fail(("torture %s: %d findings\n%s"):format(group, #fails,
      table.concat(fails, "\n", 1, math.min(#fails, 40))))
  end
end

TestTorture = {}
function TestTorture:test_core() run_group("core") end
function TestTorture:test_tensor() run_group("tensor") end
function TestTorture:test_nn() run_group("nn") end
function TestTorture:test_lib() run_group("lib") end
function TestTorture:test_released() run_group("released") end

os.exit(lu.LuaUnit.run(), true)
