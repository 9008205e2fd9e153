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

os.exit(lu.LuaUnit.run(), true)
