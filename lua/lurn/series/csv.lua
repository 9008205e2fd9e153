--- lurn.series.csv — a time series from a CSV file with a header.
--
--   local csv = require "lurn.series.csv"
--   local s = csv.read("airline-passengers.csv", {time = "Month", columns = {"Passengers"}})
--   s.times        -- {"1949-01", "1949-02", ...}: the time column, as written
--   s.names        -- {"Passengers"}: the value columns, in the order asked for
--   s.values[j][i] -- column j at row i, a number
--   s.n, s.path, s.time_name
--
-- One row per time step, oldest first. The time column (opts.time: a name,
-- default the first column) is kept as text; it must not repeat, and when
-- every time looks like an ISO date (1949-01, 1981-01-02, 1981-01-02T10:00)
-- the times must increase. The value columns (opts.columns: names, default
-- every column but the time) must hold numbers: an empty or non-numeric
-- field, a row with the wrong number of fields or an unterminated quote is a
-- "data" error naming the file, the line (1-based) and the column. Fields
-- may be quoted ("a ""b"", c"); blank lines are skipped; a UTF-8 BOM and CRLF
-- line ends are accepted.
local errors = require "lurn.errors"
local util = require "lurn.util"

local M = {}

--- The fields of one CSV line, or nil and what is wrong.
-- @param line the line, without its end
-- @return a list of strings, or nil and a message
function M.split_line(line)
  local fields, i, n = {}, 1, #line
  while true do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "unterminated quoted field" end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      local c = line:sub(i, i)
      if c == "," then
        i = i + 1
      elseif i > n then
        return fields
      else
        return nil, ("text after the closing quote of field %d"):format(#fields)
      end
    else
      local comma = line:find(",", i, true)
      local f = line:sub(i, (comma or n + 1) - 1)
      if f:find('"', 1, true) then
        return nil, ("a quote inside unquoted field %d"):format(#fields + 1)
      end
      fields[#fields + 1] = f
      if not comma then return fields end
      i = comma + 1
    end
  end
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function iso(t) return t:match("^%d%d%d%d%-%d%d$") or t:match("^%d%d%d%d%-%d%d%-%d%d") end

--- Read a series (see the module header).
-- @param path the CSV file
-- @param opts time (column name, default the first), columns (list of names,
--   default all but the time column)
-- @return the series table {path, time_name, names, times, values, n}
function M.read(path, opts)
  opts = opts or {}
  local f, err = io.open(path, "rb")
  if not f then errors.raise("data", "%s: cannot open (%s)", path, tostring(err)) end
  local text = f:read("a")
  f:close()
  if text:sub(1, 3) == "\239\187\191" then text = text:sub(4) end
  local function fail(line, fmt, ...)
    errors.raise("data", "%s:%d: " .. fmt, path, line, ...)
  end
  local header, hline
  local times, lines, values, col_index, names, time_index = {}, {}, {}, nil, nil, nil
  local lineno = 0
  for line in (text:sub(-1) == "\n" and text or text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if line:find("%S") then
      local fields, why = M.split_line(line)
      if not fields then fail(lineno, "%s", why) end
      if not header then
        header, hline = fields, lineno
        local pos = {}
        for j, h in ipairs(header) do
          h = trim(h)
          header[j] = h
          if h == "" then fail(lineno, "header: column %d has no name", j) end
          if pos[h] then fail(lineno, "header: column %s appears twice (columns %d and %d)", util.quote(h),
            pos[h], j) end
          pos[h] = j
        end
        if #header < 2 then
          fail(lineno, "header: %d column(s); a series needs a time column and a value column",
            #header)
        end
        local function find(name, what)
          local j = pos[name]
          if not j then
            fail(lineno, "header: no column %s (%s; the columns are %s)", util.quote(name), what,
              util.show_names(header))
          end
          return j
        end
        time_index = (opts.time and opts.time ~= "") and find(opts.time, "the time column") or 1
        col_index, names = {}, {}
        local wanted = opts.columns
        if not wanted or #wanted == 0 then
          wanted = {}
          for j, h in ipairs(header) do if j ~= time_index then wanted[#wanted + 1] = h end end
        end
        for k, name in ipairs(wanted) do
          local j = find(name, "a value column")
          if j == time_index then fail(lineno, "column %s is the time column, not a value", util.quote(name)) end
          col_index[k], names[k], values[k] = j, name, {}
        end
      else
        if #fields ~= #header then
          fail(lineno, "%d field(s), the header has %d", #fields, #header)
        end
        local i = #times + 1
        local t = trim(fields[time_index])
        if t == "" then fail(lineno, "column %s: empty time", util.quote(header[time_index])) end
        times[i] = t
        for k, j in ipairs(col_index) do
          local raw = trim(fields[j])
          local v = tonumber(raw)
          if raw == "" then
            fail(lineno, "column %s: missing value (lurn does not fill gaps)", util.quote(header[j]))
          elseif not v or v ~= v or v == math.huge or v == -math.huge then
            fail(lineno, "column %s: %s is not a finite number", util.quote(header[j]),
              util.quote(raw))
          end
          values[k][i] = v
        end
        lines[i] = lineno
      end
    end
  end
  if not header then errors.raise("data", "%s: empty file (no header)", path) end
  local n = #times
  if n == 0 then errors.raise("data", "%s:%d: a header but no rows", path, hline) end
  local all_iso = true
  for i = 1, n do if not iso(times[i]) then all_iso = false; break end end
  local seen = {}
  for i = 1, n do
    local t = times[i]
    if seen[t] then fail(lines[i], "time %s repeats line %d", util.quote(t), lines[seen[t]]) end
    seen[t] = i
    if all_iso and i > 1 and t <= times[i - 1] then
      fail(lines[i], "time '%s' does not follow '%s' (line %d): rows must be in time order", t,
        times[i - 1], lines[i - 1])
    end
  end
  return { path = path, time_name = header[time_index], names = names, times = times,
    values = values, n = n, lines = lines }
end

--- Parse a comma-separated list of column names ("" -> {}).
-- @param s the text, e.g. "a, b"
-- @return a list of names
function M.column_list(s)
  local out = {}
  for part in (s or ""):gmatch("[^,]+") do
    local p = trim(part)
    if p ~= "" then out[#out + 1] = p end
  end
  return out
end

return M
