--- lurn.run.json — lua-cjson with the settings run files need.
--
--   json.encode(v)                 compact JSON (shortest round-trip numbers)
--   json.object(t, keys)           an object with `keys` first, in that order,
--                                  then the rest sorted (stable, diff-able lines)
--   json.pretty(v)                 sorted keys, two-space indent (summary.json, env.json)
--   json.decode(s)
--
-- NaN and infinities are written as null (JSON has no such numbers; a
-- diverged loss is still a record).
local cjson = require("cjson").new()
cjson.encode_number_precision(14)   -- numbers go through number() below
cjson.encode_invalid_numbers("null")
cjson.decode_invalid_numbers(false)

local M = {}

-- lurn's own decoder (the checkpoint's): integers stay integers, which cjson
-- does not do under Lua 5.4.
function M.decode(s) return require("lurn.core").json_decode(s) end

local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #t
end

-- Numbers: integers as integers, floats with the fewest digits that read
-- back the same (so 0.1 prints as 0.1, not 0.10000000000000001).
local function number(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  for digits = 6, 17 do
    local s = ("%." .. digits .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
  return ("%.17g"):format(v)
end

-- cjson writes "/" as "\/" (legal, but paths read badly); every "\/" it
-- writes is that escape, so undoing it is exact.
local function str(s) return (cjson.encode(s):gsub("\\/", "/")) end

local function encode(v, indent, depth, first)
  local t = type(v)
  if t == "number" then return number(v) end
  if t == "string" then return str(v) end
  if t ~= "table" then return cjson.encode(v) end
  local nl = indent and ("\n" .. indent:rep(depth + 1)) or ""
  local close = indent and ("\n" .. indent:rep(depth)) or ""
  local sep = indent and ": " or ":"
  local parts = {}
  if next(v) ~= nil and is_array(v) then
    for i = 1, #v do parts[i] = nl .. encode(v[i], indent, depth + 1) end
    return "[" .. table.concat(parts, ",") .. close .. "]"
  end
  local keys, seen = {}, {}
  for _, k in ipairs(first or {}) do
    if v[k] ~= nil then keys[#keys + 1] = k; seen[k] = true end
  end
  local rest = {}
  for k in pairs(v) do
    if not seen[k] then rest[#rest + 1] = tostring(k) end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  if #keys == 0 then return "{}" end
  for i, k in ipairs(keys) do
    local x = v[k]
    if x == nil then x = v[tonumber(k)] end
    parts[i] = nl .. str(k) .. sep .. encode(x, indent, depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. close .. "}"
end

function M.encode(v) return encode(v, nil, 0) end
function M.object(t, keys) return encode(t, nil, 0, keys) end
function M.pretty(v) return encode(v, "  ", 0) .. "\n" end

return M
