-- The order task (issue 3's proof): Embedding -> 2-layer bidirectional LSTM
-- -> max-pool -> Linear learns a task a bag-of-words model cannot solve.
local lu = require "luaunit"
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data

local function run(make_model, epochs)
  lurn.seed(99)
  local texts, labels = data.order_task(1400)
  local vocab = data.Vocab.build(texts)
  local train = data.Dataset { texts = table.move(texts, 1, 1000, 1, {}),
                               labels = table.move(labels, 1, 1000, 1, {}), vocab = vocab }
  local test = data.Dataset { texts = table.move(texts, 1001, 1400, 1, {}),
                              labels = table.move(labels, 1001, 1400, 1, {}), vocab = vocab }
  local model = make_model(vocab:size())
  local loss_fn = nn.CrossEntropy()
  local opt = optim.Adam(model:parameters(), { lr = 3e-3 })
  for _ = 1, epochs do
    for batch in train:batches { size = 32, shuffle = true, bucket = true } do
      loss_fn:forward(model:forward(batch), batch.labels)
      model:zero_grad()
      model:backward(loss_fn:backward())
      opt:step()
    end
  end
  model:eval()
  local right = 0
  for batch in test:batches { size = 200 } do
    right = right + model:forward(batch):argmax(2):eq(batch.labels):sum()
  end
  return right / test:size()
end

TestOrderTask = {}
function TestOrderTask:test_labels_balanced_and_same_words()
  lurn.seed(1)
  local texts, labels = data.order_task(400)
  local ones = 0
  for i, t in ipairs(texts) do
    ones = ones + labels[i]
    local _, na = t:gsub("%f[%w]a%f[%W]", "")
    local _, nb = t:gsub("%f[%w]b%f[%W]", "")
    lu.assertEquals(na, 1)
    lu.assertEquals(nb, 1)
  end
  lu.assertTrue(ones > 150 and ones < 250, "labels unbalanced: " .. ones)
end
function TestOrderTask:test_lstm_learns_order_bag_of_words_cannot()
  local bow = run(function(V)
    return nn.Sequential { nn.Embedding(V, 16, { padding = 0 }), nn.Pool("mean"), nn.Linear(16, 2) }
  end, 4)
  local lstm = run(function(V)
    return nn.Sequential {
      nn.Embedding(V, 16, { padding = 0 }),
      nn.LSTM(16, 24, { layers = 2, bidirectional = true }),
      nn.Pool("max"),
      nn.Linear(48, 2),
    }
  end, 4)
  print(("\n  bag of words %.1f %%, bidirectional LSTM %.1f %%"):format(100 * bow, 100 * lstm))
  lu.assertTrue(bow < 0.65, "bag of words should stay near chance, got " .. bow)
  lu.assertTrue(lstm > 0.95, "LSTM should learn the order, got " .. lstm)
end

os.exit(lu.LuaUnit.run(), true)
