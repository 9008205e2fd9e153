-- configs/fsdd-digits.lua — isolated spoken digits (Free Spoken Digit Dataset): a 2-layer
-- bidirectional GRU over MFCC frames (13 cepstra + deltas + delta-deltas,
-- per-utterance normalised, 2 frames per step), mean-pooled, into 10 classes; beside it lurn trains an
-- MFCC + logistic-regression baseline. Takes 0-4 are the test set (300
-- recordings), takes 5-9 the validation set, takes 10-49 training (2,400).
--
--   bash datasets/fsdd                      # data/fsdd/recordings
--   lurn train configs/fsdd-digits.lua
-- Result: 99.0 % test accuracy (baseline 95.7 %), 4 min at load 6-7, threads=1 (docs/results.md)
return {
  name = "fsdd-digits",
  seed = 1,
  task = "speech",
  speech = {
    dir = "data/fsdd/recordings",
    mode = "classify",
    features = "mfcc", n_mfcc = 13, deltas = 2, stack = 2,
    test_takes = 5, valid_takes = 5,
    baseline = true,
  },
  model = { type = "gru", hidden = 128, layers = 2, bidirectional = true, pool = "mean",
            dropout = 0.3, input_dropout = 0.2, output_dropout = 0.3 },
  optim = { name = "adam", lr = 3e-3 },
  train = { epochs = 30, batch_size = 32, clip = 5, log_every = 25,
            best_metric = "valid_accuracy", max_time = 1200 },
}
