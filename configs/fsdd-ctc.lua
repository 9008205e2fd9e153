-- configs/fsdd-ctc.lua — spoken digit strings with CTC: utterances of 2-7 digits made by
-- concatenating Free Spoken Digit Dataset recordings with random gaps
-- (0-300 ms before each digit and at the end) and gains (+-6 dB); a 2-layer
-- bidirectional LSTM over MFCC frames (13 cepstra + deltas + delta-deltas,
-- per-utterance normalised, 3 frames per step) with a linear layer to
-- 11 classes (blank + 10 digits) per step, trained with nn.CTC. Test
-- utterances are made from test takes (0-4) only; validation utterances from
-- takes 5-9; training ones from takes 10-49. Scored by the digit error rate
-- (edit distance / reference digits) with prefix beam search on 1,000 test
-- utterances.
--
--   bash datasets/fsdd                      # data/fsdd/recordings
--   lurn train configs/fsdd-ctc.lua
-- Result: digit error rate 0.11 % on the 1,000 test utterances (beam 8), 37 min at load 9-11,
-- threads=1 (docs/results.md)
return {
  name = "fsdd-ctc",
  seed = 1,
  task = "speech",
  speech = {
    dir = "data/fsdd/recordings",
    mode = "ctc",
    features = "mfcc", n_mfcc = 13, deltas = 2, stack = 3,
    test_takes = 5, valid_takes = 5,
    min_digits = 2, max_digits = 7, max_gap_ms = 300, gain_db = 6,
    train_utterances = 4000, valid_utterances = 300, test_utterances = 1000,
    beam = 8,
  },
  model = { type = "lstm", hidden = 64, layers = 2, bidirectional = true, dropout = 0.2,
            input_dropout = 0.1 },
  optim = { name = "adam", lr = 2e-3 },
  train = { epochs = 20, batch_size = 32, clip = 5, log_every = 25, eval_every = 0,
            max_time = 2700 },
}
