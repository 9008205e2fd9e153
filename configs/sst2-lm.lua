-- configs/sst2-lm.lua — a word language model of SST-2's training text, to start
-- configs/sst2-pretrained.lua from (semi-supervised sequence learning, Dai & Le 2015).
--
--   bash datasets/sst2                                        # -> data/sst2/{train,dev}.tsv
--   lurn train configs/sst2-lm.lua --out runs/sst2-lm         # the language model
--   lurn train configs/sst2-pretrained.lua                    # the classifier, started from it
--
-- What it does: reads the sentence column of GLUE's 67,349 training phrases (data.format =
-- "tsv"; the labels are not read), one phrase a line, lower-cased words as the classifier's
-- tokenizer makes them (lm.lower = true, the classifier's data.lower default), the last 5 %
-- held out for validation; the dev set is never read. Words seen at least twice are the
-- vocabulary (the rest are <unk>; their rows in the classifier keep their fresh init).
-- The model is configs/sst2-lstm.lua's embedding and LSTM (128-d embeddings, one layer of
-- 256): pretrained.from needs the same cell, sizes and layer count, and says so otherwise.
-- 32 streams of 35-step chunks, state carried across chunks; Adam at 2e-3 along a cosine;
-- at most 2 epochs or 30 minutes (train.max_time).
-- Result (seed 1, 1 thread on one core): validation perplexity 172.5 after its 2 epochs, 9:42
-- (docs/results.md, "Started from a language model").
return {
  name = "sst2-lm",
  seed = 1,
  threads = 1,
  task = "lm",
  data = { train = "data/sst2/train.tsv", format = "tsv", min_count = 2 },
  lm = { tokenizer = "word", lower = true, bptt = 35, valid_fraction = 0.05 },
  model = { type = "lstm", embed = 128, hidden = 256, output_dropout = 0.2 },
  optim = { name = "adam", lr = 2e-3, schedule = "cosine" },
  train = { epochs = 2, batch_size = 32, eval_every = 500, log_every = 100, max_time = 1800 },
}
