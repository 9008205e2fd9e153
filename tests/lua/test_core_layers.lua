-- LuaUnit suite for the layer and loss functions of lurn.core (src/lua/layers.c).
-- The numerics are proven in tests/c/test_layers.c (naive references and finite
-- differences); this suite checks the binding: argument forms, options, outputs,
-- accumulation, and that errors reach Lua naming the function and the shapes.
local lu = require "luaunit"
local lurn = require "lurn"
local core = require "lurn.core"

local function i32(t) return lurn.tensor(t, "int32") end
local function close(a, b, tol)
  lu.assertTrue(math.abs(a - b) <= (tol or 1e-5), ("%.9g vs %.9g"):format(a, b))
end

TestCoreLayers = {}

function TestCoreLayers:test_every_layer_has_forward_and_backward()
  for _, name in ipairs { "linear", "embedding", "dropout", "activation", "pool" } do
    lu.assertIsFunction(core[name .. "_forward"], name .. "_forward")
    lu.assertIsFunction(core[name .. "_backward"], name .. "_backward")
  end
  for _, name in ipairs { "softmax", "log_softmax" } do
    lu.assertIsFunction(core[name])
    lu.assertIsFunction(core[name .. "_backward"])
  end
  for _, name in ipairs { "cross_entropy", "bce_with_logits", "mse", "dropout_mask" } do
    lu.assertIsFunction(core[name])
  end
end

function TestCoreLayers:test_linear()
  local x, w, b = lurn.randn(4, 7), lurn.randn(5, 7), lurn.randn(5)
  local y = core.linear_forward(x, w, b)
  lu.assertEquals(y:shape(), { 4, 5 })
  lu.assertTrue(y:allclose(x:mm(w:t()) + b:view(1, 5), 1e-5, 1e-5))
  lu.assertTrue(core.linear_forward(x, w):allclose(x:mm(w:t()), 1e-5, 1e-5))
  lu.assertEquals(core.linear_forward(lurn.randn(2, 3, 7), w):shape(), { 2, 3, 5 })
  -- backward accumulates into dw, db; nil skips them
  local dy = lurn.randn(4, 5)
  local dw, db = lurn.zeros(5, 7), lurn.zeros(5)
  local dx = core.linear_backward(x, w, dy, dw, db)
  lu.assertTrue(dx:allclose(dy:mm(w), 1e-5, 1e-5))
  lu.assertTrue(dw:allclose(dy:t():mm(x), 1e-5, 1e-5))
  lu.assertTrue(db:allclose(dy:sum(1), 1e-5, 1e-5))
  core.linear_backward(x, w, dy, dw, nil)
  lu.assertTrue(dw:allclose(dy:t():mm(x) * 2, 1e-5, 1e-5))
  lu.assertTrue(db:allclose(dy:sum(1), 1e-5, 1e-5))
  lu.assertErrorMsgContains("linear: input [4,7] does not match weight [5,8] (expected last dim 8)",
    core.linear_forward, lurn.randn(4, 7), lurn.randn(5, 8))
  lu.assertErrorMsgContains("linear: bias [4] does not match weight [5,7]",
    core.linear_forward, x, w, lurn.zeros(4))
  lu.assertErrorMsgContains("linear: input must be float32, got int32",
    core.linear_forward, i32 { { 1, 2, 3, 4, 5, 6, 7 } }, w)
  lu.assertErrorMsgContains("linear_forward", core.linear_forward, nil, w)
end

function TestCoreLayers:test_embedding()
  local w = lurn.randn(6, 3)
  local ids = i32 { { 1, 0 }, { 3, 1 } }
  local out = core.embedding_forward(ids, w, 0)
  lu.assertEquals(out:shape(), { 2, 2, 3 })
  lu.assertEquals(out:select(1, 1):select(1, 2):totable(), { 0, 0, 0 })   -- padding
  lu.assertTrue(out:select(1, 1):select(1, 1):allclose(w:select(1, 2), 0, 0))
  -- nil padding: row 0 is an ordinary row
  lu.assertTrue(core.embedding_forward(ids, w):select(1, 1):select(1, 2):allclose(w:select(1, 1), 0, 0))
  local dw = lurn.zeros(6, 3)
  core.embedding_backward(ids, lurn.ones(2, 2, 3), dw, 0)
  lu.assertEquals(dw:select(1, 2):totable(), { 2, 2, 2 })   -- id 1 twice
  lu.assertEquals(dw:select(1, 1):totable(), { 0, 0, 0 })   -- padding gets nothing
  lu.assertErrorMsgContains("embedding: id 9 at position [2,2] of ids [2,2] is out of range [0, 6) (V = 6)",
    core.embedding_forward, i32 { { 1, 0 }, { 3, 9 } }, w, 0)
  lu.assertErrorMsgContains("embedding: ids must be int32, got float32",
    core.embedding_forward, lurn.zeros(2, 2), w)
end

function TestCoreLayers:test_dropout()
  lurn.seed(1)
  local m = core.dropout_mask({ 100, 100 }, 0.25)
  lu.assertEquals(m:shape(), { 100, 100 })
  local kept = m:gt(0):sum()
  lu.assertTrue(math.abs(kept / 10000 - 0.75) < 0.03, tostring(kept))
  close(m:max(), 1 / 0.75)
  lu.assertEquals(core.dropout_mask(2, 3, 4, 0.5):shape(), { 2, 3, 4 })
  -- the same seed gives the same mask
  lurn.seed(5); local a = core.dropout_mask({ 8, 8 }, 0.5)
  lurn.seed(5); local b = core.dropout_mask({ 8, 8 }, 0.5)
  lu.assertTrue(a:allclose(b, 0, 0))
  -- variational: a [1, B, D] mask on [T, B, D]
  local x = lurn.randn(5, 2, 3)
  local mv = core.dropout_mask({ 1, 2, 3 }, 0.5)
  local y = core.dropout_forward(x, mv)
  lu.assertTrue(y:allclose(x * mv:expand(5, 2, 3), 0, 0))
  lu.assertTrue(core.dropout_backward(x, mv):allclose(y, 0, 0))
  lu.assertErrorMsgContains("dropout: probability 1.5 is outside [0, 1]",
    core.dropout_mask, { 2, 2 }, 1.5)
  lu.assertErrorMsgContains("dropout: mask [2,2,3] does not broadcast to input [5,2,3]",
    core.dropout_forward, x, lurn.ones(2, 2, 3))
end

function TestCoreLayers:test_activations_and_softmax()
  local x = lurn.randn(3, 4)
  for _, k in ipairs { "relu", "tanh", "sigmoid" } do
    local y = core.activation_forward(k, x)
    lu.assertTrue(y:allclose(x[k](x), 1e-6, 1e-6), k)
    local dx = core.activation_backward(k, lurn.ones(3, 4), y)
    lu.assertEquals(dx:shape(), { 3, 4 })
  end
  lu.assertErrorMsgContains("invalid option 'gelu'", core.activation_forward, "gelu", x)
  local p = core.softmax(x)
  lu.assertTrue(p:sum(2):allclose(lurn.ones(3), 1e-6, 1e-6))
  lu.assertTrue(core.log_softmax(x):allclose(p:log(), 1e-5, 1e-5))
  -- d(sum of softmax)/dx = 0
  lu.assertTrue(core.softmax_backward(lurn.ones(3, 4), p):allclose(lurn.zeros(3, 4), 0, 1e-6))
  lu.assertEquals(core.log_softmax_backward(lurn.ones(3, 4), core.log_softmax(x)):shape(), { 3, 4 })
  lu.assertErrorMsgContains("softmax: output gradient [3,4] does not match output [4,3]",
    core.softmax_backward, lurn.ones(3, 4), lurn.ones(4, 3))
end

function TestCoreLayers:test_pool()
  local x = lurn.randn(4, 2, 3)
  local len = i32 { 4, 2 }
  local y, aux = core.pool_forward("mean", x, len)
  lu.assertEquals(y:shape(), { 2, 3 })
  lu.assertNil(aux)
  lu.assertTrue(y:select(1, 2):allclose(x:narrow(1, 1, 2):select(2, 2):mean(1), 1e-6, 1e-6))
  local ylast = core.pool_forward("last", x, len)
  lu.assertTrue(ylast:select(1, 2):allclose(x:select(1, 2):select(1, 2), 0, 0))
  local ymax, am = core.pool_forward("max", x, len)
  lu.assertEquals(am:dtype(), "int32")
  lu.assertTrue(am:max() <= 3 and am:select(1, 2):max() <= 1)
  local dx = core.pool_backward("max", lurn.ones(2, 3), len, am, 4)
  lu.assertEquals(dx:shape(), { 4, 2, 3 })
  lu.assertEquals(dx:sum(), 6)
  lu.assertEquals(dx:narrow(1, 3, 2):select(2, 2):sum(), 0)   -- padded steps get nothing
  local dm = core.pool_backward("mean", lurn.ones(2, 3), nil, nil, 4)
  close(dm:get(1, 1, 1), 0.25)
  lu.assertErrorMsgContains("pool: length 9 at position [2] is outside [0, 4]",
    core.pool_forward, "mean", x, i32 { 4, 9 })
  lu.assertErrorMsgContains("pool: input must be [T, B, D], got [4,2]",
    core.pool_forward, "max", lurn.randn(4, 2))
  lu.assertErrorMsgContains("invalid option 'avg'", core.pool_forward, "avg", x)
end

function TestCoreLayers:test_cross_entropy()
  -- torch 1.13: F.cross_entropy(x, [2, 1, -100, 0], weight=[0.5, 2, 1]) = 2.3598336892161536
  local x = lurn.tensor { { 1, 2, 0.5 }, { -1, 0, 3 }, { 0.2, 0.2, 0.2 }, { 2, -2, 1 } }
  local t = i32 { 2, 1, -100, 0 }
  local w = lurn.tensor { 0.5, 2, 1 }
  local loss, g = core.cross_entropy(x, t, { weight = w })
  close(loss, 2.3598336892161536)
  close(g:get(2, 2), -0.5447927871)
  lu.assertEquals(g:select(1, 3):totable(), { 0, 0, 0 })
  local ls, none = core.cross_entropy(x, t, { weight = w, reduction = "sum", grad = false })
  close(ls, 8.259417912256538)
  lu.assertNil(none)
  -- per-step with lengths: padded targets (99) are never read
  local lg = lurn.randn(3, 2, 4)
  local tt = i32 { { 1, 2 }, { 3, 99 }, { 0, 99 } }
  local l1, g1 = core.cross_entropy(lg, tt, { lengths = i32 { 3, 1 } })
  local tt2 = i32 { { 1, 2 }, { 3, -100 }, { 0, -100 } }
  local l2 = core.cross_entropy(lg, tt2)
  close(l1, l2, 1e-9)
  lu.assertEquals(g1:shape(), { 3, 2, 4 })
  lu.assertErrorMsgContains("cross_entropy: target 7 at position [3] is out of range [0, 3)",
    core.cross_entropy, x, i32 { 0, 1, 7, 0 })
  lu.assertErrorMsgContains("cross_entropy: unknown option 'weights' (known: weight, ignore_index",
    core.cross_entropy, x, t, { weights = w })
  lu.assertErrorMsgContains("cross_entropy: reduction must be 'mean' or 'sum', got 'avg'",
    core.cross_entropy, x, t, { reduction = "avg" })
  lu.assertErrorMsgContains("cross_entropy: targets [3] do not match logits [4,3] (expected [4])",
    core.cross_entropy, x, i32 { 0, 1, 2 })
end

function TestCoreLayers:test_bce_and_mse()
  -- torch 1.13: binary_cross_entropy_with_logits(x, t, pos_weight=[2, 0.5]) = 8.961858800705809
  local x = lurn.tensor { { 0.5, -1 }, { 3, -20 }, { 40, 0 } }
  local t = lurn.tensor { { 1, 0 }, { 0.3, 1 }, { 0, 1 } }
  local loss, g = core.bce_with_logits(x, t, { pos_weight = lurn.tensor { 2, 0.5 } })
  close(loss, 8.961858800705809)
  close(g:get(1, 1), -0.1258468896)
  local l2, g2 = core.mse(lurn.tensor { 1, 2, 3 }, lurn.tensor { 1, 0, 0 })
  close(l2, 13 / 3)
  close(g2:get(3), 2)
  close(core.mse(lurn.tensor { 1, 2, 3 }, lurn.tensor { 1, 0, 0 }, { reduction = "sum" }), 13)
  lu.assertErrorMsgContains("bce_with_logits: target 2 at position [1,1] is outside [0, 1]",
    core.bce_with_logits, lurn.zeros(1, 1), lurn.full({ 1, 1 }, 2))
  lu.assertErrorMsgContains("mse: target [2] does not match input [3]",
    core.mse, lurn.zeros(3), lurn.zeros(2))
  lu.assertErrorMsgContains("bce_with_logits: unknown option 'weight'",
    core.bce_with_logits, x, t, { weight = 1 })
end

os.exit(lu.LuaUnit.run(), true)
