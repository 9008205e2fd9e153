-- configs/imdb-pretrained.lua — configs/imdb-lstm.lua started from a language model of the
-- IMDB reviews (semi-supervised sequence learning, Dai & Le 2015).
--
--   bash datasets/imdb                                        # -> data/imdb/aclImdb/train
--   lurn train configs/imdb-lm.lua --out runs/imdb-lm         # the language model first
--   lurn train configs/imdb-pretrained.lua                    # then this classifier
--   lurn train configs/imdb-lstm.lua                          # the same model from scratch
--
-- What it does: exactly configs/imdb-lstm.lua (same split, model, optimizer, steps, seed),
-- except that before the first step the embedding rows of the words the language model
-- knows and the LSTM's weights are copied from runs/imdb-lm into the forward direction of
-- the bidirectional LSTM; the reverse direction, the pooling and the output layer start
-- fresh. The held-out 5,000 validation reviews' text was read by the language model (never
-- their labels): a semi-supervised comparison, said as such.
-- Result, seeds, time: not measured.
return {
  name = "imdb-pretrained",
  seed = 1,
  threads = 1,
  data = { train = "data/imdb/aclImdb/train", format = "imdb", valid_split = 5000,
           min_count = 2, max_vocab = 30000, max_len = 400, truncate = "both" },
  pretrained = { from = "runs/imdb-lm" },
  model = { type = "lstm", embed = 128, hidden = 128, bidirectional = true, pool = "max",
            embed_dropout = 0.3, output_dropout = 0.3 },
  optim = { name = "adam", lr = 2e-3, schedule = "cosine", warmup = 100 },
  train = { epochs = 4, batch_size = 32, eval_every = 250, log_every = 50, max_time = 3600 },
}
