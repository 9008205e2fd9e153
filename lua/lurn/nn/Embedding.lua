--- nn.Embedding(vocab, dim [, {padding = id, dropout = p}]) — token ids to vectors.
--
-- Input: int32 ids [T, B] (0-based), or a batch {ids = [T, B], lengths = [B]}.
-- Output: a Seq {data = [T, B, dim], lengths}. The padding id's row is kept
-- at zero and gets no gradient; repeated ids accumulate their gradients.
-- weight [vocab, dim] ~ N(0, 1) like PyTorch's.
--
-- dropout = p is embedding dropout (Gal & Ghahramani 2016; AWD-LSTM's
-- embedded_dropout): in training, each word type of the vocabulary is
-- dropped with probability p for the whole batch — every occurrence of a
-- dropped word reads zeros — and the kept ones are scaled by 1/(1-p). One
-- draw of a [vocab, 1] mask per forward, looked up by id like the weight.
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

--- nn.Embedding(vocab, dim [, opts]) — token ids to vectors, PyTorch's torch.nn.Embedding.
-- Input: int32 ids [T, B] (0-based) or a batch {ids = [T, B], lengths = [B]};
-- output: a Seq {data = [T, B, dim], lengths}. weight [vocab, dim] ~ N(0, 1).
-- Options (default first):
--   padding = nil         an id whose row stays zero and gets no gradient
--   dropout = 0           embedding dropout: each word type dropped with this
--                         probability for the whole batch (training only)
-- @tparam integer vocab number of ids (vocab:size())
-- @tparam integer dim vector size
-- @tparam[opt] table opts the options above
-- @treturn nn.Embedding the module
-- @usage local m = nn.Embedding(100, 16, {padding = 0})
-- local s = m:forward(lurn.tensor({{1, 2}, {3, 0}}, "int32"))   -- s.data [2, 2, 16]
-- @function Embedding
local Embedding = class("nn.Embedding", Module)

function Embedding:__init(vocab, dim, opts)
  Module.__init(self)
  opts = opts or {}
  util.check_keys(opts, { padding = 1, dropout = 1 }, "nn.Embedding")
  if math.type(vocab) ~= "integer" or math.type(dim) ~= "integer" or vocab < 1 or dim < 1 then
    util.user_error("nn.Embedding: vocab and dim must be positive integers")
  end
  self.vocab, self.dim = vocab, dim
  self.padding = opts.padding
  if self.padding ~= nil and (math.type(self.padding) ~= "integer" or self.padding < 0
      or self.padding >= vocab) then
    util.user_error(("nn.Embedding: padding id %s is not in [0, %d)"):format(tostring(self.padding), vocab))
  end
  self.dropout = opts.dropout or 0
  if type(self.dropout) ~= "number" or self.dropout < 0 or self.dropout >= 1 then
    util.user_error(("nn.Embedding: dropout must be in [0, 1), got %s"):format(tostring(opts.dropout)))
  end
  local w = lurn.randn(vocab, dim)
  if self.padding then w:select(1, self.padding + 1):zero() end
  self:add_parameter("weight", w)
end

function Embedding:forward(input)
  local ids, lengths
  if lurn.is_tensor(input) then ids = input
  elseif type(input) == "table" and input.ids then ids, lengths = input.ids, input.lengths
  else
    util.user_error(("nn.Embedding: expected int32 ids or a batch {ids=, lengths=}, got %s")
      :format(seq.describe(input)))
  end
  if ids:dtype() ~= "int32" then
    util.user_error(("nn.Embedding: ids must be int32, got %s %s"):format(tostring(ids:shape()), ids:dtype()))
  end
  self._ids = ids
  local out = core.embedding_forward(ids, self.weight, self.padding or -1)
  self._mask = nil
  if self.training and self.dropout > 0 then
    -- the mask of each position: its word type's entry of a [vocab, 1] mask
    local m = core.embedding_forward(ids, core.dropout_mask({ self.vocab, 1 }, self.dropout))
    out = out:mul(m)
    self._mask = m
  end
  self.output = seq.new(out, lengths)
  return self.output
end

function Embedding:backward(grad_output)
  self:_check_backward(self._ids, grad_output)
  if self._mask then grad_output = grad_output:mul(self._mask) end
  core.embedding_backward(self._ids, grad_output, self._params[1].grad, self.padding or -1)
  local seen = self._rows_seen
  if seen then seen[#seen + 1] = self._ids end
  return nil
end

--- m:reset_rows() — start recording which rows of the weight's gradient backward writes.
-- Data-parallel training (lurn.dist) calls it before each step's backward
-- and sends only those rows of the gradient (touched_rows) instead of the
-- whole [vocab, dim] table. Until it is called backward records nothing.
-- @usage m:reset_rows(); m:zero_grad(); m:backward(dy); local rows = m:touched_rows()
function Embedding:reset_rows()
  self._rows_seen = {}
end

--- m:touched_rows() — the rows of the weight's gradient backward wrote since reset_rows.
-- The distinct ids of every backward since then but the padding id,
-- ascending, as int32 [k]; nil when there were none. After zero_grad and
-- the step's backward they are the only non-zero rows of the gradient.
-- @treturn ?Tensor int32 [k] 0-based rows, or nil
-- @usage m:reset_rows(); m:forward(ids); m:backward(dy)
-- print(m:touched_rows())   -- e.g. [1, 4, 17]
function Embedding:touched_rows()
  local seen = self._rows_seen
  if not seen then util.user_error("nn.Embedding: touched_rows before reset_rows") end
  if #seen == 0 then return nil end
  local ids = seen[1]
  if #seen > 1 then   -- several backwards (since reset_rows): their ids together
    local flat = {}
    for i, t in ipairs(seen) do flat[i] = t:contiguous():view(t:numel()) end
    ids = lurn.cat(flat, 1)
  end
  local rows = core.embedding_rows(ids, self.vocab, self.padding or -1)
  return rows:numel() > 0 and rows or nil
end

--- m:row_sparse([out]) — its weight: a gradient only the rows a batch names receive.
-- (Module's protocol, see nn.Module.row_sparse.)
-- @tparam[opt] table out a list to append to
-- @treturn table {{module = m, value = weight}}
function Embedding:row_sparse(out)
  out = out or {}
  out[#out + 1] = { module = self, value = self._params[1].value }
  return out
end

function Embedding:describe()
  return ("nn.Embedding(%d x %d%s%s)"):format(self.vocab, self.dim,
    self.padding and (", padding=" .. self.padding) or "",
    self.dropout > 0 and (", dropout=%g"):format(self.dropout) or "")
end

function Embedding:spec()
  local o = {}
  if self.padding ~= nil then o.padding = self.padding end
  if self.dropout > 0 then o.dropout = self.dropout end
  return { type = "Embedding", args = { self.vocab, self.dim, next(o) and o or nil } }
end

return Embedding
