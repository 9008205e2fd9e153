--- lurn forecast RUN_DIR|CHECKPOINT [--steps N] [--origin TIME|end] [--csv FILE] [--svg FILE] [--json]
--
-- Forecasts a series with a trained forecast run (config task = "forecast"):
-- an autoregressive forecast of N steps (each predicted step is fed back as
-- input for the next). The series is the one saved with the run, or --csv
-- FILE (same columns). The forecast starts at the run's test part (so the
-- truth is there to compare with), at --origin TIME (the first forecast row),
-- or after the last row with --origin end. Prints one row per step: time,
-- forecast and, where known, the truth; then RMSE and MAE against the truth.
-- --svg FILE draws the last years of history, the truth and the forecast.
local argparse = require "argparse"
local errors = require "lurn.errors"
local saved = require "lurn.run.saved"
local json = require "lurn.run.json"

local M = {}

M.summary_text = "forecast a time series with a trained forecast run"

local function parser()
  local p = argparse("lurn forecast", "Forecast a time series with a trained forecast run.")
  p:add_help(false)
  p:usage("usage: lurn forecast RUN_DIR|CHECKPOINT [--steps N] [--origin TIME|end] [--csv FILE] "
    .. "[--svg FILE] [--json]")
  p:argument("model", "a run directory (its best checkpoint) or a checkpoint file")
      :argname("RUN_DIR|CHECKPOINT")
  p:option("--steps", "steps to forecast (default: to the end of the series, or 12 after it)")
      :convert(math.tointeger):argname("N")
  p:option("--origin", "the time of the first forecast row, or 'end' for after the last row "
    .. "(default: the run's test part, else end)"):argname("TIME|end")
  p:option("--csv", "the series to forecast, a CSV file with the run's columns (default: the "
    .. "series saved with the run)"):argname("FILE")
  p:option("--svg", "also draw the forecast against the truth in this SVG file"):argname("FILE")
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:flag("--json", "print the forecast as one JSON object")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage error, 3 data error, 4 checkpoint error.\n"
    .. "See docs/forecast.md.")
  return p
end

function M.help() return parser():get_help() end

--- The time `h` steps after the last of `times` (monthly YYYY-MM, daily
-- YYYY-MM-DD, whole numbers with their step), or "+h" when the format is
-- not one of these.
-- @param times the series' times
-- @param h steps after the last
-- @return text
function M.time_after(times, h)
  local last = times[#times]
  local y, m = last:match("^(%d%d%d%d)%-(%d%d)$")
  if y then
    local k = tonumber(y) * 12 + tonumber(m) - 1 + h
    return ("%04d-%02d"):format(k // 12, k % 12 + 1)
  end
  local yy, mm, dd = last:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if yy then
    -- noon: a daylight-saving shift cannot move the date
    local t = os.time { year = tonumber(yy), month = tonumber(mm), day = tonumber(dd) + h, hour = 12 }
    return os.date("%Y-%m-%d", t)
  end
  local a, b = math.tointeger(tonumber(last)), math.tointeger(tonumber(times[#times - 1] or ""))
  if a and b then return tostring(a + h * (a - b)) end
  return ("%s+%d"):format(last, h)
end

local function find_origin(times, origin)
  if origin == "end" then return #times + 1 end
  for i, t in ipairs(times) do if t == origin then return i end end
  errors.raise("usage", "--origin %s: no row has that time (the series runs from %s to %s; or "
    .. "give --origin end)", origin, times[1], times[#times])
end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn forecast --help)", o) end
  if o.steps ~= nil and o.steps < 1 then errors.raise("usage", "--steps must be a positive integer") end
  local s = saved.load(o.model, { which = o.checkpoint })
  if s.task ~= "forecast" then
    errors.raise("usage", "%s: a %s run, not a forecast run (config task = \"forecast\")", s.path,
      tostring(s.task or "classify"))
  end
  local task = require "lurn.tasks.forecast"
  local times, cols, test = task.series_of(s, o.csv)
  local n = #times
  local origin
  if o.origin then origin = find_origin(times, o.origin)
  else origin = test <= n and test or n + 1 end
  local need = task.history_needed(s)
  if origin - 1 < need then
    errors.raise("usage", "the forecast from row %d (%s) has %d rows of history; the model needs %d",
      origin, times[origin] or "end", origin - 1, need)
  end
  local steps = o.steps or (origin <= n and n - origin + 1 or 12)
  local pred = task.forecast(s, cols, origin, steps)
  local rows = {}
  for h = 1, steps do
    local r = origin + h - 1
    local t = r <= n and times[r] or M.time_after(times, r - n)
    local truth = {}
    for j = 1, #cols do truth[j] = cols[j][r] end
    rows[h] = { time = t, forecast = pred[h], truth = r <= n and truth or nil }
  end
  -- errors against the truth, per column, where the truth is known
  local errs = {}
  for j, name in ipairs(s.names) do
    local se, ae, k = 0, 0, 0
    for _, row in ipairs(rows) do
      if row.truth then
        local d = row.forecast[j] - row.truth[j]
        se, ae, k = se + d * d, ae + math.abs(d), k + 1
      end
    end
    if k > 0 then errs[j] = { name = name, rmse = math.sqrt(se / k), mae = ae / k, n = k } end
  end
  if o.svg then
    local svg = require "lurn.run.svg"
    local series = {}
    local first = math.max(1, origin - 4 * math.max(s.season, 12))
    for j, name in ipairs(s.names) do
      local hist, fc = {}, {}
      for r = first, math.min(n, origin + steps - 1) do hist[#hist + 1] = { r, cols[j][r] } end
      if origin > 1 then fc[1] = { origin - 1, cols[j][origin - 1] } end
      for h, row in ipairs(rows) do fc[#fc + 1] = { origin + h - 1, row.forecast[j] } end
      local tag = #s.names > 1 and (" " .. name) or ""
      series[#series + 1] = { name = "truth" .. tag, points = hist }
      series[#series + 1] = { name = "forecast" .. tag, points = fc, dashed = true }
    end
    local text = svg.lines(series, {
      title = ("%s: %d-step forecast from %s"):format(s.names[1], steps, rows[1].time),
      panel = errs[1] and ("RMSE %.3f, MAE %.3f against the truth (%d steps)"):format(errs[1].rmse,
        errs[1].mae, errs[1].n) or "no truth to compare with",
      xlabel = s.time_name,
      xtick = function(x)
        local r = math.floor(x + 0.5)
        if r >= 1 and r <= n then return times[r] end
        if r > n then return M.time_after(times, r - n) end
        return ""
      end,
    })
    local core = require "lurn.core"
    local okw, err = pcall(core.write_file_atomic, o.svg, text)
    if not okw then errors.raise("usage", "--svg %s: cannot write (%s)", o.svg, tostring(err)) end
  end
  if o.json then
    local list = {}
    for h, row in ipairs(rows) do
      list[h] = { time = row.time, forecast = row.forecast, truth = row.truth }
    end
    local e = {}
    for j in ipairs(s.names) do e[#e + 1] = errs[j] end
    print(json.object({ checkpoint = s.path, columns = s.names, origin = rows[1].time, steps = steps,
      rows = list, errors = e, svg = o.svg }, { "checkpoint", "columns", "origin", "steps" }))
    return 0
  end
  local head = { ("%-12s"):format(s.time_name or "time") }
  for _, name in ipairs(s.names) do
    head[#head + 1] = ("%12s %12s"):format(name:sub(1, 12), "truth")
  end
  print(table.concat(head, " "))
  for _, row in ipairs(rows) do
    local parts = { ("%-12s"):format(row.time) }
    for j in ipairs(s.names) do
      parts[#parts + 1] = ("%12.3f %12s"):format(row.forecast[j],
        row.truth and ("%.3f"):format(row.truth[j]) or "-")
    end
    print(table.concat(parts, " "))
  end
  for j in ipairs(s.names) do
    local e = errs[j]
    if e then
      print(("%s: RMSE %.3f, MAE %.3f over %d steps with a known truth"):format(e.name, e.rmse,
        e.mae, e.n))
    end
  end
  if o.svg then print("wrote " .. o.svg) end
  return 0
end

return M
