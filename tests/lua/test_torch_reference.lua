-- lurn's recurrent layers against PyTorch 1.13, number for number.
--
-- tests/fixtures/torch_rnn.json was written by make_torch_reference.py with
-- Debian's python3-torch: 2-layer bidirectional LSTM, GRU and RNN (tanh,
-- relu) over a packed batch with unsorted lengths and given initial states. Its weights are loaded
-- into lurn's layers by their PyTorch names; outputs, final states and the
-- gradients of sum(y * R) + sum(h_n * S) must agree.
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn

local dir = os.getenv("LURN_TEST_SOURCE_DIR") or "../.."
local f = assert(io.open(dir .. "/tests/fixtures/torch_rnn.json"))
local ref = lurn.core.json_decode(f:read("a"))
f:close()

local function tensor(flat, shape)
  return lurn.tensor(flat):view(shape)
end

local function assert_close(name, got, want, tol)
  local diff = got:sub(want):abs():max()
  lu.assertTrue(diff <= tol, ("%s: max |lurn - torch| = %.3g > %.1g"):format(name, diff, tol))
end

local make = {
  lstm = function() return nn.LSTM(ref.I, ref.H, { layers = ref.layers, bidirectional = true }) end,
  gru = function() return nn.GRU(ref.I, ref.H, { layers = ref.layers, bidirectional = true }) end,
  rnn_tanh = function() return nn.RNN(ref.I, ref.H, { layers = ref.layers, bidirectional = true }) end,
  rnn_relu = function()
    return nn.RNN(ref.I, ref.H, { layers = ref.layers, bidirectional = true, nonlinearity = "relu" })
  end,
}

TestTorchReference = {}
for cell, c in pairs(ref.cells) do
  TestTorchReference["test_" .. cell] = function()
    local m = make[cell]()
    local weights = {}
    for name, flat in pairs(c.weights) do weights[name] = tensor(flat, c.shapes[name]) end
    m:load_state(weights)   -- strict: every PyTorch name must exist in lurn, and nothing else
    local T, B, H, LD = ref.T, ref.B, ref.H, ref.layers * 2
    local x = tensor(c.x, { T, B, ref.I })
    local h0 = tensor(c.h0, { LD, B, H })
    local c0 = c.c0 and tensor(c.c0, { LD, B, H })
    local y = m:forward(nn.seq.new(x, lurn.tensor(ref.lengths, "int32")), { h0 = h0, c0 = c0 })
    assert_close(cell .. " y", y.data, tensor(c.y, { T, B, 2 * H }), 1e-5)
    assert_close(cell .. " h_n", m.h_n, tensor(c.h_n, { LD, B, H }), 1e-5)
    if c.c_n then assert_close(cell .. " c_n", m.c_n, tensor(c.c_n, { LD, B, H }), 1e-5) end
    m:zero_grad()
    local dx = m:backward(tensor(c.R, { T, B, 2 * H }), { h_n = tensor(c.S, { LD, B, H }) })
    assert_close(cell .. " grad x", dx, tensor(c.grad_x, { T, B, ref.I }), 1e-4)
    assert_close(cell .. " grad h0", m.grad_h0, tensor(c.grad_h0, { LD, B, H }), 1e-4)
    if c0 then assert_close(cell .. " grad c0", m.grad_c0, tensor(c.grad_c0, { LD, B, H }), 1e-4) end
    for _, p in ipairs(m:parameters()) do
      assert_close(cell .. " grad " .. p.name, p.grad, tensor(c.grads[p.name], c.shapes[p.name]), 1e-4)
    end
  end
end

os.exit(lu.LuaUnit.run(), true)
