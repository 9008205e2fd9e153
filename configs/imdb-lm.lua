-- configs/imdb-lm.lua — a word language model of IMDB's training reviews (and the 50,000
-- unlabelled ones in train/unsup/ when the copy has them), to start configs/imdb-pretrained.lua.
--
--   bash datasets/imdb                                        # -> data/imdb/aclImdb/train
--   lurn train configs/imdb-lm.lua --out runs/imdb-lm         # the language model
--   lurn train configs/imdb-pretrained.lua                    # the classifier, started from it
--
-- What it does: reads every review of aclImdb/train (data.format = "imdb": pos/, neg/ and
-- unsup/ when present; labels not read; <br /> removed by the word tokenizer), one review a
-- line, lower-cased; the last 2 % held out for validation. The vocabulary is
-- configs/imdb-lstm.lua's rule (seen at least twice, the 30,000 most frequent). Note: the
-- classifier's 5,000 held-out validation reviews are in this text (their words, never their
-- labels), as in Dai & Le's semi-supervised setting; say so when quoting a comparison.
-- The embedding (128) and the one-layer LSTM (128) are the size of configs/imdb-lstm.lua's
-- forward direction: a bidirectional classifier takes them for its forward direction.
-- Cost: a full softmax over 30,000 words per token; one pass over the 25,000 reviews (about
-- 7 million tokens) takes hours on one core, so train.max_time caps it at 2 hours.
-- Result, seeds, time: not measured.
return {
  name = "imdb-lm",
  seed = 1,
  threads = 1,
  task = "lm",
  data = { train = "data/imdb/aclImdb/train", format = "imdb", min_count = 2, max_vocab = 30000 },
  lm = { tokenizer = "word", lower = true, bptt = 50, valid_fraction = 0.02 },
  model = { type = "lstm", embed = 128, hidden = 128, output_dropout = 0.2 },
  optim = { name = "adam", lr = 2e-3, schedule = "cosine" },
  train = { epochs = 1, batch_size = 32, eval_every = 1000, log_every = 100, max_time = 7200 },
}
