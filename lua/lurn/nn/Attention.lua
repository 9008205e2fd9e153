--- nn.Attention(query_dim, memory_dim [, opts]) — a decoder's attention over an encoder's outputs.
--
-- The scores of a query q [B, Dq] against the memory m [S, B, Dm] (the
-- encoder's outputs, with each sample's lengths), one of:
--   "additive"  Bahdanau et al. 2015:  s_j = v . tanh(W_q q + W_m m_j + b)
--               query_weight [A, Dq], memory_weight [A, Dm], bias [A], context [1, A]
--   "general"   Luong et al. 2015:     s_j = q . (W m_j)       weight [Dq, Dm]
--   "dot"       Luong et al. 2015:     s_j = q . m_j           (Dq == Dm, no parameters)
-- then a = softmax of s over the valid steps j < length (padded steps get 0)
-- and the context c = sum_j a_j m_j [B, Dm].
--
-- A decoder calls it once per output step against the same memory:
--   attn:prepare(memory, lengths)   -- once per batch (additive: W_m m + b is computed here)
--   local c, a = attn:step(q)       -- each step; a [B, S] are the weights
--   ...
--   local dq = attn:step_backward(i, dc)   -- steps in reverse order; i = the step's number
--   local dmemory = attn:finish_backward() -- [S, B, Dm], after the last step_backward
-- Parameter gradients accumulate as everywhere (zero_grad clears them). Outside
-- training mode step() keeps nothing for backward.
--
-- As a module, forward{query = [T, B, Dq], memory = Seq or [S, B, Dm]} runs
-- all T queries -> contexts [T, B, Dm] (self.weights [T, B, S]); backward(dc)
-- returns dquery [T, B, Dq] and leaves the memory's gradient in
-- self.grad_memory.
--
-- Memory: per step the weights [B, S] (and for "additive" the tanh [S, B, A]).
-- Parameters are initialised like nn.Linear's, uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)).
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"

--- nn.Attention(query_dim, memory_dim [, opts]): additive (Bahdanau) or multiplicative (Luong)
-- attention of a decoder state over an encoder's outputs (see the module header).
-- Options: `type = "additive"` ("additive", "general" or "dot"), `hidden = query_dim`
-- (the additive score's inner size).
-- @tparam integer query_dim size of the query (the decoder state)
-- @tparam integer memory_dim size of each memory step (the encoder output)
-- @tparam[opt] table opts the options above
-- @usage local attn = nn.Attention(32, 64, {type = "general"})
-- attn:prepare(lurn.randn(7, 3, 64), lurn.tensor({7, 5, 2}, "int32"))
-- local c, a = attn:step(lurn.randn(3, 32))   -- c [3, 64], a [3, 7]
local Attention = class("nn.Attention", Module)

-- A score far below any real one: exp() of it is exactly 0 in float32.
local MASKED = -1e30
local TYPES = { additive = true, general = true, dot = true }

function Attention:__init(query_dim, memory_dim, opts)
  Module.__init(self)
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "type" and k ~= "hidden" then
      error(("nn.Attention: unknown option '%s' (type, hidden)"):format(tostring(k)), 2)
    end
  end
  local kind = opts.type or "additive"
  if not TYPES[kind] then
    error(("nn.Attention: type must be 'additive', 'general' or 'dot', got '%s'")
      :format(tostring(kind)), 2)
  end
  local hidden = opts.hidden or query_dim
  for _, v in ipairs { query_dim, memory_dim, hidden } do
    if math.type(v) ~= "integer" or v < 1 then
      error(("nn.Attention: sizes must be positive integers, got %s, %s, hidden %s")
        :format(tostring(query_dim), tostring(memory_dim), tostring(hidden)), 2)
    end
  end
  if kind == "dot" and query_dim ~= memory_dim then
    error(("nn.Attention: 'dot' needs the query size (%d) to equal the memory size (%d); "
      .. "use 'general' or 'additive'"):format(query_dim, memory_dim), 2)
  end
  self.kind, self.query_dim, self.memory_dim, self.hidden = kind, query_dim, memory_dim, hidden
  local bq, bm, bh = 1 / math.sqrt(query_dim), 1 / math.sqrt(memory_dim), 1 / math.sqrt(hidden)
  if kind == "additive" then
    self:add_parameter("query_weight", lurn.rand({ hidden, query_dim }, -bq, bq))
    self:add_parameter("memory_weight", lurn.rand({ hidden, memory_dim }, -bm, bm))
    self:add_parameter("bias", lurn.rand({ hidden }, -bm, bm))
    self:add_parameter("context", lurn.rand({ 1, hidden }, -bh, bh))
  elseif kind == "general" then
    -- q . (W m) = (W^T q) . m: the query is mapped into the memory's space once per step
    self:add_parameter("weight", lurn.rand({ query_dim, memory_dim }, -bm, bm))
  end
end

local function grad_of(self, name)
  for _, p in ipairs(self._params) do if p.name == name then return p.grad end end
end

--- Set the memory the following steps attend to.
-- @tparam Tensor|table memory [S, B, Dm] float32, or a Seq {data =, lengths =}
-- @tparam[opt] Tensor lengths int32 [B] valid steps per sample (default: the Seq's, else all S)
function Attention:prepare(memory, lengths)
  local m, l = seq.split(memory)
  lengths = lengths or l
  if not m or m:dim() ~= 3 or m:size(3) ~= self.memory_dim or m:dtype() ~= "float32" then
    error(("nn.Attention: memory must be float32 [S, B, %d], got %s"):format(self.memory_dim,
      seq.describe(memory)), 2)
  end
  local S, B = m:size(1), m:size(2)
  if lengths and (lengths:dim() ~= 1 or lengths:size(1) ~= B or lengths:dtype() ~= "int32") then
    error(("nn.Attention: lengths must be int32 [%d], got %s"):format(B, seq.describe(lengths)), 2)
  end
  m = m:contiguous()
  self._mem, self._S, self._B = m, S, B
  self._memb = m:permute(2, 1, 3)                                        -- [B, S, Dm] view
  local valid = lengths and lurn.arange(S):view(1, S):lt(lengths:float():view(B, 1))
      or lurn.ones(B, S)
  self._valid = valid                                                    -- [B, S] 0/1
  self._maskadd = (1 - valid) * MASKED
  if self.kind == "additive" then
    self._mem2 = m:view(S * B, self.memory_dim)
    self._kp = core.linear_forward(self._mem2, self.memory_weight, self.bias)
        :view(S, B, self.hidden)                                         -- [S, B, A]
  end
  self._cache, self._dmem, self._dkp = {}, nil, nil
end

--- One query against the prepared memory.
-- @tparam Tensor q [B, Dq]
-- @treturn Tensor the context [B, Dm]
-- @treturn Tensor the weights [B, S]
function Attention:step(q)
  if not self._mem then error("nn.Attention: step before prepare", 2) end
  local S, B = self._S, self._B
  if q:dim() ~= 2 or q:size(1) ~= B or q:size(2) ~= self.query_dim then
    error(("nn.Attention: query must be [%d, %d], got %s"):format(B, self.query_dim,
      tostring(q:shape())), 2)
  end
  local s, qq, u
  if self.kind == "additive" then
    local qa = core.linear_forward(q, self.query_weight)                 -- [B, A]
    u = (self._kp + qa:view(1, B, self.hidden)):tanh_()                  -- [S, B, A]
    s = core.linear_forward(u:view(S * B, self.hidden), self.context):view(S, B):t()   -- [B, S]
  else
    qq = self.kind == "general" and lurn.mm(q, self.weight) or q             -- [B, Dm]
    s = lurn.bmm(self._memb, qq:contiguous():view(B, self.memory_dim, 1)):view(B, S)
  end
  -- masked steps get MASKED before the softmax; multiplying by valid after it
  -- zeroes a sample of length 0 (whose softmax would be uniform over padding)
  local a = core.softmax(s + self._maskadd):mul(self._valid)             -- [B, S]
  local c = lurn.bmm(a:view(B, 1, S), self._memb):view(B, self.memory_dim)
  if self.training then
    self._cache[#self._cache + 1] = { q = q, qq = qq, u = u, a = a }
  end
  return c, a
end

--- The gradient of step i's query from its context's gradient dc [B, Dm]; the
-- memory's and the parameters' gradients accumulate. Call it for the steps in
-- reverse order (each step's cache is dropped).
-- @tparam integer i the step's number (1 = the first step() since prepare)
-- @tparam Tensor dc [B, Dm]
-- @treturn Tensor dq [B, Dq]
function Attention:step_backward(i, dc)
  local c = self._cache and self._cache[i]
  if not c then
    error(("nn.Attention: no forward step %d to go back through (training mode, after prepare)")
      :format(i), 2)
  end
  self._cache[i] = nil
  local S, B, Dm = self._S, self._B, self.memory_dim
  self._dmem = self._dmem or lurn.zeros(S, B, Dm)
  local dmemb = self._dmem:permute(2, 1, 3)                              -- [B, S, Dm] view
  local a = c.a
  dc = dc:contiguous()
  -- c = sum_j a_j m_j:  dm_j += a_j dc,  da_j = m_j . dc
  dmemb:add_(lurn.bmm(a:view(B, S, 1), dc:view(B, 1, Dm)))
  local da = lurn.bmm(self._memb, dc:view(B, Dm, 1)):view(B, S):mul(self._valid)
  local ds = core.softmax_backward(da, a):mul(self._valid)               -- [B, S]
  if self.kind == "additive" then
    -- s_j = v . u_j, u_j = tanh(kp_j + W_q q)
    local A = self.hidden
    local ds2 = ds:t():contiguous():view(S * B, 1)
    local u2 = c.u:view(S * B, A)
    local du = core.linear_backward(u2, self.context, ds2, grad_of(self, "context"))
    local dz = core.activation_backward("tanh", du, u2):view(S, B, A)
    self._dkp = self._dkp and self._dkp:add_(dz) or dz
    return core.linear_backward(c.q, self.query_weight, dz:sum(1), grad_of(self, "query_weight"))
  end
  -- s_j = m_j . qq:  dqq = sum_j ds_j m_j,  dm_j += ds_j qq
  local dqq = lurn.bmm(ds:view(B, 1, S), self._memb):view(B, Dm)
  dmemb:add_(lurn.bmm(ds:view(B, S, 1), c.qq:contiguous():view(B, 1, Dm)))
  if self.kind == "dot" then return dqq end
  -- qq = q W: dq = dqq W^T, dW += q^T dqq
  local g = grad_of(self, "weight")
  lurn.mm(c.q:t(), dqq, g, 1, 1)
  return lurn.mm(dqq, self.weight:t())
end

--- The memory's gradient [S, B, Dm] once every step went backward.
-- @treturn Tensor dmemory
function Attention:finish_backward()
  if not self._mem then error("nn.Attention: finish_backward before prepare", 2) end
  local dmem = self._dmem or lurn.zeros(self._S, self._B, self.memory_dim)
  if self._dkp then
    local S, B = self._S, self._B
    dmem:add_(core.linear_backward(self._mem2, self.memory_weight, self._dkp:view(S * B, self.hidden),
      grad_of(self, "memory_weight"), grad_of(self, "bias")):view(S, B, self.memory_dim))
  end
  self._dmem, self._dkp = nil, nil
  return dmem
end

function Attention:forward(input)
  if type(input) ~= "table" or not input.query or not input.memory then
    error("nn.Attention: forward takes {query = [T, B, Dq], memory = [S, B, Dm] or Seq}", 2)
  end
  self:prepare(input.memory, input.lengths)
  local q = input.query
  if q:dim() ~= 3 then error(("nn.Attention: query must be [T, B, Dq], got %s"):format(tostring(q:shape())), 2) end
  local T = q:size(1)
  local out, w = lurn.zeros(T, self._B, self.memory_dim), lurn.zeros(T, self._B, self._S)
  for t = 1, T do
    local c, a = self:step(q:select(1, t))
    out:select(1, t):copy(c)
    w:select(1, t):copy(a)
  end
  self._T = T
  self.weights = w
  self.output = out
  return out
end

function Attention:backward(dy)
  local T = self._T
  local dq = lurn.zeros(T, self._B, self.query_dim)
  for t = T, 1, -1 do dq:select(1, t):copy(self:step_backward(t, dy:select(1, t))) end
  self.grad_memory = self:finish_backward()
  return dq
end

function Attention:describe()
  return ("nn.Attention(%s, query %d, memory %d%s)"):format(self.kind, self.query_dim,
    self.memory_dim, self.kind == "additive" and (", hidden %d"):format(self.hidden) or "")
end

function Attention:spec()
  local o = { type = self.kind }
  if self.kind == "additive" and self.hidden ~= self.query_dim then o.hidden = self.hidden end
  return { type = "Attention", args = { self.query_dim, self.memory_dim, o } }
end

return Attention
