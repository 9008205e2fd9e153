--- lurn.util — small helpers shared by the library.
-- @module lurn.util
local M = {}

-- The chunk-name prefix of lurn's own files ("@/path/lua/lurn/"): frames
-- whose source starts with it are the library's, every other Lua frame is
-- the user's (a script, the prompt, a config, a test).
local LIB = debug.getinfo(1, "S").source:match("^(@.*/)util%.lua$") or "@lua/lurn/"
-- The same prefix as it appears in a message ("/path/lua/lurn/x.lua:12: ").
local LIB_POS = "^" .. LIB:sub(2):gsub("%p", "%%%0") .. "[%w_/]+%.lua:%d+: "

--- A message without a leading position inside lurn's own files
-- ("/.../lua/lurn/nn/Linear.lua:47: bad argument" -> "bad argument").
-- @tparam string msg an error message
-- @treturn string msg, its lurn-internal position removed (others kept)
-- @treturn string|nil the removed position ("nn/Linear.lua:47"), or nil
-- @usage local msg = util.strip_position("boom")   --> "boom" (a message without a position is kept)
function M.strip_position(msg)
  local pos = msg:match(LIB_POS)
  if not pos then return msg, nil end
  return msg:sub(#pos + 1), pos:sub(#LIB):match("^(.-): $")
end

--- An error's message without its leading position, whoever's it is
-- ("probe.lua:3: nn.Linear: ..." -> "nn.Linear: ..."): for a wrapper that
-- puts its own context in front and raises again.
-- @param err an error value
-- @treturn string the message
-- @usage print(util.message("probe.lua:3: nn.Linear: bad size"))   --> nn.Linear: bad size
function M.message(err)
  return (tostring(err):gsub("^[^\n]-:%d+: ", ""))
end

--- Raise `msg` at the first caller outside lurn's library, so an argument
-- error names the user's file and line, however deep inside lurn it was
-- found (tail calls and pcall frames included). Without such a caller (the
-- `lurn` commands) the message has no position. A leading lurn-internal
-- position in `msg` is dropped.
-- @tparam string msg the message, starting with the function's name
-- @usage local ok, err = pcall(function() util.user_error("f: x must be a number") end)
-- print(err)   -- "<the caller's file>:<line>: f: x must be a number"
function M.user_error(msg)
  msg = M.strip_position(tostring(msg))
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then level = 0; break end
    if info.what ~= "C" and info.source:sub(1, #LIB) ~= LIB then break end
    level = level + 1
  end
  error(msg, level)
end

--- util.quote(s [, width]) — a piece of a user's file for a message: in single quotes, control
-- bytes and quotes as \xNN, cut to width bytes (default 40, "..." added when cut).
-- @tparam string s
-- @tparam[opt=40] int width
-- @treturn string
-- @usage print(util.quote("it's"))   --> 'it\x27s'
function M.quote(s, width)
  width = width or 40
  s = tostring(s)
  local cut = #s > width
  s = s:sub(1, width):gsub("[%z\1-\31\127'\"]", function(c) return ("\\x%02X"):format(c:byte()) end)
  return "'" .. s .. (cut and "...'" or "'")
end

--- util.show_names(names [, max [, width]]) — names read from a user's file (a header's
-- columns), for a message: each in single quotes with control bytes and quotes as \xNN (so
-- a binary file cannot spill into the terminal, nor its text pass for the message's own
-- words), each cut to width bytes (default 40), at most max of them (default 12).
-- @tparam {string,...} names
-- @tparam[opt=12] int max
-- @tparam[opt=40] int width
-- @treturn string
-- @usage print(util.show_names({ "time", "it's" }))   --> 'time', 'it\x27s'
function M.show_names(names, max, width)
  max = max or 12
  local out = {}
  for i = 1, math.min(#names, max) do out[i] = M.quote(names[i], width) end
  if #names > max then out[#out + 1] = ("... %d in all"):format(#names) end
  return table.concat(out, ", ")
end

--- util.levenshtein(a, b) — edit distance between two strings (insertions, deletions, substitutions).
-- @usage print(util.levenshtein("epochs", "epohcs"))   --> 2
function M.levenshtein(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- util.closest(name, known) — the key of `known` (a set: name -> anything) closest to `name`; ties go
-- to the alphabetically first, so the suggestion never depends on table order.
-- @usage print(util.closest("layer", { layers = true, hidden = true }))   --> layers
function M.closest(name, known)
  local best, bd = nil, math.huge
  for k in pairs(known) do
    local d = M.levenshtein(tostring(name), k)
    if d < bd or (d == bd and k < best) then best, bd = k, d end
  end
  return best
end

--- util.check_keys(t, known, what [, level, skip]) — raise "<what>: unknown option 'x' (did you mean 'y'?)" for the first key
-- of `t` that is neither in `known` nor in `skip`, at the user's line
-- (util.user_error; `level` is no longer used and kept for the callers).
-- @usage local ok, err = pcall(function() util.check_keys({ lr = 1, epochz = 2 }, { lr = 1, epochs = 1 }, "f") end)
-- print(err)   -- "...: f: unknown option 'epochz' (did you mean 'epochs'?)"
function M.check_keys(t, known, what, _, skip)
  if type(t) ~= "table" then
    M.user_error(("%s: options must be a table, got %s"):format(what, type(t)))
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if known[k] == nil and not (skip and skip[k]) then
      M.user_error(("%s: unknown option '%s' (did you mean '%s'?)"):format(what, k,
        M.closest(k, known)))
    end
  end
end

return M
