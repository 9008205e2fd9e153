--- lurn.text.split — seeded, stratified held-out splits and k folds; truncation.
--
--   local rng = split.Rng(seed)
--   local train_idx, valid_idx = split.holdout(labels, 0.1, seed)   -- fraction < 1
--   local train_idx, valid_idx = split.holdout(labels, 500, seed)   -- or a count
--   local folds = split.kfold(labels, 10, seed)    -- folds[i] = {train = {...}, valid = {...}}
--   ids = split.truncate(ids, max_len, "head" | "tail" | "both")
--
-- The splits draw from their own generator (xorshift64* seeded by splitmix64),
-- never from lurn's global one: the same seed gives the same split whatever
-- else the run draws, and making the split does not shift the model's
-- initialisation. Indices come back in file order.
local errors = require "lurn.errors"

local M = {}

local Rng = {}
Rng.__index = Rng

function M.Rng(seed)
  -- splitmix64 of the seed, so nearby seeds give unrelated streams
  local z = (math.tointeger(seed) or 0) + 0x9E3779B97F4A7C15
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  z = z ~ (z >> 31)
  if z == 0 then z = 1 end
  return setmetatable({ s = z }, Rng)
end

--- A uniform integer in [0, n).
function Rng:below(n)
  local x = self.s
  x = x ~ (x >> 12); x = x ~ (x << 25); x = x ~ (x >> 27)
  self.s = x
  local r = (x * 0x2545F4914F6CDD1D) >> 11      -- 53 high bits, non-negative
  return r % n
end

function Rng:shuffle(t)
  for i = #t, 2, -1 do
    local j = self:below(i) + 1
    t[i], t[j] = t[j], t[i]
  end
  return t
end

--- Indices grouped by label, groups in order of first appearance.
local function by_class(labels)
  local groups, order = {}, {}
  for i, l in ipairs(labels) do
    local g = groups[l]
    if not g then g = {}; groups[l] = g; order[#order + 1] = l end
    g[#g + 1] = i
  end
  return groups, order
end

--- Split 1..#labels into train and valid index lists, stratified: each
-- class gives its share of the held-out part (largest remainders settle
-- the rounding). `size` is a fraction in (0, 1) or a count >= 1.
function M.holdout(labels, size, seed)
  local n = #labels
  local k
  if type(size) ~= "number" or size <= 0 then
    errors.raise("config", "data.valid_split: expected a fraction in (0, 1) or a count >= 1, got %s",
      tostring(size))
  elseif size < 1 then
    k = math.floor(n * size + 0.5)
  else
    if math.type(size) ~= "integer" and size ~= math.floor(size) then
      errors.raise("config", "data.valid_split: a count must be a whole number, got %s", tostring(size))
    end
    k = math.tointeger(size)
  end
  if k < 1 or k >= n then
    errors.raise("data", "data.valid_split = %s holds out %d of %d samples: need at least 1 for each side",
      tostring(size), k, n)
  end
  local groups, order = by_class(labels)
  local quota, rem, taken = {}, {}, 0
  for ci, l in ipairs(order) do
    local exact = k * #groups[l] / n
    quota[ci] = math.floor(exact)
    rem[ci] = exact - quota[ci]
    taken = taken + quota[ci]
  end
  local by_rem = {}
  for ci = 1, #order do by_rem[ci] = ci end
  table.sort(by_rem, function(a, b)
    if rem[a] ~= rem[b] then return rem[a] > rem[b] end
    return a < b
  end)
  for j = 1, k - taken do quota[by_rem[j]] = quota[by_rem[j]] + 1 end
  local rng = M.Rng(seed)
  local in_valid = {}
  for ci, l in ipairs(order) do
    local g = rng:shuffle(table.move(groups[l], 1, #groups[l], 1, {}))
    for j = 1, quota[ci] do in_valid[g[j]] = true end
  end
  local train, valid = {}, {}
  for i = 1, n do
    if in_valid[i] then valid[#valid + 1] = i else train[#train + 1] = i end
  end
  return train, valid
end

--- k stratified folds: every class is shuffled and dealt round the folds in
-- turn (continuing where the previous class stopped), so fold sizes differ
-- by at most one and each holds every class in proportion.
function M.kfold(labels, k, seed)
  local n = #labels
  if math.type(k) ~= "integer" or k < 2 then
    errors.raise("config", "data.folds: expected an integer >= 2, got %s", tostring(k))
  end
  if k > n then errors.raise("data", "data.folds = %d but there are only %d samples", k, n) end
  local groups, order = by_class(labels)
  local rng = M.Rng(seed)
  local fold_of, p = {}, 0
  for _, l in ipairs(order) do
    local g = rng:shuffle(table.move(groups[l], 1, #groups[l], 1, {}))
    for _, i in ipairs(g) do fold_of[i] = p % k + 1; p = p + 1 end
  end
  local folds = {}
  for f = 1, k do folds[f] = { train = {}, valid = {} } end
  for i = 1, n do
    for f = 1, k do
      local part = fold_of[i] == f and folds[f].valid or folds[f].train
      part[#part + 1] = i
    end
  end
  return folds
end

--- Keep at most max_len ids: the first ("head"), the last ("tail"), or the
-- first ceil(max_len/2) and the last floor(max_len/2) ("both": a review's
-- opening and its verdict). Returns ids itself when it is short enough.
function M.truncate(ids, max_len, mode)
  local n = #ids
  if max_len <= 0 or n <= max_len then return ids end
  if mode == "head" or mode == nil then return table.move(ids, 1, max_len, 1, {}) end
  if mode == "tail" then return table.move(ids, n - max_len + 1, n, 1, {}) end
  if mode == "both" then
    local h = (max_len + 1) // 2
    local out = table.move(ids, 1, h, 1, {})
    return table.move(ids, n - (max_len - h) + 1, n, h + 1, out)
  end
  errors.raise("config", "data.truncate: expected head, tail or both, got '%s'", tostring(mode))
end

return M
