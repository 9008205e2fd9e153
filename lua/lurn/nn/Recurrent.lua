--- nn.RNN, nn.LSTM, nn.GRU — whole-sequence recurrent layers.
--
--   nn.LSTM(input_size, hidden, {
--     layers = 1,             -- stacked layers
--     bidirectional = false,  -- outputs of both directions concatenated
--     dropout = 0,            -- between layers (on each layer's output but the last)
--     input_dropout = 0,      -- variational: one mask per sequence on the input
--     output_dropout = 0,     -- variational: one mask per sequence on the output
--     output = "all",         -- "all": a Seq [T, B, H*dirs]; "last": [B, H*dirs], the
--                             --   final state of the top layer (each sample's own last step)
--     stateful = false,       -- carry final states into the next forward (truncated BPTT:
--                             --   no gradient flows across the boundary); reset_state()
--     init = "default",       -- "default" (PyTorch: U(-1/sqrt(H), 1/sqrt(H))) or "orthogonal"
--                             --   (recurrent weights orthogonal per gate block)
--     forget_bias = nil,      -- LSTM: the forget gate's total bias (b_ih = value, b_hh = 0)
--     nonlinearity = "tanh",  -- nn.RNN only: "tanh" or "relu"
--     bias = true,
--   })
--
-- Input: a Seq {data = [T, B, I], lengths} (what Embedding produces) or a
-- tensor [T, B, I]. Initial states: m:forward(x, {h0 = ..., c0 = ...}) with
-- [layers*dirs, B, H] tensors; their gradients land in m.grad_h0/grad_c0.
-- After forward, m.h_n and m.c_n hold the final states in PyTorch's layout
-- [layers*dirs, B, H] (layer 0 forward, layer 0 reverse, layer 1 forward ...).
-- backward(dy, {h_n = g, c_n = g}) adds gradients arriving at the final states.
-- Parameters are named like PyTorch's: weight_ih_l0, weight_hh_l0,
-- bias_ih_l0, bias_hh_l0, then *_reverse for the reverse direction.
-- All numeric work (every step of every layer, and BPTT) runs in C.
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local util = require "lurn.util"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"

local Recurrent = class("nn.Recurrent", Module)

local gates = { rnn_tanh = 1, rnn_relu = 1, lstm = 4, gru = 3 }
local known_opts = {
  layers = true, bidirectional = true, dropout = true, input_dropout = true,
  output_dropout = true, output = true, stateful = true, init = true, forget_bias = true,
  nonlinearity = true, bias = true,
}

--- An orthogonal [n, n] matrix: Gram-Schmidt on a Gaussian one, row by row.
local function orthogonal(n)
  local a = lurn.randn(n, n)
  for i = 1, n do
    local v = a:narrow(1, i, 1)                     -- [1, n]
    if i > 1 then
      local q = a:narrow(1, 1, i - 1)               -- [i-1, n], orthonormal rows
      local proj = lurn.mm(lurn.mm(v, q:t()), q)    -- v Q^T Q
      v:sub_(proj)
    end
    local norm = math.sqrt(v:square():sum())
    v:div_(norm)
  end
  return a
end

function Recurrent:__init(cell, name, input_size, hidden, opts)
  Module.__init(self)
  opts = opts or {}
  util.check_keys(opts, known_opts, name, 3)
  if math.type(input_size) ~= "integer" or math.type(hidden) ~= "integer"
      or input_size < 1 or hidden < 1 then
    util.user_error(("%s: input size and hidden size must be positive integers"):format(name))
  end
  self.__name = name
  self.cell = cell
  self.input_size, self.hidden = input_size, hidden
  self.layers = opts.layers or 1
  self.dirs = opts.bidirectional and 2 or 1
  self.dropout = opts.dropout or 0
  self.input_dropout = opts.input_dropout or 0
  self.output_dropout = opts.output_dropout or 0
  self.output_mode = opts.output or "all"
  self.stateful = opts.stateful or false
  self.init, self.forget_bias = opts.init, opts.forget_bias   -- kept for spec()
  if self.output_mode ~= "all" and self.output_mode ~= "last" then
    util.user_error(("%s: output must be 'all' or 'last', got '%s'"):format(name, tostring(opts.output)))
  end
  for _, k in ipairs { "dropout", "input_dropout", "output_dropout" } do
    if self[k] < 0 or self[k] >= 1 then
      util.user_error(("%s: %s must be in [0, 1), got %g"):format(name, k, self[k]))
    end
  end
  if math.type(self.layers) ~= "integer" or self.layers < 1 then
    util.user_error(("%s: layers must be a positive integer"):format(name))
  end
  local G, H = gates[cell], hidden
  local bound = 1 / math.sqrt(H)
  self.w = {}   -- w[l][d] = {w_ih, w_hh, b_ih, b_hh} (records)
  for l = 0, self.layers - 1 do
    self.w[l] = {}
    local n_in = l == 0 and input_size or H * self.dirs
    for d = 0, self.dirs - 1 do
      local sfx = ("_l%d%s"):format(l, d == 1 and "_reverse" or "")
      local r = {}
      r.w_ih = self:add_parameter("weight_ih" .. sfx, lurn.rand({ G * H, n_in }, -bound, bound))
      r.w_hh = self:add_parameter("weight_hh" .. sfx, lurn.rand({ G * H, H }, -bound, bound))
      if opts.bias ~= false then
        r.b_ih = self:add_parameter("bias_ih" .. sfx, lurn.rand({ G * H }, -bound, bound))
        r.b_hh = self:add_parameter("bias_hh" .. sfx, lurn.rand({ G * H }, -bound, bound))
      end
      if opts.init == "orthogonal" then
        for g = 1, G do r.w_hh.value:narrow(1, (g - 1) * H + 1, H):copy(orthogonal(H)) end
      elseif opts.init ~= nil and opts.init ~= "default" then
        util.user_error(("%s: init must be 'default' or 'orthogonal', got '%s'"):format(name, tostring(opts.init)))
      end
      if opts.forget_bias ~= nil then
        if cell ~= "lstm" then util.user_error(("%s: forget_bias is for LSTM only"):format(name)) end
        if not r.b_ih then util.user_error(("%s: forget_bias needs biases"):format(name)) end
        r.b_ih.value:narrow(1, H + 1, H):fill(opts.forget_bias)
        r.b_hh.value:narrow(1, H + 1, H):zero()
      end
      self.w[l][d] = r
    end
  end
end

--- Forget the carried state of a stateful layer (e.g. at a new document).
function Recurrent:reset_state() self._carry = nil end

local function state_slice(t, i) return t and t:select(1, i + 1) or nil end

function Recurrent:_check_input(input, init)
  local x, lengths = seq.split(input)
  if not x or x:dim() ~= 3 or x:dtype() ~= "float32" then
    util.user_error(("%s: expected a float32 [T, B, %d] tensor or Seq, got %s")
      :format(self.__name, self.input_size, seq.describe(input)))
  end
  if x:size(3) ~= self.input_size then
    util.user_error(("%s: input %s does not match input size %d"):format(self.__name,
      tostring(x:shape()), self.input_size))
  end
  if lengths then
    if lengths:dtype() ~= "int32" or lengths:dim() ~= 1 or lengths:size(1) ~= x:size(2) then
      util.user_error(("%s: lengths must be int32 [%d], got %s"):format(self.__name, x:size(2),
        seq.describe(lengths)))
    end
    local longest, shortest = lengths:max(), lengths:min()
    if longest > x:size(1) then
      util.user_error(("%s: length %d of sample %d exceeds T=%d"):format(self.__name, longest,
        lengths:argmax() + 1, x:size(1)))
    end
    if shortest < 0 then
      util.user_error(("%s: negative length %d of sample %d"):format(self.__name, shortest,
        lengths:argmin() + 1))
    end
  end
  local B, want = x:size(2), { self.layers * self.dirs, x:size(2), self.hidden }
  for _, k in ipairs { "h0", "c0" } do
    local s = init and init[k]
    if s and (s:dim() ~= 3 or s:size(1) ~= want[1] or s:size(2) ~= B or s:size(3) ~= want[3]) then
      util.user_error(("%s: %s must be [%d,%d,%d], got %s"):format(self.__name, k, want[1], want[2],
        want[3], tostring(s:shape())))
    end
  end
  return x, lengths
end

function Recurrent:forward(input, init)
  local x, lengths = self:_check_input(input, init)
  local T, B, H = x:size(1), x:size(2), self.hidden
  local training = self.training
  init = init or {}
  local h0, c0 = init.h0, init.c0
  self._user_init = (h0 ~= nil) or (c0 ~= nil)
  if self.stateful and not self._user_init and self._carry and self._carry.h:size(2) == B then
    h0, c0 = self._carry.h, self._carry.c
  end
  self._h0, self._c0 = h0, c0

  local L, D = self.layers, self.dirs
  local h_n = lurn.zeros(L * D, B, H)
  local c_n = self.cell == "lstm" and lurn.zeros(L * D, B, H) or nil
  self._states, self._inputs, self._masks = {}, {}, {}
  self._lengths, self._T, self._B = lengths, T, B

  local layer_in = x
  if training and self.input_dropout > 0 then
    self._masks.input = core.dropout_mask({ 1, B, x:size(3) }, self.input_dropout)
    layer_in = x:mul(self._masks.input)
  end
  for l = 0, L - 1 do
    self._inputs[l] = layer_in
    local out = core.empty(T, B, H * D)   -- each direction's kernel writes its half in full
    self._states[l] = {}
    for d = 0, D - 1 do
      local r = self.w[l][d]
      local k = l * D + d
      local y, hn, cn, st = core.rnn_forward {
        kind = self.cell, x = layer_in, lengths = lengths,
        h0 = state_slice(h0, k), c0 = state_slice(c0, k),
        w_ih = r.w_ih.value, w_hh = r.w_hh.value,
        b_ih = r.b_ih and r.b_ih.value, b_hh = r.b_hh and r.b_hh.value,
        reverse = d == 1, training = training, y = out:narrow(3, d * H + 1, H),
      }
      h_n:select(1, k + 1):copy(hn)
      if cn then c_n:select(1, k + 1):copy(cn) end
      self._states[l][d] = st
    end
    if l < L - 1 and training and self.dropout > 0 then
      self._masks[l] = core.dropout_mask({ T, B, H * D }, self.dropout)
      out = out:mul(self._masks[l])
    end
    layer_in = out
  end
  self.h_n, self.c_n = h_n, c_n
  if self.stateful then self._carry = { h = h_n:clone(), c = c_n and c_n:clone() } end

  local top = layer_in
  if self.output_mode == "last" then
    -- the top layer's final states, directions side by side: [B, H*D]
    local parts = {}
    for d = 0, D - 1 do parts[#parts + 1] = h_n:select(1, (L - 1) * D + d + 1) end
    top = D == 1 and parts[1]:clone() or lurn.cat(parts, 2)
    if training and self.output_dropout > 0 then
      self._masks.output = core.dropout_mask({ B, H * D }, self.output_dropout)
      top = top:mul(self._masks.output)
    end
    self.output = top
  else
    if training and self.output_dropout > 0 then
      self._masks.output = core.dropout_mask({ 1, B, H * D }, self.output_dropout)
      top = top:mul(self._masks.output)
    end
    self.output = seq.new(top, lengths)
  end
  return self.output
end

--- backward(grad_output [, grad_state]): grad_state = {h_n = ..., c_n = ...}
-- ([layers*dirs, B, H], either may be nil) adds gradients that reach the
-- final states from elsewhere (an encoder's state feeding a decoder).
function Recurrent:backward(grad_output, grad_state)
  if not self._states then util.user_error(("%s: backward before forward"):format(self.__name)) end
  if not self.training then
    util.user_error(("%s: backward needs a forward in training mode (call train())"):format(self.__name))
  end
  local L, D, H, B = self.layers, self.dirs, self.hidden, self._B
  local dy_top, dhn_top
  local g = grad_output
  if g ~= nil and self._masks.output then g = g:mul(self._masks.output) end
  if self.output_mode == "last" then dhn_top = g else dy_top = g end
  local gh, gc = grad_state and grad_state.h_n, grad_state and grad_state.c_n

  local need_h0 = self._h0 ~= nil and self._user_init
  local grad_h0 = need_h0 and lurn.zeros(L * D, B, H) or nil
  local grad_c0 = (need_h0 and self.cell == "lstm") and lurn.zeros(L * D, B, H) or nil
  local dy = dy_top
  local dx
  for l = L - 1, 0, -1 do
    dx = nil
    for d = 0, D - 1 do
      local r = self.w[l][d]
      local k = l * D + d
      local dhn = gh and gh:select(1, k + 1) or nil
      if l == L - 1 and dhn_top then
        local top = dhn_top:narrow(2, d * H + 1, H)
        dhn = dhn and dhn:add(top) or top
      end
      local dxd, dh0, dc0 = core.rnn_backward(self._states[l][d], {
        dy = dy and dy:narrow(3, d * H + 1, H), dhn = dhn,
        dcn = gc and gc:select(1, k + 1) or nil,
        dw_ih = r.w_ih.grad, dw_hh = r.w_hh.grad,
        db_ih = r.b_ih and r.b_ih.grad, db_hh = r.b_hh and r.b_hh.grad,
      })
      if dx then dx:add_(dxd) else dx = dxd end
      if grad_h0 and dh0 then grad_h0:select(1, k + 1):copy(dh0) end
      if grad_c0 and dc0 then grad_c0:select(1, k + 1):copy(dc0) end
    end
    if l > 0 and self._masks[l - 1] then dx = dx:mul(self._masks[l - 1]) end
    dy = dx
  end
  if self._masks.input then dx = dx:mul(self._masks.input) end
  self.grad_h0, self.grad_c0 = grad_h0, grad_c0
  self._states = nil   -- each cache feeds one backward
  return dx
end

function Recurrent:describe()
  local extra = {}
  if self.layers > 1 then extra[#extra + 1] = "layers=" .. self.layers end
  if self.dirs == 2 then extra[#extra + 1] = "bidirectional" end
  if self.dropout > 0 then extra[#extra + 1] = "dropout=" .. self.dropout end
  if self.output_mode == "last" then extra[#extra + 1] = "output=last" end
  if self.stateful then extra[#extra + 1] = "stateful" end
  return ("%s(%d -> %d%s)"):format(self.__name, self.input_size, self.hidden,
    #extra > 0 and (", " .. table.concat(extra, ", ")) or "")
end

-- Only the options that differ from the defaults, so specs stay short.
function Recurrent:spec()
  local o = {}
  if self.layers > 1 then o.layers = self.layers end
  if self.dirs == 2 then o.bidirectional = true end
  for _, k in ipairs { "dropout", "input_dropout", "output_dropout" } do
    if self[k] > 0 then o[k] = self[k] end
  end
  if self.output_mode ~= "all" then o.output = self.output_mode end
  if self.stateful then o.stateful = true end
  if self.init ~= nil and self.init ~= "default" then o.init = self.init end
  if self.forget_bias ~= nil then o.forget_bias = self.forget_bias end
  if self.cell == "rnn_relu" then o.nonlinearity = "relu" end
  if not self.w[0][0].b_ih then o.bias = false end
  return { type = self:spec_type(), args = { self.input_size, self.hidden,
    next(o) and o or nil } }
end

local M = { Recurrent = Recurrent }

--- nn.LSTM(input_size, hidden [, opts]): a whole-sequence LSTM, PyTorch's torch.nn.LSTM.
-- Input: a Seq {data = [T, B, input_size], lengths} or a tensor [T, B, input_size];
-- `m:forward(x, {h0 =, c0 =})` takes initial states [layers*dirs, B, hidden];
-- after it `m.h_n`, `m.c_n` hold the final states; `m:backward(dy, {h_n =, c_n =})`
-- adds gradients at the final states and leaves the initial states' in
-- `m.grad_h0`, `m.grad_c0`. Weights: weight_ih_l0 [4H, I], weight_hh_l0 [4H, H],
-- bias_ih_l0, bias_hh_l0 [4H] (gates i, f, g, o), then _reverse, then l1 ...
-- Options (default first):
--   layers = 1            stacked layers
--   bidirectional = false outputs of both directions concatenated (H*2)
--   dropout = 0           between layers, on each layer's output but the last
--   input_dropout = 0     variational: one mask per sequence on the input
--   output_dropout = 0    variational: one mask per sequence on the output
--   output = "all"        "all": a Seq [T, B, H*dirs]; "last": [B, H*dirs]
--   stateful = false      carry final states into the next forward (truncated BPTT)
--   init = "default"      U(-1/sqrt(H), 1/sqrt(H)) like PyTorch, or "orthogonal"
--   bias = true
--   forget_bias = nil     the forget gate's total bias (b_ih = value, b_hh = 0)
-- @tparam integer input_size
-- @tparam integer hidden
-- @tparam[opt] table opts the options above
-- @usage local m = nn.LSTM(16, 32, {layers = 2, bidirectional = true})
-- local y = m:forward(lurn.randn(5, 3, 16))   -- y.data [5, 3, 64]; m.h_n, m.c_n [4, 3, 32]
M.LSTM = class("nn.LSTM", Recurrent)
function M.LSTM:__init(i, h, opts) Recurrent.__init(self, "lstm", "nn.LSTM", i, h, opts) end

--- nn.GRU(input_size, hidden [, opts]): a whole-sequence GRU, PyTorch's torch.nn.GRU.
-- Like nn.LSTM without the cell state: `{h0 =}` in, `m.h_n` out, `m.grad_h0`;
-- weights weight_ih_l0 [3H, I], weight_hh_l0 [3H, H] (gates r, z, n).
-- Options (default first):
--   layers = 1            stacked layers
--   bidirectional = false outputs of both directions concatenated (H*2)
--   dropout = 0           between layers, on each layer's output but the last
--   input_dropout = 0     variational: one mask per sequence on the input
--   output_dropout = 0    variational: one mask per sequence on the output
--   output = "all"        "all": a Seq [T, B, H*dirs]; "last": [B, H*dirs]
--   stateful = false      carry final states into the next forward (truncated BPTT)
--   init = "default"      U(-1/sqrt(H), 1/sqrt(H)) like PyTorch, or "orthogonal"
--   bias = true
-- @tparam integer input_size
-- @tparam integer hidden
-- @tparam[opt] table opts the options above
-- @usage local m = nn.GRU(16, 32, {output = "last"})
-- local h = m:forward(lurn.randn(5, 3, 16))   -- [3, 32]
M.GRU = class("nn.GRU", Recurrent)
function M.GRU:__init(i, h, opts) Recurrent.__init(self, "gru", "nn.GRU", i, h, opts) end

--- nn.RNN(input_size, hidden [, opts]): a whole-sequence Elman RNN, PyTorch's torch.nn.RNN.
-- Like nn.GRU with one gate block: weight_ih_l0 [H, I], weight_hh_l0 [H, H].
-- Options (default first):
--   layers = 1            stacked layers
--   bidirectional = false outputs of both directions concatenated (H*2)
--   dropout = 0           between layers, on each layer's output but the last
--   input_dropout = 0     variational: one mask per sequence on the input
--   output_dropout = 0    variational: one mask per sequence on the output
--   output = "all"        "all": a Seq [T, B, H*dirs]; "last": [B, H*dirs]
--   stateful = false      carry final states into the next forward (truncated BPTT)
--   init = "default"      U(-1/sqrt(H), 1/sqrt(H)) like PyTorch, or "orthogonal"
--   bias = true
--   nonlinearity = "tanh" or "relu"
-- @tparam integer input_size
-- @tparam integer hidden
-- @tparam[opt] table opts the options above
-- @usage local m = nn.RNN(4, 8, {nonlinearity = "relu"})
M.RNN = class("nn.RNN", Recurrent)
function M.RNN:__init(i, h, opts)
  local nl = type(opts) == "table" and opts.nonlinearity or "tanh"
  if nl ~= "tanh" and nl ~= "relu" then
    util.user_error(("nn.RNN: nonlinearity must be 'tanh' or 'relu', got '%s'"):format(tostring(nl)))
  end
  Recurrent.__init(self, "rnn_" .. nl, "nn.RNN", i, h, opts)
end

return M
