--- lurn.sweep.report — a sweep's records and its ranked summary.
--
--   local report = require "lurn.sweep.report"
--   report.append(dir, record[, name]) -- a line of sweep.jsonl (or name), written at once
--   report.read(dir) -> header, {trial number -> last record}, records
--   report.rank(trials, metric, mode) -> groups, best first
--   report.write(dir, groups, opts)   -- summary.csv and summary.md
--   report.lines(groups, opts)        -- the table printed at the end
--
-- Trials that differ only in their seed are one group: the seed is a
-- replicate axis, reported as the mean and the sample standard deviation
-- of the score over the trials that completed. A group with a failed trial
-- says so in its status; a group without any score ranks last.
local json = require "lurn.run.json"
local progress = require "lurn.run.progress"

local M = {}

local function path(dir, name) return dir .. "/" .. name end

function M.append(dir, record, name)
  local f = assert(io.open(path(dir, name or "sweep.jsonl"), "ab"))
  f:write(json.object(record, { "event", "trial", "status" }), "\n")
  f:close()
end

--- sweep.jsonl: its header (the first "sweep" record), the last record of
-- each trial, and every record. A line cut short by a kill is skipped.
function M.read(dir)
  local f = io.open(path(dir, "sweep.jsonl"), "rb")
  if not f then return nil, {}, {} end
  local header, trials, all = nil, {}, {}
  for line in f:lines() do
    local ok, r = pcall(json.decode, line)
    if ok and type(r) == "table" then
      all[#all + 1] = r
      if r.event == "sweep" and not header then header = r end
      if r.event == "trial" and math.tointeger(r.trial) then trials[math.tointeger(r.trial)] = r end
    end
  end
  f:close()
  return header, trials, all
end

local function mean_sd(xs)
  local n = #xs
  if n == 0 then return nil, nil end
  local sum = 0
  for _, x in ipairs(xs) do sum = sum + x end
  local mean = sum / n
  local ss = 0
  for _, x in ipairs(xs) do ss = ss + (x - mean) ^ 2 end
  return mean, n > 1 and math.sqrt(ss / (n - 1)) or 0
end
M.mean_sd = mean_sd

--- Group trial records (a list) by their parameters; rank the groups.
function M.rank(records, mode)
  local groups, by_key = {}, {}
  for _, r in ipairs(records) do
    local key = r.point_key
    local g = by_key[key]
    if not g then
      g = { key = key, params = r.params, trials = {}, scores = {}, tests = {}, seconds = {},
        statuses = {} }
      by_key[key] = g
      groups[#groups + 1] = g
    end
    g.trials[#g.trials + 1] = r.trial
    g.statuses[r.status] = (g.statuses[r.status] or 0) + 1
    if r.status == "completed" and type(r.score) == "number" then g.scores[#g.scores + 1] = r.score end
    if r.status == "completed" and type(r.test) == "number" then g.tests[#g.tests + 1] = r.test end
    if type(r.seconds) == "number" then g.seconds[#g.seconds + 1] = r.seconds end
  end
  for _, g in ipairs(groups) do
    table.sort(g.trials)
    g.mean, g.sd = mean_sd(g.scores)
    g.test_mean = mean_sd(g.tests)
    g.time = mean_sd(g.seconds)
    local parts = {}
    for _, s in ipairs { "completed", "failed", "diverged", "interrupted" } do
      if g.statuses[s] then parts[#parts + 1] = ("%d %s"):format(g.statuses[s], s) end
    end
    g.status = (#parts == 1 and g.statuses.completed) and "completed" or table.concat(parts, ", ")
  end
  table.sort(groups, function(a, b)
    if (a.mean == nil) ~= (b.mean == nil) then return a.mean ~= nil end
    if a.mean and a.mean ~= b.mean then
      if mode == "min" then return a.mean < b.mean end
      return a.mean > b.mean
    end
    return a.trials[1] < b.trials[1]
  end)
  for i, g in ipairs(groups) do g.rank = i end
  return groups
end

local function num(v, fmt) return v and (fmt or "%.4f"):format(v) or "" end

-- a trial's time: tenths of a second for short ones, m:ss for the rest
local function duration(s)
  if not s then return "-" end
  if s < 60 then return ("%.1fs"):format(s) end
  return progress.fmt_time(s)
end
M.duration = duration

local function params_text(g, keys)
  local out = {}
  for i, k in ipairs(keys) do
    for _, p in ipairs(g.params) do if p.key == k then out[i] = p.text end end
    out[i] = out[i] or ""
  end
  return out
end

local function csv_field(s)
  s = tostring(s)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function write_atomic(file, text)
  local tmp = file .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(text)
  f:close()
  assert(os.rename(tmp, file))
end

--- summary.csv and summary.md. opts: keys (the axes), metric, replicates
-- (whether the seed was an axis).
function M.write(dir, groups, opts)
  local m = opts.metric
  local head = { "rank", "trials" }
  for _, k in ipairs(opts.keys) do head[#head + 1] = k end
  for _, h in ipairs { "n", m .. "_mean", m .. "_sd", "test_accuracy_mean", "seconds", "status" } do
    head[#head + 1] = h
  end
  local csv = { table.concat(head, ",") }
  local md = { ("# %s\n"):format(opts.title or "sweep"),
    ("Ranked by %s (%s is better) on the validation split; mean ± sample sd over %s."):format(
      m, opts.mode == "min" and "lower" or "higher",
      opts.replicates and "the seeds" or "the trials of a point (one seed each)"), "" }
  local mdh = { "rank", "trials" }
  for _, k in ipairs(opts.keys) do mdh[#mdh + 1] = "`" .. k .. "`" end
  for _, h in ipairs { m, "test acc", "time", "status" } do mdh[#mdh + 1] = h end
  md[#md + 1] = "| " .. table.concat(mdh, " | ") .. " |"
  md[#md + 1] = "|" .. ("---|"):rep(#mdh)
  for _, g in ipairs(groups) do
    local trials = table.concat(g.trials, " ")
    local row = { g.rank, trials }
    for _, t in ipairs(params_text(g, opts.keys)) do row[#row + 1] = t end
    for _, x in ipairs { #g.scores, num(g.mean, "%.6g"), num(g.sd, "%.6g"), num(g.test_mean, "%.6g"),
      num(g.time, "%.1f"), g.status } do row[#row + 1] = x end
    for i, x in ipairs(row) do row[i] = csv_field(x) end
    csv[#csv + 1] = table.concat(row, ",")
    local mrow = { g.rank, trials }
    for _, t in ipairs(params_text(g, opts.keys)) do mrow[#mrow + 1] = t end
    local score = g.mean and (#g.scores > 1 and ("%.4f ± %.4f"):format(g.mean, g.sd)
      or ("%.4f"):format(g.mean)) or "—"
    mrow[#mrow + 1] = score
    mrow[#mrow + 1] = num(g.test_mean)
    mrow[#mrow + 1] = duration(g.time)
    mrow[#mrow + 1] = g.status
    md[#md + 1] = "| " .. table.concat(mrow, " | ") .. " |"
  end
  write_atomic(path(dir, "summary.csv"), table.concat(csv, "\n") .. "\n")
  write_atomic(path(dir, "summary.md"), table.concat(md, "\n") .. "\n")
end

--- The ranked table as aligned text lines.
function M.lines(groups, opts)
  local rows = { { "rank" } }
  for _, k in ipairs(opts.keys) do rows[1][#rows[1] + 1] = k end
  for _, h in ipairs { opts.metric, "time", "status", "trials" } do rows[1][#rows[1] + 1] = h end
  for _, g in ipairs(groups) do
    local r = { tostring(g.rank) }
    for _, t in ipairs(params_text(g, opts.keys)) do r[#r + 1] = t end
    r[#r + 1] = g.mean and (#g.scores > 1 and ("%.4f +- %.4f"):format(g.mean, g.sd)
      or ("%.4f"):format(g.mean)) or "-"
    r[#r + 1] = duration(g.time)
    r[#r + 1] = g.status
    r[#r + 1] = table.concat(g.trials, " ")
    rows[#rows + 1] = r
  end
  local widths = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do widths[i] = math.max(widths[i] or 0, #c) end
  end
  local out = {}
  for _, r in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(r) do cells[i] = c .. (" "):rep(widths[i] - #c) end
    out[#out + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  return out
end

--- An integer command-line option (nil when not given) of at least `min`;
-- anything else is a usage error naming the option.
function M.int_option(name, v, min)
  if v == nil then return nil end
  local n = math.tointeger(tonumber(v))
  if not n or n < min then
    require("lurn.errors").raise("usage", "--%s needs an integer >= %d, got '%s'", name, min, tostring(v))
  end
  return n
end

--- A line on standard output, flushed (trial lines appear as they finish).
function M.say(...) io.stdout:write(string.format(...), "\n"); io.stdout:flush() end

return M
