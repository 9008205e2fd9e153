-- docs/examples/tone_digits.lua — tiny generated "spoken digits" for tests and
-- docs: recordings named like the Free Spoken Digit Dataset's
-- (<digit>_<speaker>_<take>.wav, 8 kHz, 16-bit mono), where digit d is two
-- short tones whose pitches depend on d, each "speaker" shifts every pitch
-- by a few percent, and each take varies the durations, the loudness and the
-- background noise. A speech model learns them in seconds.
--
--   lurn docs/examples/tone_digits.lua DIR [TAKES [SPEAKERS]]     (defaults 10, 2)
--   lurn docs/examples/tone_digits.lua --utterance OUT.wav DIGITS   one file of several digits
local lurn = require "lurn"
local audio = require "lurn.audio"

local RATE = 8000

-- The samples of digit d said by speaker s in take k (a fixed seed per file).
local function digit(d, s, k)
  lurn.seed(1000 * d + 100 * s + k)
  local shift = 1 + 0.04 * s
  local f1, f2 = (350 + 110 * d) * shift, (1200 + 230 * ((d * 3) % 10)) * shift
  local n1 = math.floor(RATE * (0.10 + 0.01 * (k % 4)))
  local n2 = math.floor(RATE * (0.12 + 0.01 * ((k + d) % 3)))
  local amp = 0.3 + 0.05 * (k % 5)
  local pad = math.floor(RATE * 0.05)
  local x = {}
  for i = 1, pad do x[#x + 1] = 0 end
  for i = 0, n1 - 1 do x[#x + 1] = amp * math.sin(2 * math.pi * f1 * i / RATE) * math.sin(math.pi * i / n1) end
  for i = 0, n2 - 1 do x[#x + 1] = amp * math.sin(2 * math.pi * f2 * i / RATE) * math.sin(math.pi * i / n2) end
  for i = 1, pad do x[#x + 1] = 0 end
  local t = lurn.tensor(x)
  return t:add(lurn.randn(#x):mul(0.01 + 0.002 * (k % 3)))
end

if arg[1] == "--utterance" then
  local out, digits = arg[2], arg[3] or ""
  local parts = {}
  for c in digits:gmatch("%d") do parts[#parts + 1] = digit(tonumber(c), 0, #parts) end
  assert(#parts > 0, "usage: tone_digits.lua --utterance OUT.wav DIGITS")
  audio.write(out, lurn.cat(parts, 1), RATE)
  return
end

local dir = assert(arg[1], "usage: tone_digits.lua DIR [TAKES [SPEAKERS]]")
local takes, speakers = tonumber(arg[2] or 10), tonumber(arg[3] or 2)
lurn.mkdir(dir)
local n = 0
for s = 0, speakers - 1 do
  for d = 0, 9 do
    for k = 0, takes - 1 do
      audio.write(("%s/%d_s%d_%d.wav"):format(dir, d, s, k), digit(d, s, k), RATE)
      n = n + 1
    end
  end
end
print(("%d recordings in %s"):format(n, dir))
