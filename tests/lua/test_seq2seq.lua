-- LuaUnit suite for translation: nn.Attention (additive, general, dot) against a
-- naive loop and by finite differences, nn.Seq2Seq's gradients (which check the
-- decoder step: cell, attention, input feeding, output layer) and its decoding
-- step against its teacher-forced forward, beam search against exhaustive search,
-- corpus BLEU and 13a tokens against hand-computed values, the parallel batches.
local lu = require "luaunit"
local lurn = require "lurn"
local class = require "lurn.class"
local nn = lurn.nn
local gradcheck = lurn.gradcheck
local sd = require "lurn.seq2seq.data"
local search = require "lurn.seq2seq.search"
local bleu = require "lurn.seq2seq.bleu"

local function ids(t) return lurn.tensor(t, "int32") end

local function close(a, b, tol)
  lu.assertTrue(math.abs(a - b) <= (tol or 1e-5) * math.max(1, math.abs(b)), ("%.9g vs %.9g"):format(a, b))
end

-- The memory as a parameter, so that gradcheck checks its gradient too.
local Wrap = class("test.AttentionWrap", nn.Module)
function Wrap:__init(attn, S, B)
  nn.Module.__init(self)
  self.attn = self:add_module("attn", attn)
  self:add_parameter("memory", lurn.randn(S, B, attn.memory_dim))
  self.lengths = ids { S, 2, 1 }
end
function Wrap:forward(q)
  return self.attn:forward { query = q, memory = self.memory, lengths = self.lengths }
end
function Wrap:backward(dy)
  local dq = self.attn:backward(dy)
  self._params[1].grad:add_(self.attn.grad_memory)
  return dq
end

-- ---------------------------------------------------------------------------
TestAttention = {}
function TestAttention:setUp() lurn.seed(5) end

function TestAttention:test_gradients_of_each_score()
  for _, kind in ipairs { "additive", "general", "dot" } do
    local Dq = kind == "dot" and 6 or 4
    local w = Wrap(nn.Attention(Dq, 6, { type = kind, hidden = 5 }), 4, 3)
    local r = gradcheck.check(w, lurn.randn(3, 3, Dq))
    lu.assertTrue(r.ok, kind .. ": " .. r.summary)
    lu.assertTrue(r.checked > 50, kind)
  end
end

-- scores by hand, one (b, j) at a time
local function naive_scores(a, q, m)
  local S, B = m:size(1), m:size(2)
  local s = lurn.zeros(B, S)
  for b = 1, B do
    local qb = q:select(1, b)
    for j = 1, S do
      local mj = m:select(1, j):select(1, b)
      local v
      if a.kind == "dot" then v = (qb * mj):sum()
      elseif a.kind == "general" then v = (qb * lurn.mm(a.weight, mj:view(-1, 1)):view(-1)):sum()
      else
        local z = lurn.mm(a.query_weight, qb:view(-1, 1)):view(-1)
            + lurn.mm(a.memory_weight, mj:view(-1, 1)):view(-1) + a.bias
        v = (z:tanh() * a.context:view(-1)):sum()
      end
      s:set(b, j, v)
    end
  end
  return s
end

function TestAttention:test_matches_a_naive_loop_and_ignores_padding()
  for _, kind in ipairs { "additive", "general", "dot" } do
    local a = nn.Attention(5, 5, { type = kind })
    local m, q = lurn.randn(4, 3, 5), lurn.randn(3, 5)
    local lengths = { 4, 2, 1 }
    a:prepare(m, ids(lengths))
    local c, w = a:step(q)
    local s = naive_scores(a, q, m)
    for b = 1, 3 do
      local mx, z = -math.huge, 0
      for j = 1, lengths[b] do mx = math.max(mx, s:get(b, j)) end
      for j = 1, lengths[b] do z = z + math.exp(s:get(b, j) - mx) end
      for j = 1, 4 do
        local want = j <= lengths[b] and math.exp(s:get(b, j) - mx) / z or 0
        close(w:get(b, j), want, 1e-5)
      end
      for d = 1, 5 do
        local want = 0
        for j = 1, 4 do want = want + w:get(b, j) * m:get(j, b, d) end
        close(c:get(b, d), want, 1e-5)
      end
    end
  end
end

function TestAttention:test_errors()
  lu.assertErrorMsgContains("'dot' needs the query size (4) to equal the memory size (6)",
    nn.Attention, 4, 6, { type = "dot" })
  lu.assertErrorMsgContains("type must be 'additive', 'general' or 'dot', got 'cosine'",
    nn.Attention, 4, 6, { type = "cosine" })
  lu.assertErrorMsgContains("unknown option 'heads'", nn.Attention, 4, 6, { heads = 2 })
  local a = nn.Attention(4, 6)
  lu.assertErrorMsgContains("step before prepare", a.step, a, lurn.randn(2, 4))
  a:prepare(lurn.randn(3, 2, 6))
  lu.assertErrorMsgContains("query must be [2, 4], got [2,5]", a.step, a, lurn.randn(2, 5))
  lu.assertErrorMsgContains("memory must be float32 [S, B, 6]", a.prepare, a, lurn.randn(3, 2, 5))
end

-- ---------------------------------------------------------------------------
local function toy_batch()
  return { src = ids { { 4, 5, 6 }, { 5, 6, 0 }, { 6, 0, 0 } }, src_lengths = ids { 3, 2, 1 },
    tgt_in = ids { { 2, 2, 2 }, { 4, 5, 6 }, { 7, 8, 0 } }, tgt_lengths = ids { 3, 3, 2 } }
end

TestSeq2Seq = {}
function TestSeq2Seq:setUp() lurn.seed(3) end

-- float32 forward passes through two recurrent networks: eps = 3e-2 keeps the
-- numeric gradients above their rounding noise (at 3e-3 the noise alone reaches
-- the tolerance, and the error falls as eps grows: no analytic fault)
function TestSeq2Seq:test_gradients()
  local cases = {
    { cell = "gru", attention = "additive", dropout = 0.2 },
    { cell = "lstm", attention = "additive", layers = 2 },
    { cell = "lstm", attention = "general", tie_embeddings = true },
    { cell = "gru", attention = "dot", decoder_hidden = 6, input_feeding = false },
    { cell = "lstm", attention = "dot", decoder_hidden = 6, tie_embeddings = true, dropout = 0.2 },
    { cell = "gru", attention = "general", bidirectional = false, input_feeding = true },
  }
  for _, c in ipairs(cases) do
    c.embed, c.hidden = 4, 3
    c.decoder_hidden = c.decoder_hidden or 5
    if c.bidirectional == false then c.decoder_hidden = 5 end
    local m = nn.Seq2Seq(7, 9, c)
    local r = gradcheck.check(m, toy_batch(), { eps = 3e-2, max_per_tensor = 12 })
    local name = ("%s %s%s%s"):format(c.cell, c.attention, c.tie_embeddings and " tied" or "",
      c.input_feeding == false and " no-feeding" or "")
    lu.assertTrue(r.ok, name .. ": " .. r.summary)
    lu.assertTrue(r.checked > 150, name)
  end
end

-- The decoding step (what beam search calls) gives the log-softmax of the
-- teacher-forced forward's logits, step by step.
function TestSeq2Seq:test_step_matches_forward()
  for _, att in ipairs { "additive", "general" } do
    local m = nn.Seq2Seq(7, 9, { embed = 4, hidden = 3, decoder_hidden = 5, attention = att,
      dropout = 0.3 })
    m:eval()
    local b = toy_batch()
    local logits = m:forward(b).data
    local enc = m:encode(b.src, b.src_lengths)
    local st = m:start(enc)
    for t = 1, 3 do
      local logp
      logp, st = m:step(enc, st, b.tgt_in:select(1, t):contiguous())
      local want = lurn.core.log_softmax(logits:select(1, t):contiguous())
      lu.assertTrue(lurn.allclose(logp, want, 1e-4, 1e-5), att .. " step " .. t)
    end
  end
end

function TestSeq2Seq:test_spec_round_trip_and_errors()
  local m = nn.Seq2Seq(7, 9, { cell = "gru", embed = 4, hidden = 3, attention = "general",
    tie_embeddings = true })
  local m2 = nn.build(m:spec())
  lu.assertEquals(m2:spec(), m:spec())
  lu.assertEquals(m2:num_parameters(), m:num_parameters())
  lu.assertErrorMsgContains("'dot' needs the query size (3) to equal the memory size (6)",
    nn.Seq2Seq, 7, 9, { embed = 4, hidden = 3, attention = "dot" })
  lu.assertErrorMsgContains("cell must be 'lstm' or 'gru'", nn.Seq2Seq, 7, 9, { cell = "rnn" })
  lu.assertErrorMsgContains("unknown option", nn.Seq2Seq, 7, 9, { heads = 2 })
  lu.assertErrorMsgContains("forward takes a batch", m.forward, m, { ids = ids { { 1 } } })
end

-- ---------------------------------------------------------------------------
TestSearch = {}
function TestSearch:setUp() lurn.seed(9) end

local function tiny_model(V)
  local m = nn.Seq2Seq(8, V, { cell = "gru", embed = 4, hidden = 4, attention = "additive" })
  -- sharper distributions than the initial ones, so that the orders matter
  for _, p in ipairs(m:parameters()) do p.value:mul_(3) end
  return m
end

-- Every output of at most L tokens, scored as beam search scores them.
local function exhaustive_best(m, src, lengths, L, alpha)
  local best
  local enc = m:encode(src, lengths)
  local function walk(st, prefix, logp)
    local n = #prefix + 1
    local lp, nst = m:step(enc, st, ids { prefix[#prefix] or m.bos })
    for id = 0, m.tgt_vocab - 1 do
      local s = logp + lp:get(1, id + 1)
      if id == m.eos or n == L then
        local score = s / n ^ alpha
        if not best or score > best.score then
          local out = table.move(prefix, 1, #prefix, 1, {})
          if id ~= m.eos then out[#out + 1] = id end
          best = { ids = out, score = score }
        end
      else
        local p = table.move(prefix, 1, #prefix, 1, {})
        p[#p + 1] = id
        walk(nst, p, s)
      end
    end
  end
  walk(m:start(enc), {}, 0)
  return best
end

function TestSearch:test_wide_beam_is_exhaustive()
  local m = tiny_model(6)
  m:eval()
  for _, alpha in ipairs { 0, 1 } do
    for _, s in ipairs { { 4, 5, 6 }, { 7 } } do
      local src, len = ids { s }:t():contiguous(), ids { #s }
      local want = exhaustive_best(m, src, len, 3, alpha)
      local got = search.beam(m, src, len, { beam = 64, alpha = alpha, max_len = 3 })[1]
      lu.assertEquals(got.ids, want.ids)
      close(got.score, want.score, 1e-5)
    end
  end
end

function TestSearch:test_beam_one_is_greedy_and_batches_agree()
  local m = tiny_model(9)
  local b = toy_batch()
  local g = search.greedy(m, b.src, b.src_lengths, { max_len = 6 })
  local b1 = search.beam(m, b.src, b.src_lengths, { beam = 1, alpha = 0, max_len = 6 })
  local b4 = search.beam(m, b.src, b.src_lengths, { beam = 4, alpha = 1, max_len = 6, attention = true })
  for i = 1, 3 do
    lu.assertEquals(b1[i].ids, g[i].ids)
    close(b1[i].score, g[i].score, 1e-5)
    -- one sentence alone decodes as it does in the batch
    local one = search.beam(m, b.src:narrow(2, i, 1):contiguous(), b.src_lengths:narrow(1, i, 1),
      { beam = 4, alpha = 1, max_len = 6 })[1]
    lu.assertEquals(one.ids, b4[i].ids)
    close(one.score, b4[i].score, 1e-5)
    -- a weight row per output step (</s> included, when it ended the output)
    lu.assertTrue(#b4[i].attention >= #b4[i].ids and #b4[i].attention <= #b4[i].ids + 1)
    local row = b4[i].attention[1]
    local sum = 0
    for j = 1, #row do sum = sum + row[j] end
    close(sum, 1, 1e-5)
  end
  lu.assertTrue(m.training, "the model's mode is restored")
end

-- ---------------------------------------------------------------------------
TestBleu = {}

function TestBleu:test_13a_tokens()
  local cases = {
    { "Hello, world!", "Hello , world !" },
    { "It costs $3.50, or 1,000 yen.", "It costs $ 3.50 , or 1,000 yen ." },
    { "a well-known 5-6 range", "a well-known 5 - 6 range" },
    { "&quot;Quoted&quot; &amp; (bracketed) <tags>", "\" Quoted \" & ( bracketed ) < tags >" },
    { "don't stop...", "don't stop . . ." },
    { "  many   spaces\n", "many spaces" },
    { "Zwei Männer, überall.", "Zwei Männer , überall ." },
  }
  for _, c in ipairs(cases) do lu.assertEquals(bleu.tokenize_13a(c[1]), c[2]) end
end

function TestBleu:test_hand_computed_scores()
  -- precisions 5/6, 3/5, 2/4, 1/3; equal lengths
  local r = bleu.corpus({ "the cat sat on the mat" }, { "the cat sat on a mat" })
  close(r.score, 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ^ 0.25, 1e-9)
  lu.assertEquals(r.bp, 1)
  -- no 3- or 4-gram match: sacreBLEU's exp smoothing counts 1/2 and 1/4 of a match
  r = bleu.corpus({ "a b c d" }, { "a b x d" })
  close(r.score, 100 * (3 / 4 * 1 / 3 * (1 / 2) / 2 * (1 / 4) / 1) ^ 0.25, 1e-9)
  lu.assertEquals(bleu.corpus({ "a b c d" }, { "a b x d" }, { smooth = "none" }).score, 0)
  -- brevity penalty: 4 tokens for 6
  r = bleu.corpus({ "the cat sat on" }, { "the cat sat on the mat" })
  close(r.bp, math.exp(1 - 6 / 4), 1e-12)
  close(r.score, 100 * math.exp(1 - 6 / 4), 1e-9)
  -- corpus level: the statistics add up before the precisions are taken
  r = bleu.corpus({ "the cat sat on the mat", "a b c d" }, { "the cat sat on a mat", "a b x d" })
  close(r.score, 100 * (8 / 10 * 4 / 8 * 2 / 6 * 1 / 4) ^ 0.25, 1e-9)
  -- case, and 13a punctuation
  lu.assertEquals(bleu.corpus({ "the cat sat on the mat ." }, { "The cat sat on the mat." },
    { lowercase = true }).score, 100)
  lu.assertTrue(bleu.corpus({ "the cat sat on the mat ." }, { "The cat sat on the mat." }).score < 100)
  lu.assertErrorMsgContains("2 hypotheses but 1 references", bleu.corpus, { "a", "b" }, { "a" })
end

-- ---------------------------------------------------------------------------
TestParallelData = {}

function TestParallelData:test_batches()
  local ds = sd.Dataset { src = { { 4, 5, 6 }, { 7 } }, tgt = { { 8, 9 }, { 10, 11, 12 } } }
  local b = ds:make_batch { 1, 2 }
  lu.assertEquals(b.src:totable(), { { 4, 7 }, { 5, 0 }, { 6, 0 } })
  lu.assertEquals(b.tgt_in:totable(), { { 2, 2 }, { 8, 10 }, { 9, 11 }, { 0, 12 } })
  lu.assertEquals(b.targets:totable(), { { 8, 10 }, { 9, 11 }, { 3, 12 }, { -100, 3 } })
  lu.assertEquals(b.src_lengths:totable(), { 3, 1 })
  lu.assertEquals(b.tgt_lengths:totable(), { 3, 4 })
  local n = 0
  for batch in ds:batches { size = 1, shuffle = true, bucket = true } do n = n + #batch.index end
  lu.assertEquals(n, 2)
end

function TestParallelData:test_vocab_tokens_and_files()
  local v = sd.build_vocab({ { "a", "b", "a" }, { "c", "a", "b" } }, { min_count = 2 })
  lu.assertEquals(v.itos, { "<pad>", "<unk>", "<s>", "</s>", "a", "b" })
  lu.assertEquals(sd.encode(v, { "a", "c", "b" }), { 4, 1, 5 })
  lu.assertEquals(sd.decode(v, { 4, 5, 3, 4 }), { "a", "b" })
  lu.assertEquals(sd.tokenize("Ein Mann, der läuft.", { lower = true }), { "ein", "mann", ",", "der", "läuft", "." })
  lu.assertEquals(sd.detokenize { "a", "man", ",", "(", "tall", ")", "runs", "." }, "a man, (tall) runs.")
  local dir = os.tmpname()
  os.remove(dir)
  lurn.mkdir(dir)
  local f = io.open(dir .. "/x.de", "w"); f:write("a\nb\n"); f:close()
  f = io.open(dir .. "/x.en", "w"); f:write("c\n"); f:close()
  local ok, err = pcall(sd.read_pair, dir .. "/x", "de", "en")
  lu.assertFalse(ok)
  lu.assertStrContains(err.message, "x.de has 2 lines but " .. dir .. "/x.en has 1")
  -- found by tests/fuzz/fuzz_parallel.c: a corpus that is not UTF-8 read
  -- fine and the run failed at its first checkpoint (the vocabulary is
  -- saved as JSON, which holds UTF-8 only); now the read names the line
  f = io.open(dir .. "/x.de", "w"); f:write("ein Hund\nzwei M\xe4nner\n"); f:close()
  f = io.open(dir .. "/x.en", "w"); f:write("a dog\ntwo men\n"); f:close()
  ok, err = pcall(sd.read_pair, dir .. "/x", "de", "en")
  lu.assertFalse(ok)
  lu.assertEquals(err.code, "data")
  lu.assertStrContains(err.message, dir .. "/x.de:2: not valid UTF-8 at byte 7 of the line")
  ok, err = pcall(sd.read_pair, dir .. "/nope", "de", "en")
  lu.assertFalse(ok)
  lu.assertStrContains(err.message, "nope.de: cannot read")
  os.remove(dir .. "/x.de"); os.remove(dir .. "/x.en"); os.remove(dir)
end

os.exit(lu.LuaUnit.run(), true)
