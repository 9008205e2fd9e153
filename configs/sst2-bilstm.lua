-- configs/sst2-bilstm.lua — SST-2 (GLUE's binary Stanford Sentiment Treebank) with a bidirectional LSTM, from scratch.
--
--   bash datasets/sst2            # -> data/sst2/{train,dev}.tsv
--   lurn train configs/sst2-bilstm.lua
--
-- What it does: trains on GLUE's 67,349 training phrases and validates on the 872-sentence
-- dev set every 500 steps (the best checkpoint by dev accuracy is kept): a bidirectional LSTM
-- (256 per direction) over 256-d word vectors learnt from scratch (no pretrained vectors),
-- each word's vector averaged with those of its character n-grams (data.subwords: 3-6
-- characters hashed into 50,000 buckets, so the dev set's unseen words read by their parts),
-- max-pooled, word-type dropout 0.3 and variational output dropout 0.3; lazy Adam, 2 epochs,
-- cosine schedule; train.max_time caps a run at the issue's 15 minutes.
-- Result (seeds 1 / 2 / 3, 1 thread on one core, the other core busy alike; 2026-12-02):
-- dev accuracy 84.63 / 86.12 / 86.12 % at the best evaluation (85.62 +- 0.86), 84.52 / 85.55 /
-- 86.12 after the last step (85.40), in 3:40 / 3:33 / 3:50 of training. The same without
-- subwords: 82.22 / 82.45 / 82.80 (82.49). Issue 10's 85 % from scratch: met on the mean of the
-- three seeds (two of three above it). The variants tried on the way: docs/results.md ("SST-2").
return {
  name = "sst2-bilstm",
  seed = 1,
  threads = 1,
  data = { train = "data/sst2/train.tsv", valid = "data/sst2/dev.tsv", format = "tsv",
           subwords = 50000 },
  model = { type = "lstm", embed = 256, hidden = 256, bidirectional = true, pool = "max",
            embed_dropout = 0.3, output_dropout = 0.3 },
  optim = { name = "adam", lr = 2e-3, schedule = "cosine", warmup = 100, lazy = true },
  train = { epochs = 2, batch_size = 64, eval_every = 500, log_every = 100, max_time = 900 },
}
