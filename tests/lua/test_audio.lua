-- LuaUnit suite for the speech front end (src/core/audio.c, lurn.audio):
-- WAV files built byte by byte here (8/16-bit, mono/stereo, extensible
-- headers, and malformed ones, whose errors must name the file and the
-- problem), resampling and log-mel / MFCC features against a naive
-- reference written below from the definitions in src/core/audio.h
-- (explicit sums, an O(n^2) DFT, double precision) to 1e-4.
local lu = require "luaunit"
local lurn = require "lurn"
local core = require "lurn.core"
local audio = require "lurn.audio"
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

-- A WAV file: fmt fields, then the sample bytes (or overrides).
local function wav(o)
  local ch, bits, rate = o.channels or 1, o.bits or 16, o.rate or 8000
  local align = o.align or ch * bits // 8
  local fmt = o.fmt or string.pack("<I2I2I4I4I2I2", o.tag or 1, ch, rate, rate * align, align, bits)
  local data = o.data or ""
  local body = "WAVE" .. (o.extra or "") .. "fmt " .. string.pack("<I4", #fmt) .. fmt
      .. "data" .. string.pack("<I4", o.data_size or #data) .. data
  return (o.magic or "RIFF") .. string.pack("<I4", #body) .. body
end

local function s16(...)
  local out = {}
  for i, v in ipairs { ... } do out[i] = string.pack("<i2", v) end
  return table.concat(out)
end

function test_wav_16bit_mono()
  local p = write("a.wav", wav { data = s16(0, 16384, -32768, 32767) })
  local x, rate, info = audio.read(p)
  lu.assertEquals(rate, 8000)
  lu.assertEquals(info, { channels = 1, bits = 16 })
  lu.assertEquals(x:shape(), { 4 })
  lu.assertAlmostEquals(x:get(2), 0.5, 1e-7)
  lu.assertAlmostEquals(x:get(3), -1, 1e-7)
  lu.assertAlmostEquals(x:get(4), 32767 / 32768, 1e-7)
end

function test_wav_8bit_stereo_is_mixed_down()
  -- 8-bit PCM is unsigned: 128 is silence; frames (L, R)
  local p = write("b.wav", wav { channels = 2, bits = 8, rate = 11025,
    data = string.char(128, 128, 192, 64, 255, 255) })
  local x, rate, info = audio.read(p)
  lu.assertEquals({ rate, info.channels, info.bits }, { 11025, 2, 8 })
  lu.assertEquals(x:shape(), { 3 })
  lu.assertAlmostEquals(x:get(1), 0, 1e-7)
  lu.assertAlmostEquals(x:get(2), 0, 1e-7)          -- (+0.5 + -0.5) / 2
  lu.assertAlmostEquals(x:get(3), 127 / 128, 1e-7)
end

function test_wav_other_chunks_and_extensible_header()
  local fmt = string.pack("<I2I2I4I4I2I2", 0xFFFE, 1, 16000, 32000, 2, 16)
      .. string.pack("<I2I2I4", 22, 16, 4) .. string.pack("<I2", 1) .. ("\0"):rep(14)
  local p = write("c.wav", wav { fmt = fmt, extra = "LIST" .. string.pack("<I4", 3) .. "abc\0",
    data = s16(100, -100) })
  local x, rate = audio.read(p)
  lu.assertEquals(rate, 16000)
  lu.assertAlmostEquals(x:get(2), -100 / 32768, 1e-9)
end

function test_wav_write_read_round_trip()
  local x = lurn.tensor { 0, 0.25, -0.5, 0.999, -1, 2 }
  local p = dir .. "/rt.wav"
  audio.write(p, x, 22050)
  local y, rate = audio.read(p)
  lu.assertEquals(rate, 22050)
  for i = 1, 5 do lu.assertAlmostEquals(y:get(i), x:get(i), 1 / 32768) end
  lu.assertAlmostEquals(y:get(6), 32767 / 32768, 1e-7)   -- clipped
end

local function assert_wav_error(fragment, content, name)
  local p = write(name or "bad.wav", content)
  local ok, e = pcall(audio.read, p)
  lu.assertFalse(ok)
  lu.assertTrue(errors.is(e, "data"), tostring(e))
  lu.assertStrContains(tostring(e), p .. ": ")
  lu.assertStrContains(tostring(e), fragment)
end

function test_malformed_headers_name_file_and_problem()
  assert_wav_error("not a WAV file (3 bytes", "RIF")
  assert_wav_error("no RIFF header", ("x"):rep(40))
  assert_wav_error("type 'AVI ', not WAVE", "RIFF" .. string.pack("<I4", 4) .. "AVI ")
  assert_wav_error("no fmt chunk", "RIFF" .. string.pack("<I4", 4) .. "WAVE")
  assert_wav_error("24-bit samples", wav { bits = 24, data = ("\0"):rep(6) })
  assert_wav_error("IEEE float samples", wav { tag = 3, bits = 32, data = ("\0"):rep(8) })
  assert_wav_error("format tag 0x0055, not PCM", wav { tag = 0x55, data = s16(1) })
  assert_wav_error("0 channels", wav { channels = 0, align = 2, data = s16(1) })
  assert_wav_error("sample rate 0 Hz (1000 to 1000000 expected)", wav { rate = 0, data = s16(1) })
  assert_wav_error("sample rate 999 Hz", wav { rate = 999, data = s16(1) })
  assert_wav_error("block align 3", wav { align = 3, data = s16(1) })
  assert_wav_error("fmt chunk of 12 bytes", wav { fmt = ("\1"):rep(12), data = s16(1) })
  assert_wav_error("'data' chunk at byte 37 claims 1000 bytes, only 4 follow (truncated",
    wav { data = s16(1, 2), data_size = 1000 })
  assert_wav_error("not a whole number of 4-byte frames", wav { channels = 2, data = s16(1, 2, 3) })
  assert_wav_error("no samples", wav { data = "" })
  assert_wav_error("no data chunk", "RIFF" .. string.pack("<I4", 28) .. "WAVEfmt "
    .. string.pack("<I4", 16) .. string.pack("<I2I2I4I4I2I2", 1, 1, 8000, 16000, 2, 16))
  local ok, e = pcall(audio.read, dir .. "/missing.wav")
  lu.assertFalse(ok)
  lu.assertStrContains(tostring(e), "missing.wav: cannot open")
end

-- ---- the reference ------------------------------------------------------------

local function sinc(x) if math.abs(x) < 1e-12 then return 1 end return math.sin(math.pi * x) / (math.pi * x) end

local function ref_resample(x, from, to)
  local n = #x
  local m = math.floor(n * to / from)
  local scale = math.min(1, to / from)
  local half = 16 / scale
  local y = {}
  for i = 0, m - 1 do
    local t = i * from / to
    local acc = 0
    for k = 0, n - 1 do
      local d = t - k
      if math.abs(d) < half then
        acc = acc + x[k + 1] * scale * sinc(scale * d) * 0.5 * (1 + math.cos(math.pi * d / half))
      end
    end
    y[i + 1] = acc
  end
  return y
end

local function mel(f) return 2595 * math.log(1 + f / 700, 10) end
local function imel(m) return 700 * (10 ^ (m / 2595) - 1) end

local function ref_features(x, o)
  local n, win, hop = #x, o.win, o.hop
  local nfft = o.n_fft or 1
  while nfft < win do nfft = nfft * 2 end
  local nb = nfft // 2 + 1
  local F = n <= win and 1 or 1 + (n - win) // hop
  local fmax = (o.fmax or 0) > 0 and o.fmax or o.rate / 2
  local M = o.n_mels
  local pts = {}
  for j = 0, M + 1 do pts[j] = imel(mel(o.fmin or 0) + (mel(fmax) - mel(o.fmin or 0)) * j / (M + 1)) end
  local p = o.preemph or 0.97
  local rows = {}
  for t = 0, F - 1 do
    local frame = {}
    for i = 0, nfft - 1 do
      local s, v = t * hop + i, 0
      if i < win and s < n then
        v = x[s + 1] - (s > 0 and p * x[s] or 0)
        v = v * (win > 1 and (0.54 - 0.46 * math.cos(2 * math.pi * i / (win - 1))) or 1)
      end
      frame[i] = v
    end
    local power = {}
    for k = 0, nb - 1 do     -- the DFT, term by term
      local re, im = 0, 0
      for i = 0, nfft - 1 do
        re = re + frame[i] * math.cos(2 * math.pi * k * i / nfft)
        im = im - frame[i] * math.sin(2 * math.pi * k * i / nfft)
      end
      power[k] = re * re + im * im
    end
    local logmel = {}
    for m = 1, M do
      local e = 0
      for k = 0, nb - 1 do
        local f, w = k * o.rate / nfft, 0
        if f > pts[m - 1] and f < pts[m] then w = (f - pts[m - 1]) / (pts[m] - pts[m - 1])
        elseif f >= pts[m] and f < pts[m + 1] then w = (pts[m + 1] - f) / (pts[m + 1] - pts[m]) end
        e = e + w * power[k]
      end
      logmel[m] = math.log(math.max(e, 1e-10))
    end
    local row = {}
    if (o.n_mfcc or 0) > 0 then
      for c = 0, o.n_mfcc - 1 do
        local acc = 0
        for m = 0, M - 1 do acc = acc + logmel[m + 1] * math.cos(math.pi * c * (2 * m + 1) / (2 * M)) end
        row[c + 1] = acc * (c == 0 and math.sqrt(1 / M) or math.sqrt(2 / M))
      end
    else
      row = logmel
    end
    rows[t + 1] = row
  end
  local base = #rows[1]
  local function add_deltas(src)
    for t = 1, F do
      for j = 1, base do
        local acc = 0
        for k = 1, 2 do
          acc = acc + k * (rows[math.min(t + k, F)][src + j] - rows[math.max(t - k, 1)][src + j])
        end
        rows[t][src + base + j] = acc / 10
      end
    end
  end
  if (o.deltas or 0) >= 1 then add_deltas(0) end
  if (o.deltas or 0) >= 2 then add_deltas(base) end
  local D = #rows[1]
  if o.normalize then
    for j = 1, D do
      local mean, var = 0, 0
      for t = 1, F do mean = mean + rows[t][j] end
      mean = mean / F
      for t = 1, F do var = var + (rows[t][j] - mean) ^ 2 end
      local sd = math.sqrt(var / F)
      for t = 1, F do rows[t][j] = (rows[t][j] - mean) / (sd < 1e-5 and 1 or sd) end
    end
  end
  local k = o.stack or 1
  local out = {}
  for s = 0, (F + k - 1) // k - 1 do
    local r = {}
    for i = 0, k - 1 do
      for j = 1, D do r[#r + 1] = rows[s * k + i + 1] and rows[s * k + i + 1][j] or 0 end
    end
    out[#out + 1] = r
  end
  return out
end

local function signal(n, seed)
  lurn.seed(seed)
  local r = lurn.randn(n)
  local x = {}
  for i = 1, n do
    -- a chirp with noise: energy in many mel bands
    x[i] = 0.3 * math.sin(2 * math.pi * (200 + 3 * i) * i / 8000) + 0.05 * r:get(i)
  end
  return x
end

local function assert_close(got, want, tol, what)
  lu.assertEquals(#got, #want, what .. ": steps")
  local worst = 0
  for t = 1, #want do
    lu.assertEquals(#got[t], #want[t], what .. ": dims")
    for j = 1, #want[t] do
      worst = math.max(worst, math.abs(got[t][j] - want[t][j]) / math.max(1, math.abs(want[t][j])))
    end
  end
  lu.assertTrue(worst <= tol, ("%s: worst difference %g"):format(what, worst))
end

local function totable(t)
  local out = {}
  for i = 1, t:size(1) do
    local r = {}
    for j = 1, t:size(2) do r[j] = t:get(i, j) end
    out[i] = r
  end
  return out
end

function test_features_match_the_reference()
  local x = signal(1000, 3)
  local xt = lurn.tensor(x)
  local cases = {
    { rate = 8000, win = 200, hop = 80, n_mels = 20 },                                   -- log-mel
    { rate = 8000, win = 200, hop = 80, n_mels = 26, n_mfcc = 13, fmin = 20, deltas = 2 },
    { rate = 8000, win = 160, hop = 100, n_mels = 23, n_mfcc = 10, deltas = 1, normalize = true,
      stack = 3, preemph = 0.5, fmax = 3500 },
    { rate = 8000, win = 200, hop = 80, n_mels = 10, n_mfcc = 5, n_fft = 512, preemph = 0 },
  }
  for i, o in ipairs(cases) do
    local got = totable(core.audio_features(xt, o))
    assert_close(got, ref_features(x, o), 1e-4, "case " .. i)
  end
  -- shorter than a window: one zero-padded frame
  local short = signal(50, 4)
  local o = { rate = 8000, win = 200, hop = 80, n_mels = 8, n_mfcc = 4 }
  assert_close(totable(core.audio_features(lurn.tensor(short), o)), ref_features(short, o), 1e-4, "short")
end

function test_resample_matches_the_reference()
  local x = signal(300, 5)
  for _, r in ipairs { { 8000, 16000 }, { 16000, 8000 }, { 22050, 8000 }, { 8000, 8000 } } do
    local got = core.resample(lurn.tensor(x), r[1], r[2])
    local want = ref_resample(x, r[1], r[2])
    lu.assertEquals(got:size(1), #want)
    local worst = 0
    for i = 1, #want do worst = math.max(worst, math.abs(got:get(i) - want[i])) end
    lu.assertTrue(worst < 1e-4, ("%d -> %d: %g"):format(r[1], r[2], worst))
  end
end

function test_resample_keeps_a_tone()
  -- a 300 Hz tone at 16 kHz, down to 8 kHz: the same tone, away from the edges
  local n, x = 1600, {}
  for i = 0, n - 1 do x[i + 1] = math.sin(2 * math.pi * 300 * i / 16000) end
  local y = core.resample(lurn.tensor(x), 16000, 8000)
  lu.assertEquals(y:size(1), 800)
  local worst = 0
  for i = 100, 700 do
    worst = math.max(worst, math.abs(y:get(i + 1) - math.sin(2 * math.pi * 300 * i / 8000)))
  end
  lu.assertTrue(worst < 5e-3, "tone error " .. worst)
end

function test_lurn_audio_options_in_milliseconds()
  local x = lurn.tensor(signal(4000, 6))
  local f = audio.features(x, 16000, { sample_rate = 8000, n_mfcc = 13, deltas = 2, stack = 2 })
  -- 4000 samples at 16 kHz = 2000 at 8 kHz: 1 + (2000 - 200) // 80 = 23 frames, 12 steps
  lu.assertEquals(f:shape(), { 12, 78 })
  lu.assertEquals(audio.dims { n_mfcc = 13, deltas = 2, stack = 2 }, 78)
  lu.assertErrorMsgContains("unknown feature option 'n_mfc'", audio.features, x, 8000, { n_mfc = 3 })
  lu.assertErrorMsgContains("mel range 20..6000 Hz must lie in 0..4000", audio.features, x, 8000,
    { fmax = 6000 })
  lu.assertErrorMsgContains("unknown option 'windw'", core.audio_features, x, { rate = 8000, win = 1,
    hop = 1, windw = 2 })
end

local rc = lu.LuaUnit.run()
os.execute("rm -rf '" .. dir .. "'")
os.exit(rc, true)
