--- lurn.sweep.space — a search space from command-line words, its trials.
--
--   local space = require "lurn.sweep.space"
--   local s = space.parse(cfg, { "optim.lr=1e-3,3e-3", "model.hidden=64..128", "seed=1..3" })
--   s.axes    -- { {key=, kind="list"|"range"|"log"|"uniform", values=|lo=,hi=, text=}, ... }
--   s.fixed   -- { "train.epochs=2", ... }  plain overrides, the same in every trial
--   s.seeds   -- { "1", "2", "3" } or nil: the replicate axis
--   local points = space.grid(s)                -- every combination
--   local points = space.sample(s, n, seed)     -- n random points (the first k of n+m are
--                                               -- the k of n: a sweep can grow)
--   space.check(cfg, s, points)   -- every trial's overrides through config.apply
--   space.describe(s), space.diff(old, new)
--
-- A point is { params = { {key=, text=}, ... } } in axis order; text is what
-- goes on the trial's command line (the user's own text for a listed value,
-- the shortest round-trip text for a sampled number).
--
-- Value syntax (after key=):
--   a,b,c            choices (grid: each; random: one of them, uniformly)
--   a..b             integers a to b (integer keys only; grid: each, random: uniform)
--   log(a,b)         log-uniform between a and b (a > 0; random search only)
--   uniform(a,b)     uniform between a and b (random search only)
--   v                a single value: fixed, like lurn train's overrides
-- The values are typed by the key's schema entry (lurn.config), never by
-- their look: data.train=a..b is a file name, not a range.
local config = require "lurn.config"
local errors = require "lurn.errors"

local M = {}

-- split "a,b,{1,2},'x,y'" on the commas outside quotes and braces
local function split_commas(s)
  local out, depth, quote, start = {}, 0, nil, 1
  for i = 1, #s do
    local c = s:sub(i, i)
    if quote then
      if c == quote and s:sub(i - 1, i - 1) ~= "\\" then quote = nil end
    elseif c == '"' or c == "'" then quote = c
    elseif c == "{" then depth = depth + 1
    elseif c == "}" then depth = depth - 1
    elseif c == "," and depth == 0 then
      out[#out + 1] = s:sub(start, i - 1)
      start = i + 1
    end
  end
  out[#out + 1] = s:sub(start)
  return out
end

-- the checked value of key=text (lurn.config parses and checks it)
local function checked(cfg, key, text)
  -- one value alone: the rules between keys are checked per trial (space.check)
  local out = config.apply(cfg, { key .. "=" .. text }, { check_paths = false, check_cross = false })
  local v = out
  for p in key:gmatch("[^.]+") do v = v[p] end
  return v
end

local function number_text(v)
  if math.type(v) == "integer" then return tostring(v) end
  for digits = 1, 17 do
    local s = ("%." .. digits .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
  return ("%.17g"):format(v)
end
M.number_text = number_text

local function bad(word, fmt, ...)
  errors.raise("usage", "'%s': " .. fmt, word, ...)
end

-- one axis from one word; nil for a plain override (a single value)
local function parse_axis(cfg, word)
  local key, text = word:match("^%s*([^=]-)%s*=(.*)$")
  if not key or key == "" then bad(word, "a search axis is key=values, e.g. optim.lr=1e-3,3e-3") end
  local e = config.lookup(key)
  if not e or e.type == "section" then
    checked(cfg, key, text)   -- lurn.config's message: the closest key, the valid ones
  end
  local numeric = e.type == "integer" or e.type == "number"
  local fn, a, b = text:match("^(%a+)%(%s*([^,]+)%s*,%s*([^,]+)%s*%)$")
  if fn == "log" or fn == "uniform" then
    if not numeric then bad(word, "%s(a,b) needs a number key; %s is a %s", fn, key, e.type) end
    local lo, hi = checked(cfg, key, a), checked(cfg, key, b)
    if not (lo < hi) then bad(word, "the range is empty (%s is not below %s)", a, b) end
    if fn == "log" and lo <= 0 then bad(word, "log(a,b) needs a > 0") end
    return { key = key, kind = fn, lo = lo, hi = hi, integer = e.type == "integer", text = text }
  end
  local ra, rb = text:match("^%s*(%-?%d+)%s*%.%.%s*(%-?%d+)%s*$")
  if ra and numeric then
    if e.type ~= "integer" then
      bad(word, "a..b is a range of integers; %s is a number: list values, or use "
        .. "uniform(a,b) or log(a,b) with --trials", key)
    end
    local lo, hi = checked(cfg, key, ra), checked(cfg, key, rb)
    if lo > hi then bad(word, "the range is empty (%d > %d)", lo, hi) end
    if hi - lo >= 10000 then bad(word, "%d values; a grid axis takes at most 10000", hi - lo + 1) end
    local values = {}
    for v = lo, hi do values[#values + 1] = tostring(v) end
    return { key = key, kind = "range", lo = lo, hi = hi, values = values, text = text }
  end
  local values = split_commas(text)
  if #values == 1 then
    checked(cfg, key, text)
    return nil
  end
  local seen = {}
  for _, v in ipairs(values) do
    if v == "" then bad(word, "an empty value in the list") end
    local cv = config.value_text(checked(cfg, key, v))
    if seen[cv] then bad(word, "%s is listed twice", v) end
    seen[cv] = true
  end
  return { key = key, kind = "list", values = values, text = text }
end

--- The search space of a list of key=values words (see the header).
function M.parse(cfg, words)
  local s = { axes = {}, fixed = {}, words = {} }
  local keys = {}
  for _, w in ipairs(words) do
    s.words[#s.words + 1] = w
    local axis = parse_axis(cfg, w)
    local key = w:match("^%s*([^=]-)%s*=")
    if keys[key] then errors.raise("usage", "%s is given twice ('%s' and '%s')", key, keys[key], w) end
    keys[key] = w
    if not axis then
      s.fixed[#s.fixed + 1] = w
    elseif axis.key == "seed" then
      if not axis.values then
        errors.raise("usage", "'%s': seeds are a replicate axis: list them (seed=1,2,3) or "
          .. "give a range (seed=1..3)", w)
      end
      s.seeds = axis.values
    else
      s.axes[#s.axes + 1] = axis
    end
  end
  return s
end

--- Whether the space needs random search (a continuous range).
function M.is_random_only(s)
  for _, a in ipairs(s.axes) do
    if not a.values then return a end
  end
  return nil
end

--- Every combination, the first axis slowest.
function M.grid(s)
  local points = { { params = {} } }
  for _, a in ipairs(s.axes) do
    local next_points = {}
    for _, p in ipairs(points) do
      for _, v in ipairs(a.values) do
        local params = { table.unpack(p.params) }
        params[#params + 1] = { key = a.key, text = v }
        next_points[#next_points + 1] = { params = params }
      end
    end
    points = next_points
  end
  return points
end

-- splitmix64: a small generator of its own, so that the points depend on the
-- sweep's seed only (not on lurn's generator, nor on Lua's version)
local function generator(seed)
  local state = seed
  local function next64()
    state = state + 0x9e3779b97f4a7c15
    local z = state
    z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
    z = (z ~ (z >> 27)) * 0x94d049bb133111eb
    return z ~ (z >> 31)
  end
  -- a float in [0, 1) from the top 53 bits
  return function() return (next64() >> 11) * (1.0 / (1 << 53)) end
end

local function draw(a, u)
  if a.kind == "list" or a.kind == "range" then
    return a.values[math.floor(u() * #a.values) + 1]
  end
  local x
  if a.kind == "log" then
    x = math.exp(math.log(a.lo) + u() * (math.log(a.hi) - math.log(a.lo)))
  else
    x = a.lo + u() * (a.hi - a.lo)
  end
  if a.integer then
    x = math.floor(x + 0.5)
    return tostring(math.max(a.lo, math.min(a.hi, x)))
  end
  -- four significant digits: a sampled value reads well and is exact on a
  -- command line, and the search loses nothing at that resolution
  return number_text(tonumber(("%.4g"):format(x)))
end

--- n random points; point i depends only on (seed, i).
function M.sample(s, n, seed, first)
  local points = {}
  for i = first or 1, n do
    local u = generator((seed * 1000003 + i) & 0x7fffffffffffffff)
    local params = {}
    for _, a in ipairs(s.axes) do params[#params + 1] = { key = a.key, text = draw(a, u) } end
    points[#points + 1] = { params = params }
  end
  return points
end

--- A point's overrides (fixed ones first, then its parameters, then seed).
function M.overrides(s, point, seed)
  local out = { table.unpack(s.fixed) }
  for _, p in ipairs(point.params) do out[#out + 1] = p.key .. "=" .. p.text end
  if seed then out[#out + 1] = "seed=" .. seed end
  return out
end

--- Every trial's overrides through config.apply (types, ranges, the rules
-- between keys, data files): a bad one is refused before anything runs.
function M.check(cfg, s, points)
  for i, p in ipairs(points) do
    for _, seed in ipairs(s.seeds or { false }) do
      local ok, err = pcall(config.apply, cfg, M.overrides(s, p, seed or nil))
      if not ok then
        if not errors.is(err) then error(err, 0) end
        local words = {}
        for _, q in ipairs(p.params) do words[#words + 1] = q.key .. "=" .. q.text end
        if seed then words[#words + 1] = "seed=" .. seed end
        -- the value came from the command line: no config file to name
        errors.raise(err.code, "point %d (%s): %s", i, table.concat(words, " "),
          (err.message:gsub("^%(config%): ", "")))
      end
    end
  end
end

--- The space as plain data (sweep.jsonl's header, for resuming).
function M.describe(s)
  local axes = {}
  for _, a in ipairs(s.axes) do axes[#axes + 1] = a.key .. "=" .. a.text end
  return { axes = axes, fixed = s.fixed, seeds = s.seeds or {} }
end

--- Lines saying how two described spaces differ (empty when they do not).
function M.diff(old, new)
  local lines = {}
  local function compare(name, a, b)
    local sa, sb = {}, {}
    for _, x in ipairs(a or {}) do sa[x] = true end
    for _, x in ipairs(b or {}) do sb[x] = true end
    for _, x in ipairs(a or {}) do
      if not sb[x] then lines[#lines + 1] = ("  - %s %s"):format(name, x) end
    end
    for _, x in ipairs(b or {}) do
      if not sa[x] then lines[#lines + 1] = ("  + %s %s"):format(name, x) end
    end
  end
  compare("axis", old.axes, new.axes)
  compare("fixed", old.fixed, new.fixed)
  compare("seed", old.seeds, new.seeds)
  return lines
end

return M
