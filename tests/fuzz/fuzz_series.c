/*
 * fuzz_series.c — libFuzzer harness for the CSV series reader
 * (lurn.series.csv.read, the forecast task's data.train / `lurn forecast`
 * / `lurn eval --data`), then the transform the forecaster fits on it
 * (lurn.series.norm). Run by tests/fuzz/run.sh.
 *
 * The input is the CSV file after a first byte whose bits pick the options:
 * the time column (the first, or one named "t"), the value columns (all
 * others, the header's last, or "y" and "v"), and the transform (log,
 * seasonal difference at lag 2, first differences, standardisation).
 * The property: a read returns n >= 1 rows with n unique, non-empty times
 * (increasing when they are all ISO dates), and for each named column n
 * finite numbers, one per row, each from a line of the file; the transform
 * then gives finite values or names the problem — or the read fails with a
 * user error naming the file and a line inside it (FUZZ_OUTCOME), never a
 * crash or a raw Lua error.
 */
#include "fuzz_lua.h"

static char dir[] = "/dev/shm/lurn_fuzz_series_XXXXXX";

static const char *DRIVER =
    "local dir = ...\n" FUZZ_OUTCOME
    "local csv = require 'lurn.series.csv'\n"
    "local norm = require 'lurn.series.norm'\n"
    "local function iso(t) return t:match('^%d%d%d%d%-%d%d$') or t:match('^%d%d%d%d%-%d%d%-%d%d') end\n"
    "return function(input)\n"
    "  if #input < 1 then return end\n"
    "  local b = input:byte(1)\n"
    "  local text = input:sub(2)\n"
    "  local path = dir .. '/series.csv'\n"
    "  local f = assert(io.open(path, 'wb')); f:write(text); f:close()\n"
    "  local opts = {}\n"
    "  if (b & 1) ~= 0 then opts.time = 't' end\n"
    "  if (b & 6) == 2 then opts.columns = csv.column_list('y, v') end\n"
    "  local ok, s = pcall(csv.read, path, opts)\n"
    "  if not ok then fuzz.refused(s, 'csv.read', { { path = path, text = text } }); return end\n"
    "  local nl = fuzz.lines(text)\n"
    "  assert(math.type(s.n) == 'integer' and s.n >= 1 and s.n < nl, 'read: ' .. tostring(s.n) .. ' rows')\n"
    "  assert(#s.times == s.n and #s.lines == s.n, 'read: times or lines differ from n')\n"
    "  assert(#s.names >= 1 and #s.values == #s.names, 'read: columns')\n"
    "  local seen, all_iso = {}, true\n"
    "  for i = 1, s.n do\n"
    "    local t = s.times[i]\n"
    "    assert(type(t) == 'string' and t ~= '' and not seen[t], 'read: time ' .. i)\n"
    "    seen[t] = true\n"
    "    all_iso = all_iso and iso(t) ~= nil\n"
    "    assert(s.lines[i] >= 2 and s.lines[i] <= nl and (i == 1 or s.lines[i] > s.lines[i - 1]), 'read: line of row ' .. i)\n"
    "  end\n"
    "  if all_iso then for i = 2, s.n do assert(s.times[i] > s.times[i - 1], 'read: ISO times out of order') end end\n"
    "  for j = 1, #s.names do\n"
    "    assert(#s.values[j] == s.n, 'read: column ' .. j .. ' length')\n"
    "    for i = 1, s.n do\n"
    "      local v = s.values[j][i]\n"
    "      assert(type(v) == 'number' and v == v and v ~= math.huge and v ~= -math.huge, 'read: value')\n"
    "    end\n"
    "  end\n"
    "  -- the transform, as the forecast task fits it on the rows read\n"
    "  local nopts = { log = (b & 8) ~= 0, season = (b & 16) ~= 0 and 2 or 0, diff = (b >> 5) % 3,\n"
    "    standardize = (b & 128) ~= 0 }\n"
    "  if s.n <= nopts.season + nopts.diff + 1 then return end\n"
    "  -- the task names values the log cannot take by their line before fitting\n"
    "  for j = 1, #s.values do if norm.invalid({ log = nopts.log }, s.values[j]) then return end end\n"
    "  local okf, st = pcall(norm.fit, s.values, nopts)\n"
    "  -- the task wraps fit's refusals (plain messages) with the path\n"
    "  if not okf then\n"
    "    assert(type(st) == 'string' and not st:find('%.lua:%d+:'), 'norm.fit: ' .. tostring(st))\n"
    "    return\n"
    "  end\n"
    "  local z = norm.apply(st, s.values)\n"
    "  for j = 1, #z do for k = 1, #z[j] do\n"
    "    local v = z[j][k]\n"
    "    assert(v == v and v ~= math.huge and v ~= -math.huge, 'norm: value not finite')\n"
    "  end end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  fuzz_lua_run("fuzz_series", dir, DRIVER, in, n);
  return 0;
}
