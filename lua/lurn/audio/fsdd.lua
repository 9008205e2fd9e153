--- lurn.audio.fsdd — recordings named like the Free Spoken Digit Dataset's
-- (`<digit>_<speaker>_<take>.wav`), their splits by take, generated digit
-- strings for CTC, and the datasets train.fit batches from.
--
--   local fsdd = require "lurn.audio.fsdd"
--   local recs = fsdd.scan("data/fsdd/recordings")        -- {{path, digit, speaker, take}, ...}
--   local parts = fsdd.split(recs, 5, 5)                  -- {train =, valid =, test =} by take
--   local ds = fsdd.Dataset.new { n = 3, length = f, features = g, label = h }
--   for batch in ds:batches { size = 32, shuffle = true } do ... end
--     -- batch = {data = [T, B, D], lengths = [B], labels = [B] | targets = {labels, lengths}}
--
-- Takes 0..test_takes-1 are the test set (FSDD's own convention: takes 0-4),
-- the next valid_takes the validation set, the rest training.
local lurn = require "lurn"
local errors = require "lurn.errors"
local core = require "lurn.core"
local audio = require "lurn.audio"

local M = {}

--- The recordings in dir, sorted by name.
-- @tparam string dir
-- @treturn table `{{path =, name =, digit =, speaker =, take =}, ...}`
-- A .wav file named otherwise, an unreadable or empty directory are "data" errors.
function M.scan(dir)
  local names, err = core.list_dir(dir)
  if not names then errors.raise("data", "%s: cannot read the recordings directory (%s)", dir, tostring(err)) end
  table.sort(names)
  local out = {}
  for _, name in ipairs(names) do
    if name:match("%.[wW][aA][vV]$") then
      local d, spk, take = name:match("^(%d)_([%w%-]+)_(%d+)%.[wW][aA][vV]$")
      if not d then
        errors.raise("data", "%s/%s: not named <digit>_<speaker>_<take>.wav", dir, name)
      end
      out[#out + 1] = { path = dir .. "/" .. name, name = name, digit = tonumber(d), speaker = spk,
        take = tonumber(take) }
    end
  end
  if #out == 0 then errors.raise("data", "%s: no .wav recordings (run datasets/fsdd?)", dir) end
  return out
end

--- Split recordings by take: test < test_takes <= valid < test_takes + valid_takes <= train.
-- @tparam table recs from scan
-- @tparam integer test_takes
-- @tparam integer valid_takes
-- @tparam[opt] integer limit at most this many per split (0 or nil: all), spread over the list
-- @treturn table `{train =, valid =, test =}`
function M.split(recs, test_takes, valid_takes, limit)
  local parts = { train = {}, valid = {}, test = {} }
  for _, r in ipairs(recs) do
    local p = r.take < test_takes and "test" or r.take < test_takes + valid_takes and "valid" or "train"
    table.insert(parts[p], r)
  end
  if limit and limit > 0 then
    for k, list in pairs(parts) do
      if #list > limit then
        local kept = {}
        for i = 1, limit do kept[i] = list[math.floor((i - 1) * #list / limit) + 1] end
        parts[k] = kept
      end
    end
  end
  return parts
end

-- ---- a small generator of its own ----------------------------------------------
-- The utterances a run generates depend on the seed alone, not on how much
-- of lurn's generator other code has drawn (xorshift64*).

local Rng = {}
Rng.__index = Rng

--- A generator seeded with an integer.
function M.rng(seed)
  local s = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) | 1
  return setmetatable({ s = s }, Rng)
end
--- A float in [0, 1).
function Rng:uniform()
  local x = self.s
  x = x ~ (x >> 12); x = x ~ (x << 25); x = x ~ (x >> 27)
  self.s = x
  return ((x * 0x2545F4914F6CDD1D) >> 11) / 9007199254740992.0
end
--- An integer in lo..hi.
function Rng:int(lo, hi) return lo + math.floor(self:uniform() * (hi - lo + 1)) end

--- Recipes for n utterances of min..max digits from the recordings `pool`:
-- each {parts = {{rec = i, gap = samples, gain = factor}, ...}, tail = samples,
-- digits = {d, ...}}. Gaps (before every digit and after the last) are
-- uniform in 0..max_gap samples, gains uniform in -gain_db..gain_db dB.
function M.recipes(n, pool, o, seed)
  local g = M.rng(seed)
  local out = {}
  for u = 1, n do
    local k = g:int(o.min_digits, o.max_digits)
    local parts, digits = {}, {}
    for i = 1, k do
      local r = g:int(1, #pool)
      parts[i] = { rec = r, gap = math.floor(g:uniform() * o.max_gap),
        gain = 10 ^ ((2 * g:uniform() - 1) * o.gain_db / 20) }
      digits[i] = pool[r].digit
    end
    out[u] = { parts = parts, tail = math.floor(g:uniform() * o.max_gap), digits = digits }
  end
  return out
end

--- The samples of a recipe, from the pool's loaded samples.
function M.render(recipe, samples)
  local total = recipe.tail
  for _, p in ipairs(recipe.parts) do total = total + p.gap + samples[p.rec]:size(1) end
  local x = lurn.zeros(total)
  local pos = 0
  for _, p in ipairs(recipe.parts) do
    pos = pos + p.gap
    local s = samples[p.rec]
    x:narrow(1, pos + 1, s:size(1)):copy(s:mul(p.gain))
    pos = pos + s:size(1)
  end
  return x
end

-- ---- Dataset ----------------------------------------------------------------------

local Dataset = {}
Dataset.__index = Dataset
Dataset.__name = "fsdd.Dataset"
M.Dataset = Dataset

--- A dataset of feature sequences.
-- @tparam table spec `n` (samples), `length(i)` (steps of sample i, for bucketing),
--   `features(i)` -> [T_i, D], and `label(i)` -> a class id, or `labels(i)` -> a
--   label list (CTC targets); `cache = true` keeps features once computed.
function Dataset.new(spec)
  return setmetatable({ n = spec.n, length = spec.length, features = spec.features,
    label = spec.label, labels = spec.labels, cache = spec.cache and {} or nil }, Dataset)
end

--- The number of samples.
function Dataset:size() return self.n end

--- The features [T, D] of sample i (kept when the dataset caches).
function Dataset:feat(i)
  if self.cache and self.cache[i] then return self.cache[i] end
  local f = self.features(i)
  if self.cache then self.cache[i] = f end
  return f
end

--- One batch from sample indices: data [T, B, D] zero-padded, lengths [B],
-- and labels [B] (int32) or targets {labels = [B, S], lengths = [B]}.
function Dataset:make_batch(index)
  local feats, T = {}, 1
  for b, i in ipairs(index) do
    feats[b] = self:feat(i)
    T = math.max(T, feats[b]:size(1))
  end
  local B, D = #index, feats[1]:size(2)
  local data = lurn.zeros(T, B, D)
  local lengths = {}
  for b, f in ipairs(feats) do
    data:select(2, b):narrow(1, 1, f:size(1)):copy(f)
    lengths[b] = f:size(1)
  end
  local batch = { data = data, lengths = lurn.tensor(lengths, "int32"), index = index }
  if self.label then
    local l = {}
    for b, i in ipairs(index) do l[b] = self.label(i) end
    batch.labels = lurn.tensor(l, "int32")
  elseif self.labels then
    local lists = {}
    for b, i in ipairs(index) do lists[b] = self.labels(i) end
    local lab, len = lurn.nn.CTC.pack(lists)
    batch.targets = { labels = lab, lengths = len, lists = lists }
  end
  return batch
end

--- The samples of one epoch in batches (data.Dataset's rule: shuffled from
-- lurn's generator; bucket = sorted by length in windows of 50 batches).
function Dataset:epoch_order(opts)
  local n, size = self.n, opts.size or 32
  local order = {}
  if opts.shuffle then
    local perm = lurn.randperm(n)
    for i = 1, n do order[i] = perm:get(i) + 1 end
  else
    for i = 1, n do order[i] = i end
  end
  local batches = {}
  if opts.bucket then
    local window = size * 50
    for w = 1, n, window do
      local chunk = table.move(order, w, math.min(w + window - 1, n), 1, {})
      local pos, len = {}, {}
      for k, i in ipairs(chunk) do pos[i], len[i] = k, self.length(i) end
      table.sort(chunk, function(a, b)
        if len[a] ~= len[b] then return len[a] > len[b] end
        return pos[a] < pos[b]
      end)
      for s = 1, #chunk, size do
        batches[#batches + 1] = table.move(chunk, s, math.min(s + size - 1, #chunk), 1, {})
      end
    end
    if opts.shuffle and #batches > 1 then
      local perm, shuffled = lurn.randperm(#batches), {}
      for i = 1, #batches do shuffled[i] = batches[perm:get(i) + 1] end
      batches = shuffled
    end
  else
    for s = 1, n, size do batches[#batches + 1] = table.move(order, s, math.min(s + size - 1, n), 1, {}) end
  end
  if opts.drop_last and #batches > 0 and #batches[#batches] < size then batches[#batches] = nil end
  return batches
end

--- Iterate over batches: opts size, shuffle, bucket, drop_last, resume (data.Dataset's).
function Dataset:batches(opts)
  opts = opts or {}
  local it = {}
  if opts.resume then it.plan, it.pos = opts.resume.batches, opts.resume.pos
  else it.plan, it.pos = self:epoch_order(opts), 0 end
  function it.state() return { batches = it.plan, pos = it.pos } end
  return function()
    it.pos = it.pos + 1
    local index = it.plan[it.pos]
    if not index then return nil end
    return self:make_batch(index)
  end, it
end

-- ---- features -----------------------------------------------------------------------

--- lurn.audio feature options from a config's speech section.
function M.feature_options(sp)
  return { sample_rate = sp.sample_rate, win_ms = sp.win_ms, hop_ms = sp.hop_ms,
    n_mels = sp.n_mels, n_mfcc = sp.features == "mfcc" and sp.n_mfcc or 0, deltas = sp.deltas,
    normalize = sp.normalize, stack = sp.stack }
end

--- Steps lurn.audio.features gives for n samples (at the feature rate).
function M.steps(n, fo)
  local win = math.max(1, math.floor(fo.win_ms * fo.sample_rate / 1000 + 0.5))
  local hop = math.max(1, math.floor(fo.hop_ms * fo.sample_rate / 1000 + 0.5))
  local frames = n <= win and 1 or 1 + (n - win) // hop
  return (frames + fo.stack - 1) // fo.stack
end

--- Edit distance between two label lists (insertions, deletions, substitutions).
function M.edit_distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i] == b[j] and 0 or 1))
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

return M
