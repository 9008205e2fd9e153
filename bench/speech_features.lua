-- bench/speech_features.lua — time lurn's speech front end on a directory of
-- WAV files (issue 15: the 3,000 FSDD recordings in under 10 s): read,
-- resample to 8 kHz, 13 MFCC + deltas + delta-deltas, per-utterance
-- normalisation, the features configs/fsdd-*.lua use.
--
--   lurn bench/speech_features.lua DIR [REPEATS]
--
-- Prints the files, the frames, the best of REPEATS (default 3) wall times,
-- and the load average when it started (a figure under load is not a speed claim).
local lurn = require "lurn"
local core = require "lurn.core"
local audio = require "lurn.audio"

local dir = assert(arg[1], "usage: lurn bench/speech_features.lua DIR [REPEATS]")
local repeats = tonumber(arg[2] or 3)
local names = assert(core.list_dir(dir))
table.sort(names)
local paths = {}
for _, n in ipairs(names) do if n:match("%.wav$") then paths[#paths + 1] = dir .. "/" .. n end end
local load = io.open("/proc/loadavg") and io.open("/proc/loadavg"):read("l") or "?"
local opts = { sample_rate = 8000, n_mfcc = 13, deltas = 2, normalize = true, stack = 1 }
local best, frames = math.huge, 0
for _ = 1, repeats do
  local t0 = lurn.clock()
  frames = 0
  for _, p in ipairs(paths) do frames = frames + audio.featurize(p, opts):size(1) end
  best = math.min(best, lurn.clock() - t0)
end
print(("%d files, %d frames: %.2f s (best of %d), %.0f files/s; load average at start %s")
  :format(#paths, frames, best, repeats, #paths / best, load))
