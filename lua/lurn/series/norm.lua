--- lurn.series.norm — the transform a forecaster sees a series through, and
-- its inverse.
--
--   local norm = require "lurn.series.norm"
--   local st = norm.fit(train_columns, {log = true, season = 12, diff = 1, standardize = true})
--   local z = norm.apply(st, columns)          -- z[j][k]: column j, transformed step k
--   norm.lost(st)                              -- rows the differencing uses up (z[j][1] is row lost+1)
--   local x = norm.next_value(st, history, zj) -- the next value of column j in original units
--
-- In this order, each optional: log (every value must be > 0), seasonal
-- differencing at lag `season` (w_t - w_{t-season}), `diff` first
-- differences (0, 1 or 2), then standardisation to mean 0 and standard
-- deviation 1 per column. The mean and standard deviation are fitted on the
-- columns given to fit (the training part only, so nothing of the test part
-- leaks into the model); the state is plain data, saved in the checkpoint.
local M = {}

local function transformed(st, xs)
  local w = {}
  for i, x in ipairs(xs) do w[i] = st.log and math.log(x) or x end
  local u = w
  if st.season > 0 then
    u = {}
    for i = st.season + 1, #w do u[#u + 1] = w[i] - w[i - st.season] end
  end
  for _ = 1, st.diff do
    local d = {}
    for i = 2, #u do d[#d + 1] = u[i] - u[i - 1] end
    u = d
  end
  return u, w
end

--- Rows used up at the start by the differencing (season + diff).
-- @param st a state from fit
-- @return an integer
function M.lost(st) return st.season + st.diff end

--- Fit the transform on the training columns.
-- @param columns list of columns (lists of numbers), the training part
-- @param opts log (boolean), season (lag of the seasonal difference, 0 = none),
--   diff (0..2), standardize (boolean), names (column names for messages)
-- @return the state (plain data)
function M.fit(columns, opts)
  local st = { log = opts.log and true or false, season = opts.season or 0, diff = opts.diff or 0,
    standardize = opts.standardize ~= false, mean = {}, sd = {} }
  if st.diff < 0 or st.diff > 2 or math.type(st.diff) ~= "integer" then
    error(("norm.fit: diff must be 0, 1 or 2, got %s"):format(tostring(st.diff)), 2)
  end
  for j, xs in ipairs(columns) do
    if st.log then
      for i, x in ipairs(xs) do
        if x <= 0 then
          error(("column '%s' row %d: %s <= 0, and log = true needs positive values")
            :format(opts.names and opts.names[j] or tostring(j), i, tostring(x)), 0)
        end
      end
    end
    local u = transformed(st, xs)
    if #u < 2 then
      error(("%d training rows leave %d after differencing (season %d, diff %d): too few")
        :format(#xs, #u, st.season, st.diff), 0)
    end
    local mean, ss = 0, 0
    for _, v in ipairs(u) do mean = mean + v end
    mean = mean / #u
    for _, v in ipairs(u) do ss = ss + (v - mean) ^ 2 end
    local sd = math.sqrt(ss / (#u - 1))
    if not st.standardize then mean, sd = 0, 1 end
    if sd < 1e-12 then sd = 1 end   -- a constant column: centred only
    st.mean[j], st.sd[j] = mean, sd
  end
  return st
end

--- Check that values can go through the transform (log needs them > 0).
-- @return nil, or row index and value of the first that cannot
function M.invalid(st, xs)
  if not st.log then return nil end
  for i, x in ipairs(xs) do if x <= 0 then return i, x end end
end

--- Transform columns (any part of the series).
-- @param st a state from fit
-- @param columns list of columns of equal length n
-- @return list of transformed columns, each of length n - lost(st)
function M.apply(st, columns)
  local out = {}
  for j, xs in ipairs(columns) do
    local u = transformed(st, xs)
    local m, s = st.mean[j], st.sd[j]
    for k, v in ipairs(u) do u[k] = (v - m) / s end
    out[j] = u
  end
  return out
end

--- The next value of a column in original units, from its history and the
-- next transformed (standardised) value.
-- @param st a state from fit
-- @param j the column
-- @param xs the column's history up to now (at least lost(st) + diff values)
-- @param z the next transformed value
-- @return the value
function M.next_value(st, j, xs, z)
  local v = z * st.sd[j] + st.mean[j]
  local n = #xs
  -- only the recent past matters: diff + season + 1 rows are enough
  local need = st.season + st.diff + 1
  local recent = table.move(xs, math.max(1, n - need + 1), n, 1, {})
  local u, w = transformed({ log = st.log, season = st.season, diff = 0 }, recent)
  -- undo the first differences, the highest order first
  local levels = { u }
  for k = 1, st.diff do
    local d, prev = {}, levels[k]
    for i = 2, #prev do d[#d + 1] = prev[i] - prev[i - 1] end
    levels[k + 1] = d
  end
  for k = st.diff, 1, -1 do
    local lv = levels[k]
    v = v + lv[#lv]
  end
  if st.season > 0 then v = v + w[#w + 1 - st.season] end
  if st.log then v = math.exp(v) end
  return v
end

return M
