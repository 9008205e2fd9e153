--- bench/common.lua — helpers shared by the lurn-side benchmark scripts.
local lurn = require "lurn"

local M = {}

--- Milliseconds on lurn's monotonic clock.
function M.now_ms() return lurn.clock() * 1e3 end

--- Peak resident set size of this process (VmHWM), in MB; NaN if unknown.
function M.vm_hwm_mb()
  local f = io.open("/proc/self/status")
  if not f then return 0 / 0 end
  for line in f:lines() do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then f:close(); return tonumber(kb) / 1024 end
  end
  f:close()
  return 0 / 0
end

--- The median of a list of numbers (the mean of the middle two for an even count).
function M.median(xs)
  local s = {}
  for i, v in ipairs(xs) do s[i] = v end
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or 0.5 * (s[n // 2] + s[n // 2 + 1])
end

return M
