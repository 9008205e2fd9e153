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

os.exit(lu.LuaUnit.run(), true)
