--- lurn.config — experiment configs: sandboxed, closed schema, overrides.
--
--   local config = require "lurn.config"
--   cfg, info = config.load(path, overrides)  -- overrides: { "train.epochs=3", ... }
--   config.schema        -- the declared tree (lurn/config/schema.lua)
--   config.defaults()    -- the resolved default table
--   config.serialize(cfg) -- "return { ... }", sorted keys; config.load reads it back
--   config.diff(a, b)    -- { {key =, old =, new =}, ... } in schema order
--   config.model_spec(cfg, data) -- the model's spec; data = {vocab_size, num_classes, labels}
--   config.changes_text(info.changed) -- "  optim.lr: 0.001 -> 0.003" lines
--   config.apply(cfg, overrides) -- cfg with overrides applied and checked (no file read)
--
-- A config is a Lua file returning a table. It is evaluated in a fresh Lua
-- state of its own (a child process of the lurn binary, with CPU, memory and
-- wall-clock limits; see lurn/config/sandbox.lua and docs/security.md), and
-- only plain data comes back. cfg is that data checked against the closed
-- schema and merged over the defaults: every key present, nothing else.
--
-- info = { file =, source = (the file's text), extends = { files... },
--          changed = { {key =, old =, new =}, ... } (overrides vs the file) }
--
-- Any problem raises an error object { code = "config", message = } (see
-- lurn.errors) whose message names file:line (where the key is found in the
-- text), the full dotted key, the closest known key and the valid keys beside
-- it. A data file named in the config that does not exist raises code "data".
--
-- model.spec is either a spec (plain data, { type =, args = }) or, when the
-- config gave a function, { fn = { file =, line =, source = } }: the text of
-- the file that defines it. config.model_spec evaluates that function in a
-- new sandbox with the data's facts and returns the spec it builds; call it
-- for every custom model (it returns a data spec as it is).
require "lurn" -- first: under a stock lua5.4 it confines lurn.* to lurn's directory
local schema = require "lurn.config.schema"
local sandbox = require "lurn.config.sandbox"
local errors = require "lurn.errors"
local util = require "lurn.util"

local M = {}

M.schema = schema.root
M.leaves = schema.leaves
M.lookup = schema.lookup

--- Limits on evaluating one config file (tests make them smaller).
M.limits = {
  instructions = 20000000,    -- Lua VM instructions per evaluation
  memory = 64 * 1024 * 1024,  -- bytes the config's Lua state may hold
  seconds = 5,                -- wall clock per evaluation (the child is killed after)
  max_string = 16 * 1024 * 1024, -- largest string a library call may build
  max_bytes = 1024 * 1024,    -- size of a config file
  max_extends = 8,            -- depth of the extends chain
}

---------------------------------------------------------------------------
-- values: copies, equality, display

local function deepcopy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deepcopy(x) end
  return out
end
M.deepcopy = deepcopy

local function equal(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then
    return a == b and math.type(a) == math.type(b)
  end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(x, y)
    if type(x) == type(y) then return x < y end
    return type(x) == "number"
  end)
  return keys
end

local function number_text(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.huge then return "math.huge" end
  if v == -math.huge then return "-math.huge" end
  if v ~= v then return "0/0" end
  local s = ("%.17g"):format(v)
  for digits = 1, 17 do   -- the shortest text that reads back the same
    local t = ("%." .. digits .. "g"):format(v)
    if tonumber(t) == v then s = t; break end
  end
  if not s:find("[%.eEn]") then s = s .. ".0" end
  return s
end

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") and not ({
    ["and"] = 1, ["break"] = 1, ["do"] = 1, ["else"] = 1, ["elseif"] = 1, ["end"] = 1,
    ["false"] = 1, ["for"] = 1, ["function"] = 1, ["goto"] = 1, ["if"] = 1, ["in"] = 1,
    ["local"] = 1, ["nil"] = 1, ["not"] = 1, ["or"] = 1, ["repeat"] = 1, ["return"] = 1,
    ["then"] = 1, ["true"] = 1, ["until"] = 1, ["while"] = 1 })[k]
end

local function string_text(s)
  -- long multi-line texts (a model function's source) read best as long strings
  if #s > 80 and s:find("\n") then
    local eq = ""
    while s:find("]" .. eq .. "]", 1, true) do eq = eq .. "=" end
    return "[" .. eq .. "[\n" .. s .. "]" .. eq .. "]"
  end
  return ("%q"):format(s):gsub("\\\n", "\\n")
end

--- A value as Lua text (one line for scalars and small tables).
local function value_text(v, indent)
  indent = indent or ""
  local t = type(v)
  if t == "string" then return string_text(v) end
  if t == "number" then return number_text(v) end
  if t ~= "table" then return tostring(v) end
  local keys = sorted_keys(v)
  if #keys == 0 then return "{}" end
  local parts, n = {}, #v
  for _, k in ipairs(keys) do
    local kt
    if math.type(k) == "integer" and k >= 1 and k <= n then kt = ""
    elseif is_ident(k) then kt = k .. " = "
    else kt = "[" .. value_text(k) .. "] = " end
    parts[#parts + 1] = kt .. value_text(v[k], indent .. "  ")
  end
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #one + #indent <= 96 and not one:find("\n") then return one end
  return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. ",\n"
    .. indent .. "}"
end
M.value_text = value_text

---------------------------------------------------------------------------
-- errors

-- the line of `parts` (a dotted key split) in a config's text, or nil: the
-- first `part =` (or `["part"] =`) after the previous part's position
local function key_line(source, parts)
  if not source then return nil end
  local pos = 1
  for _, part in ipairs(parts) do
    if type(part) ~= "string" then break end
    local esc = part:gsub("%W", "%%%0")
    local s = source:find("%f[%w_]" .. esc .. "%s*=[^=]", pos)
      or source:find("%[%s*[\"']" .. esc .. "[\"']%s*%]%s*=", pos)
    if not s then return nil end
    pos = s
  end
  local line = 1
  for _ in source:sub(1, pos - 1):gmatch("\n") do line = line + 1 end
  return line
end
M.key_line = key_line

local function raise(code, lines)
  errors.raise(code, table.concat(lines, "\n"))
end

-- problems of one file are collected, then raised together
local function new_report(file, source)
  return { file = file, source = source, lines = {} }
end

local function add(report, parts, msg)
  local where = report.file
  local line = key_line(report.source, parts)
  if where and line then where = where .. ":" .. line end
  report.lines[#report.lines + 1] = (where and where .. ": " or "") .. msg
  report.at = report.at or {}
  report.at[#report.lines] = line or math.huge
end

-- the report's problems in the order of their lines in the file
local function by_line(report)
  local idx = {}
  for i = 1, #report.lines do idx[i] = i end
  local at = report.at or {}
  table.sort(idx, function(a, b)
    local la, lb = at[a] or math.huge, at[b] or math.huge
    if la ~= lb then return la < lb end
    return a < b
  end)
  local out = {}
  for i, j in ipairs(idx) do out[i] = report.lines[j] end
  return out
end

local function join(parts, n)
  local out = {}
  for i = 1, n or #parts do
    local p = parts[i]
    out[#out + 1] = type(p) == "string" and p or ("[" .. tostring(p) .. "]")
  end
  return (table.concat(out, "."):gsub("%.%[", "["))
end

-- "did you mean": the closest key of the section, or a key of the same name
-- elsewhere in the schema (epochs = 3 at the top means train.epochs)
local function suggestion(parts, section)
  local name = tostring(parts[#parts])
  for _, leaf in ipairs(schema.leaves()) do
    if leaf.key:match("[^.]+$") == name then return leaf.key end
  end
  local known = {}
  for k in pairs(section.fields) do known[k] = true end
  local best = util.closest(name, known)
  if best and util.levenshtein(name, best) <= math.max(2, #name // 3) then
    parts = { table.unpack(parts, 1, #parts - 1) }
    parts[#parts + 1] = best
    return join(parts)
  end
  local all = {}
  for _, leaf in ipairs(schema.leaves()) do all[leaf.key] = true end
  best = util.closest(join(parts), all)
  if best and util.levenshtein(join(parts), best) <= 3 then return best end
  return nil
end

-- rest: the key's own path below the unknown part, when known (an override
-- trian.epochs=3, or trian = {epochs = 3}): then the whole dotted path is
-- named and matched against the schema's leaves (did you mean train.epochs).
local function unknown_key(report, parts, section, rest)
  if rest and #rest > 0 then
    local full = { table.unpack(parts) }
    for _, r in ipairs(rest) do full[#full + 1] = r end
    local all = {}
    for _, leaf in ipairs(schema.leaves()) do all[leaf.key] = true end
    local best = util.closest(join(full), all)
    if best and util.levenshtein(join(full), best) <= math.max(2, #parts[#parts] // 3) then
      local where = #parts > 1 and ("'" .. join(parts, #parts - 1) .. "'") or "the top level"
      add(report, parts, ("unknown key '%s' (did you mean '%s'?); valid keys at %s: %s"):format(
        join(full), best, where, table.concat(section.order, ", ")))
      return
    end
  end
  local key = join(parts)
  local sug = suggestion(parts, section)
  local where = #parts > 1 and ("'" .. join(parts, #parts - 1) .. "'") or "the top level"
  add(report, parts, ("unknown key '%s'%s; valid keys at %s: %s"):format(key,
    sug and (" (did you mean '" .. sug .. "'?)") or "", where,
    table.concat(section.order, ", ")))
end

---------------------------------------------------------------------------
-- checking values against the schema

local spec_check

local function type_name(v)
  if sandbox.is_function(v) then return "function" end
  if math.type(v) == "float" then return "number " .. number_text(v) end
  if math.type(v) == "integer" then return "integer " .. v end
  if type(v) == "string" then return "string " .. string_text(v) end
  return type(v)
end

--- The problem with `v` for leaf entry `e` (nil when fine) and v normalised
-- (an integral float for an integer key becomes an integer).
local function check_leaf(e, v)
  if e.type == "spec" then return spec_check(v), v end
  if e.type == "integer" then
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
      v = math.tointeger(v)
    end
    if math.type(v) ~= "integer" then return ("must be an integer, got %s"):format(type_name(v)) end
  elseif e.type == "number" then
    if type(v) ~= "number" then return ("must be a number, got %s"):format(type_name(v)) end
    if v ~= v or v == math.huge or v == -math.huge then
      return ("must be a finite number, got %s"):format(number_text(v))
    end
  elseif type(v) ~= e.type then
    return ("must be a %s, got %s"):format(e.type, type_name(v))
  end
  if e.choices then
    for _, c in ipairs(e.choices) do if c == v then return nil, v end end
    local best = util.closest(v, (function()
      local s = {}
      for _, c in ipairs(e.choices) do s[c] = true end
      return s
    end)())
    return ("must be one of %s, got '%s' (did you mean '%s'?)"):format(
      table.concat(e.choices, "|"), v, best)
  end
  if e.min and v < e.min then return ("must be >= %s, got %s"):format(number_text(e.min), number_text(v)) end
  if e.max and v > e.max then return ("must be <= %s, got %s"):format(number_text(e.max), number_text(v)) end
  if e.check then
    local p = e.check(v)
    if p then return ("must be %s, got %s"):format(p, number_text(v)) end
  end
  return nil, v
end
M.check_leaf = check_leaf

-- a model spec: { type = "<nn constructor>", args = { plain data and specs } },
-- or the marker of a function, or { fn = {file =, line =, source =} } read back
local function plain_problem(v, depth)
  if depth > 32 then return "is nested deeper than 32 levels" end
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return nil end
  if sandbox.is_function(v) then return "holds a function (only model.spec itself may be one)" end
  if t ~= "table" then return "holds a " .. t end
  for k, x in pairs(v) do
    if type(k) ~= "string" and math.type(k) ~= "integer" then return "has a key of type " .. type(k) end
    local p = plain_problem(x, depth + 1)
    if p then return p end
  end
  return nil
end

local function check_spec_tree(v, depth)
  if type(v) ~= "table" then return nil end
  if type(v.type) == "string" and type(v.args) == "table" then
    local names = {}
    for _, n in ipairs(sandbox.nn_names()) do names[n] = true end
    if not names[v.type] then
      return ("names '%s', which is not an nn constructor (did you mean '%s'?)"):format(v.type,
        util.closest(v.type, names))
    end
  end
  for _, x in pairs(v) do
    local p = depth < 64 and check_spec_tree(x, depth + 1)
    if p then return p end
  end
  return nil
end

function spec_check(v)
  if sandbox.is_function(v) then return nil end
  if type(v) ~= "table" then
    return ("must be a model spec or a function returning one, got %s"):format(type_name(v))
  end
  if type(v.fn) == "table" and v.type == nil then
    local f = v.fn
    if type(f.source) ~= "string" or math.type(f.line) ~= "integer" or type(f.file) ~= "string" then
      return "fn must be { file =, line =, source = }"
    end
    return nil
  end
  if type(v.type) ~= "string" or type(v.args) ~= "table" then
    return "must be a spec { type = 'LSTM', args = {...} } (build it with nn.LSTM(...))"
  end
  return plain_problem(v, 0) or check_spec_tree(v, 0)
end

-- check table t of one file against section `sec`; the result holds only
-- checked, normalised values
local function check_section(report, t, sec, parts)
  local out = {}
  for _, k in ipairs(sorted_keys(t)) do
    local v = t[k]
    local p = { table.unpack(parts) }
    p[#p + 1] = k
    local e = type(k) == "string" and sec.fields[k]
    if not e then
      if type(k) ~= "string" then
        add(report, parts, ("'%s' holds a list item [%s]; a section holds named keys only (%s)")
          :format(join(parts) ~= "" and join(parts) or "the config", tostring(k),
            table.concat(sec.order, ", ")))
      else
        local only = type(v) == "table" and not sandbox.is_function(v) and next(v)
        local rest = only and type(only) == "string" and next(v, only) == nil and { only } or nil
        unknown_key(report, p, sec, rest)
      end
    elseif e.type == "section" then
      if type(v) ~= "table" or sandbox.is_function(v) then
        add(report, p, ("'%s' is a section and must be a table, got %s"):format(join(p), type_name(v)))
      else
        out[k] = check_section(report, v, e, p)
      end
    else
      local problem, nv = check_leaf(e, v)
      if problem then
        add(report, p, ("%s %s"):format(join(p), problem))
      else
        out[k] = nv
      end
    end
  end
  return out
end

---------------------------------------------------------------------------
-- reading and evaluating files

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- `via`: " (extended by x.lua:3)" for an extends target, so that every
-- message names the file the user gave too
local function read_config_file(path, root, display, via)
  local real, err = sandbox.realpath(path)
  if not real then
    raise("config", { ("%s: cannot open config: %s%s"):format(display, err, via) })
  end
  if root and real:sub(1, #root + 1) ~= root .. "/" then
    raise("config", { ("%s: extends must name a file inside the config's directory %s%s")
      :format(display, root, via) })
  end
  local text, rerr = sandbox.read_regular(real, M.limits.max_bytes)
  if not text then raise("config", { ("%s: %s%s"):format(display, rerr, via) }) end
  return text, real
end

-- evaluate one file's text; `trusted_text`: the file was named by the user
-- (its own errors may quote it), else an extends target, whose contents an
-- error never echoes (it may be a file of secrets the config pointed at)
local function evaluate(display, text, trusted_text, via)
  if text:find("\0", 1, true) then
    raise("config", { ("%s: not a config (a binary file)%s"):format(display, via) })
  end
  -- a UTF-8 byte-order mark (some editors write one) is not Lua
  local source = text:gsub("^\239\187\191", "")
  local ok, r = sandbox.eval { source = source, chunkname = "@" .. display, mode = "config",
                               limits = M.limits }
  if not ok then
    local msg = (r.message or "?"):gsub("^lurn%.config%.prelude:%d+: ", "")
    if msg:sub(1, #display + 1) ~= display .. ":" then msg = display .. ": " .. msg end
    if not trusted_text and (r.kind == "syntax" or r.kind == "error") then
      local line = msg:match(":(%d+):")
      msg = ("%s%s: not a valid config (%s)"):format(display, line and (":" .. line) or "",
        r.kind == "syntax" and "Lua syntax error" or "error while evaluating it")
    end
    raise("config", { msg .. via })
  end
  if type(r) ~= "table" or sandbox.is_function(r) then
    raise("config", { ("%s: a config must return a table, got %s%s"):format(display, type_name(r),
      via) })
  end
  return r
end

-- the function markers of a file's table become { fn = {file, line, source} }
local function attach_functions(t, display, text)
  local m = type(t.model) == "table" and t.model
  if m and sandbox.is_function(m.spec) then
    m.spec = { fn = { file = display, line = m.spec.line, source = text } }
  end
end

-- load `path` and what it extends: the list of {display, text, table}, base first
local function load_chain(path, root, chain, depth, seen, via)
  local display = path
  via = via or ""
  local text, real = read_config_file(path, root, display, via)
  if seen[real] then
    raise("config", { ("%s: extends forms a cycle: %s"):format(display,
      table.concat(chain, " -> ") .. " -> " .. display) })
  end
  if depth > M.limits.max_extends then
    raise("config", { ("%s: extends is nested deeper than %d files%s"):format(display,
      M.limits.max_extends, via) })
  end
  seen[real] = true
  chain[#chain + 1] = display
  local t = evaluate(display, text, depth == 0, via)
  attach_functions(t, display, text)
  local files = {}
  local ext = rawget(t, "extends")
  t.extends = nil
  if ext ~= nil then
    if type(ext) ~= "string" or ext == "" then
      local r = new_report(display, text)
      add(r, { "extends" }, "extends must be the path of a config file (a string), got "
        .. type_name(ext))
      raise("config", r.lines)
    end
    if not ext:match("%.lua$") then
      raise("config", { ("%s:%s: extends must name a .lua config file, got %s"):format(display,
        key_line(text, { "extends" }) or "?", string_text(ext)) })
    end
    local dir = dirname(display)
    local base = (ext:sub(1, 1) == "/" or dir == ".") and ext or (dir .. "/" .. ext)
    files = load_chain(base, root or dirname(real), chain, depth + 1, seen,
      (" (extended by %s:%s)"):format(display, key_line(text, { "extends" }) or "?"))
  end
  files[#files + 1] = { display = display, text = text, t = t }
  return files
end

---------------------------------------------------------------------------
-- merging and overrides

-- src (a checked file table) over dst, section by section; a leaf replaces
local function merge(dst, src, sec)
  for k, v in pairs(src) do
    local e = sec.fields[k]
    if e.type == "section" then merge(dst[k], v, e) else dst[k] = deepcopy(v) end
  end
  return dst
end

local function defaults_of(sec)
  local out = {}
  for k, e in pairs(sec.fields) do
    if e.type == "section" then out[k] = defaults_of(e) else out[k] = deepcopy(e.default) end
  end
  return out
end

function M.defaults() return defaults_of(schema.root) end

-- a Lua literal from the command line: numbers, booleans, quoted strings,
-- {1, 2} lists; nil and a message when it is none of these
local function parse_literal(s)
  local pos = 1
  local function ws() pos = s:find("[^%s]", pos) or #s + 1 end
  local value
  local function str()
    local q = s:sub(pos, pos)
    local out, i = {}, pos + 1
    local esc = { n = "\n", t = "\t", r = "\r", ["\\"] = "\\", ['"'] = '"', ["'"] = "'",
                  a = "\a", b = "\b", f = "\f", v = "\v", ["0"] = "\0" }
    while i <= #s do
      local c = s:sub(i, i)
      if c == q then pos = i + 1; return table.concat(out) end
      if c == "\\" then
        local n = s:sub(i + 1, i + 1)
        if esc[n] then out[#out + 1] = esc[n]; i = i + 2
        else return nil, "unknown escape \\" .. n end
      else
        out[#out + 1] = c; i = i + 1
      end
    end
    return nil, "unfinished string"
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == '"' or c == "'" then return str() end
    if c == "{" then
      pos = pos + 1
      local list = {}
      ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return list end
      while true do
        local v, err = value()
        if v == nil then return nil, err end
        list[#list + 1] = v
        ws()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return list end
        if d ~= "," and d ~= ";" then return nil, "expected ',' or '}' in a list" end
        ws()
        if s:sub(pos, pos) == "}" then pos = pos + 1; return list end
      end
    end
    local word = s:match("^[%w_%.%+%-]+", pos)
    if not word then return nil, "not a Lua literal" end
    pos = pos + #word
    if word == "true" then return true end
    if word == "false" then return false end
    local n = tonumber(word)
    if n and not word:find("^%s") then return n end
    return nil, "not a Lua literal"
  end
  local v, err = value()
  ws()
  if v ~= nil and pos <= #s then return nil, "unexpected text after the value" end
  return v, err
end
M.parse_literal = parse_literal

-- an override's value for leaf entry e: parsed as a Lua literal, then
-- checked against the key's type; a string key takes bare text as it is
local function override_value(e, text)
  if e.type == "string" then
    local c = text:sub(1, 1)
    if c == '"' or c == "'" then
      local v, err = parse_literal(text)
      if v == nil then return nil, err end
      return v
    end
    return text
  end
  if e.type == "spec" then return nil, "is a model spec; set it in the config file" end
  local v, err = parse_literal(text)
  if v == nil then
    return nil, ("expects %s %s, got '%s' (%s)"):format(e.type == "integer" and "an" or "a",
      e.type, text, err)
  end
  return v
end

local function apply_overrides(cfg, overrides)
  local changed, problems = {}, {}
  local order = {}
  for _, o in ipairs(overrides or {}) do
    local key, text = tostring(o):match("^%s*([^=]-)%s*=(.*)$")
    local function bad(msg)
      problems[#problems + 1] = ("override '%s': %s"):format(o, msg)
    end
    if not key or key == "" then
      bad("an override is key=value, e.g. train.epochs=3")
    else
      local parts = {}
      for p in key:gmatch("[^.]+") do parts[#parts + 1] = p end
      local sec, e = schema.root, nil
      for i, p in ipairs(parts) do
        e = sec.fields[p]
        if not e then
          local r = { lines = {} }
          unknown_key(r, { table.unpack(parts, 1, i) }, sec, { table.unpack(parts, i + 1) })
          bad(r.lines[1])
          break
        end
        if i < #parts then
          if e.type ~= "section" then
            bad(("'%s' is not a section"):format(join(parts, i)))
            e = nil
            break
          end
          sec = e
        end
      end
      if e and e.type == "section" then
        local keys = {}
        for _, k in ipairs(e.order) do keys[#keys + 1] = key .. "." .. k end
        bad(("'%s' is a section; set one of its keys: %s"):format(key, table.concat(keys, ", ")))
      elseif e then
        local v, err = override_value(e, text)
        local problem
        if v == nil then
          problem = err
        else
          problem, v = check_leaf(e, v)
        end
        if problem then
          bad(("%s %s"):format(key, problem))
        else
          local t = cfg
          for i = 1, #parts - 1 do t = t[parts[i]] end
          if not changed[key] then
            changed[key] = { key = key, old = deepcopy(t[parts[#parts]]) }
            order[#order + 1] = key
          end
          changed[key].new = v
          t[parts[#parts]] = v
        end
      end
    end
  end
  if #problems > 0 then raise("config", problems) end
  local list = {}
  for _, k in ipairs(order) do
    if not equal(changed[k].old, changed[k].new) then list[#list + 1] = changed[k] end
  end
  return list
end

-- rules between keys, checked on the merged config
local function check_cross(cfg, report)
  local m = cfg.model
  if m.type == "custom" and m.spec == nil then
    add(report, { "model", "type" }, "model.type is 'custom' but model.spec is not set")
  elseif m.spec ~= nil and m.type ~= "custom" then
    add(report, { "model", "spec" }, ("model.spec is set but model.type is '%s' (set model.type "
      .. "= 'custom' to use it)"):format(m.type))
  end
  if cfg.optim.schedule == "warmup" and cfg.optim.warmup == 0 then
    add(report, { "optim", "warmup" }, "optim.schedule 'warmup' needs optim.warmup > 0 (steps)")
  end
  if cfg.data.folds == 1 then
    add(report, { "data", "folds" }, "data.folds must be 0 (off) or at least 2, got 1")
  end
end

local function check_paths(cfg, report)
  local missing = {}
  for _, k in ipairs { "train", "valid", "test" } do
    local p = cfg.data[k]
    if p ~= "" then
      local kind, err = sandbox.file_kind(p)
      -- a directory is data for the imdb reader (the aclImdb layout), which
      -- says itself what a directory lacks; for the other formats it is an error
      local dir_ok = kind == "directory" and (cfg.data.format == "imdb" or cfg.data.format == "auto")
      local problem = kind == nil and ("cannot read data file '%s': %s"):format(p, err)
        or (kind ~= "file" and not dir_ok and ("'%s' is a %s, not a data file"):format(p, kind))
      if problem then
        local line = key_line(report.source, { "data", k })
        missing[#missing + 1] = ("%s%s: data.%s: %s"):format(report.file or "(config)",
          line and (":" .. line) or "", k, problem)
      end
    end
  end
  if #missing > 0 then raise("data", missing) end
end

--- Load, check and resolve a config; see the header. opts.check_paths =
-- false skips the data-file check (lurn check --no-paths, tests).
function M.load(path, overrides, opts)
  opts = opts or {}
  if type(path) ~= "string" or path == "" then raise("config", { "config.load: a path is needed" }) end
  local files = load_chain(path, nil, {}, 0, {})
  local cfg = M.defaults()
  local top = files[#files]
  for _, f in ipairs(files) do
    local report = new_report(f.display, f.text)
    local checked = check_section(report, f.t, schema.root, {})
    if #report.lines > 0 then raise("config", by_line(report)) end
    merge(cfg, checked, schema.root)
  end
  local changed = apply_overrides(cfg, overrides)
  local report = new_report(top.display, top.text)
  check_cross(cfg, report)
  if #report.lines > 0 then raise("config", report.lines) end
  if opts.check_paths ~= false then check_paths(cfg, report) end
  local extends = {}
  for i = 1, #files - 1 do extends[#extends + 1] = files[i].display end
  return cfg, { file = path, source = top.text, extends = extends, changed = changed }
end

--- A resolved config with overrides applied, without reading any file
-- again: a new table and the list of changes ({key, old, new}). The values
-- are parsed and checked exactly as config.load's overrides, the rules
-- between keys too, and (unless opts.check_paths == false) the data files;
-- errors are raised the same way. lurn sweep checks every trial's overrides
-- with it before the first trial runs (and each value alone with
-- opts.check_cross = false: a rule between keys holds for whole trials).
function M.apply(cfg, overrides, opts)
  opts = opts or {}
  local out = deepcopy(cfg)
  local changed = apply_overrides(out, overrides)
  local report = new_report(opts.file, nil)
  if opts.check_cross ~= false then check_cross(out, report) end
  if #report.lines > 0 then raise("config", report.lines) end
  if opts.check_paths ~= false then check_paths(out, report) end
  return out, changed
end

---------------------------------------------------------------------------
-- output

--- "return { ... }" text of a config, keys sorted; config.load reads it back.
function M.serialize(cfg)
  return "return " .. value_text(cfg) .. "\n"
end

--- Leaves that differ between a and b, in schema order: { {key, old, new} }.
function M.diff(a, b)
  local out = {}
  for _, leaf in ipairs(schema.leaves()) do
    local va, vb = a, b
    for p in leaf.key:gmatch("[^.]+") do
      va = type(va) == "table" and va[p] or nil
      vb = type(vb) == "table" and vb[p] or nil
    end
    if not equal(va, vb) then out[#out + 1] = { key = leaf.key, old = va, new = vb } end
  end
  return out
end

--- Lines "  key: old -> new" for a diff or info.changed (what `lurn train`
-- prints at start for the overridden keys).
function M.changes_text(changed, indent)
  local lines = {}
  for _, c in ipairs(changed) do
    local function show(v)
      if v == nil then return "(unset)" end
      local s = value_text(v)
      return #s > 60 and s:sub(1, 57) .. "..." or s
    end
    lines[#lines + 1] = ("%s%s: %s -> %s"):format(indent or "  ", c.key, show(c.old), show(c.new))
  end
  return table.concat(lines, "\n")
end

--- The model's spec for a custom model. data = { vocab_size =, num_classes =,
-- labels = } is what a spec function receives as its second argument.
function M.model_spec(cfg, data)
  local spec = cfg.model and cfg.model.spec
  if spec == nil then
    raise("config", { "model.spec is not set (model.type = 'custom' needs one)" })
  end
  if spec.fn == nil then return deepcopy(spec) end
  local f = spec.fn
  local ok, r = sandbox.eval { source = f.source, chunkname = "@" .. f.file, mode = "model",
                               info = deepcopy(data or {}), limits = M.limits }
  if not ok then
    raise("config", { ("%s: model.spec function failed: %s"):format(f.file, r.message) })
  end
  local problem = sandbox.is_function(r) and "returned a function" or spec_check(r)
  if problem == nil and r.fn ~= nil then problem = "returned an fn marker" end
  if problem then
    raise("config", { ("%s:%d: model.spec function: its result %s"):format(f.file, f.line,
      problem) })
  end
  return r
end

return M
