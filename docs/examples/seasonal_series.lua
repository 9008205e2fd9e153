-- docs/examples/seasonal_series.lua — a monthly series with growth, a season
-- whose swing grows with the level, and noise, as CSV for docs/forecast.md.
--
--   lurn docs/examples/seasonal_series.lua FILE [MONTHS]
--
-- Writes FILE with the header "Month,Sales" and MONTHS rows (default 120)
-- from 2000-01: sales = (100 + t) * (1 + 0.25 sin(2 pi t / 12)) * exp(e[t]),
-- e an AR(1) wobble (e[t] = 0.8 e[t-1] + 0.04 n[t], n Gaussian from lurn's
-- generator, seed 5), so there is something to learn beyond the season and
-- the file is the same every time.
local lurn = require "lurn"

local path, n = arg[1], math.tointeger(tonumber(arg[2] or "120"))
if not path or not n or n < 24 then
  io.stderr:write("usage: lurn docs/examples/seasonal_series.lua FILE [MONTHS >= 24]\n")
  os.exit(2)
end
lurn.seed(5)
local noise = lurn.randn(n)
local f = assert(io.open(path, "w"))
f:write("Month,Sales\n")
local e = 0
for t = 0, n - 1 do
  e = 0.8 * e + 0.04 * noise:get(t + 1)
  local v = (100 + t) * (1 + 0.25 * math.sin(2 * math.pi * t / 12)) * math.exp(e)
  f:write(("%04d-%02d,%.2f\n"):format(2000 + t // 12, t % 12 + 1, v))
end
f:close()
print(("wrote %s (%d months, 2000-01 to %04d-%02d)"):format(path, n, 2000 + (n - 1) // 12,
  (n - 1) % 12 + 1))
