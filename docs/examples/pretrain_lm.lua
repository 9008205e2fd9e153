-- docs/examples/pretrain_lm.lua — a word language model of data/pre/train.tsv's sentences
-- (docs/pretraining.md): the embedding and LSTM sizes of pretrain_classifier.lua.
return {
  name = "pre-lm", seed = 1, task = "lm",
  data = { train = "data/pre/train.tsv", format = "tsv" },   -- the sentence column, one per line
  lm = { tokenizer = "word", lower = true, bptt = 8, valid_fraction = 0.1 },
  model = { type = "lstm", embed = 16, hidden = 32 },
  optim = { name = "adam", lr = 0.01 },
  train = { epochs = 3, batch_size = 8, log_every = 50 },
}
