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
-- Result (seeds 1 / 2 / 3, 1 thread on one core): dev accuracy 83.37 / 82.11 / 82.34 % (best
-- evaluation; 1:45-1:48 each after the LM's 9:42), against 83.37 / 83.14 / 83.49 for
-- configs/sst2-lstm.lua from scratch: no gain from pretraining on SST-2's own text
-- (docs/results.md, "Started from a language model").
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
