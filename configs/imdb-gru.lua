-- configs/imdb-gru.lua — IMDB movie reviews (Maas et al. 2011) with a bidirectional GRU.
--
--   bash datasets/imdb                   # -> data/imdb/aclImdb/train/{pos,neg} (25,000 reviews)
--   lurn train configs/imdb-gru.lua
--
-- What it does: holds out 5,000 of the 25,000 training reviews (stratified, from the seed)
-- and trains on the other 20,000, as issue 10 measures it; each review cut to its first 200
-- and last 200 tokens (a review's opening and its verdict); a bidirectional GRU (128 per
-- direction) over 128-d word embeddings (the 30,000 most frequent words, seen at least
-- twice), max-pooled, word-type dropout 0.3 and variational output dropout 0.3; 4 epochs,
-- cosine schedule, validated every 250 steps; train.max_time caps a run at the issue's
-- 60 minutes.
-- Result (seeds 1 / 2 / 3 / 4, 1 thread on one core of a 2-vCPU Ice Lake, load 2-4): 89.20 /
-- 88.52 / 88.64 / 88.60 % on the 5,000 held-out reviews (88.74 +- 0.31), 9:38-10:55 of
-- training each. fastText (bigrams, 25 epochs) on the same split: 88.90; naive Bayes 86.86.
-- Issue 10's 90 %: not met by one model; configs/imdb-ensemble.lua averages four (89.58).
return {
  name = "imdb-gru",
  seed = 1,
  threads = 1,
  data = { train = "data/imdb/aclImdb/train", format = "imdb", valid_split = 5000,
           min_count = 2, max_vocab = 30000, max_len = 400, truncate = "both" },
  model = { type = "gru", embed = 128, hidden = 128, bidirectional = true, pool = "max",
            embed_dropout = 0.3, output_dropout = 0.3 },
  optim = { name = "adam", lr = 2e-3, schedule = "cosine", warmup = 100 },
  train = { epochs = 4, batch_size = 32, eval_every = 250, log_every = 50, max_time = 3600 },
}
