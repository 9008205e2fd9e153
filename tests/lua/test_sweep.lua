-- LuaUnit suite for lurn.sweep: the search-space syntax typed by the schema,
-- grid order, random draws (deterministic, growable), every trial checked,
-- the ranking with mean and sample sd, autotune's rungs and budgets.
local lu = require "luaunit"
local config = require "lurn.config"
local space = require "lurn.sweep.space"
local report = require "lurn.sweep.report"
local autotune = require "lurn.commands.autotune"

local cfg = config.defaults()

local function words(points)
  local out = {}
  for i, p in ipairs(points) do
    local w = {}
    for _, q in ipairs(p.params) do w[#w + 1] = q.key .. "=" .. q.text end
    out[i] = table.concat(w, " ")
  end
  return out
end

TestSpace = {}
function TestSpace:test_grid_first_axis_slowest()
  local s = space.parse(cfg, { "optim.lr=1e-3,3e-3", "model.hidden=64..66", "train.epochs=2" })
  lu.assertEquals(s.fixed, { "train.epochs=2" })
  lu.assertEquals(words(space.grid(s)), {
    "optim.lr=1e-3 model.hidden=64", "optim.lr=1e-3 model.hidden=65", "optim.lr=1e-3 model.hidden=66",
    "optim.lr=3e-3 model.hidden=64", "optim.lr=3e-3 model.hidden=65", "optim.lr=3e-3 model.hidden=66" })
end

function TestSpace:test_seed_is_a_replicate_axis()
  local s = space.parse(cfg, { "seed=1..3", "optim.lr=0.1,0.2" })
  lu.assertEquals(s.seeds, { "1", "2", "3" })
  lu.assertEquals(#s.axes, 1)
  lu.assertEquals(space.overrides(s, space.grid(s)[2], 3), { "optim.lr=0.2", "seed=3" })
end

function TestSpace:test_typed_by_the_schema()
  -- a string key takes "a..b" and "1_1" as text; a file list splits on commas
  local s = space.parse(cfg, { "name=a..b", "data.format=tsv,csv" })
  lu.assertEquals(s.fixed, { "name=a..b" })
  lu.assertEquals(s.axes[1].values, { "tsv", "csv" })
  lu.assertErrorMsgContains("model.hidden expects an integer, got 'big'", space.parse, cfg,
    { "model.hidden=64,big" })
  lu.assertErrorMsgContains("a..b is a range of integers; optim.lr is a number", space.parse, cfg,
    { "optim.lr=1..3" })
  lu.assertErrorMsgContains("log(a,b) needs a > 0", space.parse, cfg, { "optim.lr=log(0,1)" })
  lu.assertErrorMsgContains("the range is empty (1e-2 is not below 1e-3)", space.parse, cfg,
    { "optim.lr=uniform(1e-2,1e-3)" })
  lu.assertErrorMsgContains("uniform(a,b) needs a number key; model.pool is a string", space.parse,
    cfg, { "model.pool=uniform(0,1)" })
  lu.assertErrorMsgContains("did you mean 'train.epochs'?", space.parse, cfg, { "train.epoch=1,2" })
  lu.assertErrorMsgContains("must be one of", space.parse, cfg, { "model.pool=max,maxx" })
  lu.assertErrorMsgContains("0.1 is listed twice", space.parse, cfg, { "optim.lr=0.1,0.1" })
  lu.assertErrorMsgContains("optim.lr is given twice", space.parse, cfg,
    { "optim.lr=0.1,0.2", "optim.lr=0.3" })
  lu.assertErrorMsgContains("seeds are a replicate axis", space.parse, cfg, { "seed=uniform(1,9)" })
end

function TestSpace:test_random_draws_are_deterministic_and_growable()
  local s = space.parse(cfg, { "optim.lr=log(1e-4,1e-2)", "model.hidden=log(16,256)",
    "model.dropout=uniform(0,0.5)", "model.pool=max,mean" })
  lu.assertTrue(space.is_random_only(s) ~= nil)
  local a, b = space.sample(s, 20, 7), space.sample(s, 5, 7)
  lu.assertEquals(words(b), { table.unpack(words(a), 1, 5) })
  lu.assertNotEquals(words(space.sample(s, 5, 8)), words(b))
  for _, p in ipairs(a) do
    local lr, h, d = tonumber(p.params[1].text), p.params[2].text, tonumber(p.params[3].text)
    lu.assertTrue(lr >= 1e-4 and lr <= 1e-2, p.params[1].text)
    lu.assertStrMatches(h, "%d+")   -- an integer key gets integers
    lu.assertTrue(tonumber(h) >= 16 and tonumber(h) <= 256)
    lu.assertTrue(d >= 0 and d <= 0.5)
  end
  -- log-uniform: about half of the draws below the geometric mean 1e-3
  local below = 0
  for _, p in ipairs(space.sample(s, 400, 1)) do
    if tonumber(p.params[1].text) < 1e-3 then below = below + 1 end
  end
  lu.assertTrue(below > 150 and below < 250, tostring(below))
end

function TestSpace:test_every_trial_checked()
  -- warmup needs optim.warmup > 0: a rule between keys, for whole trials
  local s = space.parse(cfg, { "optim.schedule=constant,warmup", "optim.warmup=0,10" })
  lu.assertErrorMsgContains("point 3 (optim.schedule=warmup optim.warmup=0): optim.schedule "
    .. "'warmup' needs optim.warmup > 0", space.check, cfg, s, space.grid(s))
  s = space.parse(cfg, { "optim.schedule=constant,warmup", "optim.warmup=10" })
  space.check(cfg, s, space.grid(s))   -- fine: every trial has a warm-up
end

function TestSpace:test_diff()
  local a = space.describe(space.parse(cfg, { "optim.lr=0.1,0.2", "train.epochs=2" }))
  local b = space.describe(space.parse(cfg, { "optim.lr=0.1,0.3", "train.epochs=2" }))
  lu.assertEquals(space.diff(a, a), {})
  lu.assertEquals(space.diff(a, b), { "  - axis optim.lr=0.1,0.2", "  + axis optim.lr=0.1,0.3" })
end

TestReport = {}
function TestReport:test_rank_mean_sd()
  local p1 = { { key = "optim.lr", text = "0.1" } }
  local p2 = { { key = "optim.lr", text = "0.2" } }
  local recs = {
    { trial = 1, point_key = "a", params = p1, status = "completed", score = 0.5, seconds = 1 },
    { trial = 2, point_key = "a", params = p1, status = "completed", score = 0.7, seconds = 3 },
    { trial = 4, point_key = "b", params = p2, status = "diverged", seconds = 1 },
    { trial = 3, point_key = "b", params = p2, status = "completed", score = 0.8, seconds = 2 },
  }
  local g = report.rank(recs, "max")
  lu.assertEquals(g[1].trials, { 3, 4 })
  lu.assertEquals(g[1].status, "1 completed, 1 diverged")
  lu.assertAlmostEquals(g[1].mean, 0.8, 1e-12)
  lu.assertAlmostEquals(g[2].mean, 0.6, 1e-12)
  lu.assertAlmostEquals(g[2].sd, math.sqrt(0.02), 1e-12)   -- sample sd of 0.5, 0.7
  lu.assertEquals(g[2].status, "completed")
  lu.assertAlmostEquals(g[2].time, 2, 1e-12)
  g = report.rank(recs, "min")
  lu.assertEquals(g[1].trials, { 1, 2 })
end

TestAutotune = {}
function TestAutotune:test_rungs()
  lu.assertEquals(autotune.rungs(10, 3), { 1, 2, 4 })
  lu.assertEquals(autotune.rungs(4, 3), { 1, 2 })
  lu.assertEquals(autotune.rungs(2, 3), { 1 })
  lu.assertEquals(autotune.rungs(1, 3), { 1 })
  lu.assertEquals(autotune.rungs(27, 3), { 1, 3, 9 })
  lu.assertEquals(autotune.rungs(8, 2), { 1, 2, 4 })
end

function TestAutotune:test_budget()
  lu.assertEquals(autotune.parse_budget("90s"), 90)
  lu.assertEquals(autotune.parse_budget("10m"), 600)
  lu.assertEquals(autotune.parse_budget("1.5h"), 5400)
  lu.assertEquals(autotune.parse_budget("120"), 120)
  lu.assertErrorMsgContains("--budget needs a time like 90s, 10m or 1h, got '10 minutes'",
    autotune.parse_budget, "10 minutes")
  lu.assertErrorMsgContains("got '0s'", autotune.parse_budget, "0s")
end

os.exit(lu.LuaUnit.run())
