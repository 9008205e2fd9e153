--- nn.Ngrams(vocab, buckets [, n]) — a batch of token ids with their hashed word n-grams.
--
-- {ids [T, B] int32, lengths [B]} -> {ids [T', B], lengths [B]}: each
-- sample's L token ids, then one id per n-gram of 2..n consecutive tokens,
-- hashed into `buckets` ids after the vocabulary's (vocab .. vocab+buckets-1),
-- so an Embedding of vocab + buckets rows followed by a mean Pool is a
-- fastText-style bag of n-grams. Padding (id 0) is never part of an n-gram.
-- The hash is fixed (a checkpoint's bag means the same n-grams when loaded).
-- No parameters and no input gradient (ids are not differentiable).
local lurn = require "lurn"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.Ngrams(vocab, buckets [, n]) — append hashed n-grams (2..n, default 2) to a batch's ids.
-- vocab: the number of token ids (ids 0 .. vocab-1); buckets: how many ids
-- the n-grams are hashed into (ids vocab .. vocab+buckets-1).
-- @tparam integer vocab token ids in the input
-- @tparam integer buckets hash buckets for the n-grams
-- @tparam[opt] integer n the longest n-gram (2..4, default 2)
-- @treturn nn.Ngrams the module
-- @usage local m = nn.Ngrams(10, 100)
-- local out = m:forward { ids = lurn.tensor({ { 3 }, { 4 }, { 5 } }, "int32"), lengths = lurn.tensor({ 3 }, "int32") }
-- print(out.lengths:get(1))   --> 5
-- @function Ngrams
local Ngrams = class("nn.Ngrams", Module)

local P = 1000003   -- the multiplier of the n-gram hash

function Ngrams:__init(vocab, buckets, n)
  Module.__init(self)
  n = n or 2
  if math.type(vocab) ~= "integer" or vocab < 1 then
    util.user_error(("nn.Ngrams: vocab must be a positive integer, got %s"):format(tostring(vocab)))
  end
  if math.type(buckets) ~= "integer" or buckets < 1 then
    util.user_error(("nn.Ngrams: buckets must be a positive integer, got %s"):format(tostring(buckets)))
  end
  if math.type(n) ~= "integer" or n < 2 or n > 4 then
    util.user_error(("nn.Ngrams: n must be 2, 3 or 4, got %s"):format(tostring(n)))
  end
  self.vocab, self.buckets, self.n = vocab, buckets, n
end

function Ngrams:forward(input)
  if type(input) ~= "table" or not lurn.is_tensor(input.ids) then
    util.user_error(("nn.Ngrams: expected a batch {ids=, lengths=}, got %s"):format(seq.describe(input)))
  end
  local ids = input.ids
  if ids:dtype() ~= "int32" or ids:dim() ~= 2 then
    util.user_error(("nn.Ngrams: ids must be [T, B] int32, got %s %s"):format(tostring(ids:shape()),
      ids:dtype()))
  end
  local T, B = ids:size(1), ids:size(2)
  local rows = ids:totable()
  local len = {}
  for b = 1, B do len[b] = input.lengths and input.lengths:get(b) or T end
  local out, lengths, T2 = {}, {}, 1
  local V, N, buckets = self.vocab, self.n, self.buckets
  for b = 1, B do
    local L = len[b]
    local col = {}
    for t = 1, L do
      local id = rows[t][b]
      if id < 0 or id >= V then
        util.user_error(("nn.Ngrams: id %d at step %d of sample %d is outside the vocabulary "
          .. "(0..%d)"):format(id, t, b, V - 1))
      end
      col[t] = id
    end
    local k = L
    for g = 2, N do
      for t = 1, L - g + 1 do
        local h = 0
        for j = t, t + g - 1 do h = h * P + col[j] end
        k = k + 1
        col[k] = V + (h % buckets)
      end
    end
    out[b], lengths[b] = col, k
    if k > T2 then T2 = k end
  end
  local grid = {}
  for t = 1, T2 do
    local r = {}
    for b = 1, B do r[b] = out[b][t] or 0 end
    grid[t] = r
  end
  self.output = { ids = lurn.tensor(grid, "int32"), lengths = lurn.tensor(lengths, "int32") }
  return self.output
end

function Ngrams:backward() return nil end

function Ngrams:describe() return ("nn.Ngrams(%d, %d, %d)"):format(self.vocab, self.buckets, self.n) end

function Ngrams:spec() return { type = "Ngrams", args = { self.vocab, self.buckets, self.n } } end

return Ngrams
