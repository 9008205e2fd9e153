-- LuaUnit suite for lurn.nn: gradient checks of every layer and option,
-- the module protocol, containers and error messages.
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

TestLayers = {}
function TestLayers:setUp() lurn.seed(123) end
function TestLayers:test_linear()
  assert_grads(nn.Linear(4, 3), lurn.randn(5, 4))
  assert_grads(nn.Linear(4, 3, { bias = false }), lurn.randn(2, 5, 4))   -- leading dims
  assert_grads(nn.Linear(4, 3), lurn.randn(4, 5):t())                   -- non-contiguous
  local s = nn.seq.new(lurn.randn(3, 2, 4), ids { 3, 1 })
  local y = nn.Linear(4, 6):forward(s)
  lu.assertTrue(nn.seq.is(y))
  lu.assertEquals(y.data:shape(), { 3, 2, 6 })
end
function TestLayers:test_embedding()
  local e = nn.Embedding(7, 3, { padding = 0 })
  lu.assertEquals(e.weight:select(1, 1):abs():sum(), 0)
  local batch = { ids = ids { { 1, 2 }, { 1, 0 }, { 0, 0 } }, lengths = ids { 2, 1 } }
  local m = nn.Sequential { e, nn.Pool("mean"), nn.Linear(3, 2) }
  assert_grads(m, batch)
  -- the padding row never receives gradient; repeated ids accumulate
  m:zero_grad()
  local out = e:forward(batch)
  e:backward(lurn.ones(out.data:shape()))
  lu.assertEquals(e._params[1].grad:select(1, 1):abs():sum(), 0)
  lu.assertEquals(e._params[1].grad:get(2, 1), 2)   -- id 1 appears twice
  lu.assertErrorMsgContains("ids must be int32", e.forward, e, lurn.zeros(2, 2))
  lu.assertErrorMsgContains("embedding", e.forward, e, ids { { 9 } })
end
function TestLayers:test_pool_kinds()
  -- values 0.1 apart, so a finite-difference step never changes which is the max
  local x = nn.seq.new(lurn.randperm(60):float():mul(0.1):view(5, 3, 4), ids { 5, 2, 3 })
  for _, k in ipairs { "mean", "max", "last" } do assert_grads(nn.Pool(k), x) end
  local y = nn.Pool("last"):forward(x)
  lu.assertTrue(lurn.allclose(y:select(1, 2), x.data:select(1, 2):select(1, 2), 0, 0))
  lu.assertErrorMsgContains("kind must be mean, max or last", nn.Pool, "median")
end
function TestLayers:test_activations_and_softmax()
  for _, C in ipairs { nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Softmax, nn.LogSoftmax } do
    assert_grads(nn.Sequential { nn.Linear(3, 4), C() }, lurn.randn(5, 3))
  end
  local p = nn.Softmax():forward(lurn.randn(4, 6))
  lu.assertTrue(lurn.allclose(p:sum(2), lurn.ones(4), 1e-5, 1e-6))
end
function TestLayers:test_dropout()
  local d = nn.Dropout(0.5)
  assert_grads(d, lurn.randn(4, 6))   -- the checker rewinds the RNG: a fixed mask
  local y = d:forward(lurn.ones(1000))
  lu.assertTrue(math.abs(y:mean() - 1) < 0.15)
  d:eval()
  lu.assertEquals(d:forward(lurn.ones(3)):sum(), 3)
  local v = nn.Dropout(0.5, { variational = true })
  local out = v:forward(lurn.ones(4, 2, 3))
  -- one mask per sequence: every step equal
  lu.assertTrue(lurn.allclose(out:select(1, 1), out:select(1, 4), 0, 0))
  assert_grads(v, lurn.randn(4, 2, 3))
  lu.assertErrorMsgContains("p must be in [0, 1)", nn.Dropout, 1.5)
end

TestLosses = {}
function TestLosses:setUp() lurn.seed(7) end

-- A loss as a module over its logits, so the gradient checker can see it.
local function loss_module(loss_fn, target)
  local m = nn.Module()
  m.forward = function(self, x)
    self.x = x
    return lurn.tensor(loss_fn:forward(x, target))
  end
  m.backward = function(self, g) return loss_fn:backward():mul(g:item()) end
  return m
end

function TestLosses:test_cross_entropy()
  local logits = lurn.randn(6, 4)
  local t = ids { 0, 1, 2, 3, 1, 0 }
  assert_grads(loss_module(nn.CrossEntropy(), t), logits)
  assert_grads(loss_module(nn.CrossEntropy { weight = lurn.tensor { 1, 2, 0.5, 1 } }, t), logits)
  assert_grads(loss_module(nn.CrossEntropy { ignore_index = 1, reduction = "sum" }, t), logits)
  -- value against a hand computation for one row
  local l = nn.CrossEntropy():forward(lurn.tensor { { 0, 0 } }, ids { 1 })
  lu.assertAlmostEquals(l, math.log(2), 1e-6)
  -- per-step with lengths (a Seq of logits)
  local s = nn.seq.new(lurn.randn(3, 2, 4), ids { 3, 1 })
  local ce = nn.CrossEntropy()
  ce:forward(s, ids { { 0, 1 }, { 2, 99 }, { 3, 99 } })   -- padded targets are never read
  lu.assertEquals(ce:backward():select(1, 2):select(1, 2):abs():sum(), 0)
  lu.assertErrorMsgContains("cross_entropy", ce.forward, ce, lurn.randn(2, 3), ids { 0, 5 })
end
function TestLosses:test_bce_mse()
  local x = lurn.randn(5, 3)
  local t = lurn.rand(5, 3):gt(0.5)
  assert_grads(loss_module(nn.BCEWithLogits(), t), x)
  assert_grads(loss_module(nn.BCEWithLogits { pos_weight = lurn.tensor { 1, 2, 3 } }, t), x)
  assert_grads(loss_module(nn.MSE(), lurn.randn(5, 3)), x)
  lu.assertAlmostEquals(nn.MSE():forward(lurn.tensor { 1, 2 }, lurn.tensor { 0, 0 }), 2.5, 1e-6)
  lu.assertErrorMsgContains("reduction must be 'mean' or 'sum'", nn.MSE, { reduction = "avg" })
end

TestProtocol = {}
function TestProtocol:test_every_layer_has_forward_and_backward()
  local Module = nn.Module
  local n = 0
  for name, C in pairs(nn) do
    if type(C) == "table" and getmetatable(C) and C ~= Module and rawget(C, "__name") then
      local function find(k)
        local c = C
        while c and c ~= Module do
          if rawget(c, k) then return true end
          c = rawget(c, "__parent")
        end
        return false
      end
      lu.assertTrue(find("forward"), name .. " has no forward")
      lu.assertTrue(find("backward"), name .. " has no backward")
      n = n + 1
    end
  end
  lu.assertTrue(n >= 15, "found " .. n .. " layer classes")
end
function TestProtocol:test_parameters_state_names()
  local m = nn.Sequential { nn.Embedding(5, 3), nn.Pool("max"), nn.Linear(3, 2) }
  local names = {}
  for _, p in ipairs(m:parameters()) do names[#names + 1] = p.name end
  lu.assertEquals(names, { "0.weight", "2.weight", "2.bias" })
  local s = m:state()
  local m2 = nn.Sequential { nn.Embedding(5, 3), nn.Pool("max"), nn.Linear(3, 2) }
  m2:load_state(s)
  lu.assertTrue(lurn.allclose(m2:state()["2.weight"], s["2.weight"], 0, 0))
  lu.assertErrorMsgContains("parameter '2.weight' has shape [2,3], the model expects [4,3]",
    function() nn.Sequential { nn.Embedding(5, 3), nn.Pool("max"), nn.Linear(3, 4) }:load_state(s) end)
  lu.assertErrorMsgContains("missing parameter '0.weight'", function() m2:load_state({}) end)
  s["9.bias"] = lurn.zeros(1)
  lu.assertErrorMsgContains("unexpected parameter(s) 9.bias", function() m2:load_state(s) end)
  local str = tostring(m)
  lu.assertStrContains(str, "nn.Sequential")
  lu.assertStrContains(str, "(2) nn.Linear(3 -> 2)  [8 params]")
  m:zero_grad()
  for _, p in ipairs(m:parameters()) do lu.assertEquals(p.grad:abs():sum(), 0) end
  m:eval()
  lu.assertFalse(m.modules[1].training)
  m:train()
  lu.assertTrue(m.modules[3].training)
end
function TestProtocol:test_container_errors_name_position()
  local m = nn.Sequential { nn.Linear(4, 3), nn.Linear(5, 2) }
  lu.assertErrorMsgContains("nn.Sequential: module 2 (nn.Linear): nn.Linear(5 -> 2): input [2,3] does not end in 5",
    m.forward, m, lurn.randn(2, 4))
  local c = nn.Concat(2, { nn.Linear(4, 3), nn.Linear(4, 2) })
  lu.assertEquals(c:forward(lurn.randn(5, 4)):shape(), { 5, 5 })
  assert_grads(c, lurn.randn(5, 4))
  local bad = nn.Concat(2, { nn.Linear(4, 3), nn.Linear(6, 2) })
  lu.assertErrorMsgContains("nn.Concat: branch 2 (nn.Linear)", bad.forward, bad, lurn.randn(5, 4))
end
function TestProtocol:test_user_module_in_lua()
  -- a new module written in Lua over tensor ops, checked by the public checker
  local Scale = lurn.class("Scale", nn.Module)
  function Scale:__init(n)
    nn.Module.__init(self)
    self:add_parameter("gain", lurn.ones(n))
  end
  function Scale:forward(x) self.x = x; return x:mul(self.gain) end
  function Scale:backward(dy)
    self._params[1].grad:add_(dy:mul(self.x):sum(1))
    return dy:mul(self.gain)
  end
  assert_grads(nn.Sequential { Scale(3), nn.Tanh() }, lurn.randn(4, 3))
  -- and a wrong backward is caught
  function Scale:backward(dy) return dy end
  lu.assertFalse(gradcheck.check(nn.Sequential { Scale(3), nn.Tanh() }, lurn.randn(4, 3)).ok)
end

os.exit(lu.LuaUnit.run(), true)
