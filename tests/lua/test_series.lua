-- LuaUnit suite for lurn.series (CSV series reader, normalisation) and the
-- pure parts of lurn.tasks.forecast (splits, windows, inversion), on small
-- files this suite writes itself. Error text is API: a malformed file must
-- be named with the 1-based line and the column.
local lu = require "luaunit"
local lurn = require "lurn"
local csv = require "lurn.series.csv"
local norm = require "lurn.series.norm"
local forecast = require "lurn.tasks.forecast"
local errors = require "lurn.errors"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local function write(name, content)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

local function data_error(fragment, f, ...)
  local ok, e = pcall(f, ...)
  lu.assertFalse(ok, "expected an error")
  lu.assertStrContains(tostring(e), fragment)
  lu.assertEquals(errors.is(e) and e.code, "data", tostring(e))
end

-- ---------------------------------------------------------------------------
TestCsv = {}

function TestCsv:test_reads_time_and_values()
  local p = write("a.csv", '"Month","Passengers"\n"1949-01",112\n"1949-02",118\n"1949-03",132')
  local s = csv.read(p)
  lu.assertEquals(s.n, 3)
  lu.assertEquals(s.time_name, "Month")
  lu.assertEquals(s.names, { "Passengers" })
  lu.assertEquals(s.times, { "1949-01", "1949-02", "1949-03" })
  lu.assertEquals(s.values, { { 112, 118, 132 } })
  lu.assertEquals(s.lines, { 2, 3, 4 })
end

function TestCsv:test_columns_by_name_bom_crlf_quotes_blank_lines()
  local p = write("b.csv", '\239\187\191id,"the ""x""",t,y\r\n1,0.5,2020-01-01,7\r\n\r\n'
    .. '2,"-1.5e1",2020-01-02,8\r\n')
  local s = csv.read(p, { time = "t", columns = { "y", 'the "x"' } })
  lu.assertEquals(s.names, { "y", 'the "x"' })
  lu.assertEquals(s.times, { "2020-01-01", "2020-01-02" })
  lu.assertEquals(s.values, { { 7, 8 }, { 0.5, -15 } })
  lu.assertEquals(s.lines, { 2, 4 })
  -- default: every column but the time
  lu.assertEquals(csv.read(p, { time = "t" }).names, { "id", 'the "x"', "y" })
end

function TestCsv:test_malformed_files_name_file_line_and_column()
  data_error("m1.csv:3: column 'v': 'abc' is not a finite number",
    csv.read, write("m1.csv", "t,v\n1,2\n2,abc\n"))
  data_error("m2.csv:2: column 'v': missing value", csv.read, write("m2.csv", "t,v\n1,\n"))
  data_error("m3.csv:3: 3 field(s), the header has 2", csv.read, write("m3.csv", "t,v\n1,2\n2,3,4\n"))
  data_error("m4.csv:2: unterminated quoted field", csv.read, write("m4.csv", 't,v\n"1,2\n'))
  data_error("m5.csv:4: time '2' repeats line 3", csv.read, write("m5.csv", "t,v\n1,1\n2,2\n2,3\n"))
  data_error("m6.csv:3: time '1949-01' does not follow '1949-02' (line 2)",
    csv.read, write("m6.csv", "t,v\n1949-02,1\n1949-01,2\n"))
  data_error("m7.csv:1: header: no column 'w'", csv.read, write("m7.csv", "t,v\n1,2\n"),
    { columns = { "w" } })
  -- the columns listed are quoted and escaped (a fuzzed header "\1s line 31" read as a position)
  data_error("m7b.csv:1: header: no column 'w' (a value column; the columns are 't', '\\x01s line 31')",
    csv.read, write("m7b.csv", "t,\1s line 31\n1,2\n"), { columns = { "w" } })
  data_error("m8.csv: empty file", csv.read, write("m8.csv", "\n\n"))
  data_error("m9.csv:1: a header but no rows", csv.read, write("m9.csv", "t,v\n"))
  data_error("m10.csv:2: column 'v': 'nan' is not a finite number",
    csv.read, write("m10.csv", "t,v\n1,nan\n"))
  data_error("m11.csv:1: header: 1 column(s)", csv.read, write("m11.csv", "t\n1\n"))
  data_error("m12.csv:2: text after the closing quote", csv.read, write("m12.csv", 't,v\n"1"x,2\n'))
  data_error("m13.csv:1: header: column 'v' appears twice", csv.read, write("m13.csv", "t,v,v\n1,2,3\n"))
  data_error("m14.csv:2: column 't': empty time", csv.read, write("m14.csv", "t,v\n,2\n"))
  data_error("no-such.csv: cannot open", csv.read, dir .. "/no-such.csv")
end

function TestCsv:test_column_list()
  lu.assertEquals(csv.column_list(""), {})
  lu.assertEquals(csv.column_list(" a, b ,,c"), { "a", "b", "c" })
end

-- ---------------------------------------------------------------------------
TestNorm = {}

-- a growing seasonal series
local function seasonal(n)
  local xs = {}
  for i = 1, n do xs[i] = (100 + 2 * i) * (1 + 0.2 * math.sin(2 * math.pi * i / 12)) + (i % 5) end
  return xs
end

function TestNorm:test_next_value_inverts_the_transform_exactly()
  local xs = seasonal(60)
  for _, o in ipairs {
    { log = true, season = 12, diff = 1 }, { log = false, season = 12, diff = 0 },
    { log = true, season = 0, diff = 2 }, { log = false, season = 0, diff = 0 },
    { log = false, season = 4, diff = 2, standardize = false },
  } do
    local st = norm.fit({ table.move(xs, 1, 40, 1, {}) }, o)
    local z = norm.apply(st, { xs })[1]
    lu.assertEquals(#z, #xs - norm.lost(st))
    for r = norm.lost(st) + 1, #xs do
      local hist = table.move(xs, 1, r - 1, 1, {})
      local got = norm.next_value(st, 1, hist, z[r - norm.lost(st)])
      lu.assertAlmostEquals(got, xs[r], 1e-9 * xs[r])
    end
  end
end

function TestNorm:test_fitted_on_the_training_part_only()
  local train = { 1, 2, 3, 4, 5 }
  local st = norm.fit({ train }, { standardize = true })
  lu.assertAlmostEquals(st.mean[1], 3, 1e-12)
  lu.assertAlmostEquals(st.sd[1], math.sqrt(2.5), 1e-12)
  -- values after the training part do not change the state
  local z = norm.apply(st, { { 1, 2, 3, 4, 5, 1000 } })[1]
  lu.assertAlmostEquals(z[6], (1000 - 3) / math.sqrt(2.5), 1e-9)
  -- differencing: the mean of the differences
  local st2 = norm.fit({ { 1, 3, 7, 13 } }, { diff = 1 })
  lu.assertAlmostEquals(st2.mean[1], 4, 1e-12)
end

function TestNorm:test_log_needs_positive_values()
  local ok, e = pcall(norm.fit, { { 1, 2, 0, 3 } }, { log = true, names = { "v" } })
  lu.assertFalse(ok)
  lu.assertStrContains(tostring(e), "column 'v' row 3: 0 <= 0")
  local st = norm.fit({ { 1, 2, 3 } }, { log = true })
  lu.assertEquals(norm.invalid(st, { 1, -2 }), 2)
  lu.assertNil(norm.invalid(st, { 1, 2 }))
end

function TestNorm:test_too_short_for_the_differencing()
  local ok, e = pcall(norm.fit, { { 1, 2, 3, 4, 5 } }, { season = 4, diff = 0 })
  lu.assertFalse(ok)
  lu.assertStrContains(tostring(e), "5 training rows leave 1 after differencing")
end

-- ---------------------------------------------------------------------------
TestForecastSplit = {}

local function section(t)
  local f = { file = "", time_column = "", columns = "", test_from = "", test = 0, valid = 0,
    input_len = 4, output = "one", log = false, season = 0, seasonal_diff = false, diff = 0,
    standardize = true, steps = 0 }
  for k, v in pairs(t) do f[k] = v end
  return f
end

local monthly = { n = 24, path = "m.csv", times = {} }
for i = 1, 24 do monthly.times[i] = ("%04d-%02d"):format(2000 + (i - 1) // 12, (i - 1) % 12 + 1) end

function TestForecastSplit:test_by_time_and_by_count()
  lu.assertEquals(forecast.split(section { test_from = "2001-01" }, monthly), { valid = 13, test = 13 })
  -- a time between rows: the first row after it
  lu.assertEquals(forecast.split(section { test_from = "2001-01-15" }, monthly).test, 14)
  lu.assertEquals(forecast.split(section { test_from = "2001" }, monthly).test, 13)
  lu.assertEquals(forecast.split(section { test = 6, valid = 3 }, monthly), { valid = 16, test = 19 })
  lu.assertEquals(forecast.split(section {}, monthly), { valid = 25, test = 25 })
end

function TestForecastSplit:test_bad_splits_are_config_errors()
  for _, t in ipairs {
    { { test_from = "2030-01" }, "forecast.test_from = \"2030-01\": no row" },
    { { test = 24 }, "forecast.test = 24: m.csv has only 24 rows" },
    { { test = 4, valid = 19 }, "forecast.valid = 19: leaves 1 training row(s)" },
  } do
    local ok, e = pcall(forecast.split, section(t[1]), monthly)
    lu.assertFalse(ok)
    lu.assertStrContains(tostring(e), t[2])
    lu.assertEquals(e.code, "config")
  end
end

function TestForecastSplit:test_time_after()
  local cmd = require "lurn.commands.forecast"
  lu.assertEquals(cmd.time_after({ "1960-11", "1960-12" }, 1), "1961-01")
  lu.assertEquals(cmd.time_after({ "1960-12" }, 14), "1962-02")
  lu.assertEquals(cmd.time_after({ "1990-12-30", "1990-12-31" }, 2), "1991-01-02")
  lu.assertEquals(cmd.time_after({ "1990-02-27", "1990-02-28" }, 1), "1990-03-01")
  lu.assertEquals(cmd.time_after({ "5", "10" }, 3), "25")
  lu.assertEquals(cmd.time_after({ "a", "b" }, 2), "b+2")
end

-- ---------------------------------------------------------------------------
TestForecastModel = {}

-- The forecasting path on a model whose output is fixed: a Linear with zero
-- weights and bias b predicts the transformed value b at every step, so the
-- forecasts follow from the inversion alone.
local function fixed_run(b, st, L, output)
  local nn = lurn.nn
  local model = nn.Sequential { nn.GRU(1, 2, { output = output == "one" and "last" or "all" }),
    nn.Linear(2, 1) }
  for _, p in ipairs(model:parameters()) do p.value:fill(0) end
  model:parameters()[#model:parameters()].value:fill(b)
  model:eval()
  return { model = model, norm = st, input_len = L, output = output, season = 0, names = { "v" } }
end

function TestForecastModel:test_zero_change_forecast_continues_the_trend()
  -- diff = 1, standardised: the steps are all 3 (mean 3, sd 0 taken as 1),
  -- so z = 0 means a step of 3 and z = 1 a step of 4
  local xs = {}
  for i = 1, 20 do xs[i] = 10 + 3 * i end
  local st = norm.fit({ xs }, { diff = 1 })
  lu.assertEquals({ st.mean[1], st.sd[1] }, { 3, 1 })
  for _, out in ipairs { "one", "seq" } do
    local s = fixed_run(0, st, 4, out)
    local f = forecast.forecast(s, { xs }, 21, 5)
    for h = 1, 5 do lu.assertAlmostEquals(f[h][1], 10 + 3 * (20 + h), 1e-4) end
    local one = forecast.one_step(s, { xs }, 10, 12)
    lu.assertAlmostEquals(one[1][1], xs[10], 1e-4)     -- z = 0: the last step again
    lu.assertAlmostEquals(one[3][1], xs[12], 1e-4)
  end
  local s = fixed_run(1, st, 4, "one")
  local f = forecast.forecast(s, { xs }, 21, 3)
  lu.assertAlmostEquals(f[3][1], xs[20] + 12, 1e-4)
  -- without standardisation z is the step itself: z = 0 repeats the last value
  s = fixed_run(0, norm.fit({ xs }, { diff = 1, standardize = false }), 4, "one")
  lu.assertAlmostEquals(forecast.forecast(s, { xs }, 21, 4)[4][1], xs[20], 1e-4)
end

function TestForecastModel:test_report_baselines()
  local xs = {}
  for i = 1, 36 do xs[i] = 100 + 10 * ((i - 1) % 12) end   -- a pure season of 12
  local st = norm.fit({ table.move(xs, 1, 24, 1, {}) }, { season = 12, standardize = false })
  local s = fixed_run(0, st, 3, "one")
  s.season = 12
  local rep = forecast.report(s, { xs }, 25, 12)
  local c = rep.columns[1]
  -- seasonal differencing with z = 0 and the seasonal-naive baseline are exact here
  lu.assertAlmostEquals(c.one_step.rmse, 0, 1e-4)
  lu.assertAlmostEquals(c.multi_step.rmse, 0, 1e-4)
  lu.assertAlmostEquals(c.seasonal_naive.one_step.rmse, 0, 1e-12)
  lu.assertAlmostEquals(c.seasonal_naive.multi_step.mae, 0, 1e-12)
  -- persistence one-step: 11 steps of +10 and one of -110
  lu.assertAlmostEquals(c.persistence.one_step.rmse, math.sqrt((11 * 100 + 110 ^ 2) / 12), 1e-9)
  -- persistence multi-step: every month against December's 210
  local se = 0
  for m = 0, 11 do se = se + (100 + 10 * m - 210) ^ 2 end
  lu.assertAlmostEquals(c.persistence.multi_step.rmse, math.sqrt(se / 12), 1e-9)
end

local rc = lu.LuaUnit.run()
os.execute("rm -rf '" .. dir .. "'")
os.exit(rc, true)
