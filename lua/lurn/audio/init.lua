--- lurn.audio — WAV files, resampling and speech features (the C front end
-- of src/core/audio.c, with options in milliseconds).
--
--   local audio = require "lurn.audio"
--   local x, rate = audio.read("one.wav")              -- mono float32 [N], Hz
--   local f = audio.features(x, rate, { n_mfcc = 13, deltas = 2 })   -- [steps, 39]
--   local g = audio.featurize("one.wav", opts)          -- read, resample, features
--   audio.write("out.wav", x, 8000)                      -- 16-bit mono PCM
--
-- Feature options (audio.DEFAULTS): sample_rate (the rate audio is resampled
-- to first), win_ms, hop_ms, n_mels, n_mfcc (0: log-mel filterbank), deltas
-- (0, 1, 2), normalize (per-utterance mean and variance), stack (frames per
-- step), preemph, fmin, fmax (0: half the rate). src/core/audio.h gives the
-- exact definitions.
local core = require "lurn.core"
local errors = require "lurn.errors"

local M = {}

--- The feature options and their defaults.
-- @usage print(audio.DEFAULTS.sample_rate, audio.DEFAULTS.n_mfcc, audio.dims())   --> 8000 13 39
M.DEFAULTS = {
  sample_rate = 8000, win_ms = 25, hop_ms = 10, n_mels = 40, n_mfcc = 13, deltas = 2,
  normalize = true, stack = 1, preemph = 0.97, fmin = 20, fmax = 0,
}

--- Read a WAV file (PCM 8/16-bit, any channel count, any rate).
-- @tparam string path
-- @treturn Tensor samples, mono float32 [N] in [-1, 1)
-- @treturn integer rate in Hz
-- @treturn table `{channels =, bits =}` as the file had them
-- A malformed file raises a "data" error naming it and the problem.
-- @usage local path = os.tmpname()
-- audio.write(path, lurn.rand(800), 8000)      -- 0.1 s of noise
-- local x, rate, info = audio.read(path)
-- print(x:numel(), rate, info.channels, info.bits)   --> 800 8000 1 16
-- os.remove(path)
function M.read(path)
  local ok, x, rate, ch, bits = pcall(core.wav_read, path)
  if not ok then errors.raise("data", "%s", tostring(x)) end
  return x, rate, { channels = ch, bits = bits }
end

--- Write mono samples as a 16-bit PCM WAV file (atomically: a temporary
-- file renamed into place).
-- @tparam string path
-- @tparam Tensor samples float32 [N], clipped to [-1, 1]
-- @tparam integer rate in Hz
-- @usage local path = os.tmpname()
-- local a4 = {}
-- for i = 1, 8000 do a4[i] = 0.5 * math.sin(2 * math.pi * 440 * i / 8000) end
-- audio.write(path, lurn.tensor(a4), 8000)   -- one second of A4
-- os.remove(path)
function M.write(path, samples, rate)
  core.wav_write(path, samples, rate)
end

--- Resample with a windowed-sinc low pass.
-- @tparam Tensor samples float32 [N]
-- @tparam integer from Hz
-- @tparam integer to Hz
-- @treturn Tensor float32 [floor(N * to / from)]
-- @usage print(audio.resample(lurn.zeros(16000), 16000, 8000):numel())   --> 8000
function M.resample(samples, from, to)
  if from == to then return samples end
  return core.resample(samples, from, to)
end

--- Options with the defaults filled in; unknown keys are errors.
-- @tparam[opt] table opts
-- @treturn table
-- @usage local o = audio.options { n_mfcc = 0, deltas = 0 }   -- 40 log-mel energies a step
-- print(o.n_mels, o.win_ms)   --> 40 25
function M.options(opts)
  local o = {}
  for k, v in pairs(M.DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if M.DEFAULTS[k] == nil then error(("audio: unknown feature option '%s'"):format(tostring(k)), 2) end
    o[k] = v
  end
  return o
end

--- Features of samples at `rate` (resampled to opts.sample_rate first).
-- @tparam Tensor samples float32 [N]
-- @tparam integer rate Hz
-- @tparam[opt] table opts see audio.DEFAULTS
-- @treturn Tensor float32 [steps, dims]
-- @usage local f = audio.features(lurn.rand(16000), 16000, { deltas = 0 })   -- 1 s at 16 kHz
-- print(f:size(1), f:size(2))   --> 98 13 (25 ms windows every 10 ms, 13 MFCCs)
function M.features(samples, rate, opts)
  local o = M.options(opts)
  local x = M.resample(samples, rate, o.sample_rate)
  local r = o.sample_rate
  return core.audio_features(x, {
    rate = r, win = math.max(1, math.floor(o.win_ms * r / 1000 + 0.5)),
    hop = math.max(1, math.floor(o.hop_ms * r / 1000 + 0.5)), n_mels = o.n_mels,
    n_mfcc = o.n_mfcc, deltas = o.deltas, normalize = o.normalize, stack = o.stack,
    preemph = o.preemph, fmin = o.fmin, fmax = o.fmax,
  })
end

--- The feature size per step for opts.
-- @tparam[opt] table opts
-- @treturn integer
-- @usage print(audio.dims(), audio.dims { n_mfcc = 0, deltas = 0, stack = 3 })   --> 39 120
function M.dims(opts)
  local o = M.options(opts)
  return (o.n_mfcc > 0 and o.n_mfcc or o.n_mels) * (1 + o.deltas) * o.stack
end

--- Read a WAV file and return its features (audio.features).
-- @tparam string path
-- @tparam[opt] table opts
-- @treturn Tensor float32 [steps, dims]
-- @usage local path = os.tmpname()
-- audio.write(path, lurn.rand(4000), 8000)
-- print(audio.featurize(path):size(2))   --> 39
-- os.remove(path)
function M.featurize(path, opts)
  local x, rate = M.read(path)
  local ok, f = pcall(M.features, x, rate, opts)
  if not ok then errors.raise("data", "%s: %s", path, tostring(f)) end
  return f
end

return M
