--- lurn.seq2seq.search — greedy and beam-search decoding of an nn.Seq2Seq, batched.
--
--   local search = require "lurn.seq2seq.search"
--   local hyps = search.greedy(model, src, src_lengths, {max_len = 50})
--   local hyps = search.beam(model, src, src_lengths, {beam = 5, alpha = 1, max_len = 50})
--   hyps[b] = {ids = {...} (without </s>), score = log p (normalised for beam),
--              attention = {{a_1 ... a_S}, ...} (one row per output token, with opts.attention)}
--
-- src [S, B] int32 and src_lengths [B]: a batch of sentences decoded together.
-- max_len (a number, or a function of a source length) bounds each output;
-- a hypothesis that reaches it without </s> ends there.
--
-- Beam search keeps `beam` hypotheses per sentence (B * beam rows decoded as one
-- batch). At each step every live hypothesis is extended by every token; per
-- sentence the 2 * beam best extensions (by total log-probability) are taken in
-- order: one ending in </s> becomes a finished hypothesis, the others refill the
-- beam. A sentence is done once it holds `beam` finished hypotheses and no live
-- beam scores better (normalised at its current length) than the best of them,
-- or at max_len; the best finished one by score / length^alpha wins (alpha = 0: raw log-probability, which favours
-- short outputs; 1: the mean log-probability per token; length counts </s>).
local lurn = require "lurn"

local M = {}

local NEG = -1e30

local function max_lens(opts, src_lengths)
  local B = src_lengths:size(1)
  local out = {}
  for b = 1, B do
    local ml = opts.max_len or 100
    if type(ml) == "function" then ml = ml(src_lengths:get(b)) end
    out[b] = math.max(1, math.floor(ml))
  end
  return out
end

--- Greedy decoding: the most probable token at each step.
-- @tparam nn.Seq2Seq model (eval mode is set and restored)
-- @tparam Tensor src int32 [S, B]
-- @tparam Tensor src_lengths int32 [B]
-- @tparam[opt] table opts `max_len = 100` (number or function(source length)), `attention = false`
-- @treturn table hyps[b] = {ids, score, attention}
function M.greedy(model, src, src_lengths, opts)
  opts = opts or {}
  local was = model.training
  model:eval()
  local B = src:size(2)
  local limit = max_lens(opts, src_lengths)
  local longest = 0
  for b = 1, B do longest = math.max(longest, limit[b]) end
  local enc = model:encode(src, src_lengths)
  local st = model:start(enc)
  local prev = lurn.full({ B }, model.bos, "int32")
  local hyps, done, left = {}, {}, B
  for b = 1, B do hyps[b] = { ids = {}, score = 0, attention = opts.attention and {} or nil } end
  for t = 1, longest do
    local logp, a
    logp, st, a = model:step(enc, st, prev)
    local best, pos = logp:max(2)
    for b = 1, B do
      if not done[b] then
        local id = pos:get(b)
        local h = hyps[b]
        h.score = h.score + best:get(b)
        if opts.attention then h.attention[#h.attention + 1] = a:select(1, b):totable() end
        if id == model.eos or t >= limit[b] then
          if id ~= model.eos then h.ids[#h.ids + 1] = id end
          done[b], left = true, left - 1
        else
          h.ids[#h.ids + 1] = id
        end
      end
    end
    if left == 0 then break end
    prev = pos:int():view(B)
  end
  model:train(was)
  return hyps
end

--- Beam search (see the module header).
-- @tparam nn.Seq2Seq model (eval mode is set and restored)
-- @tparam Tensor src int32 [S, B]
-- @tparam Tensor src_lengths int32 [B]
-- @tparam[opt] table opts `beam = 5`, `alpha = 1` (length normalisation), `max_len = 100`,
--   `attention = false`
-- @treturn table hyps[b] = {ids, score, attention}
function M.beam(model, src, src_lengths, opts)
  opts = opts or {}
  local K = opts.beam or 5
  if math.type(K) ~= "integer" or K < 1 then
    error(("search.beam: beam must be a positive integer, got %s"):format(tostring(K)), 2)
  end
  local alpha = opts.alpha or 1
  local was = model.training
  model:eval()
  local B = src:size(2)
  local V = model.tgt_vocab
  local limit = max_lens(opts, src_lengths)
  local enc = model:encode(src, src_lengths, K)
  local st = model:start(enc)
  -- row (b-1)*K + k of every tensor is beam k of sentence b
  local scores = lurn.full({ B * K }, NEG)
  for b = 0, B - 1 do scores:set(b * K + 1, 0) end   -- one live beam at the start
  local beams = {}                                     -- beams[row] = {ids, att}
  for r = 1, B * K do beams[r] = { ids = {}, att = opts.attention and {} or nil } end
  local finished, done, left = {}, {}, B
  for b = 1, B do finished[b] = {} end
  local prev = lurn.full({ B * K }, model.bos, "int32")
  local function norm(score, len) return score / (len ^ alpha) end
  for t = 1, math.huge do
    local logp, a
    logp, st, a = model:step(enc, st, prev)              -- [B*K, V]
    local cand = (logp + scores:view(B * K, 1)):view(B, K * V)
    -- the 2K best extensions of each sentence, best first
    local top_v, top_i = {}, {}
    for j = 1, math.min(2 * K, K * V) do
      local v, p = cand:max(2)
      top_v[j], top_i[j] = v, p
      for b = 1, B do cand:set(b, p:get(b) + 1, NEG) end
    end
    local rows, toks, new_scores, new_beams = {}, {}, {}, {}
    for b = 1, B do
      local kept = 0
      for j = 1, #top_v do
        if done[b] or kept == K then break end
        local v = top_v[j]:get(b)
        if v <= NEG / 2 then break end
        local p = top_i[j]:get(b)
        local k, id = p // V, p % V                      -- beam (0-based) and token
        local row = (b - 1) * K + k + 1
        local src_beam = beams[row]
        local att = nil
        if opts.attention then
          att = table.move(src_beam.att, 1, #src_beam.att, 1, {})
          att[#att + 1] = a:select(1, row):totable()
        end
        if id == model.eos or t >= limit[b] then
          local ids = table.move(src_beam.ids, 1, #src_beam.ids, 1, {})
          if id ~= model.eos then ids[#ids + 1] = id end
          -- only an extension among the beam's best K may finish (as fairseq)
          if j <= K or id ~= model.eos then
            local f = finished[b]
            f[#f + 1] = { ids = ids, score = norm(v, t), attention = att }
          end
          if t >= limit[b] and id ~= model.eos then kept = kept + 1 end
        else
          local ids = table.move(src_beam.ids, 1, #src_beam.ids, 1, {})
          ids[#ids + 1] = id
          kept = kept + 1
          local r = (b - 1) * K + kept
          rows[r], toks[r], new_scores[r] = row - 1, id, v
          new_beams[r] = { ids = ids, att = att }
        end
      end
      -- done at the length limit, or once K hypotheses have finished and none
      -- of them is beaten by a live beam's score so far (normalised at this
      -- length: what the beam would score if it ended now)
      if not done[b] then
        local stop = t >= limit[b]
        if not stop and #finished[b] >= K then
          local best_f = NEG
          for _, h in ipairs(finished[b]) do best_f = math.max(best_f, h.score) end
          local best_live = NEG
          for r = (b - 1) * K + 1, b * K do
            if new_scores[r] then best_live = math.max(best_live, norm(new_scores[r], t)) end
          end
          stop = best_live <= best_f
        end
        if stop then done[b], left = true, left - 1 end
      end
    end
    if left == 0 then break end
    -- the next step's rows: the kept beams, and for dead slots any row with score NEG
    local row_list, tok_list = {}, {}
    for r = 1, B * K do
      if rows[r] then
        row_list[r], tok_list[r] = rows[r], toks[r]
        scores:set(r, new_scores[r])
        beams[r] = new_beams[r]
      else
        row_list[r], tok_list[r] = r - 1, model.eos
        scores:set(r, NEG)
        beams[r] = { ids = {}, att = opts.attention and {} or nil }
      end
    end
    local idx = lurn.tensor(row_list, "int32")
    st = model:reorder(st, idx)
    prev = lurn.tensor(tok_list, "int32")
  end
  model:train(was)
  local out = {}
  for b = 1, B do
    local best
    for _, h in ipairs(finished[b]) do
      if not best or h.score > best.score then best = h end
    end
    out[b] = best or { ids = {}, score = NEG }
  end
  return out
end

return M
