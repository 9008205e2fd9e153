-- The lurn side of the PyTorch interop example in docs/training.md.
--
--   lurn docs/examples/torch_interop.lua train DIR   train a small model with
--       lurn.train (checkpoints in DIR/run), and write DIR/io.safetensors: one
--       batch and the model's outputs on it (eval mode)
--   lurn docs/examples/torch_interop.lua check DIR   load the weights PyTorch
--       wrote (DIR/torch_model.safetensors) into a fresh lurn model, run the
--       same batch, and compare with PyTorch's outputs (DIR/torch_io.safetensors)
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data
local checkpoint, train = lurn.checkpoint, lurn.train
local core = lurn.core

local mode, dir = arg[1], arg[2]
assert(mode == "train" or mode == "check", "usage: torch_interop.lua train|check DIR")

local V = 20
local function make_model()
  return nn.Sequential {
    nn.Embedding(V, 8, { padding = 0 }),                     -- "0.weight"
    nn.LSTM(8, 16, { layers = 2, bidirectional = true }),    -- "1.weight_ih_l0", ..._reverse
    nn.Pool("mean"),
    nn.Linear(32, 2),                                        -- "3.weight", "3.bias"
  }
end

-- Synthetic data: label 1 when most tokens are in the upper half.
local state = 3
local function rnd(k)
  state = (state * 1103515245 + 12345) % 2147483648
  return state % k
end
local seqs, labels = {}, {}
for i = 1, 80 do
  local len, s, hi = 2 + rnd(9), {}, 0
  for t = 1, len do
    s[t] = 2 + rnd(V - 2)
    if s[t] >= V // 2 then hi = hi + 1 end
  end
  seqs[i], labels[i] = s, (2 * hi > len) and 1 or 0
end
local ds = data.Dataset { seqs = seqs, labels = labels }
local batch = ds:make_batch { 1, 2, 3, 4, 5, 6 }   -- ids [T, 6], lengths [6]

-- The model's outputs on the batch, in eval mode.
local function outputs(model)
  model:eval()
  local logits = model:forward(batch)
  local lstm = model.modules[2]
  return { logits = logits, y = lstm.output.data, h_n = lstm.h_n, c_n = lstm.c_n }
end

local function max_diff(a, b) return (a - b):abs():max() end

if mode == "train" then
  lurn.seed(1)
  local model = make_model()
  local r = train.fit { model = model, loss = nn.CrossEntropy(),
    optimizer = optim.Adam(model:parameters(), { lr = 0.01 }),
    train_data = ds, epochs = 2, batch_size = 8, checkpoint_dir = dir .. "/run",
    log = function() end }
  local out = outputs(model)
  core.save_checkpoint(dir .. "/io.safetensors", { ids = batch.ids, lengths = batch.lengths,
    logits = out.logits, y = out.y, h_n = out.h_n, c_n = out.c_n })
  print(("trained %d steps; checkpoint %s"):format(r.step, r.checkpoint))
else
  lurn.seed(2)   -- different initial weights, all replaced below
  local model = make_model()
  checkpoint.load_into(model, dir .. "/torch_model.safetensors")
  local out = outputs(model)
  local ref = core.load_checkpoint(dir .. "/torch_io.safetensors", { safetensors = true })
  local worst = 0
  for _, k in ipairs { "logits", "y", "h_n", "c_n" } do
    local d = max_diff(out[k], ref[k])
    print(("%-7s %-10s max |lurn - torch| = %.2e"):format(k, tostring(out[k]:shape()), d))
    worst = math.max(worst, d)
  end
  assert(worst < 1e-5, "lurn and PyTorch disagree")
  print("PyTorch weights in lurn: outputs match")
end
