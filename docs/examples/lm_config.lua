-- docs/examples/lm_config.lua — a small character model of docs/examples/lm_text.lua's text (docs/lm.md).
return {
  name = "lm-demo",
  seed = 1,
  task = "lm",
  data = { train = "data/play.txt" },
  lm = { tokenizer = "char", bptt = 32, valid_fraction = 0.1 },
  model = { type = "lstm", embed = 16, hidden = 64, layers = 1 },
  optim = { name = "adam", lr = 0.01 },
  train = { epochs = 3, batch_size = 16, log_every = 20 },
}
