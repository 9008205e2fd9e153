-- configs/sst2-bilstm.lua — SST-2 (GLUE's binary Stanford Sentiment Treebank) with a bidirectional LSTM, from scratch.
--
--   bash datasets/sst2            # -> data/sst2/{train,dev}.tsv
--   lurn train configs/sst2-bilstm.lua
--
-- What it does: trains on GLUE's 67,349 training phrases and validates on the 872-sentence
-- dev set every 500 steps (the best checkpoint by dev accuracy is kept): a bidirectional LSTM
-- (256 per direction) over 256-d word embeddings learnt from scratch (no pretrained vectors),
-- max-pooled, word-type dropout 0.3 and variational output dropout 0.3; 2 epochs, cosine
-- schedule; train.max_time caps a run at the issue's 15 minutes.
-- Result (seeds 1 / 2 / 3, 1 thread on one core, load 2-7): dev accuracy 84.17 / 83.60 / 83.14 %
-- at the best evaluation (83.64 +- 0.52), 84.17 / 83.60 / 82.00 after the last step, in
-- 3:10 / 3:19 / 3:02 of training. Issue 10's target, 85 % from scratch: not met. The variants
-- tried on the way (128-d, 3-4 epochs, more dropout, attention pooling, label smoothing, two
-- layers, batch 32, 384 units): docs/results.md ("SST-2").
return {
  name = "sst2-bilstm",
  seed = 1,
  threads = 1,
  data = { train = "data/sst2/train.tsv", valid = "data/sst2/dev.tsv", format = "tsv" },
  model = { type = "lstm", embed = 256, hidden = 256, bidirectional = true, pool = "max",
            embed_dropout = 0.3, output_dropout = 0.3 },
  optim = { name = "adam", lr = 2e-3, schedule = "cosine", warmup = 100 },
  train = { epochs = 2, batch_size = 64, eval_every = 500, log_every = 100, max_time = 900 },
}
