-- docs/examples/order.lua — a recurrent model learns what a bag of words cannot.
--
--   lurn docs/examples/order.lua [epochs]
--
-- The task (lurn.data.order_task): each sentence holds one "a" and one "b"
-- among filler words; the label says whether "a" comes first. Both orders
-- use the same words, so a bag-of-words model stays at chance, while
-- Embedding -> 2-layer bidirectional LSTM -> max-pool -> Linear learns it.
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data

local epochs = tonumber(arg and arg[1]) or 3
lurn.seed(2024)

local texts, labels = data.order_task(3000)
local vocab = data.Vocab.build(texts)
local train = data.Dataset { texts = table.move(texts, 1, 2500, 1, {}),
                             labels = table.move(labels, 1, 2500, 1, {}), vocab = vocab }
local test = data.Dataset { texts = table.move(texts, 2501, 3000, 1, {}),
                            labels = table.move(labels, 2501, 3000, 1, {}), vocab = vocab }

local function accuracy(model, ds)
  model:eval()
  local right = 0
  for batch in ds:batches { size = 250 } do
    local pred = model:forward(batch):argmax(2)
    right = right + pred:eq(batch.labels):sum()
  end
  model:train()
  return right / ds:size()
end

local function fit(name, model)
  local loss_fn = nn.CrossEntropy()
  local opt = optim.Adam(model:parameters(), { lr = 3e-3 })
  print(("%s — %d parameters"):format(name, model:num_parameters()))
  for epoch = 1, epochs do
    local total, n = 0, 0
    for batch in train:batches { size = 32, shuffle = true, bucket = true } do
      local loss = loss_fn:forward(model:forward(batch), batch.labels)
      model:zero_grad()
      model:backward(loss_fn:backward())
      optim.clip_grad_norm(model:parameters(), 5)
      opt:step()
      total, n = total + loss, n + 1
    end
    print(("  epoch %d  loss %.3f  test accuracy %.1f %%"):format(epoch, total / n,
      100 * accuracy(model, test)))
  end
  return model
end

local V = vocab:size()
fit("bag of words: Embedding -> mean pool -> Linear", nn.Sequential {
  nn.Embedding(V, 16, { padding = 0 }), nn.Pool("mean"), nn.Linear(16, 2),
})
local model = fit("recurrent: Embedding -> 2-layer bidirectional LSTM -> max pool -> Linear",
  nn.Sequential {
    nn.Embedding(V, 16, { padding = 0 }),
    nn.LSTM(16, 32, { layers = 2, bidirectional = true }),
    nn.Pool("max"),
    nn.Linear(64, 2),
  })

print("\nwhat the LSTM says (1 = 'a' comes first):")
model:eval()
for _, s in ipairs { "the a of b and", "b is in the a", "a b", "b a", "to it on a in is the of b" } do
  local batch = data.Dataset { texts = { s }, vocab = vocab }:make_batch { 1 }
  local p = nn.Softmax():forward(model:forward(batch))
  print(("  %-28s -> %d  (p = %.3f)"):format(s, p:argmax(2):get(1), p:get(1, 2)))
end
