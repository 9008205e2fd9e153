-- bench/char_lm.lua — training throughput of a character language model in lurn (the peer
-- of bench/char_lm_torch.py; bench/char_lm.sh runs both and prints the ratio).
--
--   lurn --threads 1 bench/char_lm.lua --text FILE --embed 64 --hidden 512 --layers 2 \
--        --batch 64 --bptt 100 --warmup 2 --steps 10
--
-- The model and loop are task "lm"'s (lurn.tasks.lm.spec, lurn.text.stream, train.fit):
-- Embedding(V, embed) -> LSTM(embed, hidden, layers, stateful) -> Linear(hidden, V),
-- the mean cross-entropy of every step, Adam (lr 2e-3), the gradient norm clipped at 5,
-- chunks of bptt steps of `batch` parallel streams with the state carried. No dropout (the
-- two libraries draw different masks; the work is the same either way). Characters per
-- second = batch * bptt * steps / seconds, over the steps after the warm-up ones; the text
-- is read and encoded before the clock starts. Prints one JSON line.
local lurn = require "lurn"
local stream = require "lurn.text.stream"
local lm = require "lurn.tasks.lm"
local json = require "lurn.run.json"

local o = { text = nil, embed = 64, hidden = 512, layers = 2, batch = 64, bptt = 100,
  warmup = 2, steps = 10, seed = 1 }
local i = 1
while arg[i] do
  local k = arg[i]:match("^%-%-(.+)$")
  if not k or o[k] == nil and k ~= "text" then error("char_lm.lua: unknown argument " .. arg[i]) end
  o[k] = k == "text" and arg[i + 1] or math.tointeger(tonumber(arg[i + 1]))
  i = i + 2
end
assert(o.text, "char_lm.lua: --text FILE is required")
lurn.seed(o.seed)
local f = assert(io.open(o.text, "rb"))
local toks = stream.tokens(f:read("a"), "char")
f:close()
local vocab = stream.Vocab.build({ toks }, { kind = "char" })
local ids = vocab:encode(toks, o.text)
local layers
local data = stream.Streams(ids, { batch = o.batch, bptt = o.bptt,
  on_start = function() for _, l in ipairs(layers) do l:reset_state() end end })
assert(data:size() >= o.warmup + o.steps, "char_lm.lua: the text is too short for the steps")
local cfg = { model = { type = "lstm", embed = o.embed, hidden = o.hidden, layers = o.layers,
  dropout = 0, embed_dropout = 0, input_dropout = 0, output_dropout = 0, bidirectional = false } }
local model = lurn.nn.build(lm.spec(cfg, vocab:size()))
layers = lm.stateful_layers(model)
local opt = lurn.optim.Adam(model:parameters(), { lr = 2e-3 })
local t0, losses = nil, {}
lurn.train.fit {
  model = model, loss = lurn.nn.CrossEntropy(), optimizer = opt, train_data = data,
  batch_size = o.batch, shuffle = false, clip = 5, max_steps = o.warmup + o.steps,
  progress = "none",
  on_step = function(info)
    losses[#losses + 1] = info.loss
    if info.step == o.warmup then t0 = lurn.clock() end
  end,
}
local seconds = lurn.clock() - t0
print(json.encode { side = "lurn", chars_per_s = o.batch * o.bptt * o.steps / seconds,
  seconds = seconds, steps = o.steps, threads = lurn.threads(), vocab = vocab:size(),
  first_loss = losses[1], last_loss = losses[#losses] })
