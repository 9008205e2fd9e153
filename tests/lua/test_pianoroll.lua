-- LuaUnit suite for task "pianoroll": BCEWithLogits over padded steps and
-- the per-step NLL (finite-difference checks), the batches (inputs shifted
-- one step), evaluate() against a piece-by-piece computation, the reader's
-- errors, and sampling (seeded, the right keys).
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn
local pr = require "lurn.tasks.pianoroll"

local function ids(t) return lurn.tensor(t, "int32") end

-- A loss as a module over its logits, so the gradient checker can see it.
local function loss_module(loss_fn, target, lengths)
  local m = nn.Module()
  m.forward = function(self, x)
    return lurn.tensor(loss_fn:forward(lengths and nn.seq.new(x, lengths) or x, target))
  end
  m.backward = function(self, g) return loss_fn:backward():mul(g:item()) end
  return m
end

local function write(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w")); f:write(text); f:close()
  return path
end

TestLoss = {}
function TestLoss:setUp() lurn.seed(9) end
function TestLoss:test_bce_lengths_gradcheck()
  local x = lurn.randn(4, 3, 5)
  local t = lurn.rand(4, 3, 5):gt(0.5)
  local lengths = ids { 4, 1, 2 }
  for _, red in ipairs { "mean", "sum" } do
    local r = lurn.gradcheck.check(loss_module(nn.BCEWithLogits { reduction = red }, t, lengths), x)
    lu.assertTrue(r.ok, r.summary)
    lu.assertTrue(r.checked > 0)
  end
  local r = lurn.gradcheck.check(loss_module(nn.BCEWithLogits { pos_weight = lurn.tensor { 1, 2, 3, 1, 1 } },
    t, lengths), x)
  lu.assertTrue(r.ok, r.summary)
end
function TestLoss:test_bce_lengths_leave_padding_out()
  local x = lurn.randn(4, 3, 5)
  local t = lurn.rand(4, 3, 5):gt(0.5)
  local lengths = ids { 4, 1, 2 }
  local bce = nn.BCEWithLogits { reduction = "sum" }
  local masked = bce:forward(nn.seq.new(x, lengths), t)
  local d = bce:backward()
  -- the same as the sum over each sample's own steps
  local want = 0
  for b, n in ipairs { 4, 1, 2 } do
    want = want + lurn.core.bce_with_logits(x:select(2, b):narrow(1, 1, n),
      t:select(2, b):narrow(1, 1, n), { reduction = "sum", grad = false })
  end
  lu.assertAlmostEquals(masked, want, 1e-4)
  lu.assertEquals(d:select(2, 2):narrow(1, 2, 3):abs():sum(), 0)   -- padded steps: no gradient
  local mean = nn.BCEWithLogits():forward(nn.seq.new(x, lengths), t)
  lu.assertAlmostEquals(mean, want / (7 * 5), 1e-5)
  -- without lengths, unchanged
  lu.assertAlmostEquals(nn.BCEWithLogits():forward(x, t),
    lurn.core.bce_with_logits(x, t, { grad = false }), 1e-6)
  lu.assertErrorMsgContains("lengths [2] int32 do not match logits [4,3,5] (expected [3])",
    function() nn.BCEWithLogits { lengths = ids { 1, 2 } }:forward(x, t) end)
end
function TestLoss:test_step_nll_gradcheck()
  local x = lurn.randn(3, 2, 6)
  local t = lurn.rand(3, 2, 6):gt(0.7)
  local r = lurn.gradcheck.check(loss_module(pr.StepNLL(), t, ids { 3, 2 }), x)
  lu.assertTrue(r.ok, r.summary)
  -- it is the NLL summed over the keys per counted step
  local l = pr.StepNLL():forward(nn.seq.new(x, ids { 3, 2 }), t)
  local s = nn.BCEWithLogits { reduction = "sum" }:forward(nn.seq.new(x, ids { 3, 2 }), t)
  lu.assertAlmostEquals(l, s / 5, 1e-5)
end

TestData = {}
function TestData:test_batches_shift_by_one_step()
  local ds = pr.Rolls({ { { 60, 64 }, { 62 }, { 60 } }, { { 21 } } }, { low = 21, keys = 88 })
  local b = ds:make_batch { 1, 2 }
  lu.assertEquals(b.data:shape(), { 3, 2, 88 })
  lu.assertEquals(b.lengths:totable(), { 3, 1 })
  lu.assertEquals(b.data:select(1, 1):sum(), 0)                 -- the first input is all off
  lu.assertEquals(b.targets:get(1, 1, 60 - 21 + 1), 1)
  lu.assertEquals(b.targets:get(1, 1, 64 - 21 + 1), 1)
  lu.assertEquals(b.data:get(2, 1, 60 - 21 + 1), 1)             -- step 2 reads step 1
  lu.assertEquals(b.data:get(3, 1, 62 - 21 + 1), 1)
  lu.assertEquals(b.targets:get(1, 2, 1), 1)                    -- A0 is key 1
  lu.assertEquals(b.targets:select(2, 2):sum(), 1)              -- padding stays off
  lu.assertEquals(ds:steps(), 4)
end
function TestData:test_reader_errors_name_the_place()
  local function msg(text, opts)
    local path = write(text)
    local ok, e = pcall(pr.read, path, opts)
    os.remove(path)
    lu.assertFalse(ok)
    lu.assertEquals(e.code, "data")
    return e.message
  end
  lu.assertStrContains(msg('{"train": [[[60], [61, 200]]]}'),
    "train: piece 1, step 2: pitch 200 is outside the 88 keys 21..108")
  lu.assertStrContains(msg('{"train": [[[60]], []]}'), "train: piece 2 is empty")
  lu.assertStrContains(msg('{"train": [[[60.5]]]}'),
    "piece 1, step 1: item 1 is 60.5, not an integer MIDI pitch")
  -- found by tests/fuzz/fuzz_pianoroll.c: a JSON error carried lurn's own Lua
  -- position ("lua/lurn/run/json.lua:20:"); objects where lists belong read as
  -- empty lists (a step {"a": 60} was silence); "60" read as a pitch; null
  -- was called "userdata"; an empty file was "invalid JSON at byte 1"
  local bad = msg('{"train": [[[60]]]} x')
  lu.assertStrContains(bad, "not valid JSON: invalid JSON at byte 21 (line 1, column 21)")
  lu.assertNotStrContains(bad, ".lua:")
  lu.assertStrContains(msg('{"train": [[{"a": 60}]]}'),
    "piece 1, step 1: an object (a list of MIDI pitches expected)")
  lu.assertStrContains(msg('{"train": {"a": [[60]]}}'), "train: expected a list of pieces, got an object")
  lu.assertStrContains(msg('{"train": [{"1": [60]}]}'), "piece 1 is an object")
  lu.assertStrContains(msg('{"train": [[["60"]]]}'), "item 1 is a string, not an integer MIDI pitch")
  lu.assertStrContains(msg('{"train": [[[60], null]]}'), "piece 1, step 2: null (a list")
  lu.assertStrContains(msg(''), "empty file (JSON piano rolls expected)")
  lu.assertStrContains(msg(' \n'), "empty file")
  lu.assertStrContains(msg('{"training": []}'), "unknown split 'training'")
  lu.assertStrContains(msg('{"train": [[[60'), "not valid JSON")
  lu.assertStrContains(msg('[[[50]]]', { low = 60, keys = 12 }), "pitch 50 is outside the 12 keys 60..71")
  local path = write('{"train": [[[60], [62]]], "test": [[[64]]]}')
  local d = pr.read(path)
  os.remove(path)
  lu.assertEquals(d.train, { { { 60 }, { 62 } } })
  lu.assertEquals(d.test, { { { 64 } } })
end

local function tiny_model(K)
  lurn.seed(3)
  return nn.Sequential { nn.GRU(K, 8), nn.Linear(8, K) }
end

TestMeasures = {}
function TestMeasures:test_evaluate_matches_piece_by_piece()
  local pieces = { { { 60, 64 }, { 62 }, { 60 }, {} }, { { 61 } }, { { 60 }, { 60, 61 } } }
  local ds = pr.Rolls(pieces, { low = 60, keys = 6 })
  local model = tiny_model(6)
  local r = pr.evaluate(model, ds, { batch_size = 2 })
  -- each piece alone, no padding: the summed NLL of its steps
  local total, first, steps, tp, fp, fn = 0, 0, 0, 0, 0, 0
  model:eval()
  for i = 1, #pieces do
    local b = ds:make_batch { i }
    local x = model:forward({ data = b.data }).data
    total = total + lurn.core.bce_with_logits(x, b.targets, { reduction = "sum", grad = false })
    first = first + lurn.core.bce_with_logits(x:narrow(1, 1, 1), b.targets:narrow(1, 1, 1),
      { reduction = "sum", grad = false })
    steps = steps + #pieces[i]
    for j = 1, x:numel() do
      local p, y = x:reshape(-1):get(j) > 0, b.targets:reshape(-1):get(j) > 0
      if p and y then tp = tp + 1 elseif p then fp = fp + 1 elseif y then fn = fn + 1 end
    end
  end
  lu.assertEquals(r.steps, 7)
  lu.assertEquals(r.pieces, 3)
  lu.assertAlmostEquals(r.loss, total / steps, 1e-5)
  lu.assertAlmostEquals(r.nll_rest, (total - first) / (steps - 3), 1e-5)
  lu.assertAlmostEquals(r.accuracy, tp / (tp + fp + fn), 1e-9)
  -- an untrained model is near 6 keys x log 2 per step
  lu.assertTrue(math.abs(r.loss - 6 * math.log(2)) < 1.5, tostring(r.loss))
end

TestSample = {}
function TestSample:test_seeded_and_in_range()
  local s = { model = tiny_model(12), keys = 12, low = 48 }
  local a = pr.sample(s, { length = 20, seed = 5 })
  local b = pr.sample(s, { length = 20, seed = 5 })
  local c = pr.sample(s, { length = 20, seed = 6 })
  lu.assertEquals(#a, 20)
  lu.assertEquals(a, b)
  lu.assertNotEquals(a, c)
  local n = 0
  for _, step in ipairs(a) do
    for _, p in ipairs(step) do
      lu.assertTrue(p >= 48 and p <= 59)
      n = n + 1
    end
  end
  lu.assertTrue(n > 0)
  -- a very low temperature makes the draw follow the sign of the logit
  local cold = pr.sample(s, { length = 3, seed = 1, temperature = 1e-4 })
  local cold2 = pr.sample(s, { length = 3, seed = 2, temperature = 1e-4 })
  lu.assertEquals(cold, cold2)
  lu.assertEquals(pr.pitch_name(60), "C4")
  lu.assertEquals(pr.pitch_name(21), "A0")
  lu.assertEquals(pr.pitch_name(61), "C#4")
  local ok, e = pcall(pr.sample, s, { length = 0 })
  lu.assertFalse(ok)
  lu.assertStrContains(e.message, "--length must be a positive integer")
end

os.exit(lu.LuaUnit.run())
