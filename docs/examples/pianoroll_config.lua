-- docs/examples/pianoroll_config.lua — task "pianoroll" on the rolls pianoroll_data.lua writes
-- (docs/music.md): a small GRU predicts each step's keys from the steps before it.
return {
  name = "rolls",
  seed = 2,
  task = "pianoroll",
  data = { train = "data/rolls.json" },
  pianoroll = { bpm = 120 },
  model = { type = "gru", hidden = 24 },
  optim = { lr = 0.03 },
  train = { epochs = 12, batch_size = 8, best_metric = "valid_loss", best_mode = "min",
            log_every = 20 },
}
