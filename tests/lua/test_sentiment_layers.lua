-- LuaUnit suite for the layers sentiment models add to lurn.nn: embedding
-- dropout, attention pooling, label smoothing. Each is compared with a naive
-- loop and checked by central finite differences (lurn.gradcheck).
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn
local gradcheck = lurn.gradcheck

local function ids(t) return lurn.tensor(t, "int32") end

local function assert_grads(m, x, opts)
  local r = gradcheck.check(m, x, opts)
  lu.assertTrue(r.ok, r.summary)
  lu.assertTrue(r.checked > 0)
  return r
end

local function close(a, b, tol)
  lu.assertTrue(math.abs(a - b) <= (tol or 1e-5) * math.max(1, math.abs(b)), ("%.9g vs %.9g"):format(a, b))
end

-- ---------------------------------------------------------------------------
TestEmbeddingDropout = {}
function TestEmbeddingDropout:setUp() lurn.seed(11) end

function TestEmbeddingDropout:test_drops_word_types_for_the_whole_batch()
  local V, D = 200, 3
  local e = nn.Embedding(V, D, { dropout = 0.5 })
  local t = {}
  for i = 1, 50 do t[i] = { (i * 7) % V, (i * 7) % V, (i * 13) % V } end   -- each id twice in a row
  local x = ids(t)
  local out = e:forward(x).data
  local dropped, kept = 0, 0
  for i = 1, 50 do
    local a, b = out:select(1, i):select(1, 1), out:select(1, i):select(1, 2)
    lu.assertTrue(lurn.allclose(a, b, 0, 0), "two occurrences of one word share its mask")
    local w = e.weight:select(1, (i * 7) % V + 1)
    if a:abs():sum() == 0 then dropped = dropped + 1
    else
      kept = kept + 1
      lu.assertTrue(lurn.allclose(a, w * 2, 1e-6, 1e-6), "kept words are scaled by 1/(1-p)")
    end
  end
  lu.assertTrue(dropped > 10 and kept > 10, ("dropped %d, kept %d"):format(dropped, kept))
  -- eval mode: no dropout
  e:eval()
  lu.assertTrue(lurn.allclose(e:forward(x).data:select(1, 1):select(1, 1), e.weight:select(1, 8), 0, 0))
end

function TestEmbeddingDropout:test_gradcheck()
  local e = nn.Embedding(9, 4, { padding = 0, dropout = 0.4 })
  local batch = { ids = ids { { 1, 2, 3 }, { 4, 1, 0 }, { 5, 6, 0 } }, lengths = ids { 3, 3, 1 } }
  local m = nn.Sequential { e, nn.Pool("mean"), nn.Linear(4, 2) }
  local r = assert_grads(m, batch)
  -- the mask really zeroed some rows' gradients: a dropped word gets none
  lu.assertTrue(r.checked > 0)
  lu.assertErrorMsgContains("nn.Embedding: dropout must be in [0, 1), got 1", nn.Embedding, 4, 2, { dropout = 1 })
  lu.assertEquals(tostring(nn.Embedding(4, 2, { dropout = 0.25 })):match("^[^ ]+ [^ ]+ [^ ]+ [^ ]+"),
    "nn.Embedding(4 x 2, dropout=0.25)")
end

-- ---------------------------------------------------------------------------
TestAttentionPool = {}
function TestAttentionPool:setUp() lurn.seed(5) end

--- y[b] = sum_t a_t x_t with a = softmax over t < len of v . tanh(W x_t + b), in plain Lua.
local function naive_attention(m, x, lengths)
  local T, B, D = x:size(1), x:size(2), x:size(3)
  local H = m.hidden
  local y = {}
  for b = 1, B do
    local len = lengths and lengths:get(b) or T
    local s = {}
    for t = 1, len do
      local acc = 0
      for h = 1, H do
        local z = m.bias:get(h)
        for d = 1, D do z = z + m.weight:get(h, d) * x:get(t, b, d) end
        acc = acc + m.context:get(1, h) * math.tanh(z)
      end
      s[t] = acc
    end
    local mx = -math.huge
    for t = 1, len do mx = math.max(mx, s[t]) end
    local z = 0
    for t = 1, len do s[t] = math.exp(s[t] - mx); z = z + s[t] end
    y[b] = {}
    for d = 1, D do
      local acc = 0
      for t = 1, len do acc = acc + s[t] / z * x:get(t, b, d) end
      y[b][d] = acc
    end
  end
  return y
end

function TestAttentionPool:test_forward_matches_a_naive_loop()
  local m = nn.AttentionPool(4, { hidden = 3 })
  local x = lurn.randn(5, 3, 4)
  local lengths = ids { 5, 2, 0 }
  local y = m:forward(nn.seq.new(x, lengths))
  lu.assertEquals(y:shape(), { 3, 4 })
  local ref = naive_attention(m, x, lengths)
  for b = 1, 2 do for d = 1, 4 do close(y:get(b, d), ref[b][d], 1e-5) end end
  -- a length-0 sample pools to zeros, and padded steps get no weight
  lu.assertEquals(y:select(1, 3):abs():sum(), 0)
  lu.assertEquals(m.weights:shape(), { 3, 5 })
  lu.assertEquals(m.weights:select(1, 2):narrow(1, 3, 3):abs():sum(), 0)
  close(m.weights:select(1, 1):sum(), 1, 1e-6)
  -- what padded steps hold does not matter
  local x2 = x:clone()
  x2:narrow(1, 3, 3):select(2, 2):fill(100)
  lu.assertTrue(lurn.allclose(m:forward(nn.seq.new(x2, lengths)):select(1, 2), y:select(1, 2), 0, 0))
  -- without lengths every step counts
  local yall = m:forward(x)
  local refall = naive_attention(m, x, nil)
  close(yall:get(3, 2), refall[3][2], 1e-5)
end

function TestAttentionPool:test_gradcheck()
  local x = nn.seq.new(lurn.randn(4, 3, 5), ids { 4, 1, 3 })
  assert_grads(nn.AttentionPool(5, { hidden = 6 }), x)
  assert_grads(nn.AttentionPool(5), lurn.randn(3, 5, 2):permute(1, 3, 2))      -- non-contiguous, no lengths
  -- in a model: Embedding -> GRU -> attention -> Linear
  local batch = { ids = ids { { 1, 2 }, { 3, 0 }, { 4, 0 } }, lengths = ids { 3, 1 } }
  assert_grads(nn.Sequential { nn.Embedding(6, 3, { padding = 0 }), nn.GRU(3, 4), nn.AttentionPool(4),
    nn.Linear(4, 2) }, batch)
end

function TestAttentionPool:test_errors()
  lu.assertErrorMsgContains("nn.AttentionPool(4): expected a [T, B, 4] Seq, got [2,3] float32",
    function() nn.AttentionPool(4):forward(lurn.randn(2, 3)) end)
  lu.assertErrorMsgContains("dim and hidden must be positive integers", nn.AttentionPool, 0)
end

-- ---------------------------------------------------------------------------
TestLabelSmoothing = {}
function TestLabelSmoothing:setUp() lurn.seed(7) end

--- A loss as a module: forward(logits) -> [1] loss, backward(r) -> r * dloss,
-- so gradcheck can difference it.
local function loss_module(loss, targets)
  local M = nn.Module()
  function M:forward(x)
    self.output = lurn.tensor { loss:forward(x, targets) }
    return self.output
  end
  function M:backward(r) return loss:backward():mul(r:get(1)) end
  return M
end

function TestLabelSmoothing:test_value_matches_the_definition()
  local N, C, e = 6, 4, 0.2
  local x, y = lurn.randn(N, C), ids { 0, 3, 1, -100, 2, 2 }
  local got = nn.CrossEntropy { label_smoothing = e }:forward(x, y)
  local lsm = lurn.core.log_softmax(x)
  local total, n = 0, 0
  for i = 1, N do
    local t = y:get(i)
    if t ~= -100 then
      local mean = 0
      for c = 1, C do mean = mean - lsm:get(i, c) / C end
      total = total + (1 - e) * -lsm:get(i, t + 1) + e * mean
      n = n + 1
    end
  end
  close(got, total / n, 1e-5)
  close(nn.CrossEntropy { label_smoothing = e, reduction = "sum" }:forward(x, y), total, 1e-5)
  -- 0 is plain cross-entropy
  close(nn.CrossEntropy { label_smoothing = 0 }:forward(x, y), nn.CrossEntropy():forward(x, y), 0)
end

function TestLabelSmoothing:test_gradcheck()
  local y = ids { 1, 0, 2, -100, 1 }
  assert_grads(loss_module(nn.CrossEntropy { label_smoothing = 0.1 }, y), lurn.randn(5, 3))
  assert_grads(loss_module(nn.CrossEntropy { label_smoothing = 0.3, reduction = "sum" }, y), lurn.randn(5, 3))
  -- the per-step form: steps past each length count for neither term
  local targets = ids { { 1, 2 }, { 0, 7 }, { 2, 7 } }      -- 7: past length 1, never read
  local logits = nn.seq.new(lurn.randn(3, 2, 3), ids { 3, 1 })
  local ce = nn.CrossEntropy { label_smoothing = 0.2 }
  local m = nn.Module()
  function m:forward(x)
    self.output = lurn.tensor { ce:forward(nn.seq.new(x, logits.lengths), targets) }
    return self.output
  end
  function m:backward(r) return ce:backward():mul(r:get(1)) end
  local r = assert_grads(m, logits.data)
  lu.assertTrue(r.checked >= 18)
  local d = ce:backward()
  lu.assertEquals(d:select(1, 2):select(1, 2):abs():sum(), 0)
end

function TestLabelSmoothing:test_errors()
  lu.assertErrorMsgContains("nn.CrossEntropy: label_smoothing must be in [0, 1], got 2",
    nn.CrossEntropy, { label_smoothing = 2 })
  lu.assertErrorMsgContains("label_smoothing with class weights is not supported",
    nn.CrossEntropy, { label_smoothing = 0.1, weight = lurn.ones(3) })
end

-- ---------------------------------------------------------------------------
TestNgrams = {}
function TestNgrams:setUp() lurn.seed(13) end

-- the n-gram ids of one sample, written out from the definition
local function naive_ngrams(seq_ids, V, buckets, n)
  local out = {}
  for _, id in ipairs(seq_ids) do out[#out + 1] = id end
  for g = 2, n do
    for t = 1, #seq_ids - g + 1 do
      local h = 0
      for j = t, t + g - 1 do h = h * 1000003 + seq_ids[j] end
      out[#out + 1] = V + h % buckets
    end
  end
  return out
end

function TestNgrams:test_ids_match_the_definition()
  local V, buckets = 50, 37
  local samples = { { 3, 4, 5, 6 }, { 7, 8 }, { 9 }, {} }
  local T = 4
  local grid = {}
  for t = 1, T do
    grid[t] = {}
    for b = 1, #samples do grid[t][b] = samples[b][t] or 0 end
  end
  for _, n in ipairs { 2, 3 } do
    local m = nn.Ngrams(V, buckets, n)
    local out = m:forward { ids = ids(grid), lengths = ids { 4, 2, 1, 0 } }
    for b, s in ipairs(samples) do
      local want = naive_ngrams(s, V, buckets, n)
      lu.assertEquals(out.lengths:get(b), #want)
      for t = 1, out.ids:size(1) do
        lu.assertEquals(out.ids:get(t, b), want[t] or 0, ("n=%d sample %d step %d"):format(n, b, t))
      end
    end
  end
  -- 4 tokens, n = 3: 4 + 3 + 2 ids; every n-gram id inside its bucket range
  local out = nn.Ngrams(V, buckets, 3):forward { ids = ids(grid), lengths = ids { 4, 2, 1, 0 } }
  lu.assertEquals(out.lengths:get(1), 9)
  for t = 5, 9 do
    local id = out.ids:get(t, 1)
    lu.assertTrue(id >= V and id < V + buckets, tostring(id))
  end
  -- order matters: (3, 4) and (4, 3) are different bigrams (in general)
  local a = nn.Ngrams(V, 1000):forward { ids = ids { { 3 }, { 4 } }, lengths = ids { 2 } }
  local b = nn.Ngrams(V, 1000):forward { ids = ids { { 4 }, { 3 } }, lengths = ids { 2 } }
  lu.assertNotEquals(a.ids:get(3, 1), b.ids:get(3, 1))
end

function TestNgrams:test_gradcheck_of_a_wide_and_deep_model()
  -- a GRU branch and a bag of n-grams, joined before the classifier (model.bag's shape)
  local V, buckets, D = 9, 11, 3
  local deep = nn.Sequential { nn.Embedding(V, 4, { padding = 0 }), nn.GRU(4, 5), nn.Pool("max") }
  local bag = nn.Sequential { nn.Ngrams(V, buckets), nn.Embedding(V + buckets, D, { padding = 0 }),
    nn.Pool("mean") }
  local m = nn.Sequential { nn.Concat(-1, { deep, bag }), nn.Linear(5 + D, 2) }
  local batch = { ids = ids { { 1, 2, 3 }, { 4, 1, 0 }, { 5, 6, 0 } }, lengths = ids { 3, 3, 1 } }
  local r = assert_grads(m, batch)
  lu.assertTrue(r.checked > 0)
  -- the bag's embedding got gradient in n-gram rows (ids >= V), not only word rows
  m:zero_grad()
  local out = m:forward(batch)
  m:backward(lurn.ones(out:size(1), out:size(2)))
  local emb = bag:parameters()[1]
  lu.assertEquals(emb.value:size(1), V + buckets)
  lu.assertTrue(emb.grad:narrow(1, V + 1, buckets):abs():sum() > 0, "n-gram rows have gradient")
end

function TestNgrams:test_spec_round_trip_and_errors()
  local m = nn.Ngrams(20, 64, 3)
  lu.assertEquals(m:spec(), { type = "Ngrams", args = { 20, 64, 3 } })
  lu.assertEquals(nn.build(m:spec()):spec(), m:spec())
  lu.assertErrorMsgContains("nn.Ngrams: n must be 2, 3 or 4, got 5", nn.Ngrams, 10, 10, 5)
  lu.assertErrorMsgContains("nn.Ngrams: buckets must be a positive integer", nn.Ngrams, 10, 0)
  lu.assertErrorMsgContains("outside the vocabulary (0..9)", function()
    nn.Ngrams(10, 5):forward { ids = ids { { 12 } }, lengths = ids { 1 } }
  end)
  lu.assertErrorMsgContains("nn.Ngrams: expected a batch", function() nn.Ngrams(10, 5):forward(lurn.zeros(2, 2)) end)
end

-- ---------------------------------------------------------------------------
-- Subwords (data.subwords): fastText's character n-grams, hashed; a dataset
-- that keeps unknown words; nn.SubwordEmbedding averaging the vectors.
TestSubwords = {}
function TestSubwords:setUp() lurn.seed(17) end

local subwords = require "lurn.text.subwords"

function TestSubwords:test_ngrams_and_hash()
  -- FNV-1a 32-bit, the published test values
  lu.assertEquals(subwords.hash(""), 2166136261)
  lu.assertEquals(subwords.hash("a"), 0xe40c292c)
  lu.assertEquals(subwords.hash("foobar"), 0xbf9cf968)
  -- "<ab>": 3-grams <ab, ab>, one 4-gram <ab>
  local want = {}
  for i, g in ipairs { "<ab", "<ab>", "ab>" } do want[i] = subwords.hash(g) % 1000 + 1 end
  lu.assertEquals(subwords.of("ab", 1000), want)
  -- code points, not bytes: "été" is 5 characters with its brackets
  local e = subwords.of("été", 1 << 30)
  lu.assertEquals(#e, 3 + 2 + 1)
  lu.assertEquals(e[1], subwords.hash("<ét") % (1 << 30) + 1)
  -- a 7-letter word: 3..6-grams of 9 characters = 7 + 6 + 5 + 4
  lu.assertEquals(#subwords.of("example", 64), 22)
  for _, b in ipairs(subwords.of("example", 64)) do lu.assertTrue(b >= 1 and b <= 64) end
end

function TestSubwords:test_dataset_keeps_unknown_words()
  local v = lurn.data.Vocab.new { "<pad>", "<unk>", "good", "film" }
  local ds = lurn.data.Dataset { texts = { "good film", "ungood film" }, labels = { 1, 0 }, vocab = v,
    subwords = { buckets = 97 } }
  local id = ds.seqs[2][1]
  lu.assertEquals(id, v:size())              -- the first extension id
  lu.assertEquals(v:word(id), "ungood")
  lu.assertEquals(v:extend("ungood"), id)    -- the same word, the same id
  lu.assertEquals(v:size(), 4)               -- the vocabulary itself is unchanged
  local b = ds:make_batch { 1, 2 }
  lu.assertEquals(b.ids:totable(), { { 2, 1 }, { 3, 3 } })       -- unknown: <unk>, as without subwords
  lu.assertEquals(b.word_ids:totable(), { { 2, 0 }, { 3, 3 } })  -- unknown: no word vector
  local n_good, n_ungood, n_film = #subwords.of("good", 97), #subwords.of("ungood", 97),
    #subwords.of("film", 97)
  lu.assertEquals(b.subwords.pos:numel(), n_good + n_ungood + 2 * n_film)
  close(b.subwords.scale:get(1, 1, 1), 1 / (1 + n_good))
  close(b.subwords.scale:get(1, 2, 1), 1 / n_ungood)
  -- positions t*B + b: "ungood" is at t = 0, b = 1
  local at = {}
  for i = 1, b.subwords.pos:numel() do
    local p = b.subwords.pos:get(i)
    at[p] = (at[p] or 0) + 1
  end
  lu.assertEquals(at, { [0] = n_good, [1] = n_ungood, [2] = n_film, [3] = n_film })
  lu.assertErrorMsgContains("data.Dataset: subwords must be {buckets = n >= 1}", lurn.data.Dataset,
    { seqs = { { 2 } }, vocab = v, subwords = { buckets = 0 } })
end

-- the output against a loop over the rows: mean of word and n-gram vectors
function TestSubwords:test_forward_against_a_loop_and_gradcheck()
  local v = lurn.data.Vocab.new { "<pad>", "<unk>", "good", "film", "bad" }
  local ds = lurn.data.Dataset { texts = { "good film", "ungood bad film" }, labels = { 1, 0 },
    vocab = v, subwords = { buckets = 13 } }
  local b = ds:make_batch { 1, 2 }
  local m = nn.SubwordEmbedding(v:size(), 13, 3)
  local out = m:forward(b).data
  local W, S = m.word.weight, m.sub.weight
  for t = 1, 3 do
    for j = 1, 2 do
      local id = ds.seqs[j][t]
      for d = 1, 3 do
        local want = 0
        if id then
          local grams = subwords.of(v:word(id), 13)
          local n = #grams
          if id < v:size() then want, n = W:get(id + 1, d), n + 1 end
          for _, g in ipairs(grams) do want = want + S:get(g + 1, d) end
          want = want / n
        end
        close(out:get(t, j, d), want)
      end
    end
  end
  assert_grads(m, b)
  -- in a model, with word-type dropout: the whole path checks out
  local model = nn.Sequential { nn.SubwordEmbedding(v:size(), 13, 4, { dropout = 0.3 }),
    nn.LSTM(4, 5), nn.Pool("mean"), nn.Linear(5, 2) }   -- mean: max's kinks defeat differences
  assert_grads(model, b)
  -- both tables are row-sparse, and name their rows
  local rs = model:row_sparse()
  lu.assertEquals(#rs, 2)
  lu.assertEquals(nn.build(model:spec()):spec(), model:spec())
  lu.assertErrorMsgContains("nn.SubwordEmbedding: expected a batch with subwords", function()
    m:forward { ids = b.ids, lengths = b.lengths }
  end)
end

os.exit(lu.LuaUnit.run(), true)
