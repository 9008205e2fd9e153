-- docs/examples/pianoroll_data.lua — tiny generated piano rolls, for docs/music.md and tests.
--
--   lurn docs/examples/pianoroll_data.lua FILE [N]
--
-- Writes FILE (making its directory), a piano-roll JSON file as datasets/jsb writes it:
-- {"train": [...], "valid": [...], "test": [...]} with N pieces for train
-- (default 60) and N/6 for valid and test. Each piece walks round the
-- chords C, F, G, C (two steps each, from a random one of them) with a
-- melody note on top that follows the chord a third or a fifth above, so
-- the next step is mostly predictable from the last ones: a recurrent model
-- learns it and beats the keys' plain frequencies.
local lurn = require "lurn"
local json = require "lurn.run.json"

local path, n = arg[1], math.tointeger(tonumber(arg[2] or "60"))
if not path or not n or n < 6 then
  io.stderr:write("usage: lurn docs/examples/pianoroll_data.lua FILE [N]\n")
  os.exit(2)
end
lurn.seed(17)
local u, k = lurn.rand(n * 200), 0
local function draw() k = k + 1; return u:get(k) end
local CHORDS = { { 48, 52, 55 }, { 53, 57, 60 }, { 55, 59, 62 }, { 48, 52, 55 } }
local function piece()
  local steps, c = 8 + math.floor(draw() * 17), 1 + math.floor(draw() * 4)
  local out = {}
  for t = 1, steps do
    local chord = CHORDS[(c + (t - 1) // 2 - 1) % 4 + 1]
    local step = { chord[1], chord[2], chord[3] }
    step[4] = chord[1] + (draw() < 0.5 and 16 or 19)   -- melody: the third or the fifth, up an octave
    out[t] = step
  end
  return out
end
local function list(m) local l = {}; for i = 1, m do l[i] = piece() end; return l end
local data = { train = list(n), valid = list(n // 6), test = list(n // 6) }
local dir = path:match("^(.*)/[^/]*$")
if dir and dir ~= "" then lurn.mkdir(dir) end
local f = assert(io.open(path, "w"))
f:write(json.encode(data), "\n")
f:close()
print(("wrote %s (%d train, %d valid, %d test pieces)"):format(path, n, n // 6, n // 6))
