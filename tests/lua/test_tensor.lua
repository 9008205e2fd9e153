-- LuaUnit suite for the tensor API (lurn.core through `require "lurn"`).
local lu = require "luaunit"
local lurn = require "lurn"

local function close(a, b, tol)
  lu.assertTrue(math.abs(a - b) <= (tol or 1e-6), ("%g vs %g"):format(a, b))
end

TestConstruct = {}
function TestConstruct:test_from_table()
  local x = lurn.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
  lu.assertEquals(x:shape(), { 2, 3 })
  lu.assertEquals(x:dtype(), "float32")
  lu.assertEquals(x:get(2, 3), 6)
  lu.assertEquals(x:totable(), { { 1, 2, 3 }, { 4, 5, 6 } })
  local i = lurn.tensor({ 1, 2 }, "int32")
  lu.assertEquals(i:dtype(), "int32")
  lu.assertEquals(math.type(i:get(1)), "integer")
end
function TestConstruct:test_constructors()
  lu.assertEquals(lurn.zeros(2, 3):sum(), 0)
  lu.assertEquals(lurn.ones { 2, 3 }:sum(), 6)
  lu.assertEquals(lurn.full({ 2, 2 }, 7):totable(), { { 7, 7 }, { 7, 7 } })
  lu.assertEquals(lurn.arange(4):totable(), { 0, 1, 2, 3 })
  lu.assertEquals(lurn.arange(1, 2, 0.25):totable(), { 1, 1.25, 1.5, 1.75 })
  lu.assertEquals(lurn.arange(3, "int32"):dtype(), "int32")
  lu.assertEquals(lurn.eye(2):totable(), { { 1, 0 }, { 0, 1 } })
  lu.assertEquals(lurn.zeros(2, 3, 4, 5):shape(), { 2, 3, 4, 5 })
  lu.assertEquals(tostring(lurn.zeros(2, 3):shape()), "[2,3]")
end
function TestConstruct:test_errors()
  lu.assertErrorMsgContains("ragged nested table", lurn.tensor, { { 1, 2 }, { 3 } })
  lu.assertErrorMsgContains("is a string, not a number", lurn.tensor, { 1, "x" })
  lu.assertErrorMsgContains("unknown dtype 'float64'", lurn.zeros, 2, "float64")
  lu.assertErrorMsgContains("negative size", lurn.zeros, { 2, -3 })
end

TestViews = {}
function TestViews:test_views_share_storage()
  local x = lurn.arange(12):view(3, 4)
  local t = x:t()
  lu.assertEquals(t:shape(), { 4, 3 })
  lu.assertTrue(t:shares_storage(x))
  lu.assertFalse(t:is_contiguous())
  lu.assertEquals(t:get(2, 1), 1)
  t:set(2, 1, 100)
  lu.assertEquals(x:get(1, 2), 100)
  local n = x:narrow(2, 2, 2)
  lu.assertEquals(n:totable(), { { 100, 2 }, { 5, 6 }, { 9, 10 } })
  local s = x:select(1, 3)
  lu.assertEquals(s:totable(), { 8, 9, 10, 11 })
  lu.assertEquals(x:select(2, -1):totable(), { 3, 7, 11 })
  local p = lurn.zeros(2, 3, 4):permute(3, 1, 2)
  lu.assertEquals(p:shape(), { 4, 2, 3 })
  local e = lurn.tensor { { 1 }, { 2 } }:expand(2, 3)
  lu.assertEquals(e:totable(), { { 1, 1, 1 }, { 2, 2, 2 } })
  lu.assertEquals(e:stride(), { 1, 0 })
  local c = t:contiguous()
  lu.assertTrue(c:is_contiguous())
  lu.assertFalse(c:shares_storage(x))
  lu.assertEquals(x:view(-1):shape(), { 12 })
  lu.assertEquals(t:reshape(12):get(2), 4)
end
function TestViews:test_view_errors()
  local x = lurn.zeros(3, 4)
  lu.assertErrorMsgContains("view", function() return x:t():view(12) end)
  lu.assertErrorMsgContains("narrow: 5 elements from position 3 do not fit dim 2 of [3,4]",
    function() return x:narrow(2, 3, 5) end)
  lu.assertErrorMsgContains("select: index 4 out of range for dim 1 of [3,4]",
    function() return x:select(1, 4) end)
  lu.assertErrorMsgContains("dim 3 out of range for a 2-d tensor", function() return x:select(3, 1) end)
  lu.assertErrorMsgContains("index 5 out of range for dim 1 of [3,4]", function() return x:get(5, 1) end)
  lu.assertErrorMsgContains("expand", function() return x:expand(3, 5) end)
end
function TestViews:test_copy_clone_fill()
  local x = lurn.zeros(2, 3)
  x:copy(lurn.tensor { 1, 2, 3 })
  lu.assertEquals(x:totable(), { { 1, 2, 3 }, { 1, 2, 3 } })
  local y = x:clone()
  y:fill(5)
  lu.assertEquals(x:get(1, 1), 1)
  lu.assertEquals(y:get(1, 1), 5)
  lu.assertEquals(lurn.tensor({ 1.7, -1.7 }):int():totable(), { 1, -1 })
end

TestMath = {}
function TestMath:test_broadcast_arith()
  local a = lurn.tensor { { 1 }, { 2 }, { 3 } }
  local b = lurn.tensor { 10, 20, 30, 40 }
  local c = a + b
  lu.assertEquals(c:shape(), { 3, 4 })
  lu.assertEquals(c:get(3, 4), 43)
  lu.assertEquals((a * 2):totable(), { { 2 }, { 4 }, { 6 } })
  lu.assertEquals((1 - a):totable(), { { 0 }, { -1 }, { -2 } })
  lu.assertEquals((b / b):sum(), 4)
  lu.assertEquals((-a):get(1, 1), -1)
  lu.assertEquals((a ^ 2):get(3, 1), 9)
  local z = lurn.zeros(3, 4)
  z:add_(b)
  z:mul_(2)
  lu.assertEquals(z:get(2, 2), 40)
  lu.assertErrorMsgContains("do not broadcast", function() return lurn.zeros(2, 3) + lurn.zeros(4) end)
end
function TestMath:test_unary()
  local x = lurn.tensor { -1, 0, 2 }
  close(x:exp():get(3), math.exp(2))
  close(x:tanh():get(1), math.tanh and math.tanh(-1) or -0.7615941559557649)
  close(x:sigmoid():get(2), 0.5)
  lu.assertEquals(x:relu():totable(), { 0, 0, 2 })
  lu.assertEquals(x:abs():totable(), { 1, 0, 2 })
  lu.assertEquals(x:clamp(-0.5, 1):totable(), { -0.5, 0, 1 })
  close(lurn.tensor({ 4 }):sqrt():get(1), 2)
  close(lurn.tensor({ 1 }):log():get(1), 0)
  lu.assertEquals(x:pow(2):totable(), { 1, 0, 4 })
  x:relu_()
  lu.assertEquals(x:totable(), { 0, 0, 2 })
end
function TestMath:test_compare()
  local x = lurn.tensor { 1, 2, 3 }
  lu.assertEquals(x:gt(1):totable(), { 0, 1, 1 })
  lu.assertEquals(x:eq(lurn.tensor { 1, 0, 3 }):totable(), { 1, 0, 1 })
  lu.assertEquals(x:le(2):sum(), 2)
end
function TestMath:test_reductions()
  local x = lurn.tensor { { 1, 5, 3 }, { 4, 2, 6 } }
  lu.assertEquals(x:sum(), 21)
  close(x:mean(), 3.5)
  lu.assertEquals(x:max(), 6)
  lu.assertEquals(x:min(), 1)
  lu.assertEquals(x:sum(1):totable(), { 5, 7, 9 })
  lu.assertEquals(x:sum(2, true):shape(), { 2, 1 })
  local v, i = x:max(2)
  lu.assertEquals(v:totable(), { 5, 6 })
  lu.assertEquals(i:totable(), { 1, 2 })   -- 0-based positions as values
  lu.assertEquals(x:argmax(1):totable(), { 1, 0, 1 })
  lu.assertEquals(x:argmax(), 5)
  lu.assertEquals(x:mean(-1):totable(), { 3, 4 })
end
function TestMath:test_mm()
  local a = lurn.tensor { { 1, 2 }, { 3, 4 }, { 5, 6 } }
  local b = lurn.tensor { { 1, 0, 2 }, { 0, 1, 3 } }
  lu.assertEquals(a:mm(b):totable(), { { 1, 2, 8 }, { 3, 4, 18 }, { 5, 6, 28 } })
  -- transposed views go to BLIS without a copy and give the same result
  lu.assertEquals(lurn.mm(b:t(), a:t()):totable(), a:mm(b):t():totable())
  lu.assertErrorMsgContains("mm: cannot multiply [3,2] by [3,2]", lurn.mm, a, a)
  local bm = lurn.bmm(lurn.ones(2, 3, 4), lurn.ones(2, 4, 5))
  lu.assertEquals(bm:shape(), { 2, 3, 5 })
  lu.assertEquals(bm:get(2, 3, 5), 4)
  lu.assertTrue(lurn.allclose(a, a + 1e-7))
  lu.assertFalse(lurn.allclose(a, a + 1e-2))
end
function TestMath:test_cat_index_select()
  local a, b = lurn.ones(2, 3), lurn.zeros(2, 2)
  local c = lurn.cat({ a, b }, 2)
  lu.assertEquals(c:shape(), { 2, 5 })
  lu.assertEquals(c:sum(), 6)
  lu.assertErrorMsgContains("cat: element 2", lurn.cat, { a, lurn.zeros(3, 3) }, 2)
  local x = lurn.arange(6):view(3, 2)
  local s = x:index_select(1, lurn.tensor({ 2, 0 }, "int32"))
  lu.assertEquals(s:totable(), { { 4, 5 }, { 0, 1 } })
end
function TestMath:test_tostring()
  local s = tostring(lurn.tensor { { 1, 2 }, { 3, 4 } })
  lu.assertStrContains(s, "lurn.Tensor(2x2, float32)")
  lu.assertStrContains(s, "[[1, 2],")
  local big = tostring(lurn.zeros(100, 100))
  lu.assertStrContains(big, "...")
  lu.assertTrue(#big < 2000)
end

TestRandom = {}
function TestRandom:test_seed_reproducible()
  lurn.seed(42)
  local a = lurn.randn(5)
  local state = lurn.rng_state()
  local b = lurn.rand(5)
  lurn.seed(42)
  lu.assertTrue(lurn.allclose(a, lurn.randn(5), 0, 0))
  lurn.set_rng_state(state)
  lu.assertTrue(lurn.allclose(b, lurn.rand(5), 0, 0))
  lu.assertErrorMsgContains("56 bytes", lurn.set_rng_state, "short")
end
function TestRandom:test_same_numbers_any_threads()
  lurn.threads(1); lurn.seed(7); local a = lurn.randn(1000)
  lurn.threads(2); lurn.seed(7); local b = lurn.randn(1000)
  lu.assertTrue(lurn.allclose(a, b, 0, 0))
end
function TestRandom:test_distributions()
  lurn.seed(1)
  local p = lurn.randperm(10)
  lu.assertEquals(p:dtype(), "int32")
  lu.assertEquals(p:sum(), 45)
  local m = lurn.multinomial(lurn.tensor { 0, 0, 1 }, 4, true)
  lu.assertEquals(m:totable(), { 2, 2, 2, 2 })
  local bern = lurn.bernoulli({ 10000 }, 0.3)
  close(bern:mean(), 0.3, 0.03)
end

TestSystem = {}
function TestSystem:test_threads_info()
  lu.assertEquals(lurn.threads(1), 1)
  lu.assertEquals(lurn.threads(), 1)
  lurn.threads(2)
  local i = lurn.info()
  lu.assertStrContains(i.lua, "Lua 5.4")
  lu.assertStrMatches(i.blis, "%d+%.%d+.*")
  lu.assertTrue(i.blis_openmp)
  lu.assertEquals(i.threads, 2)
end

function TestSystem:test_clock_mkdir()
  local t0 = lurn.clock()
  lu.assertTrue(lurn.clock() >= t0)
  local dir = os.tmpname()
  os.remove(dir)
  lurn.mkdir(dir .. "/a/b")
  lurn.mkdir(dir .. "/a/b")   -- already there: fine
  local f = assert(io.open(dir .. "/a/b/x", "w"))
  f:close()
  lu.assertErrorMsgContains("exists and is not a directory", lurn.mkdir, dir .. "/a/b/x")
  lu.assertErrorMsgContains("cannot create", lurn.mkdir, dir .. "/a/b/x/y")
  os.remove(dir .. "/a/b/x"); os.remove(dir .. "/a/b"); os.remove(dir .. "/a"); os.remove(dir)
end

os.exit(lu.LuaUnit.run(), true)
