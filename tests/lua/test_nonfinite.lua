-- LuaUnit suite: NaN and Inf are never hidden (issue 12, item 8).
--   layers    nn.LSTM / nn.GRU / nn.RNN (tanh, relu), both kernel input paths
--             (batch 3: projection GEMM; batch 17: fused per step), a NaN or
--             Inf in the input or a weight reaches the output and the
--             gradients, forward and backward;
--   training  train.fit stops and names the parameter where the NaN began:
--             a NaN embedding row, a NaN recurrent weight, a NaN loss gradient.
local lu = require "luaunit"
local lurn = require "lurn"
local nn, optim, data, train = lurn.nn, lurn.optim, lurn.data, lurn.train

local function count_nonfinite(t)
  local n = 0
  for _, v in ipairs(t:reshape(t:numel()):totable()) do
    if v ~= v or v == math.huge or v == -math.huge then n = n + 1 end
  end
  return n
end

local cells = {
  lstm = function(i, h) return nn.LSTM(i, h) end,
  gru = function(i, h) return nn.GRU(i, h) end,
  rnn_tanh = function(i, h) return nn.RNN(i, h) end,
  rnn_relu = function(i, h) return nn.RNN(i, h, { nonlinearity = "relu" }) end,
}

-- x [T, B, I] with one bad element at (step 2, sample 2, feature 1)
local function bad_input(T, B, I, v)
  local x = lurn.randn(T, B, I)
  x:set(2, 2, 1, v)
  return x
end

local function tensor_of(v) return v.data or v end

TestLayers = {}

for name, make in pairs(cells) do
  for _, B in ipairs { 3, 17 } do
    TestLayers["test_" .. name .. "_nan_input_B" .. B] = function()
      lurn.seed(7)
      local m = make(5, 16)
      local x = bad_input(4, B, 5, 0 / 0)
      local y = tensor_of(m:forward(x))
      -- sample 2 from step 2 on: 3 steps x 16 units, every other sample finite
      lu.assertEquals(count_nonfinite(y), 3 * 16, name .. ": NaN outputs")
      lu.assertEquals(count_nonfinite(y:narrow(2, 2, 1)), 3 * 16)
      m:zero_grad()
      local dx = tensor_of(m:backward(lurn.ones(y:shape())))
      lu.assertTrue(count_nonfinite(dx:narrow(2, 2, 1)) > 0, name .. ": dx of sample 2")
      lu.assertEquals(count_nonfinite(dx:narrow(2, 1, 1)), 0, name .. ": dx of sample 1")
      for _, p in ipairs(m:parameters()) do
        lu.assertTrue(count_nonfinite(p.grad) > 0, name .. ": gradient of " .. p.name)
      end
    end

    TestLayers["test_" .. name .. "_nonfinite_weight_B" .. B] = function()
      lurn.seed(8)
      local m = make(5, 16)
      local ps = m:parameters()
      ps[2].value:set(1, 1, 0 / 0)   -- weight_hh_l0[1][1]
      local x = lurn.randn(4, B, 5)
      local y = tensor_of(m:forward(x))
      lu.assertTrue(count_nonfinite(y) > 0, name .. ": NaN recurrent weight")
      m:zero_grad()
      local dx = tensor_of(m:backward(lurn.ones(y:shape())))
      lu.assertTrue(count_nonfinite(dx) > 0 and count_nonfinite(ps[2].grad) > 0)
      -- +Inf input weight: the gates it feeds saturate (as the exact math does), and
      -- the input gradient, 0 * Inf, is NaN
      ps[2].value:copy(lurn.zeros(ps[2].value:shape()))
      ps[1].value:set(1, 1, math.huge)
      y = tensor_of(m:forward(x))
      m:zero_grad()
      dx = tensor_of(m:backward(lurn.ones(y:shape())))
      lu.assertTrue(count_nonfinite(dx) > 0, name .. ": Inf weight, dx")
    end
  end
end

-- ---- training: the guard names the parameter ----------------------------------

local V = 12
local function dataset(n)
  local seqs, labels = {}, {}
  for i = 1, n do
    seqs[i] = { 2 + i % 5, 3 + i % 7, 2 + i % 9, 4 }
    labels[i] = i % 2
  end
  return data.Dataset { seqs = seqs, labels = labels }
end

local function model()
  lurn.seed(3)
  return nn.Sequential { nn.Embedding(V, 6), nn.LSTM(6, 8), nn.Pool("max"), nn.Linear(8, 2) }
end

local function fit(m, loss, clip)
  return train.fit { model = m, loss = loss or nn.CrossEntropy(),
    optimizer = optim.SGD(m:parameters(), { lr = 0.1 }), train_data = dataset(16),
    batch_size = 8, shuffle = false, clip = clip, log = function() end }
end

TestGuard = {}

-- A NaN embedding row (token 4 is in every sentence): the LSTM passes it on,
-- the loss is NaN, and the message names the embedding, not an LSTM weight.
function TestGuard:test_nan_embedding_named()
  local m = model()
  m:parameters()[1].value:set(5, 2, 0 / 0)   -- token 4 = row 5
  lu.assertErrorMsgContains("train.fit: loss is nan at step 1 (epoch 1, batch 1 of 2); "
    .. "non-finite value in parameter '0.weight' at element 26", fit, m)
end

function TestGuard:test_inf_recurrent_weight_named()
  local m = model()
  local whh = m:parameters()[3]
  lu.assertEquals(whh.name, "1.weight_hh_l0")
  whh.value:set(3, 4, -math.huge)
  lu.assertErrorMsgContains("non-finite value in parameter '1.weight_hh_l0' at element 20", fit, m)
end

-- Finite weights and loss, a NaN loss gradient: every gradient below the
-- output layer inherits it; the guard names the output layer's, where it began.
local function nan_gradient_named(clip)
  local m = model()
  local ce = nn.CrossEntropy()
  local bad_loss = {
    __name = "test.BadLoss",
    forward = function(_, out, t) return ce:forward(out, t) end,
    backward = function()
      local g = ce:backward():clone()
      g:set(1, 1, 0 / 0)
      return g
    end,
  }
  lu.assertErrorMsgContains("train.fit: non-finite gradient in '3.bias' at element 1 at step 1",
    fit, m, bad_loss, clip)
end

function TestGuard:test_nan_gradient_names_nearest_the_loss()
  nan_gradient_named(nil)
end

-- With clipping, the scan runs only when the norm is not finite: the same
-- message.
function TestGuard:test_nan_gradient_named_with_clipping()
  nan_gradient_named(1.0)
end

-- Clipping with finite gradients: the scan is skipped and training goes on.
function TestGuard:test_clipping_finite_gradients_trains()
  local m = model()
  local r = fit(m, nil, 0.5)
  lu.assertEquals(r.step, 2)
end

os.exit(lu.LuaUnit.run())
