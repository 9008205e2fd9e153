-- LuaUnit suite for the row-sparse gradient protocol lurn.dist relies on:
-- Module:row_sparse lists the embedding tables, Embedding:touched_rows names
-- exactly the rows of the weight's gradient a backward made non-zero (the
-- rest stays zero), through repeated ids, padding, dropout and several
-- backwards; a tied target embedding is left out.
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn

local function i32(t) return lurn.tensor(t, "int32") end

-- the rows of g [V, D] holding anything non-zero, as a list of 0-based ids
local function nonzero_rows(g)
  local out = {}
  for v = 1, g:size(1) do
    if g:select(1, v):abs():sum() > 0 then out[#out + 1] = v - 1 end
  end
  return out
end

TestRowSparse = {}

function TestRowSparse:test_touched_rows_are_the_gradient_rows()
  lurn.seed(3)
  local m = nn.Embedding(30, 4, { padding = 0 })
  local ids = i32 { { 5, 0, 7 }, { 5, 29, 0 } }   -- 5 twice, padding twice
  m:reset_rows()
  m:zero_grad()
  local y = m:forward(ids)
  m:backward(lurn.rand(y.data:shape(), 0.5, 1))
  lu.assertEquals(m:touched_rows():totable(), { 5, 7, 29 })
  lu.assertEquals(nonzero_rows(m:parameters()[1].grad), { 5, 7, 29 })
  -- a second backward since reset_rows: the rows of both
  m:forward(i32 { { 2, 7 } })
  m:backward(lurn.rand({ 1, 2, 4 }, 0.5, 1))
  lu.assertEquals(m:touched_rows():totable(), { 2, 5, 7, 29 })
  lu.assertEquals(nonzero_rows(m:parameters()[1].grad), { 2, 5, 7, 29 })
  -- reset: none yet; only padding: none
  m:reset_rows()
  lu.assertNil(m:touched_rows())
  m:forward(i32 { { 0, 0 } })
  m:backward(lurn.ones(1, 2, 4))
  lu.assertNil(m:touched_rows())
end

function TestRowSparse:test_dropped_words_are_still_rows()
  -- a word the embedding dropout dropped gets a zero gradient row; it is
  -- still named (the exchange stays exact whatever the gradient holds)
  lurn.seed(1)
  local m = nn.Embedding(50, 3, { dropout = 0.5 })
  local ids = i32 { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 } }
  m:reset_rows()
  m:zero_grad()
  m:forward(ids)
  m:backward(lurn.ones(1, 10, 3))
  local rows = m:touched_rows():totable()
  lu.assertEquals(rows, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
  local nz = nonzero_rows(m:parameters()[1].grad)
  lu.assertTrue(#nz > 0 and #nz < 10, ("%d rows kept of 10"):format(#nz))
  for _, v in ipairs(nz) do lu.assertTrue(v >= 1 and v <= 10) end
end

function TestRowSparse:test_touched_rows_needs_reset_rows()
  local m = nn.Embedding(5, 2)
  m:forward(i32 { { 1 } })
  m:backward(lurn.ones(1, 1, 2))
  lu.assertErrorMsgContains("nn.Embedding: touched_rows before reset_rows", m.touched_rows, m)
end

function TestRowSparse:test_row_sparse_lists_embedding_tables()
  local e = nn.Embedding(20, 4)
  local model = nn.Sequential { e, nn.GRU(4, 3), nn.Pool("last"), nn.Linear(3, 2) }
  local rs = model:row_sparse()
  lu.assertEquals(#rs, 1)
  lu.assertIs(rs[1].module, e)
  lu.assertIs(rs[1].value, model:parameters()[1].value)
  lu.assertEquals(#nn.Sequential { nn.Linear(3, 2) }:row_sparse(), 0)
  -- Seq2Seq: both embeddings, but the target one when the output layer shares it
  lu.assertEquals(#nn.Seq2Seq(7, 9, { embed = 4, hidden = 3 }):row_sparse(), 2)
  local tied = nn.Seq2Seq(7, 9, { embed = 4, hidden = 3, tie_embeddings = true })
  local t = tied:row_sparse()
  lu.assertEquals(#t, 1)
  lu.assertIs(t[1].module, tied.src_embed)
end

-- ---- lazy Adam: only the rows a step used ------------------------------------

function TestRowSparse:test_parameters_mark_the_tables()
  local model = nn.Sequential { nn.Embedding(20, 4), nn.GRU(4, 3), nn.Pool("last"), nn.Linear(3, 2) }
  local marked = {}
  for _, p in ipairs(model:parameters()) do
    if p.row_sparse then marked[#marked + 1] = p.name end
  end
  lu.assertEquals(marked, { "0.weight" })
  -- a tied target embedding is written whole by the output layer: not marked
  local tied = nn.Seq2Seq(7, 9, { embed = 4, hidden = 3, tie_embeddings = true })
  marked = {}
  for _, p in ipairs(tied:parameters()) do
    if p.row_sparse then marked[#marked + 1] = p.value end
  end
  lu.assertEquals(#marked, 1)
  lu.assertIs(marked[1], tied.src_embed.weight)
end

-- two copies of one model, one step on `ids` each with the given optimizers
local function step(model, opt, ids)
  opt:zero_grad()
  local y = model:forward(ids)
  model:backward(lurn.ones(y:shape()))
  opt:step()
end

local function rows_of(t, rows)
  local out = {}
  for _, r in ipairs(rows) do out[#out + 1] = t:select(1, r + 1):totable() end
  return out
end

function TestRowSparse:test_lazy_adam_updates_only_the_rows_used()
  local function build()
    lurn.seed(5)
    return nn.Sequential { nn.Embedding(30, 4), nn.GRU(4, 3), nn.Pool("last"), nn.Linear(3, 2) }
  end
  local a, b = build(), build()
  local lazy = lurn.optim.Adam(a:parameters(), { lr = 0.1, lazy = true })
  local dense = lurn.optim.Adam(b:parameters(), { lr = 0.1 })
  local e0 = a:parameters()[1].value:clone()
  step(a, lazy, i32 { { 1, 2, 3 } })
  step(b, dense, i32 { { 1, 2, 3 } })
  local ea, eb = a:parameters()[1].value, b:parameters()[1].value
  -- step 1: the same (an unused row of dense Adam has no moment to move it yet)
  lu.assertEquals(ea:totable(), eb:totable())
  local after1 = rows_of(ea, { 1, 2, 3 })
  local m1 = rows_of(lazy.per_param["0.weight"].exp_avg, { 1, 2, 3 })
  lu.assertNotEquals(after1, rows_of(e0, { 1, 2, 3 }))
  step(a, lazy, i32 { { 4, 5 } })
  step(b, dense, i32 { { 4, 5 } })
  -- step 2: rows 1-3 unused: lazy leaves them (and their moments), dense moves them
  lu.assertEquals(rows_of(ea, { 1, 2, 3 }), after1)
  lu.assertNotEquals(rows_of(eb, { 1, 2, 3 }), after1)
  lu.assertEquals(rows_of(lazy.per_param["0.weight"].exp_avg, { 1, 2, 3 }), m1)
  lu.assertNotEquals(rows_of(dense.per_param["0.weight"].exp_avg, { 1, 2, 3 }), m1)
  lu.assertEquals(rows_of(ea, { 4, 5, 0, 29 }), rows_of(eb, { 4, 5, 0, 29 }))
  lu.assertEquals(rows_of(ea, { 0, 29 }), rows_of(e0, { 0, 29 }))   -- never used
  -- the other parameters saw the same gradients: the same values
  local pa, pb = a:parameters(), b:parameters()
  for i = 2, #pa do lu.assertEquals(pa[i].value:totable(), pb[i].value:totable(), pa[i].name) end
end

function TestRowSparse:test_lazy_is_adams_option()
  local params = nn.Embedding(5, 2):parameters()
  lu.assertErrorMsgContains("unknown option 'lazy'", lurn.optim.SGD, params, { lazy = true })
  local models = require "lurn.run.model"
  local cfg = { optim = { name = "sgd", lr = 0.1, weight_decay = 0, momentum = 0, lazy = true } }
  lu.assertErrorMsgContains("optim.lazy = true: only adam and adamw update lazily (optim.name is sgd)",
    models.optimizer, cfg, params)
  cfg.optim.name = "adamw"
  lu.assertTrue(models.optimizer(cfg, params).groups[1].config.lazy)
  -- the core step: the width must cut the parameter into rows; it says how many it updated
  local w, g, s = lurn.zeros(3, 2), lurn.zeros(3, 2), {}
  lu.assertErrorMsgContains("width 4 does not divide the parameter's 6 elements into rows",
    lurn.core.adam_step, w, g, s, { lazy = true }, 4)
  lu.assertNil(s.step)   -- nothing written
  g:select(1, 2):fill(1)
  local t, rows = lurn.core.adam_step(w, g, s, { lazy = true }, 2)
  lu.assertEquals({ t, rows }, { 1, 1 })
  local v = w:totable()   -- Adam's first step moves by lr (1e-3) against the gradient
  lu.assertEquals({ v[1], v[3] }, { { 0, 0 }, { 0, 0 } })
  lu.assertAlmostEquals(v[2][1], -1e-3, 1e-9)
  lu.assertAlmostEquals(v[2][2], -1e-3, 1e-9)
end

os.exit(lu.LuaUnit.run(), true)
