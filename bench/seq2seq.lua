-- bench/seq2seq.lua — lurn's side of bench/seq2seq.sh: training throughput of nn.Seq2Seq.
--
--   lurn --threads N bench/seq2seq.lua B S T SRC_VOCAB TGT_VOCAB EMBED HIDDEN STEPS WARMUP
--
-- The model of configs/multi30k.lua (bidirectional GRU encoder, GRU decoder with additive
-- attention and input feeding, dropout 0.3, label-smoothed cross-entropy 0.1, Adam, gradient
-- clipping at 1) trained on fixed random batches of B sentences, S source and T target
-- tokens each. Prints one line: "lurn <target tokens per second> <seconds per step>".
local B, S, T, VS, VT, E, H, steps, warm = table.unpack(arg)
B, S, T, VS, VT = tonumber(B), tonumber(S), tonumber(T), tonumber(VS), tonumber(VT)
E, H, steps, warm = tonumber(E), tonumber(H), tonumber(steps), tonumber(warm)
local nn = lurn.nn
lurn.seed(1)
local m = nn.Seq2Seq(VS, VT, { cell = "gru", embed = E, hidden = H, attention = "additive",
  input_feeding = true, dropout = 0.3 })
local opt = lurn.optim.Adam(m:parameters(), { lr = 1e-3 })
local loss = nn.CrossEntropy { label_smoothing = 0.1 }
local function ids(rows, v)
  local t = lurn.rand(rows, B):mul(v - 4):floor():add(4)
  return t:int()
end
local batch = { src = ids(S, VS), src_lengths = lurn.full({ B }, S, "int32"),
  tgt_in = ids(T, VT), tgt_lengths = lurn.full({ B }, T, "int32") }
local targets = ids(T, VT)
local function step()
  local l = loss:forward(m:forward(batch), targets)
  m:zero_grad()
  m:backward(loss:backward())
  lurn.optim.clip_grad_norm(m:parameters(), 1)
  opt:step()
  return l
end
for _ = 1, warm do step() end
local t0 = lurn.clock()
for _ = 1, steps do step() end
local dt = (lurn.clock() - t0) / steps
print(("lurn %.1f %.4f"):format(B * T / dt, dt))
