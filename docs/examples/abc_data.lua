-- docs/examples/abc_data.lua — a tiny ABC corpus, for docs/music.md and tests.
--
--   lurn docs/examples/abc_data.lua DIR [N]
--
-- Writes DIR/train.abc (N tunes, default 40) and DIR/valid.abc (N/4), laid out as
-- datasets/nottingham writes the Nottingham tunes: one tune after another, an empty line
-- between them, each starting with its X: line. The tunes are two short jigs taken in
-- turn, so a small character model learns them within seconds and its samples are
-- whole tunes that abc2midi converts.
local lurn = require "lurn"

local dir, n = arg[1], math.tointeger(tonumber(arg[2] or "40"))
if not dir or not n or n < 4 then
  io.stderr:write("usage: lurn docs/examples/abc_data.lua DIR [N]\n")
  os.exit(2)
end
local TUNES = {
  { "T:Lurn's Jig", "M:6/8", "L:1/8", "K:G",
    '"G"GAB "D"AFD|"G"GBd "C"e2d|"G"GAB "D"AFD|"G"G3 G3:|' },
  { "T:Second Jig", "M:6/8", "L:1/8", "K:D",
    '"D"DFA "A"AGF|"D"d2A "G"B2A|"D"DFA "A"AGF|"D"D3 D3:|' },
}
lurn.mkdir(dir)
local function write(name, from, to)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  for i = from, to do
    local t = TUNES[(i - 1) % #TUNES + 1]
    if i > from then f:write("\n") end
    f:write(("X: %d\n%s\n"):format(i, table.concat(t, "\n")))
  end
  f:close()
  print(("wrote %s/%s (%d tunes)"):format(dir, name, to - from + 1))
end
write("train.abc", 1, n)
write("valid.abc", n + 1, n + n // 4)
