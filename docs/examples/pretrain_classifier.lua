-- docs/examples/pretrain_classifier.lua — a classifier of data/pre/*.tsv started from the
-- language model in runs/pre-lm (docs/pretraining.md); pretrained.from = "" trains it
-- from scratch.
return {
  name = "pre-cls", seed = 1,
  data = { train = "data/pre/train.tsv", valid = "data/pre/dev.tsv", format = "tsv" },
  pretrained = { from = "runs/pre-lm" },
  model = { type = "lstm", embed = 16, hidden = 32, pool = "max" },
  optim = { name = "adam", lr = 0.01 },
  train = { epochs = 3, batch_size = 16, log_every = 50 },
}
