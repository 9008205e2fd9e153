-- LuaUnit suite for lurn.run: metrics (against hand-computed values),
-- JSON lines, run directories, the SVG plot, the progress modes.
local lu = require "luaunit"
local lurn = require "lurn"
local metrics = require "lurn.run.metrics"
local json = require "lurn.run.json"
local rundir = require "lurn.run.dir"
local svg = require "lurn.run.svg"
local progress = require "lurn.run.progress"
local errors = require "lurn.errors"

local function ids(t) return lurn.tensor(t, "int32") end

-- logits whose argmax is each given class (0-based)
local function logits_for(preds, C)
  local rows = {}
  for i, p in ipairs(preds) do
    rows[i] = {}
    for c = 1, C do rows[i][c] = (c - 1 == p) and 1 or 0 end
  end
  return lurn.tensor(rows)
end

TestMetrics = {}
function TestMetrics:test_hand_computed()
  -- true:  0 0 0 1 1 2 ; pred: 0 1 0 1 0 1  (class 2 never predicted)
  local cm = metrics.Confusion(3)
  cm:add(logits_for({ 0, 1, 0 }, 3), ids { 0, 0, 0 })
  cm:add(logits_for({ 1, 0, 1 }, 3), ids { 1, 1, 2 })
  local r = cm:report { "a", "b", "c" }
  lu.assertEquals(r.n, 6)
  lu.assertEquals(r.matrix, { { 2, 1, 0 }, { 1, 1, 0 }, { 0, 1, 0 } })
  lu.assertAlmostEquals(r.accuracy, 3 / 6, 1e-12)
  -- a: tp 2, predicted 3, true 3 -> P 2/3, R 2/3, F1 2/3
  lu.assertAlmostEquals(r.classes[1].precision, 2 / 3, 1e-12)
  lu.assertAlmostEquals(r.classes[1].recall, 2 / 3, 1e-12)
  lu.assertAlmostEquals(r.classes[1].f1, 2 / 3, 1e-12)
  -- b: tp 1, predicted 3, true 2 -> P 1/3, R 1/2, F1 0.4
  lu.assertAlmostEquals(r.classes[2].precision, 1 / 3, 1e-12)
  lu.assertAlmostEquals(r.classes[2].recall, 1 / 2, 1e-12)
  lu.assertAlmostEquals(r.classes[2].f1, 0.4, 1e-12)
  -- c: never predicted: precision 0 (not NaN), recall 0, F1 0
  lu.assertEquals(r.classes[3].precision, 0)
  lu.assertEquals(r.classes[3].f1, 0)
  lu.assertEquals(r.classes[3].support, 1)
  lu.assertEquals(r.classes[3].label, "c")
  lu.assertAlmostEquals(r.macro_f1, (2 / 3 + 0.4 + 0) / 3, 1e-12)
end
function TestMetrics:test_errors()
  local cm = metrics.Confusion(2)
  lu.assertErrorMsgContains("expected logits [N, 2], got [2,3]", cm.add, cm, lurn.zeros(2, 3), ids { 0, 1 })
  lu.assertErrorMsgContains("label 5 is not a class of this 2-class model", cm.add, cm,
    lurn.zeros(1, 2), ids { 5 })
end
function TestMetrics:test_evaluate_restores_mode()
  lurn.seed(3)
  local data = lurn.data
  local texts, labels = data.order_task(40)
  local vocab = data.Vocab.build(texts)
  local ds = data.Dataset { texts = texts, labels = labels, vocab = vocab }
  local nn = lurn.nn
  local m = nn.Sequential { nn.Embedding(vocab:size(), 4, { padding = 0 }), nn.Pool("mean"), nn.Linear(4, 2) }
  m:train()
  local rec, rep = metrics.evaluate(m, ds, { loss = nn.CrossEntropy(), labels = { "b", "a" }, batch_size = 7 })
  lu.assertTrue(m.training)
  lu.assertEquals(rec.n, 40)
  lu.assertEquals(rep.classes[1].support + rep.classes[2].support, 40)
  lu.assertTrue(rec.loss > 0)
  -- the same numbers as train.evaluate's accuracy
  local ref = lurn.train.evaluate(m, ds, { loss = nn.CrossEntropy(), batch_size = 7 })
  lu.assertAlmostEquals(rec.accuracy, ref.accuracy, 1e-12)
  lu.assertAlmostEquals(rec.loss, ref.loss, 1e-6)
end

TestJson = {}
function TestJson:test_ordered_and_round_trip()
  local s = json.object({ loss = 0.1, step = 3, split = "train", path = "a/b", x = 0 / 0 }, { "step", "split" })
  lu.assertEquals(s, '{"step":3,"split":"train","loss":0.1,"path":"a/b","x":null}')
  local t = json.decode(s)
  lu.assertEquals(math.type(t.step), "integer")
  lu.assertEquals(t.path, "a/b")
  lu.assertEquals(json.decode(json.encode({ 1 / 3, 1e-7, 123456789012 })), { 1 / 3, 1e-7, 123456789012 })
  lu.assertEquals(json.pretty({ b = {}, a = { 1, 2 } }), '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}\n')
end

TestRunDir = {}
function TestRunDir:setUp()
  self.root = os.tmpname()
  os.remove(self.root)
end
function TestRunDir:tearDown() os.execute("rm -rf '" .. self.root .. "'") end
function TestRunDir:test_create_exclusive_and_metrics()
  local a = rundir.create { name = "x", root = self.root }
  local b = rundir.create { name = "x", root = self.root }
  lu.assertNotEquals(a.path, b.path)
  lu.assertStrMatches(a.path, ".*/x%-%d%d%d%d%d%d%d%d%-%d%d%d%d%d%d%-%x%x%x%x")
  a:log_metric { step = 1, epoch = 1, split = "train", loss = 0.5 }
  a:log_metric { step = 2, epoch = 1, split = "valid", loss = 0.25, accuracy = 1, extra = "x,y" }
  a:log_metric { step = 3, epoch = 1, split = "train", loss = 0.125 }
  lu.assertEquals(#a:read_metrics(), 3)
  local kept = a:keep_metrics(2)
  lu.assertEquals(#kept, 2)
  lu.assertEquals(a:read("metrics.csv"),
    "step,epoch,split,loss,accuracy,macro_f1,lr,tokens_per_s,elapsed\n1,1,train,0.5,,,,,\n2,1,valid,0.25,1,,,,\n")
  -- an exact --out must be new or empty
  local out = self.root .. "/exact"
  lu.assertEquals(rundir.create { out = out }.path, out)
  local f = io.open(out .. "/file", "w"); f:write("x"); f:close()
  local ok, e = pcall(rundir.create, { out = out })
  lu.assertFalse(ok)
  lu.assertTrue(errors.is(e, "usage"))
  lu.assertStrContains(e.message, "exists and is not empty")
end
function TestRunDir:test_open_refuses_non_runs()
  local ok, e = pcall(rundir.open, self.root .. "/none")
  lu.assertTrue(errors.is(e, "usage"))
  lu.assertStrContains(e.message, "not a run directory")
end

TestSvg = {}
function TestSvg:test_curves()
  local recs = {}
  for i = 1, 10 do recs[#recs + 1] = { step = i, split = "train", loss = 1 / i } end
  recs[#recs + 1] = { step = 10, split = "valid", loss = 0.2, accuracy = 0.9, macro_f1 = 0.85 }
  local s = svg.curves(recs, { title = "a <b> & c" })
  lu.assertStrContains(s, "<svg xmlns=")
  lu.assertStrContains(s, "a &lt;b&gt; &amp; c")
  lu.assertStrContains(s, "<polyline")
  lu.assertStrContains(s, "valid macro-F1")
  -- no records: still a drawing, saying so
  lu.assertStrContains(svg.curves({}), "no data yet")
end

TestProgress = {}
function TestProgress:test_fmt_time()
  lu.assertEquals(progress.fmt_time(5), "0:05")
  lu.assertEquals(progress.fmt_time(3725), "1:02:05")
  lu.assertEquals(progress.fmt_time(0 / 0), "?")
end
function TestProgress:test_live_line_fits()
  local out = {}
  local p = progress.new { mode = "lines", epochs = 10, metric = "valid_accuracy" }
  p.mode, p.width = "live", 50
  p.out = { write = function(_, ...) for _, s in ipairs { ... } do out[#out + 1] = s end end,
    flush = function() end }
  p:step { step = 5, epoch = 1, batch = 5, batches = 5, loss = 0.5, lr = 0.001, tokens_per_s = 12345,
    eta = 65, valid = 0.75, best = 0.8 }
  local line = out[#out]
  lu.assertTrue(#line <= 49, line)
  lu.assertStrContains(line, "epoch 1/10  batch 5/5  loss 0.5000")
  lu.assertNotStrContains(line, "tok/s")   -- the first to go
  -- lines mode never writes "\r"
  out = {}
  p = progress.new { mode = "lines", epochs = 10 }
  p.out = { write = function(_, ...) for _, s in ipairs { ... } do out[#out + 1] = s end end,
    flush = function() end }
  p:train { step = 1, epoch = 1, batch = 1, batches = 5, loss = 0.5, lr = 0.1 }
  lu.assertNotStrContains(table.concat(out), "\r")
  lu.assertStrContains(table.concat(out), "epoch 1  step 1  batch 1/5  loss 0.5000  lr 0.1")
end

os.exit(lu.LuaUnit.run())
