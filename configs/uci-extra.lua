-- configs/uci-extra.lua — the UCI labelled sentences, one site's 10 folds, with the other two
-- sites' 2,000 sentences as extra training data (data.extra) in every fold.
--
--   bash datasets/uci-sentences        # -> data/uci-sentences/{amazon,yelp,imdb}.txt
--   lurn train configs/uci-extra.lua   # yelp's folds; amazon + imdb as extra training rows
--   lurn train configs/uci-extra.lua data.train=data/uci-sentences/amazon.txt \
--     data.extra=data/uci-sentences/yelp.txt,data/uci-sentences/imdb.txt
--   lurn bench/cv_summary.lua runs/uci-extra-...   # the final-epoch accuracy over the folds
--
-- What it does: five of configs/uci.lua's models per fold as an ensemble (train.ensemble = 5,
-- seeds S..S+4; a bidirectional LSTM, 64 per direction, over 64-d embeddings, max-pooled,
-- dropout 0.5, label smoothing 0.1, 12 epochs), each trained on the fold's 900 sentences plus
-- the 2,000 of the other two sites and validated on its 100 (which the extra rows never
-- include); each member evaluated and kept as the moving average of its weights
-- (train.average = 0.99: about one epoch's steps). On 2 cores two members train at a time. The
-- baselines get the same rows: bench/fasttext_splits.lua adds data.extra to their training
-- files (bench/fasttext.sh CONFIG ...).
-- Result (seeds 1-3, mean final-epoch accuracy over the folds; 2026-12-02): amazon 85.13 +-
-- 0.15, yelp 85.27 +- 0.35, imdb 83.27 +- 0.75 %; fastText with the same rows 84.87 / 84.63 /
-- 79.03, naive Bayes 84.47 / 85.03 / 82.70: above both on each site, by 0.24-0.57 points
-- (within the spread over seeds). 370-480 s of training per site and seed, summed over the
-- 50 members (docs/results.md, "UCI").
return {
  extends = "uci.lua",
  name = "uci-extra",
  data = { extra = "data/uci-sentences/amazon.txt,data/uci-sentences/imdb.txt" },
  train = { epochs = 12, ensemble = 5, average = 0.99 },
}
