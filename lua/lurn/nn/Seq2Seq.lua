--- nn.Seq2Seq(src_vocab, tgt_vocab [, opts]) — an attentional encoder-decoder (neural machine translation).
--
-- Encoder: source embedding -> a (bidirectional) LSTM/GRU over the source,
-- giving the memory m [S, B, H*dirs]. Its top layer's final states (both
-- directions side by side) start the decoder through a bridge:
--   h_0 = tanh(W_b [h_fwd; h_bwd] + b_b)          (c_0 = 0 for an LSTM)
-- Decoder, one step per target position (Luong et al. 2015, with Bahdanau's
-- additive score as one choice), teacher-forced in training:
--   x_t  = [E y_{t-1}; o_{t-1}]     input feeding: the previous attentional output
--                                   (input_feeding = false: x_t = E y_{t-1})
--   h_t  = cell(x_t, h_{t-1})       one LSTM/GRU layer
--   c_t, a_t = attention(h_t, m)    nn.Attention ("additive", "general", "dot")
--   o_t  = tanh(W_c [c_t; h_t] + b_c)   (dropout on o_t in training)
--   logits_t = W_o o_t + b_o        W_o is the target embedding when tie_embeddings
-- Ids: 0 = padding, bos and eos given in opts (defaults 2 and 3, lurn.seq2seq.data's).
--
--   local m = nn.Seq2Seq(src_vocab, tgt_vocab, {cell = "gru", embed = 256, hidden = 256,
--                                              attention = "additive"})
--   local logits = m:forward(batch)      -- batch {src [S, B], src_lengths, tgt_in [T, B],
--                                        --   tgt_lengths}: Seq {data = [T, B, V], lengths}
--   m:backward(dlogits)                  -- [T, B, V]
--
-- Decoding (lurn.seq2seq.search): enc = m:encode(src, lengths [, repeat_each]),
-- st = m:start(enc), logp, st, a = m:step(enc, st, ids) with log-probabilities
-- [B, V] and attention weights [B, S]; m:reorder(st, rows) picks state rows.
--
-- Options (default first):
--   cell = "lstm" ("gru"), embed = 256, hidden = 256 (per encoder direction),
--   layers = 1 (encoder), bidirectional = true, decoder_hidden = hidden,
--   attention = "additive" ("general", "dot"), attention_hidden = decoder_hidden,
--   input_feeding = true, tie_embeddings = false (the output size is then embed),
--   dropout = 0 (on both embeddings and the attentional output), bos = 2, eos = 3.
-- Memory of a training step: per target step the cell's cache, the attention's
-- ([B, S], and [S, B, A] for "additive") and [B, Dm + Hd] + [B, O] of the output.
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local util = require "lurn.util"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"
local Linear = require "lurn.nn.Linear"
local Embedding = require "lurn.nn.Embedding"
local Attention = require "lurn.nn.Attention"
local rec = require "lurn.nn.Recurrent"

--- nn.Seq2Seq(src_vocab, tgt_vocab [, opts]): an encoder-decoder with attention (see the module
-- header for the model and every option).
-- @tparam integer src_vocab source vocabulary size
-- @tparam integer tgt_vocab target vocabulary size
-- @tparam[opt] table opts cell, embed, hidden, layers, bidirectional, decoder_hidden, attention,
--   attention_hidden, input_feeding, tie_embeddings, dropout, bos, eos
-- @usage local m = nn.Seq2Seq(10, 12, {cell = "gru", embed = 8, hidden = 8})
-- local function ids(t) return lurn.tensor(t, "int32") end
-- local out = m:forward{src = ids{{4, 5}, {6, 0}}, src_lengths = ids{2, 1},
--   tgt_in = ids{{2, 2}, {7, 8}}, tgt_lengths = ids{2, 2}}   -- out.data [2, 2, 12]
local Seq2Seq = class("nn.Seq2Seq", Module)

local DEFAULTS = {
  cell = "lstm", embed = 256, hidden = 256, layers = 1, bidirectional = true,
  decoder_hidden = false, attention = "additive", attention_hidden = false,
  input_feeding = true, tie_embeddings = false, dropout = 0, bos = 2, eos = 3,
}

function Seq2Seq:__init(src_vocab, tgt_vocab, opts)
  Module.__init(self)
  opts = opts or {}
  util.check_keys(opts, DEFAULTS, "nn.Seq2Seq", 2)
  local o = {}
  for k, v in pairs(DEFAULTS) do
    if opts[k] ~= nil then o[k] = opts[k] elseif v ~= false then o[k] = v end
  end
  if o.cell ~= "lstm" and o.cell ~= "gru" then
    error(("nn.Seq2Seq: cell must be 'lstm' or 'gru', got '%s'"):format(tostring(o.cell)), 2)
  end
  for _, k in ipairs { "embed", "hidden", "layers" } do
    if math.type(o[k]) ~= "integer" or o[k] < 1 then
      error(("nn.Seq2Seq: %s must be a positive integer, got %s"):format(k, tostring(o[k])), 2)
    end
  end
  if type(o.dropout) ~= "number" or o.dropout < 0 or o.dropout >= 1 then
    error(("nn.Seq2Seq: dropout must be in [0, 1), got %s"):format(tostring(o.dropout)), 2)
  end
  o.decoder_hidden = o.decoder_hidden or o.hidden
  self.opts = o
  local E, H, Hd = o.embed, o.hidden, o.decoder_hidden
  local dirs = o.bidirectional and 2 or 1
  local Dm = H * dirs
  local O = o.tie_embeddings and E or Hd     -- the attentional output's size
  self.src_vocab, self.tgt_vocab, self.Dm, self.O, self.dirs = src_vocab, tgt_vocab, Dm, O, dirs
  self.bos, self.eos = o.bos, o.eos
  self.src_embed = self:add_module("src_embed", Embedding(src_vocab, E, { padding = 0 }))
  local RNN = o.cell == "lstm" and rec.LSTM or rec.GRU
  self.encoder = self:add_module("encoder", RNN(E, H, { layers = o.layers,
    bidirectional = o.bidirectional, dropout = o.layers > 1 and o.dropout or 0 }))
  self.bridge = self:add_module("bridge", Linear(Dm, Hd))
  self.tgt_embed = self:add_module("tgt_embed", Embedding(tgt_vocab, E, { padding = 0 }))
  -- the decoder's cell: a one-layer nn.LSTM/GRU whose weights the steps use directly
  self.decoder = self:add_module("decoder", RNN(E + (o.input_feeding and O or 0), Hd))
  local ok, attn = pcall(Attention, Hd, Dm, { type = o.attention,
    hidden = o.attention == "additive" and (o.attention_hidden or Hd) or nil })
  if not ok then error((tostring(attn):gsub("^[^\n]-%.lua:%d+: ", "nn.Seq2Seq: ")), 2) end
  self.attention = self:add_module("attention", attn)
  self.combine = self:add_module("combine", Linear(Dm + Hd, O))
  if o.tie_embeddings then
    local b = 1 / math.sqrt(O)
    self:add_parameter("generator_bias", lurn.rand({ tgt_vocab }, -b, b))
  else
    self.generator = self:add_module("generator", Linear(O, tgt_vocab))
  end
end

-- The output layer's weight and its gradient, and the bias's.
function Seq2Seq:_out_params()
  if self.generator then
    local p = self.generator._params
    return p[1].value, p[1].grad, p[2].value, p[2].grad
  end
  local w = self.tgt_embed._params[1]
  return w.value, w.grad, self._params[1].value, self._params[1].grad
end

-- Dropout of x (a fresh mask, returned) in training mode.
function Seq2Seq:_drop(x)
  if not self.training or self.opts.dropout == 0 then return x, nil end
  local m = core.dropout_mask(x:shape(), self.opts.dropout)
  return x:mul(m), m
end

--- Encode a batch of sources. repeat_each = k repeats each sample k times in a
-- row (a beam of k per sentence). Returns enc {memory = [S, B*k, Dm],
-- lengths, h0 [B*k, Hd]}; the attention is prepared on it.
-- @tparam Tensor src int32 [S, B] source ids (0 = padding)
-- @tparam Tensor lengths int32 [B]
-- @tparam[opt] integer repeat_each
-- @treturn table enc
function Seq2Seq:encode(src, lengths, repeat_each)
  local E = self.src_embed:forward { ids = src, lengths = lengths }
  local x, mask = self:_drop(E.data)
  self._src_mask = mask
  local out = self.encoder:forward(seq.new(x, lengths))
  local L, D, H = self.encoder.layers, self.dirs, self.opts.hidden
  local fin = self.encoder.h_n:narrow(1, (L - 1) * D + 1, D)              -- [D, B, H]
  fin = D == 1 and fin:select(1, 1):contiguous() or lurn.cat({ fin:select(1, 1), fin:select(1, 2) }, 2)
  self._fin = fin                                                          -- [B, Dm]
  local h0 = core.activation_forward("tanh", core.linear_forward(fin, self.bridge.weight,
    self.bridge.bias))
  local memory = out.data
  if repeat_each and repeat_each > 1 then
    local B, rows = src:size(2), {}
    for b = 0, B - 1 do for _ = 1, repeat_each do rows[#rows + 1] = b end end
    local idx = lurn.tensor(rows, "int32")
    memory = memory:index_select(2, idx)
    lengths = lengths:index_select(1, idx)
    h0 = h0:index_select(1, idx)
  end
  self.attention:prepare(memory, lengths)
  return { memory = memory, lengths = lengths, h0 = h0 }
end

--- The decoder's state before its first step.
-- @tparam table enc what encode returned
-- @treturn table state {h, c, feed}
function Seq2Seq:start(enc)
  local B = enc.h0:size(1)
  return { h = enc.h0, c = self.opts.cell == "lstm" and lurn.zeros(B, self.opts.decoder_hidden) or nil,
    feed = self.opts.input_feeding and lurn.zeros(B, self.O) or nil }
end

-- One decoder step from the state st on embedded inputs e [B, E]: the new state
-- and the attentional output o [B, O]; in training, the caches backward needs.
function Seq2Seq:_step(st, e)
  local B = e:size(1)
  local x = st.feed and lurn.cat({ e, st.feed }, 2) or e
  local r = self.decoder.w[0][0]
  local _, hn, cn, cache = core.rnn_forward {
    kind = self.opts.cell, x = x:view(1, B, x:size(2)), h0 = st.h, c0 = st.c,
    w_ih = r.w_ih.value, w_hh = r.w_hh.value, b_ih = r.b_ih.value, b_hh = r.b_hh.value,
    training = self.training,
  }
  local ctx, a = self.attention:step(hn)
  local hc = lurn.cat({ ctx, hn }, 2)                                      -- [B, Dm + Hd]
  local o_raw = core.activation_forward("tanh", core.linear_forward(hc, self.combine.weight,
    self.combine.bias))                                                    -- [B, O]
  local o, mask = self:_drop(o_raw)
  local new = { h = hn, c = cn, feed = self.opts.input_feeding and o or nil }
  return new, o, a, { cache = cache, hc = hc, o_raw = o_raw, mask = mask, in_size = x:size(2) }
end

--- One decoding step: the log-probabilities of the next token.
-- @tparam table enc what encode returned
-- @tparam table st the state (start's, or a previous step's)
-- @tparam Tensor ids int32 [B] the previous tokens
-- @treturn Tensor log-probabilities [B, V]
-- @treturn table the next state
-- @treturn Tensor the attention weights [B, S]
function Seq2Seq:step(enc, st, ids)
  local e = core.embedding_forward(ids, self.tgt_embed.weight, 0)          -- [B, E]
  local new, o, a = self:_step(st, e)
  local W, _, b = self:_out_params()
  return core.log_softmax(core.linear_forward(o, W, b)), new, a
end

--- The state's rows `rows` (int32 [B'], 0-based), e.g. the beams kept.
function Seq2Seq:reorder(st, rows)
  return { h = st.h:index_select(1, rows), c = st.c and st.c:index_select(1, rows),
    feed = st.feed and st.feed:index_select(1, rows) }
end

function Seq2Seq:_check_batch(batch)
  if type(batch) ~= "table" or not lurn.is_tensor(batch.src) or not lurn.is_tensor(batch.tgt_in) then
    error("nn.Seq2Seq: forward takes a batch {src = [S, B], src_lengths = [B], tgt_in = [T, B], "
      .. "tgt_lengths = [B]} of int32 ids", 3)
  end
  local src, tin = batch.src, batch.tgt_in
  if src:dim() ~= 2 or tin:dim() ~= 2 or src:size(2) ~= tin:size(2)
      or src:dtype() ~= "int32" or tin:dtype() ~= "int32" then
    error(("nn.Seq2Seq: src %s and tgt_in %s must be int32 [S, B] and [T, B] with the same B")
      :format(seq.describe(src), seq.describe(tin)), 3)
  end
end

--- Teacher-forced logits of a batch: a Seq {data = [T, B, V], lengths = tgt_lengths}.
function Seq2Seq:forward(batch)
  self:_check_batch(batch)
  local S, B = batch.src:size(1), batch.src:size(2)
  local src_lengths = batch.src_lengths or lurn.full({ B }, S, "int32")
  local enc = self:encode(batch.src, src_lengths)
  local T = batch.tgt_in:size(1)
  local emb = self.tgt_embed:forward { ids = batch.tgt_in }.data            -- [T, B, E]
  local embd
  embd, self._tgt_mask = self:_drop(emb)
  local st = self:start(enc)
  local outs = lurn.zeros(T, B, self.O)
  local caches = {}
  for t = 1, T do
    local o, c
    st, o, _, c = self:_step(st, embd:select(1, t))
    outs:select(1, t):copy(o)
    caches[t] = c
  end
  self._caches, self._outs, self._T, self._B, self._h0 = caches, outs, T, B, enc.h0
  local W, _, b = self:_out_params()
  local logits = core.linear_forward(outs:view(T * B, self.O), W, b):view(T, B, self.tgt_vocab)
  self.output = seq.new(logits, batch.tgt_lengths)
  return self.output
end

--- Gradients of every parameter from the logits' gradient [T, B, V] (no input gradient: ids).
function Seq2Seq:backward(dlogits)
  if not self._caches then error("nn.Seq2Seq: backward before a training-mode forward", 2) end
  if not self.training then error("nn.Seq2Seq: backward needs a forward in training mode", 2) end
  local T, B, O, V = self._T, self._B, self.O, self.tgt_vocab
  local E, Hd, Dm = self.opts.embed, self.opts.decoder_hidden, self.Dm
  local W, gW, _, gb = self:_out_params()
  local douts = core.linear_backward(self._outs:view(T * B, O), W,
    (seq.split(dlogits)):reshape(T * B, V), gW, gb):view(T, B, O)
  local demb = lurn.zeros(T, B, E)
  local r = self.decoder._params
  local dfeed, dh, dc
  for t = T, 1, -1 do
    local c = self._caches[t]
    local do_ = douts:select(1, t)
    if dfeed then do_ = do_ + dfeed end
    if c.mask then do_ = do_:mul(c.mask) end
    local dz = core.activation_backward("tanh", do_, c.o_raw)
    local dhc = core.linear_backward(c.hc, self.combine.weight, dz, self.combine._params[1].grad,
      self.combine._params[2].grad)                                        -- [B, Dm + Hd]
    local dhn = dhc:narrow(2, Dm + 1, Hd):contiguous()
    dhn:add_(self.attention:step_backward(t, dhc:narrow(2, 1, Dm)))
    if dh then dhn:add_(dh) end
    local dx, dh0, dc0 = core.rnn_backward(c.cache, { dhn = dhn, dcn = dc,
      dw_ih = r[1].grad, dw_hh = r[2].grad, db_ih = r[3].grad, db_hh = r[4].grad })
    dh, dc = dh0, dc0
    dx = dx:view(B, c.in_size)
    demb:select(1, t):copy(dx:narrow(2, 1, E))
    dfeed = self.opts.input_feeding and dx:narrow(2, E + 1, O) or nil
  end
  if self._tgt_mask then demb = demb:mul(self._tgt_mask) end
  self.tgt_embed:backward(demb)
  local dmem = self.attention:finish_backward()
  -- h0 = tanh(bridge(fin)) -> fin -> the encoder's final states of its top layer
  local dz0 = core.activation_backward("tanh", dh, self._h0)
  local bp = self.bridge._params
  local dfin = core.linear_backward(self._fin, self.bridge.weight, dz0, bp[1].grad, bp[2].grad)
  local L, D, H = self.encoder.layers, self.dirs, self.opts.hidden
  local ghn = lurn.zeros(L * D, B, H)
  for d = 1, D do ghn:select(1, (L - 1) * D + d):copy(dfin:narrow(2, (d - 1) * H + 1, H)) end
  local dsrc = self.encoder:backward(dmem, { h_n = ghn })
  if self._src_mask then dsrc = dsrc:mul(self._src_mask) end
  self.src_embed:backward(dsrc)
  self._caches = nil
  return nil
end

--- m:row_sparse([out]) — the embeddings' weights (nn.Module.row_sparse), but the
-- target embedding when tie_embeddings: the output layer writes every row
-- of its gradient.
-- @tparam[opt] table out a list to append to
-- @treturn table {{module =, value =}, ...}
function Seq2Seq:row_sparse(out)
  out = out or {}
  self.src_embed:row_sparse(out)
  if not self.opts.tie_embeddings then self.tgt_embed:row_sparse(out) end
  return out
end

function Seq2Seq:describe()
  local o = self.opts
  return ("nn.Seq2Seq(%d -> %d, %s, embed %d, hidden %d%s, %s attention%s%s)"):format(
    self.src_vocab, self.tgt_vocab, o.cell, o.embed, o.hidden,
    o.bidirectional and " x2" or "", o.attention, o.input_feeding and ", input feeding" or "",
    o.tie_embeddings and ", tied" or "")
end

function Seq2Seq:spec()
  local o = {}
  for k, v in pairs(self.opts) do
    if DEFAULTS[k] ~= v and not (k == "decoder_hidden" and v == self.opts.hidden) then o[k] = v end
  end
  return { type = "Seq2Seq", args = { self.src_vocab, self.tgt_vocab, next(o) and o or nil } }
end

return Seq2Seq
