-- configs/jsb.lua — the JSB chorales as 88-key piano rolls: next-step prediction, a Bernoulli
-- per key (task "pianoroll", docs/music.md). Boulanger-Lewandowski et al. (2012)'s split, one
-- step per quarter note: 229 / 76 / 77 chorales. The measure is the test negative log-likelihood
-- per time step (nats, summed over the 88 keys, every step counted); published RNNs score about
-- 8.5 on it, the RNN-RBM 7.3.
-- Result: test NLL 8.4246 nats per time step (frame accuracy 0.2417), best validation 8.3370
-- at epoch 152 of 173 (early stop), 6:49 on 1 thread at load 6-11 (docs/results.md#music).
-- Fetch the data first: bash datasets/jsb (or bash datasets/jsb --from DIR); then
--   lurn train configs/jsb.lua
return {
  name = "jsb",
  seed = 1,
  task = "pianoroll",
  data = { train = "data/jsb/jsb-chorales-quarter.json" },
  pianoroll = { low = 21, keys = 88, bpm = 80, step_beats = 1, length = 64 },
  model = { type = "gru", hidden = 256, layers = 1, input_dropout = 0.1, output_dropout = 0.3 },
  optim = { name = "adam", lr = 2e-3 },
  train = { epochs = 200, batch_size = 4, clip = 5, best_metric = "valid_loss", best_mode = "min",
            early_stop = 20, log_every = 100, bucket = true },
}
