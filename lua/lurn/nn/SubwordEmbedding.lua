--- nn.SubwordEmbedding(vocab, buckets, dim [, {dropout = p}]) — word vectors composed with
-- their character n-grams' (fastText's subword vectors).
--
-- Input: a batch of a dataset with subwords (data.subwords; data.Dataset's
-- make_batch): word_ids [T, B], lengths [B] and subwords = {pos, ids, scale}.
-- Output: a Seq {data = [T, B, dim], lengths}: at each position the mean of
-- the word's vector and the vectors of its character n-grams (3 to 6
-- characters of "<word>", hashed into `buckets`); a word outside the
-- vocabulary (word id 0) gets the mean of its n-grams' vectors alone, so an
-- unseen word still reads as something near the words that share its parts.
--
-- Two tables, each an nn.Embedding child: `word` [vocab, dim] (id 0 is padding;
-- dropout = p drops word types as nn.Embedding does) and `sub` [buckets + 1,
-- dim] (row 0 is padding). Both are row-sparse (lazy Adam, the sparse
-- exchange of lurn.dist).
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local Embedding = require "lurn.nn.Embedding"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.SubwordEmbedding(vocab, buckets, dim [, opts]) — word and character n-gram vectors, averaged.
-- Options: dropout = 0 (word-type dropout of the word table, training only).
-- @tparam integer vocab number of word ids (vocab:size())
-- @tparam integer buckets hash buckets of the n-grams (data.subwords)
-- @tparam integer dim vector size
-- @tparam[opt] table opts the options above
-- @treturn nn.SubwordEmbedding the module
-- @usage local m = nn.SubwordEmbedding(100, 1000, 16)
-- -- m:forward(batch) with a batch of a dataset made with subwords = {buckets = 1000}
-- @function SubwordEmbedding
local SubwordEmbedding = class("nn.SubwordEmbedding", Module)

function SubwordEmbedding:__init(vocab, buckets, dim, opts)
  Module.__init(self)
  opts = opts or {}
  util.check_keys(opts, { dropout = 1 }, "nn.SubwordEmbedding")
  if math.type(buckets) ~= "integer" or buckets < 1 then
    util.user_error(("nn.SubwordEmbedding: buckets must be a positive integer, got %s")
      :format(tostring(buckets)))
  end
  self.vocab, self.buckets, self.dim = vocab, buckets, dim
  self.dropout = opts.dropout or 0
  self.word = self:add_module("word", Embedding(vocab, dim,
    { padding = 0, dropout = self.dropout > 0 and self.dropout or nil }))
  self.sub = self:add_module("sub", Embedding(buckets + 1, dim, { padding = 0 }))
end

function SubwordEmbedding:forward(input)
  local sw = type(input) == "table" and input.subwords
  if type(sw) ~= "table" or not lurn.is_tensor(input.word_ids) then
    util.user_error(("nn.SubwordEmbedding: expected a batch with subwords (a dataset made with "
      .. "data.subwords), got %s"):format(seq.describe(input)))
  end
  local ids = input.word_ids
  local T, B = ids:size(1), ids:size(2)
  local out = self.word:forward(ids).data
  if sw.pos then
    -- each n-gram's vector added onto its position's row
    local rows = self.sub:forward(sw.ids).data
    core.embedding_backward(sw.pos, rows, out:view(T * B, self.dim), -1)
  end
  out:mul_(sw.scale)
  self._sw = sw
  self.output = seq.new(out, input.lengths)
  return self.output
end

function SubwordEmbedding:backward(grad_output)
  self:_check_backward(self._sw, grad_output)
  local sw = self._sw
  if not lurn.is_tensor(grad_output) then grad_output = grad_output.data end
  local g = grad_output:mul(sw.scale)
  self.word:backward(g)
  if sw.pos then   -- scale is [T, B, 1]
    self.sub:backward(core.embedding_forward(sw.pos, g:view(sw.scale:numel(), self.dim)))
  end
  return nil
end

--- m:reset_rows(), m:touched_rows(): see nn.Embedding (lurn.dist records both tables' rows
-- through their own modules: row_sparse lists the two children).

function SubwordEmbedding:describe()
  return ("nn.SubwordEmbedding(%d x %d, %d n-gram buckets%s)"):format(self.vocab, self.dim,
    self.buckets, self.dropout > 0 and (", dropout=%g"):format(self.dropout) or "")
end

function SubwordEmbedding:spec()
  return { type = "SubwordEmbedding", args = { self.vocab, self.buckets, self.dim,
    self.dropout > 0 and { dropout = self.dropout } or nil } }
end

return SubwordEmbedding
