--- lurn.text.subwords — the character n-grams of a word, hashed into buckets (fastText's subwords).
--
--   subwords.of(word, buckets [, minn = 3, maxn = 6]) -> {bucket, ...}   1-based buckets
--   subwords.cache(vocab, buckets) -> function(id) -> {bucket, ...}
--
-- A word's n-grams are the runs of minn..maxn characters (code points; bytes
-- when the word is not valid UTF-8) of "<" .. word .. ">", so prefixes and
-- suffixes differ from the same letters inside a word. Each n-gram's UTF-8
-- bytes are hashed with 32-bit FNV-1a into 1..buckets. The hash is fixed: a
-- saved model's buckets mean the same n-grams when it is loaded again.
-- data.Dataset:make_batch uses them when a dataset has `subwords`
-- (data.subwords in a config), for nn.SubwordEmbedding.
local M = {}

M.MINN, M.MAXN = 3, 6

local function fnv1a(s)
  local h = 2166136261
  for i = 1, #s do
    h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff
  end
  return h
end
M.hash = fnv1a

--- The 1-based buckets of word's character n-grams, in order of position then length.
function M.of(word, buckets, minn, maxn)
  minn, maxn = minn or M.MINN, maxn or M.MAXN
  local w = "<" .. word .. ">"
  local chars = {}
  if utf8.len(w) then
    for _, c in utf8.codes(w) do chars[#chars + 1] = utf8.char(c) end
  else
    for i = 1, #w do chars[i] = w:sub(i, i) end
  end
  local out = {}
  for i = 1, #chars do
    for n = minn, maxn do
      if i + n - 1 > #chars then break end
      out[#out + 1] = fnv1a(table.concat(chars, "", i, i + n - 1)) % buckets + 1
    end
  end
  return out
end

--- A memo of M.of over a vocabulary's ids (its words and the unknown words it
-- was extended with, data.Vocab:extend), kept on the vocabulary per bucket
-- count. The special tokens (<pad>, <unk>: ids below vocab.first_word) have none.
function M.cache(vocab, buckets)
  vocab._subwords = vocab._subwords or {}
  if vocab._subwords[buckets] then return vocab._subwords[buckets] end
  local lists = {}
  local none = {}
  local first = vocab.unk and vocab.unk + 1 or 1
  local function get(id)
    local l = lists[id]
    if l then return l end
    if id < first then l = none
    else l = M.of(vocab:word(id), buckets) end
    lists[id] = l
    return l
  end
  vocab._subwords[buckets] = get
  return get
end

return M
