-- LuaUnit suite for CTC (src/core/ctc.c, nn.CTC): the loss against brute-force
-- path enumeration on tiny cases, the gradient against central finite
-- differences, variable input and label lengths, impossible labellings, and
-- greedy and prefix-beam-search decoding against exhaustive search.
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn

-- log_softmax of row t, sample b of a [T, B, C] tensor, as plain numbers.
local function log_probs(x, t, b)
  local C = x:size(3)
  local m, row = -math.huge, {}
  for c = 1, C do row[c] = x:get(t, b, c); m = math.max(m, row[c]) end
  local s = 0
  for c = 1, C do s = s + math.exp(row[c] - m) end
  for c = 1, C do row[c] = row[c] - m - math.log(s) end
  return row
end

-- Collapse a path (0-based classes): merge repeats, drop blanks.
local function collapse(path, blank)
  local out, prev = {}, nil
  for _, c in ipairs(path) do
    if c ~= prev and c ~= blank then out[#out + 1] = c end
    prev = c
  end
  return out
end

-- Every path of length T over C classes: probability of each labelling
-- (key: labels joined by ","), by brute force.
local function labelling_probs(x, b, T, blank)
  local C = x:size(3)
  local lp = {}
  for t = 1, T do lp[t] = log_probs(x, t, b) end
  local probs = {}
  local path = {}
  local function rec(t, logp)
    if t > T then
      local key = table.concat(collapse(path, blank), ",")
      probs[key] = (probs[key] or 0) + math.exp(logp)
      return
    end
    for c = 0, C - 1 do
      path[t] = c
      rec(t + 1, logp + lp[t][c + 1])
    end
    path[t] = nil
  end
  rec(1, 0)
  return probs
end

local function close(a, b, tol, msg)
  lu.assertTrue(math.abs(a - b) <= tol * math.max(1, math.abs(b)),
    ("%s: %.10g vs %.10g"):format(msg or "", a, b))
end

function test_loss_matches_path_enumeration()
  lurn.seed(7)
  local x = lurn.randn(5, 3, 4)
  local targets = { { 1, 2 }, { 3, 3 }, {} }   -- a repeat needs a blank between; empty labels
  local lens = { 5, 4, 3 }
  local ctc = nn.CTC { reduction = "sum" }
  local labels, tlen = nn.CTC.pack(targets)
  ctc:forward({ data = x, lengths = lurn.tensor(lens, "int32") }, { labels = labels, lengths = tlen })
  for b = 1, 3 do
    local p = labelling_probs(x, b, lens[b], 0)[table.concat(targets[b], ",")]
    close(ctc.losses:get(b), -math.log(p), 1e-5, "sample " .. b)
  end
end

function test_blank_elsewhere()
  lurn.seed(8)
  local x = lurn.randn(4, 1, 3)
  local ctc = nn.CTC { blank = 2, reduction = "sum" }
  local loss = ctc:forward(x, { { 0, 1 } })
  local p = labelling_probs(x, 1, 4, 2)["0,1"]
  close(loss, -math.log(p), 1e-5, "blank 2")
end

function test_mean_reduction_divides_by_label_length()
  lurn.seed(9)
  local x = lurn.randn(6, 2, 5)
  local s = nn.CTC { reduction = "sum" }
  s:forward(x, { { 1, 2, 3 }, { 4 } })
  local m = nn.CTC()
  local loss = m:forward(x, { { 1, 2, 3 }, { 4 } })
  close(loss, (s.losses:get(1) / 3 + s.losses:get(2) / 1) / 2, 1e-5, "mean")
end

-- Central differences of the loss in every logit against backward.
local function fd_check(ctc, x, target, lengths)
  local input = lengths and { data = x, lengths = lengths } or x
  ctc:forward(input, target)
  local g = ctc:backward():clone()
  local eps, worst = 1e-2, 0
  local T, B, C = x:size(1), x:size(2), x:size(3)
  for t = 1, T do
    for b = 1, B do
      for c = 1, C do
        local v = x:get(t, b, c)
        x:set(t, b, c, v + eps)
        local lp = ctc:forward(input, target)
        x:set(t, b, c, v - eps)
        local lm = ctc:forward(input, target)
        x:set(t, b, c, v)
        local num = (lp - lm) / (2 * eps)
        local a = g:get(t, b, c)
        local err = math.abs(a - num) / math.max(math.abs(a) + math.abs(num), 1e-2)
        worst = math.max(worst, err)
      end
    end
  end
  return worst, g
end

function test_gradient_finite_differences()
  lurn.seed(11)
  local x = lurn.randn(7, 3, 5)
  local lengths = lurn.tensor({ 7, 5, 6 }, "int32")
  for _, red in ipairs { "mean", "sum" } do
    local worst, g = fd_check(nn.CTC { reduction = red }, x, { { 1, 2, 2 }, { 4 }, { 3, 1, 4, 1 } },
      lengths)
    lu.assertTrue(worst < 1e-2, ("%s: worst relative error %g"):format(red, worst))
    -- steps past a sample's length get no gradient
    lu.assertEquals(g:narrow(1, 6, 2):select(2, 2):abs():sum(), 0)
  end
end

function test_gradient_rows_sum_to_zero()
  -- softmax minus occupancies: each valid step's gradient sums to 0
  lurn.seed(12)
  local x = lurn.randn(6, 2, 4)
  local ctc = nn.CTC { reduction = "sum" }
  ctc:forward(x, { { 1, 3 }, { 2, 2, 1 } })
  local s = ctc:backward():sum(3)
  lu.assertTrue(s:abs():max() < 1e-5)
  lu.assertTrue(ctc:backward():abs():max() > 0.01)
end

function test_impossible_labelling()
  local x = lurn.zeros(2, 1, 3)
  local ctc = nn.CTC { reduction = "sum" }
  -- "1 1" needs three steps (1 blank 1)
  lu.assertEquals(ctc:forward(x, { { 1, 1 } }), math.huge)
  local z = nn.CTC { reduction = "sum", zero_infinity = true }
  lu.assertEquals(z:forward(x, { { 1, 1 } }), 0)
  lu.assertEquals(z:backward():abs():sum(), 0)
  -- but "1 2" fits in two
  lu.assertTrue(ctc:forward(x, { { 1, 2 } }) < math.huge)
end

function test_errors_name_the_problem()
  local x = lurn.zeros(3, 2, 4)
  local ctc = nn.CTC()
  lu.assertErrorMsgContains("label 0 at position 2 of sample 1 is the blank",
    ctc.forward, ctc, x, { { 1, 0 }, { 2 } })
  lu.assertErrorMsgContains("label 7 at position 1 of sample 2 is not a class",
    ctc.forward, ctc, x, { { 1 }, { 7 } })
  lu.assertErrorMsgContains("input length 9 of sample 1 is outside 0..3",
    ctc.forward, ctc, { data = x, lengths = lurn.tensor({ 9, 1 }, "int32") }, { { 1 }, { 2 } })
  lu.assertErrorMsgContains("do not agree on the batch size", ctc.forward, ctc, x, { { 1 } })
  lu.assertErrorMsgContains("unknown option 'blnk'", nn.CTC, { blnk = 1 })
end

function test_greedy()
  -- scores: steps pick 1 1 blank 1 2 2 -> "1 1 2"
  local picks = { 1, 1, 0, 1, 2, 2 }
  local x = lurn.zeros(6, 1, 3)
  for t, c in ipairs(picks) do x:set(t, 1, c + 1, 5) end
  lu.assertEquals(nn.CTC.greedy(x), { { 1, 1, 2 } })
  lu.assertEquals(nn.CTC.greedy({ data = x, lengths = lurn.tensor({ 3 }, "int32") }), { { 1 } })
end

function test_beam_search_is_exact_with_a_wide_beam()
  lurn.seed(13)
  for trial = 1, 5 do
    local x = lurn.randn(5, 1, 3):mul(1.5)
    local probs = labelling_probs(x, 1, 5, 0)
    local best, bestp = nil, -1
    for k, p in pairs(probs) do
      if p > bestp then best, bestp = k, p end
    end
    local out, scores = nn.CTC.beam(x, 64)
    lu.assertEquals(table.concat(out[1], ","), best, "trial " .. trial)
    close(scores[1], math.log(bestp), 1e-6, "trial " .. trial)
  end
end

function test_beam_batches_and_lengths()
  lurn.seed(14)
  local x = lurn.randn(6, 2, 4):mul(3)
  local lengths = lurn.tensor({ 6, 4 }, "int32")
  local out = nn.CTC.beam({ data = x, lengths = lengths }, 32)
  for b = 1, 2 do
    local probs = labelling_probs(x, b, lengths:get(b), 0)
    local best, bestp = nil, -1
    for k, p in pairs(probs) do if p > bestp then best, bestp = k, p end end
    lu.assertEquals(table.concat(out[b], ","), best)
  end
end

function test_beam_one_on_peaky_scores_is_greedy()
  local picks = { 2, 2, 0, 2, 3, 0, 0, 1 }
  local x = lurn.zeros(8, 1, 4)
  for t, c in ipairs(picks) do x:set(t, 1, c + 1, 20) end
  lu.assertEquals(nn.CTC.beam(x, 1), nn.CTC.greedy(x))
  lu.assertEquals(nn.CTC.greedy(x), { { 2, 2, 3, 1 } })
end

os.exit(lu.LuaUnit.run(), true)
