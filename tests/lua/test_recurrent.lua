-- LuaUnit suite for nn.RNN / nn.LSTM / nn.GRU: finite-difference checks of
-- every cell and option, semantics of lengths and states, and errors.
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn
local gradcheck = lurn.gradcheck

local function ids(t) return lurn.tensor(t, "int32") end

-- ReLU cells have kinks: elements whose finite-difference interval holds
-- one are detected (the two one-sided slopes disagree) and skipped.
-- A smaller step makes kinks in the interval rarer (PyTorch agreement,
-- test_torch_reference.lua, covers the ReLU cell exactly).
local relu_opts = { eps = 2e-3, tol = 2e-2, skip_kinks = true, max_per_tensor = 24 }
local fast = { max_per_tensor = 24 }

local function assert_grads(m, x, opts)
  opts = opts or (m.cell == "rnn_relu" and relu_opts) or fast
  local r = gradcheck.check(m, x, opts)
  lu.assertTrue(r.ok, tostring(m) .. "\n" .. r.summary)
  lu.assertTrue(r.skipped <= r.checked / 4, "too many kinks skipped: " .. r.summary)
  return r
end

local cells = {
  lstm = function(i, h, o) return nn.LSTM(i, h, o) end,
  gru = function(i, h, o) return nn.GRU(i, h, o) end,
  rnn_tanh = function(i, h, o) return nn.RNN(i, h, o) end,
  rnn_relu = function(i, h, o)
    o = o or {}; o.nonlinearity = "relu"; return nn.RNN(i, h, o)
  end,
}

local options = {
  {},
  { layers = 2 },
  { bidirectional = true },
  { layers = 2, bidirectional = true, dropout = 0.3 },
  { output = "last" },
  { output = "last", bidirectional = true, layers = 2 },
  { input_dropout = 0.2, output_dropout = 0.2 },
  { bias = false },
  { init = "orthogonal" },
}

TestGradients = {}
function TestGradients:setUp() lurn.seed(11) end
local cell_names = { "lstm", "gru", "rnn_tanh", "rnn_relu" }   -- a fixed order: fixed inputs

for _, name in ipairs(cell_names) do
  local make = cells[name]
  TestGradients["test_" .. name] = function()
    for _, o in ipairs(options) do
      local oo = {}
      for k, v in pairs(o) do oo[k] = v end
      local m = make(3, 4, oo)
      -- unsorted lengths, one full, one of length 1
      assert_grads(m, nn.seq.new(lurn.randn(5, 3, 3), ids { 2, 5, 1 }))
    end
    -- no lengths, and a non-contiguous input
    assert_grads(make(3, 4), lurn.randn(3, 5, 4):permute(2, 1, 3):narrow(3, 1, 3))
  end
end

function TestGradients:test_initial_states()
  for _, name in ipairs(cell_names) do
    local m = cells[name](3, 4, { layers = 2, bidirectional = true })
    local h0 = lurn.randn(4, 2, 4)
    local c0 = name == "lstm" and lurn.randn(4, 2, 4) or nil
    local x = nn.seq.new(lurn.randn(4, 2, 3), ids { 4, 2 })
    -- h0 as the checked input: wrap the layer so the checker perturbs h0
    local wrap = nn.Module()
    wrap._children = { { name = "m", module = m } }
    wrap.forward = function(_, h) return m:forward(x, { h0 = h, c0 = c0 }) end
    wrap.backward = function(_, g) m:backward(g); return m.grad_h0 end
    assert_grads(wrap, h0, name == "rnn_relu" and relu_opts or fast)
    if c0 then
      local wrapc = nn.Module()
      wrapc._children = { { name = "m", module = m } }
      wrapc.forward = function(_, c) return m:forward(x, { h0 = h0, c0 = c }) end
      wrapc.backward = function(_, g) m:backward(g); return m.grad_c0 end
      assert_grads(wrapc, c0)
    end
  end
end

TestSemantics = {}
function TestSemantics:setUp() lurn.seed(5) end
function TestSemantics:test_padded_steps_and_final_state()
  local m = nn.LSTM(3, 4)
  local x = lurn.randn(6, 2, 3)
  local y = m:forward(nn.seq.new(x, ids { 6, 3 }))
  -- padded steps emit zeros; the final state is the last valid step's
  lu.assertEquals(y.data:narrow(1, 4, 3):select(2, 2):abs():sum(), 0)
  lu.assertTrue(lurn.allclose(m.h_n:select(1, 1):select(1, 2), y.data:select(1, 3):select(1, 2), 1e-6, 1e-7))
  -- padding contents do not matter
  local x2 = x:clone()
  x2:narrow(1, 4, 3):select(2, 2):fill(100)
  local y2 = m:forward(nn.seq.new(x2, ids { 6, 3 }))
  lu.assertTrue(lurn.allclose(y.data, y2.data, 0, 0))
  -- a sample alone gives the same result as inside a batch
  local solo = m:forward(x:narrow(1, 1, 3):narrow(2, 2, 1))
  lu.assertTrue(lurn.allclose(solo.data, y.data:narrow(1, 1, 3):narrow(2, 2, 1), 1e-5, 1e-6))
end
-- The layer's outputs (y, h_n, dx) are made without zeros (lurn.empty and the
-- binding's outputs): the kernels must write every element, padded steps
-- included. Memory that held NaNs is handed out again for them: a single
-- element left unwritten shows as a NaN.
function TestSemantics:test_outputs_written_in_full_over_dirty_memory()
  for _, cell in ipairs { "lstm", "gru", "rnn" } do
    local ctor = ({ lstm = nn.LSTM, gru = nn.GRU, rnn = nn.RNN })[cell]
    local m = ctor(3, 5, { bidirectional = true, layers = 2 })
    local x = lurn.randn(7, 4, 3)
    local lens = ids { 7, 2, 5, 0 }
    for _ = 1, 3 do
      -- dirty the heap with blocks of the outputs' sizes, then free them
      local junk = {}
      for i = 1, 8 do junk[i] = lurn.full({ 7, 4, 10 }, 0 / 0) end
      for i = 1, 8 do junk[i]:free() end
      junk = { lurn.full({ 7, 4, 3 }, 0 / 0), lurn.full({ 4, 5 }, 0 / 0) }
      for _, t in ipairs(junk) do t:free() end
      m:train()
      local y = m:forward(nn.seq.new(x, lens))
      lu.assertEquals(y.data:ne(y.data):sum(), 0, cell .. ": a NaN in y")
      lu.assertEquals(y.data:narrow(1, 3, 5):select(2, 2):abs():sum(), 0, cell .. ": padded rows of y")
      lu.assertEquals(y.data:select(2, 4):abs():sum(), 0, cell .. ": the empty sample's y")
      lu.assertEquals(m.h_n:ne(m.h_n):sum(), 0, cell .. ": a NaN in h_n")
      local dx = m:backward(lurn.randn(7, 4, 10))
      lu.assertEquals(dx:ne(dx):sum(), 0, cell .. ": a NaN in dx")
      lu.assertEquals(dx:select(2, 4):abs():sum(), 0, cell .. ": the empty sample's dx")
    end
  end
end
function TestSemantics:test_reverse_starts_at_own_last_step()
  local m = nn.GRU(2, 3, { bidirectional = true })
  local x = lurn.randn(5, 2, 2)
  local y = m:forward(nn.seq.new(x, ids { 5, 2 }))
  -- the reverse half of sample 2 equals running a reversed copy of its 2 steps
  local solo = m:forward(x:narrow(1, 1, 2):narrow(2, 2, 1))
  lu.assertTrue(lurn.allclose(y.data:narrow(1, 1, 2):narrow(2, 2, 1), solo.data, 1e-5, 1e-6))
end
function TestSemantics:test_stateful_truncated_bptt()
  local m = nn.LSTM(2, 3, { stateful = true })
  local x = lurn.randn(8, 2, 2)
  local full = nn.LSTM(2, 3)
  full:load_state(m:state())
  local yf = full:forward(x).data
  local y1 = m:forward(x:narrow(1, 1, 4)).data
  m:backward(lurn.ones(y1:shape()))
  local y2 = m:forward(x:narrow(1, 5, 4)).data
  lu.assertTrue(lurn.allclose(y2, yf:narrow(1, 5, 4), 1e-5, 1e-6))
  lu.assertIsNil(m.grad_h0)   -- no gradient crosses the chunk boundary
  m:reset_state()
  local y3 = m:forward(x:narrow(1, 5, 4)).data
  lu.assertFalse(lurn.allclose(y3, y2, 1e-5, 1e-6))
end
function TestSemantics:test_long_sequence_stable()
  local m = nn.LSTM(4, 8, { forget_bias = 1 })
  for _, p in ipairs(m:parameters()) do p.value:mul_(8) end   -- large weights
  local y = m:forward(lurn.randn(1200, 2, 4))
  lu.assertTrue(y.data:abs():max() <= 1)
  m:backward(lurn.ones(y.data:shape()))
  for _, p in ipairs(m:parameters()) do
    local s = p.grad:abs():sum()
    lu.assertTrue(s == s and s < math.huge, p.name .. " gradient not finite")
  end
end
function TestSemantics:test_options()
  local m = nn.LSTM(3, 4, { forget_bias = 1.5 })
  lu.assertEquals(m.bias_ih_l0:narrow(1, 5, 4):totable(), { 1.5, 1.5, 1.5, 1.5 })
  lu.assertEquals(m.bias_hh_l0:narrow(1, 5, 4):abs():sum(), 0)
  local o = nn.GRU(3, 5, { init = "orthogonal" })
  local w = o.weight_hh_l0:narrow(1, 6, 5)
  lu.assertTrue(lurn.allclose(w:mm(w:t()), lurn.eye(5), 1e-4, 1e-5))
  local names = {}
  for _, p in ipairs(nn.LSTM(3, 4, { layers = 2, bidirectional = true }):parameters()) do
    names[#names + 1] = p.name
  end
  lu.assertEquals(names[1], "weight_ih_l0")
  lu.assertEquals(names[5], "weight_ih_l0_reverse")
  lu.assertEquals(names[9], "weight_ih_l1")
  lu.assertEquals(#names, 16)
  lu.assertStrContains(tostring(nn.LSTM(128, 256, { layers = 2, bidirectional = true })),
    "nn.LSTM(128 -> 256, layers=2, bidirectional)")
end

TestErrors = {}
function TestErrors:test_errors()
  local m = nn.LSTM(3, 4)
  lu.assertErrorMsgContains("nn.LSTM: input [5,2,7] does not match input size 3",
    m.forward, m, lurn.randn(5, 2, 7))
  lu.assertErrorMsgContains("expected a float32 [T, B, 3] tensor or Seq, got [5,3] float32",
    m.forward, m, lurn.randn(5, 3))
  lu.assertErrorMsgContains("h0 must be [1,2,4], got [1,3,4]",
    m.forward, m, lurn.randn(5, 2, 3), { h0 = lurn.zeros(1, 3, 4) })
  lu.assertErrorMsgContains("length 7 of sample 2 exceeds T=5",
    m.forward, m, nn.seq.new(lurn.randn(5, 2, 3), ids { 5, 7 }))
  lu.assertErrorMsgContains("unknown option 'hidden_size'", nn.LSTM, 3, 4, { hidden_size = 3 })
  lu.assertErrorMsgContains("rnn_forward: w_hh must be [8,2], got [8,3]", lurn.core.rnn_forward,
    { kind = "lstm", x = lurn.zeros(2, 1, 3), w_ih = lurn.zeros(8, 3), w_hh = lurn.zeros(8, 3) })
  lu.assertErrorMsgContains("rnn_forward: unknown option 'lenghts'", lurn.core.rnn_forward,
    { x = lurn.zeros(2, 1, 3), lenghts = 1 })
  m:eval()
  m:forward(lurn.randn(2, 1, 3))
  lu.assertErrorMsgContains("backward needs a forward in training mode", m.backward, m, lurn.zeros(2, 1, 4))
end

os.exit(lu.LuaUnit.run(), true)
