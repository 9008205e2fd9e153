-- configs/sst2-pretrained.lua — configs/sst2-lstm.lua started from a language model of
-- SST-2's training text (semi-supervised sequence learning, Dai & Le 2015).
--
--   bash datasets/sst2                                        # -> data/sst2/{train,dev}.tsv
--   lurn train configs/sst2-lm.lua --out runs/sst2-lm         # the language model first
--   lurn train configs/sst2-pretrained.lua                    # then this classifier
--   lurn train configs/sst2-lstm.lua                          # the same model from scratch
--
-- What it does: exactly configs/sst2-lstm.lua (same data, model, optimizer, steps and seed),
-- except that before the first step the embedding rows of the words the language model
-- knows and the LSTM's weights are copied from runs/sst2-lm (its best checkpoint); the
-- pooling and output layer start fresh, as do the rows of words the LM lacks (the run
-- prints how many were matched). Everything is then fine-tuned at the same learning rate
-- (pretrained.lr_scale = 1). lurn eval / predict / inspect / --resume work as for any
-- classification run; a resumed run does not need runs/sst2-lm any more.
-- Result, seeds, time: not measured at full size (docs/pretraining.md has the short
-- comparison that was measured, on a 10,000-phrase subset: a small gain, within the noise).
return {
  name = "sst2-pretrained",
  seed = 1,
  threads = 1,
  data = { train = "data/sst2/train.tsv", valid = "data/sst2/dev.tsv", format = "tsv" },
  pretrained = { from = "runs/sst2-lm" },
  model = { type = "lstm", embed = 128, hidden = 256, pool = "max",
            embed_dropout = 0.3, output_dropout = 0.3 },
  optim = { name = "adam", lr = 2e-3, schedule = "cosine", warmup = 100 },
  train = { epochs = 3, batch_size = 64, eval_every = 500, log_every = 100, max_time = 900 },
}
