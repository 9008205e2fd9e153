-- docs/examples/order_config.lua — the config docs/cli.md walks through.
-- A GRU reads each sentence and says whether "a" comes before "b"
-- (data from docs/examples/order_data.lua).
-- Trains in about two seconds to a test accuracy near 1.0.
return {
  name = "order",
  seed = 1,
  data = { train = "data/train.txt", test = "data/test.txt", format = "label_text",
           valid_split = 0.1 },
  model = { type = "gru", embed = 8, hidden = 16, pool = "max" },
  optim = { name = "adam", lr = 0.01 },
  train = { epochs = 5, batch_size = 32, log_every = 20 },
}
